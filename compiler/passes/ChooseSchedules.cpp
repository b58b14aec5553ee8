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

// Accumulator registers a tile may use: AVX-512 has 32 vector registers, AVX2 and NEON 16; the
// rest hold the broadcast input and the weight vectors.
int64_t accumulatorBudget(int64_t targetWidth) { return targetWidth >= 16 ? 28 : 12; }

// NCHW (x vectorized): up to 4 vectors of x positions × channels, 20 accumulators on AVX-512:
// the lecture's conv (100→100, 5×5, 64×64) ran at 104% of the FMA peak with 4 × 16 x × 5
// channels (/tmp/probe, Zen 4); narrower rows take fewer vectors and up to 8 channels.
SmallVector<int64_t> nchwTile(nn::ConvOp conv, int64_t vectorWidth) {
  auto type = cast<RankedTensorType>(conv.getType());
  int64_t width = type.getShape().back(), channels = type.getDimSize(1);
  int64_t lanes = kiln::kernel::lanesFor(width, vectorWidth);
  int64_t vectors = vectorWidth >= 16 ? std::clamp<int64_t>(width / std::max<int64_t>(lanes, 1), 1, 4) : 1;
  int64_t perX = std::min<int64_t>(8, accumulatorBudget(vectorWidth) / vectors);
  if (vectors == 4)
    perX = 5;
  return {vectors * lanes, std::min(channels, perX)};
}

// Channels innermost, measured on ResNet's layers (Zen 4, AVX-512, batch 1 and 8, 94–103% of
// the FMA peak; /tmp/probe's report): 4 vectors of output channels; 4 x positions where 4
// divides rows of 28 or more, else 7 (rows of 14 and 7: a tile that does not divide the row
// loses 15–45%); rows of 56 and more walk rows × channel tiles × x tiles, rows of 15–55 x tiles
// outside channel tiles, rows of 14 and 7 a channel tile's weights over every row and image
// (co_outer: 512×7×7 at batch 8, 178 → 208 GFLOP/s; 256×14×14 at batch 1 in the probe 184 →
// 197, and in ResNet-50's layer3, kiln-bench --profile, the least of two interleaved passes
// 17.5 → 16.5 ms at batch 1 and 124 → 122 ms at batch 8).
struct Tile {
  SmallVector<int64_t> sizes;
  StringRef order;
};

// Where 512-bit FMAs run at full rate (Intel AVX-512: two per cycle, twice Zen 4's), a tile of
// 4 channel vectors is held back by its weights: 4 vector loads per 4–7 broadcasts, from L2
// (a 3×3 layer's 64-channel block is 144 KiB), and 7 × 4 accumulators leave no register for
// the broadcast (one spilled and reloaded per step). 14 x positions × 2 vectors (28
// accumulators, 31 registers) halves the weight loads per FMA of unit-stride 3×3 layers. On
// the Xeon (family 6 model 167, 427 GFLOP/s), one layer between two 1×1 convs, kiln-bench
// --profile, GFLOP/s before → after at b1 / b8: 64 ch at 56×56 265–273 → 279–297 / 263–265 →
// 288–294; 128 ch at 28×28 259–265 → 278–301 / 279 → 310–316; 256 ch at 14×14 (co_outer)
// 243–246 → 261 / 263–268 → 275–283. Whole models, interleaved passes: ResNet-18 b1 15.6 →
// 15.1–15.3 ms, b8 118–119 → 114–116 ms; ResNet-50 b8 285–286 → 280 ms, b1 unchanged within
// noise. Kept as they were: strided convs (the 7×7 stem 251 → 190 GFLOP/s, 3×3 stride 2 to
// 14×14 201–205 → 186–194), rows of 7 (7 × 32: 207 → 189) and 1×1 convs, which won alone but
// lost in ResNet-50, where their weights come from memory (layer3's 1×1 at 14×14 with x tiles
// outside channel tiles 0.53 → 0.77 ms each, co_outer 14 × 32 25% slower at b8).
// Rows of 56 keep 4 × 64 since their tasks stage 4 rows of input instead of 1
// (rowsPerStagedTask, Schedules.cpp): on an Ice Lake Xeon (family 6 model 106, 341 GFLOP/s),
// ResNet-18's layer1, least of 4–5 interleaved kiln-bench --profile passes, 14 × 32 → 4 × 64:
// b1 3.44 → 3.05 ms, b8 28.0 → 25.2 ms; layer2 (rows of 28) within noise either way (b1 3.13
// → 2.98, b8 24.3 → 25.0), so it keeps 14 × 32.
std::optional<Tile> fullRateTile(nn::ConvOp conv, int64_t vectorWidth, int64_t budget) {
  auto type = cast<RankedTensorType>(conv.getType());
  auto weight = cast<RankedTensorType>(conv.getWeight().getType());
  int64_t channels = type.getDimSize(1), width = type.getShape().back();
  bool unitStride = llvm::all_of(conv.getStrides(), [](int64_t s) { return s == 1; });
  bool pointwise = llvm::all_of(weight.getShape().drop_front(2), [](int64_t k) { return k == 1; });
  if (vectorWidth != 16 || budget < 28 || !unitStride || pointwise || width % 14 != 0 ||
      width > 28 || channels % 32 != 0 || type.getRank() != 4)
    return std::nullopt;
  return Tile{{14, 32}, width == 14 ? "co_outer" : "rows"};
}

