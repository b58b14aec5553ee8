// The kilnc pipeline as a library function: load a model file, run the nn passes, dump each stage.
#ifndef KILN_DRIVER_PIPELINE_H
#define KILN_DRIVER_PIPELINE_H

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/IR/OwningOpRef.h"
#include "mlir/Pass/PassManager.h"
#include "llvm/Support/SourceMgr.h"

#include <string>

namespace kiln {

struct PipelineOptions {
  // Print the IR after every pass to stderr, as mlir-opt's flag does.
  bool printIRAfterAll = false;
  // When set, write one numbered file per stage into this directory (created if missing).
  std::string dumpIRDir;
};

// Every dialect a Kiln module may hold.
void registerKilnDialects(mlir::DialectRegistry &registry);

// Parses the main buffer of sourceMgr as a model: .kiln (Kiln's text format) or .mlir (nn
// dialect), chosen by the buffer's file name. Diagnostics go to the context; null on error.
mlir::OwningOpRef<mlir::ModuleOp> loadModel(llvm::SourceMgr &sourceMgr, mlir::MLIRContext *context);

// verify → infer shapes → canonicalize → CSE, on the nn dialect.
void buildNNPipeline(mlir::OpPassManager &pm);

// Runs the nn pipeline on module with options' IR printing and dumping. The parsed input is
// dumped first, as stage 00.
mlir::LogicalResult runNNPipeline(mlir::ModuleOp module, const PipelineOptions &options);

} // namespace kiln

#endif // KILN_DRIVER_PIPELINE_H
