// The kilnc pipeline as a library function: load a model file, run the nn passes, dump each stage.
#ifndef KILN_DRIVER_PIPELINE_H
#define KILN_DRIVER_PIPELINE_H

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/IR/OwningOpRef.h"
#include "mlir/Pass/PassManager.h"
#include "llvm/Support/SourceMgr.h"

#include "frontend/OnnxImporter.h"

#include <string>

namespace kiln {

namespace codegen {
struct TargetSpec;
} // namespace codegen

struct PipelineOptions {
  // Print the IR after every pass to stderr, as mlir-opt's flag does.
  bool printIRAfterAll = false;
  // When set, write one numbered file per stage into this directory (created if missing).
  std::string dumpIRDir;

  // How far the pipeline lowers: the nn dialect with inferred shapes, or a program of kernels.
  enum class Stage { NN, Kernels } stage = Stage::NN;
  // Build @train_step (and @forward_train) from @loss with kiln-autodiff, before the kernels.
  bool train = false;
  std::string optimizer = "sgd"; // sgd or adam
  // The kernel stage: the target's f32 vector width (recorded in each kernel's schedule),
  // whether it is a GPU (buffers never alias there: no views), and whether to fuse.
  int64_t vectorWidth = 16;
  // The target's widest FMAs run at the FLOP rate of half-width ones (TargetSpec::splitWideFma).
  bool splitWideFma = false;
  bool gpu = false;
  bool fuse = true;

  // Lowers to the kernel stage for `target`: its vector width, FMA rate and GPU-ness.
  void setKernelTarget(const codegen::TargetSpec &target);
};

// Every dialect a Kiln module may hold.
void registerKilnDialects(mlir::DialectRegistry &registry);

// Parses the main buffer of sourceMgr as a model: .kiln (Kiln's text format), .onnx or .mlir
// (nn dialect), chosen by the buffer's file name. An ONNX model's initializers go to `values`
// (when given): the parameters' initial values. Diagnostics go to the context; null on error.
mlir::OwningOpRef<mlir::ModuleOp> loadModel(llvm::SourceMgr &sourceMgr, mlir::MLIRContext *context,
                                            InitialValues *values = nullptr);

// The one pipeline kilnc, the packager, --check and kiln-opt (`--kiln-pipeline`) run:
//   nn:      kiln-infer-shapes → canonicalize → CSE
//   train:   kiln-autodiff                                   (options.train)
//   kernels: kiln-fold-batch-norm → kiln-form-kernels → kiln-fuse-conv-epilogue →
//            kiln-fuse-conv-pool → kiln-fold-views (CPU) → kiln-choose-layouts →
//            kiln-choose-schedules → kiln-plan-buffers
// (the fusion passes only with options.fuse).
void buildPipeline(mlir::OpPassManager &pm, const PipelineOptions &options);

// Runs buildPipeline's passes on module with options' IR printing and dumping. The parsed input
// is dumped first, as stage 00, then the module after each pass.
mlir::LogicalResult runPipeline(mlir::ModuleOp module, const PipelineOptions &options);

// Registers `kiln-pipeline` (buildPipeline, with its options as pass options) for kiln-opt.
void registerPipeline();

} // namespace kiln

#endif // KILN_DRIVER_PIPELINE_H
