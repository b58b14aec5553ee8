// kiln-fuse-conv-epilogue: a convolution's or dense layer's kernel absorbs the elementwise
// kernels (activation, residual add, activation) that consume its result alone.
#include "passes/KernelFusion.h"
#include "passes/Passes.h"

namespace kiln {
#define GEN_PASS_DEF_FUSECONVEPILOGUE
#include "passes/Passes.h.inc"
} // namespace kiln

using namespace mlir;

namespace {

// A kernel of one elementwise op.
bool isElementwiseKernel(kiln::kernel::FusedOp kernel) {
  std::vector<Operation *> ops = kiln::bodyOps(kernel);
  return ops.size() == 1 && kiln::nn::isElementwise(ops.front());
}

bool hasPooling(kiln::kernel::FusedOp kernel) {
  return llvm::any_of(kiln::bodyOps(kernel), kiln::nn::isPooling);
}

struct FuseConvEpiloguePass : kiln::impl::FuseConvEpilogueBase<FuseConvEpiloguePass> {
  void runOnOperation() override {
    SmallVector<kiln::kernel::FusedOp> anchors;
    getOperation().walk([&](kiln::kernel::FusedOp kernel) {
      if (kiln::anchorOf(kernel) && !hasPooling(kernel))
        anchors.push_back(kernel);
    });
    for (kiln::kernel::FusedOp kernel : anchors) {
      while (true) {
        kiln::kernel::FusedOp consumer = kiln::soleConsumer(kernel);
        if (!consumer || !isElementwiseKernel(consumer))
          break;
        kernel = kiln::mergeKernels(kernel, consumer);
      }
    }
  }
};

} // namespace
