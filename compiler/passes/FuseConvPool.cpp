// kiln-fuse-conv-pool: a convolution's kernel absorbs the pooling kernel that consumes its
// result alone, when the pooling windows tile the input.
#include "passes/KernelFusion.h"
#include "passes/Passes.h"

namespace kiln {
#define GEN_PASS_DEF_FUSECONVPOOL
#include "passes/Passes.h.inc"
} // namespace kiln

using namespace mlir;
namespace nn = kiln::nn;

namespace {

// Windows that tile the input: stride = window, no padding, no ceil mode. Overlapping windows
// would make the fused kernel compute rows of the convolution twice.
template <typename PoolOp>
bool windowsTile(PoolOp pool) {
  return pool.getKernelSize() == pool.getStrides() && !pool.getCeilMode() &&
         llvm::all_of(pool.getPadding(), [](int64_t p) { return p == 0; });
}

// A kernel of one pooling op whose windows tile its input.
bool isTilingPoolKernel(kiln::kernel::FusedOp kernel) {
  std::vector<Operation *> ops = kiln::bodyOps(kernel);
  if (ops.size() != 1 || !nn::isPooling(ops.front()))
    return false;
  if (auto max = dyn_cast<nn::MaxPoolOp>(ops.front()))
    return windowsTile(max);
  if (auto avg = dyn_cast<nn::AvgPoolOp>(ops.front()))
    return windowsTile(avg);
  return false;
}

struct FuseConvPoolPass : kiln::impl::FuseConvPoolBase<FuseConvPoolPass> {
  void runOnOperation() override {
    SmallVector<kiln::kernel::FusedOp> convs;
    getOperation().walk([&](kiln::kernel::FusedOp kernel) {
      Operation *anchor = kiln::anchorOf(kernel);
      if (anchor && isa<nn::ConvOp>(anchor) && !llvm::any_of(kiln::bodyOps(kernel), nn::isPooling))
        convs.push_back(kernel);
    });
    for (kiln::kernel::FusedOp kernel : convs) {
      kiln::kernel::FusedOp consumer = kiln::soleConsumer(kernel);
      if (consumer && isTilingPoolKernel(consumer))
        kiln::mergeKernels(kernel, consumer);
    }
  }
};

} // namespace