Tile channelsInnerTile(nn::ConvOp conv, int64_t vectorWidth, int64_t budget, bool splitWideFma) {
  if (!splitWideFma)
    if (std::optional<Tile> tile = fullRateTile(conv, vectorWidth, budget))
      return *tile;
  auto type = cast<RankedTensorType>(conv.getType());
  int64_t channels = type.getDimSize(1), width = type.getShape().back();
  int64_t vectors = std::min<int64_t>(budget >= 28 ? 4 : 2, (channels + vectorWidth - 1) / vectorWidth);
  while (vectors > 1 && channels % (vectors * vectorWidth) != 0 && channels >= vectors * vectorWidth)
    --vectors;
  int64_t maxX = std::max<int64_t>(1, budget / vectors);
  int64_t tileX = std::min(width, maxX);
  if (width % 4 == 0 && width >= 28 && maxX >= 4) {
    tileX = 4;
  } else {
    for (int64_t candidate = std::min(width, maxX); candidate >= 1; --candidate)
      if (width % candidate == 0 && candidate * 2 > std::min(width, maxX)) {
        tileX = candidate;
        break;
      }
  }
  StringRef order = width >= 56 ? "rows" : width > 14 ? "rows_xo" : "co_outer";
  return {{tileX, vectors * vectorWidth}, order};
}

// A channels-inner conv computed inside its pooling (LeNet): the pooled tile is `pooledX`
// pooled positions × as many vectors of channels as the registers hold for the pooling's
// window of conv outputs: on AVX-512 LeNet's conv1 2 pooled x × 3 vectors (24 accumulators),
// conv2 1 × 7 (28: every channel); on AVX2 (12) 3 vectors at a time.
Tile pooledTile(nn::ConvOp conv, Operation *pool, int64_t vectorWidth, int64_t budget) {
  auto type = cast<RankedTensorType>(conv.getType());
  int64_t vectors = (type.getDimSize(1) + vectorWidth - 1) / vectorWidth;
  int64_t window = 1;
  for (int64_t k : cast<DenseI64ArrayAttr>(pool->getAttr("kernel_size")).asArrayRef())
    window *= k;
  int64_t perTile = std::clamp<int64_t>(budget / window, 1, vectors);
  int64_t pooledWidth = cast<RankedTensorType>(pool->getResult(0).getType()).getShape().back();
  int64_t pooledX = std::clamp<int64_t>(budget / (window * perTile), 1, pooledWidth);
  return {{pooledX, perTile * vectorWidth}, ""};
}

struct ChooseSchedulesPass : kiln::impl::ChooseSchedulesBase<ChooseSchedulesPass> {
  using ChooseSchedulesBase::ChooseSchedulesBase;

  void runOnOperation() override {
    getOperation().walk([&](kiln::kernel::FusedOp kernel) {
      auto schedule = kernel.getSchedule();
      int64_t width = schedule.getVectorWidth();
      Tile tile;
      auto conv = dyn_cast_or_null<nn::ConvOp>(kiln::anchorOf(kernel));
      if (!gpu && conv) {
        // The conv computes channels innermost when kiln-choose-layouts relaid its weight so.
        bool channelsInner = false;
        if (auto arg = dyn_cast<BlockArgument>(conv.getWeight());
            arg && !schedule.getInputLayouts().empty())
          channelsInner = schedule.getInputLayouts()[arg.getArgNumber()].asArrayRef() ==
                          ArrayRef<int64_t>({2, 3, 1, 0});
        // The target's registers, whatever width this kernel's vectors have.
        int64_t budget = accumulatorBudget(targetVectorWidth);
        Operation *pool = nullptr;
        for (Operation *op : kiln::bodyOps(kernel))
          if (nn::isPooling(op))
            pool = op;
        if (channelsInner && pool)
          tile = pooledTile(conv, pool, width, budget);
        else if (channelsInner)
          tile = channelsInnerTile(conv, width, budget, splitWideFma);
        else
          tile = {nchwTile(conv, width), ""};
      }
      kernel.setScheduleAttr(kiln::kernel::ScheduleAttr::get(
          &getContext(), width, tile.sizes, schedule.getLayout(), schedule.getInputLayouts(),
          tile.order));
    });
  }
};

} // namespace
