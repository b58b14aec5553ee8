// The Kiln model format (.kiln) frontend: a .kiln file to an nn-dialect module with every shape
// inferred. The format is documented in docs/model-format.md.
#ifndef KILN_FRONTEND_KILNPARSER_H
#define KILN_FRONTEND_KILNPARSER_H

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/OwningOpRef.h"
#include "llvm/Support/SourceMgr.h"

namespace kiln {

// Parses the .kiln model in sourceMgr's main buffer into an nn-dialect module with every shape
// inferred. Errors are emitted as MLIR diagnostics at FileLineColLoc locations in the file;
// returns null after the first error.
mlir::OwningOpRef<mlir::ModuleOp> parseKilnModel(llvm::SourceMgr &sourceMgr,
                                                 mlir::MLIRContext *context);

// A model's name from its file: the stem as a C identifier (the library's symbols derive from
// it): lenet.kiln and lenet.onnx are both `lenet`.
std::string modelNameForFile(llvm::StringRef filename);

} // namespace kiln

#endif // KILN_FRONTEND_KILNPARSER_H
