// Shared schedule pieces used by the per-op schedules of the *Lowering.cpp files.
#include "codegen/Schedules.h"

#include "kiln/Dialect/Kernel/Tiling.h"

using namespace Halide;

namespace kiln::codegen {

int lanesFor(int64_t extent, int targetWidth) {
  return static_cast<int>(kernel::lanesFor(extent, targetWidth));
}

int dividingLanes(int64_t extent, int targetWidth) {
  for (int lanes = targetWidth; lanes >= 4; lanes /= 2)
    if (extent % lanes == 0)
      return lanes;
  return 1;
}

void scheduleElementwise(Func output, const std::vector<int64_t> &shape, const TargetSpec &target) {
  if (target.gpu)
    return scheduleGpu(output, static_cast<int64_t>(shape.size()));
  std::vector<Var> args = output.args(); // Halide order: innermost first, batch last
  int64_t rank = static_cast<int64_t>(args.size());
  int lanes = lanesFor(shape.back(), target.vectorWidth);
  if (lanes > 1)
    output.vectorize(args[0], lanes, TailStrategy::ShiftInwards);
  // Planes (rank >= 3: (channel, image) pairs) or rows in parallel, grouped so a task holds
  // ~8K elements: a task per 24×24 plane left the second thread mostly waiting on the pool
  // (LeNet's train step at batch 64: 5.7 -> 5.0 ms). A group takes at most a quarter of the
  // channels, so a single image still splits into several tasks.
  int64_t perTask = 1;
  for (int64_t i = 0; i + 2 < rank; ++i)
    perTask *= shape[rank - 1 - i];
  if (rank == 2)
    perTask = shape.back();
  int64_t grain = std::min<int64_t>(64, 8192 / std::max<int64_t>(perTask, 1));
  if (rank >= 3)
    grain = std::min<int64_t>(grain, shape[1] / 4);
  grain = std::max<int64_t>(grain, 1);
  if (rank >= 3) {
    Var task("task"), group("group"), within("within");
    output.fuse(args[rank - 2], args[rank - 1], task);
    if (grain > 1)
      output.split(task, group, within, static_cast<int>(grain), TailStrategy::GuardWithIf)
          .parallel(group);
    else
      output.parallel(task);
  } else if (rank == 2) {
    if (grain > 1)
      output.parallel(args[1], static_cast<int>(grain), TailStrategy::GuardWithIf);
    else
      output.parallel(args[1]);
  }
}

void scheduleGpu(Func output, int64_t rank) {
  std::vector<Var> args = output.args();
  if (rank == 0)
    return;
  if (rank == 1) {
    Var xo("xo"), xi("xi");
    output.gpu_tile(args[0], xo, xi, 64, TailStrategy::GuardWithIf);
    return;
  }
  Var xo("xo"), xi("xi"), yo("yo"), yi("yi");
  output.gpu_tile(args[0], args[1], xo, yo, xi, yi, 32, 4, TailStrategy::GuardWithIf);
  if (rank > 2) {
    // Fuse the remaining outer dimensions into one block dimension.
    Var outer = args[2];
    for (int64_t i = 3; i < rank; ++i) {
      Var fused("outer" + std::to_string(i));
      output.fuse(outer, args[i], fused);
      outer = fused;
    }
    output.gpu_blocks(outer);
  }
}

// Output tiles of `lanes` x-positions × `channelTile` channels, computed by `accumulator` held
// in registers at the tile; the tiles' rows run in parallel. `output` and `accumulator` index
// (spatial..., c, n) in Halide order.
void scheduleChannelTiled(Func output, Func accumulator, const std::vector<int64_t> &shape,
                          int64_t channelTile, const TargetSpec &target,
                          const std::vector<RVar> &reductionInnerToOuter,
                          llvm::ArrayRef<int64_t> tileSizes, bool parallel) {
  int64_t rank = static_cast<int64_t>(shape.size());
  if (target.gpu) {
    scheduleGpu(output, rank);
    accumulator.compute_at(output, Var("xi"));
    return;
  }
  std::vector<Var> args = output.args();
  Var x = args[0], c = args[rank - 2], n = args[rank - 1];
  int lanes = lanesFor(shape.back(), target.vectorWidth);
  int64_t tile = std::min<int64_t>(channelTile, shape[1]);
  if (tileSizes.size() == 2) {
    lanes = static_cast<int>(tileSizes[0]);
    tile = std::min<int64_t>(tileSizes[1], shape[1]);
  }
  Var xo("xo"), xi("xi"), co("co"), ci("ci");
  output.split(x, xo, xi, lanes, TailStrategy::ShiftInwards)
      .split(c, co, ci, static_cast<int>(tile), TailStrategy::ShiftInwards);
  std::vector<VarOrRVar> order{xi, ci, xo, co};
  for (int64_t i = 1; i < rank - 2; ++i)
    order.push_back(args[i]);
  order.push_back(n);
  output.reorder(order);
  if (lanes > 1)
    output.vectorize(xi);
  output.unroll(ci);
  // Rows (or, for 1-D data, channel tiles) of every image in parallel.
  Var task("task");
  if (!parallel)
    ; // a stage inside its consumer's parallel loop
  else if (rank > 3)
    output.fuse(args[rank - 3], n, task).parallel(task);
  else
    output.fuse(co, n, task).parallel(task);

  std::vector<Var> accArgs = accumulator.args();
  accumulator.compute_at(output, xo).store_in(MemoryType::Stack);
  if (lanes > 1)
    accumulator.vectorize(accArgs[0]);
  accumulator.unroll(accArgs[rank - 2]);
  std::vector<VarOrRVar> updateOrder{accArgs[0], accArgs[rank - 2]};
  for (const RVar &r : reductionInnerToOuter)
    updateOrder.push_back(r);
  for (int64_t i = 1; i < rank - 2; ++i)
    updateOrder.push_back(accArgs[i]);
  updateOrder.push_back(accArgs[rank - 1]);
  accumulator.update().reorder(updateOrder);
  if (lanes > 1)
    accumulator.update().vectorize(accArgs[0]);
  accumulator.update().unroll(accArgs[rank - 2]);
}

void schedulePooledAnchor(Func output, Func pooled, const AnchorInfo &anchor,
                          const std::vector<int64_t> &poolShape, llvm::ArrayRef<int64_t> window,
                          const TargetSpec &target) {
  int64_t rank = static_cast<int64_t>(poolShape.size());
  std::vector<Var> args = output.args(); // Halide order: x, [y, [z,]] c, n
  // Without an epilogue the pooling reads the accumulator itself: a wrapper stage takes the
  // tiles, as the epilogue's Func would.
  if (pooled.name() == anchor.accumulator.name()) {
    Func accumulator = anchor.accumulator;
    pooled = accumulator.in();
  }
  if (target.gpu) {
    // One thread per pooled output: its window of the convolution computed in the thread.
    scheduleGpu(output, rank);
    Func accumulator = anchor.accumulator;
    accumulator.compute_at(output, Var("xi"));
    return;
  }
  Var n = args[rank - 1], c = args[rank - 2];
  int lanes = lanesFor(poolShape.back(), target.vectorWidth);
  if (lanes > 1)
    output.vectorize(args[0], lanes, TailStrategy::ShiftInwards);
  Var task("task");
  if (rank > 3) {
    // Loops n, outermost spatial, c, the inner spatial dimensions: the convolution rows one
    // pooled row needs, every channel, are computed before the pooled row is.
    Var outer = args[rank - 3];
    std::vector<VarOrRVar> order;
    for (int64_t i = 0; i < rank - 3; ++i)
      order.push_back(args[i]);
    order.push_back(c);
    order.push_back(outer);
    order.push_back(n);
    output.reorder(order);
    output.fuse(outer, n, task).parallel(task);
    pooled.compute_at(output, task);
  } else {
    pooled.compute_at(output, n);
    output.parallel(n);
  }
  // The pooling reads poolShape.back() × window columns of the convolution: a vector of x
  // positions no wider than that never shifts outside the convolution's output.
  std::vector<int64_t> tile = anchor.tile;
  int64_t columns = poolShape.back() * window.back();
  int64_t columnLanes = lanesFor(columns, target.vectorWidth);
  if (tile.size() == 2)
    tile[0] = std::min(tile[0], columnLanes);
  else
    tile = {columnLanes, std::min<int64_t>(8, anchor.shape[1])};
  scheduleChannelTiled(pooled, anchor.accumulator, anchor.shape, /*channelTile=*/8, target,
                       anchor.reduction, tile, /*parallel=*/false);
}

void scheduleCopy(Func output, const std::vector<int64_t> &shape, llvm::ArrayRef<int64_t> layout,
                  const TargetSpec &target) {
  int64_t rank = static_cast<int64_t>(shape.size());
  if (target.gpu)
    return scheduleGpu(output, rank);
  if (layout.empty())
    return scheduleElementwise(output, shape, target);
  std::vector<Var> args = output.args();
  // Loops in storage order: the stored-innermost dimension vectorized (writes contiguous).
  std::vector<VarOrRVar> order;
  for (int64_t k = rank - 1; k >= 0; --k)
    order.push_back(args[rank - 1 - layout[k]]);
  output.reorder(order);
  int64_t inner = layout.back();
  int lanes = lanesFor(shape[inner], target.vectorWidth);
  if (lanes > 1)
    output.vectorize(args[rank - 1 - inner], lanes, TailStrategy::ShiftInwards);
  output.parallel(args[rank - 1 - layout.front()]);
}

void scheduleChannelsLast(Func output, const std::vector<int64_t> &shape,
                          const TargetSpec &target) {
  if (target.gpu)
    return scheduleGpu(output, static_cast<int64_t>(shape.size()));
  std::vector<Var> args = output.args(); // x, y, c, n
  Var x = args[0], y = args[1], c = args[2], n = args[3];
  output.reorder(c, x, y, n);
  int lanes = lanesFor(shape[1], target.vectorWidth);
  if (lanes > 1)
    output.vectorize(c, lanes, TailStrategy::ShiftInwards);
  Var row("row");
  output.fuse(y, n, row).parallel(row);
}

void scheduleConvChannelsLast(Func output, Func accumulator, const std::vector<int64_t> &shape,
                              llvm::ArrayRef<int64_t> tile, const TargetSpec &target,
                              const std::vector<RVar> &reductionInnerToOuter, bool parallel) {
  if (target.gpu) {
    scheduleGpu(output, static_cast<int64_t>(shape.size()));
    accumulator.compute_at(output, Var("xi"));
    return;
  }
  int width = target.vectorWidth;
  int tileX = static_cast<int>(std::min<int64_t>(tile[0], shape[3]));
  int tileC = static_cast<int>(tile[1]);
  std::vector<Var> args = output.args(); // x, y, c, n
  Var x = args[0], y = args[1], c = args[2], n = args[3];
  Var xo("xo"), xi("xi"), co("co"), ci("ci"), cv("cv");
  // Loops, outermost first: image and row (in parallel), channel tiles, x tiles, then a tile of
  // tileX positions × tileC channels whose accumulators stay in registers. A channel tile's
  // weights (window × input channels × tileC) stay in cache across the row's x tiles.
  output.split(c, co, ci, tileC, TailStrategy::ShiftInwards)
      .split(x, xo, xi, tileX, TailStrategy::ShiftInwards)
      .split(ci, ci, cv, width, TailStrategy::ShiftInwards)
      .reorder(cv, ci, xi, xo, co, y, n)
      .vectorize(cv)
      .unroll(ci)
      .unroll(xi);
  if (parallel) {
    Var row("row");
    output.fuse(y, n, row).parallel(row);
  }
  std::vector<Var> a = accumulator.args();
  Var ax = a[0], ay = a[1], ac = a[2], an = a[3];
  Var acv("acv");
  // Stored channels innermost, like the output: whole vectors, which LLVM keeps in registers.
  accumulator.compute_at(output, xo).store_in(MemoryType::Stack).reorder_storage(ac, ax, ay, an);
  accumulator.split(ac, ac, acv, width, TailStrategy::ShiftInwards)
      .reorder(acv, ac, ax, ay, an)
      .vectorize(acv)
      .unroll(ac)
      .unroll(ax);
  // The reduction: input channels innermost (contiguous in the input, a broadcast each), then
  // the window; the tile's multiply-adds innermost of all.
  std::vector<RVar> window(reductionInnerToOuter.begin(), reductionInnerToOuter.end() - 1);
  RVar inputChannel = reductionInnerToOuter.back();
  Stage update = accumulator.update();
  update.split(ac, ac, acv, width, TailStrategy::GuardWithIf);
  std::vector<VarOrRVar> order{acv, ac, ax, inputChannel};
  for (const RVar &r : window)
    order.push_back(r);
  order.push_back(ay);
  order.push_back(an);
  update.reorder(order).vectorize(acv).unroll(ac).unroll(ax);
}

} // namespace kiln::codegen
