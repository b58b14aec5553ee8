// kiln-choose-schedules: each kernel's #kernel.schedule, from its anchor's shape and the target.
#include "passes/KernelFusion.h"
#include "passes/Passes.h"

#include "kiln/Dialect/Kernel/Tiling.h"

namespace kiln {
#define GEN_PASS_DEF_CHOOSESCHEDULES
#include "passes/Passes.h.inc"
} // namespace kiln

using namespace mlir;
namespace nn = kiln::nn;

namespace {

// The output tile of a convolution in NCHW: `lanes` x positions (one vector) × 8 output
// channels, 8 vector accumulators held in registers through the whole reduction (AVX-512 has 32
// vector registers, AVX2 16: 8 accumulators leave room for the broadcast weights and input
// vectors).
SmallVector<int64_t> convTile(nn::ConvOp conv, int64_t vectorWidth) {
  auto type = cast<RankedTensorType>(conv.getType());
  int64_t width = type.getShape().back(), channels = type.getDimSize(1);
  return {kiln::kernel::lanesFor(width, vectorWidth), std::min<int64_t>(8, channels)};
}

// The output tile of a convolution stored channels-innermost: up to 4 vectors of output channels
// × x positions, as many as the accumulator registers allow (AVX-512: 32 vector registers, 28
// accumulators; AVX2 and NEON: 16, 12), the positions a divisor of the row where one is close
// to that bound (no overlapping last tile).
SmallVector<int64_t> channelsLastTile(nn::ConvOp conv, int64_t vectorWidth) {
  auto type = cast<RankedTensorType>(conv.getType());
  int64_t channels = type.getDimSize(1), width = type.getShape().back();
  int64_t budget = vectorWidth >= 16 ? 28 : 12;
  int64_t vectors = vectorWidth >= 16 ? 4 : 2;
  while (vectors > 1 && channels % (vectors * vectorWidth) != 0)
    --vectors;
  int64_t maxX = std::max<int64_t>(1, budget / vectors);
  int64_t tileX = std::min(width, maxX);
  for (int64_t candidate = std::min(width, maxX); candidate >= std::max<int64_t>(1, maxX - 3);
       --candidate)
    if (width % candidate == 0) {
      tileX = candidate;
      break;
    }
  return {tileX, vectors * vectorWidth};
}

struct ChooseSchedulesPass : kiln::impl::ChooseSchedulesBase<ChooseSchedulesPass> {
  using ChooseSchedulesBase::ChooseSchedulesBase;

  void runOnOperation() override {
    getOperation().walk([&](kiln::kernel::FusedOp kernel) {
      auto schedule = kernel.getSchedule();
      int64_t width = schedule.getVectorWidth();
      SmallVector<int64_t> tile;
      if (!gpu)
        if (auto conv = dyn_cast_or_null<nn::ConvOp>(kiln::anchorOf(kernel)))
          tile = schedule.getLayout() == ArrayRef<int64_t>({0, 2, 3, 1})
                     ? channelsLastTile(conv, width)
                     : convTile(conv, width);
      kernel.setScheduleAttr(kiln::kernel::ScheduleAttr::get(
          &getContext(), width, tile, schedule.getLayout(), schedule.getInputLayouts()));
    });
  }
};

} // namespace
