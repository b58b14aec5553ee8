// The kilnc pipeline: model loading by file kind, the nn pass pipeline, and per-stage IR dumps.
#include "driver/Pipeline.h"

#include "codegen/Codegen.h"
#include "frontend/KilnParser.h"
#include "frontend/OnnxImporter.h"
#include "passes/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassInstrumentation.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Transforms/Passes.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

using namespace mlir;

namespace kiln {

void registerKilnDialects(DialectRegistry &registry) {
  registry.insert<nn::NNDialect, kernel::KernelDialect, func::FuncDialect>();
}

OwningOpRef<ModuleOp> loadModel(llvm::SourceMgr &sourceMgr, MLIRContext *context,
                                InitialValues *values) {
  const llvm::MemoryBuffer *buffer = sourceMgr.getMemoryBuffer(sourceMgr.getMainFileID());
  StringRef name = buffer->getBufferIdentifier();
  StringRef ext = llvm::sys::path::extension(name);
  if (ext == ".kiln")
    return parseKilnModel(sourceMgr, context);
  if (ext == ".mlir")
    return parseSourceFile<ModuleOp>(sourceMgr, context);
  if (ext == ".onnx") {
    InitialValues ignored;
    return importOnnxModel(sourceMgr, context, values ? *values : ignored);
  }
  emitError(FileLineColLoc::get(context, name, 0, 0))
      << "unknown model file kind '" << ext << "'; expected .kiln, .onnx or .mlir";
  return nullptr;
}

void PipelineOptions::setKernelTarget(const codegen::TargetSpec &target) {
  stage = Stage::Kernels;
  vectorWidth = target.vectorWidth;
  splitWideFma = target.splitWideFma;
  gpu = target.gpu;
}

void buildPipeline(OpPassManager &pm, const PipelineOptions &options) {
  pm.addPass(createInferShapes());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
  if (options.train) {
    AutodiffOptions autodiff;
    autodiff.optimizer = options.optimizer;
    pm.addPass(createAutodiff(autodiff));
  }
  if (options.stage == PipelineOptions::Stage::NN)
    return;
  // Batch norm is folded after kiln-autodiff: the training step keeps it unfolded.
  pm.addPass(createFoldBatchNorm());
  FormKernelsOptions form;
  form.vectorWidth = options.vectorWidth;
  pm.addPass(createFormKernels(form));
  if (options.fuse) {
    pm.addPass(createFuseConvEpilogue());
    pm.addPass(createFuseConvPool());
    if (!options.gpu)
      pm.addPass(createFoldViews());
  }
  ChooseLayoutsOptions layouts;
  layouts.gpu = options.gpu;
  layouts.splitWideFma = options.splitWideFma;
  pm.addPass(createChooseLayouts(layouts));
  ChooseSchedulesOptions schedules;
  schedules.gpu = options.gpu;
  schedules.targetVectorWidth = options.vectorWidth;
  schedules.splitWideFma = options.splitWideFma;
  pm.addPass(createChooseSchedules(schedules));
  PlanBuffersOptions buffers;
  buffers.share = !options.gpu; // device copies must never alias
  pm.addPass(createPlanBuffers(buffers));
}

namespace {

// kiln-opt's view of PipelineOptions.
struct PipelineFlags : PassPipelineOptions<PipelineFlags> {
  Option<bool> kernels{*this, "kernels", llvm::cl::desc("Lower to a program of kernels")};
  Option<bool> train{*this, "train", llvm::cl::desc("Build the training step (kiln-autodiff)")};
  Option<std::string> optimizer{*this, "optimizer", llvm::cl::init("sgd"),
                                llvm::cl::desc("sgd or adam")};
  Option<int64_t> vectorWidth{*this, "vector-width", llvm::cl::init(16),
                              llvm::cl::desc("f32 lanes of the target")};
  Option<bool> gpu{*this, "gpu", llvm::cl::desc("The target is a GPU")};
  Option<bool> splitWideFma{*this, "split-wide-fma",
                            llvm::cl::desc("The target's widest FMAs run at half rate (Zen 4)")};
  Option<bool> fuse{*this, "fuse", llvm::cl::init(true), llvm::cl::desc("Run the fusion passes")};
};

} // namespace

void registerPipeline() {
  PassPipelineRegistration<PipelineFlags>(
      "kiln-pipeline", "Kiln's whole pipeline, as kilnc runs it",
      [](OpPassManager &pm, const PipelineFlags &flags) {
        PipelineOptions options;
        options.stage = flags.kernels ? PipelineOptions::Stage::Kernels : PipelineOptions::Stage::NN;
        options.train = flags.train;
        options.optimizer = flags.optimizer;
        options.vectorWidth = flags.vectorWidth;
        options.gpu = flags.gpu;
        options.splitWideFma = flags.splitWideFma;
        options.fuse = flags.fuse;
        buildPipeline(pm, options);
      });
}

namespace {

// Writes the module to `dir/NN-<stage>.mlir` after every pass, each file atomically.
class DumpIRInstrumentation : public PassInstrumentation {
public:
  explicit DumpIRInstrumentation(std::string dir, unsigned firstIndex)
      : dir(std::move(dir)), index(firstIndex) {}

  void runAfterPass(Pass *pass, Operation *op) override {
    if (isa<ModuleOp>(op))
      (void)dumpStage(dir, index++, pass->getArgument(), op);
  }

  static LogicalResult dumpStage(StringRef dir, unsigned index, StringRef stage, Operation *op) {
    std::string path = llvm::formatv("{0}/{1,0+2}-{2}.mlir", dir, index, stage).str();
    llvm::Error error = llvm::writeToOutput(path, [&](llvm::raw_ostream &os) {
      op->print(os, OpPrintingFlags().enableDebugInfo(false));
      return llvm::Error::success();
    });
    if (error) {
      emitError(op->getLoc()) << "cannot write " << path << ": "
                              << llvm::toString(std::move(error));
      return failure();
    }
    return success();
  }

private:
  std::string dir;
  unsigned index;
};

} // namespace

LogicalResult runPipeline(ModuleOp module, const PipelineOptions &options) {
  PassManager pm(module->getName());
  if (options.printIRAfterAll) {
    module.getContext()->disableMultithreading();
    pm.enableIRPrinting(/*shouldPrintBeforePass=*/nullptr,
                        /*shouldPrintAfterPass=*/[](Pass *, Operation *) { return true; },
                        /*printModuleScope=*/true, /*printAfterOnlyOnChange=*/false);
  }
  if (!options.dumpIRDir.empty()) {
    if (std::error_code ec = llvm::sys::fs::create_directories(options.dumpIRDir))
      return emitError(module.getLoc())
             << "cannot create directory " << options.dumpIRDir << ": " << ec.message();
    if (failed(DumpIRInstrumentation::dumpStage(options.dumpIRDir, 0, "input", module)))
      return failure();
    pm.addInstrumentation(std::make_unique<DumpIRInstrumentation>(options.dumpIRDir, 1));
  }
  buildPipeline(pm, options);
  return pm.run(module);
}

} // namespace kiln
