// The ONNX frontend: a model file (the ONNX project's protobuf definitions, Debian's libonnx) to
// an nn-dialect module with every shape inferred, its initializers carried as the parameters'
// initial values. The ops it reads and their limits are listed in docs/onnx.md.
#ifndef KILN_FRONTEND_ONNXIMPORTER_H
#define KILN_FRONTEND_ONNXIMPORTER_H

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/OwningOpRef.h"
#include "llvm/Support/SourceMgr.h"

#include <map>
#include <string>
#include <vector>

namespace kiln {

// A parameter's initial value by its name (an ONNX initializer's name), in the parameter's
// shape, row-major.
using InitialValues = std::map<std::string, std::vector<float>>;

// Imports the ONNX model in sourceMgr's main buffer (its identifier is the file's path, which
// locates external data). Before building anything it checks the whole graph and reports every
// unsupported op or attribute at once, each naming the node (name and op type) and the file;
// returns null after errors. `values` receives the initializers the module's parameters read.
mlir::OwningOpRef<mlir::ModuleOp> importOnnxModel(llvm::SourceMgr &sourceMgr,
                                                  mlir::MLIRContext *context,
                                                  InitialValues &values);

} // namespace kiln

#endif // KILN_FRONTEND_ONNXIMPORTER_H
