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
  if (shape.empty())
    return; // one element (a scalar operand's gradient): nothing to split
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

// A channels-inner accumulator's initialization, stored channels innermost: whole vectors of
// channels (the last shifted inwards), unrolled over the tile's channel vectors.
Stage scheduleAccumulatorInit(Func accumulator, int width) {
  std::vector<Var> a = accumulator.args(); // x, y, c, n
  Var acv("acv");
  accumulator.reorder_storage(a[2], a[0], a[1], a[3]);
  return accumulator.split(a[2], a[2], acv, width, TailStrategy::ShiftInwards)
      .reorder(acv, a[2], a[0], a[1], a[3])
      .vectorize(acv)
      .unroll(a[2]);
}

// Channels padded to whole vectors: the zero-padded weight (stored output channels innermost)
// and bias once per call; the accumulator computes whole vectors of channels.
void schedulePaddedChannels(const AnchorInfo &anchor, int width) {
  if (!anchor.weightPadded.defined())
    return;
  Func weight = anchor.weightPadded, bias = anchor.biasPadded, accumulator = anchor.accumulator;
  std::vector<Var> w = weight.args(); // kx, ky, ci, co
  int channels = static_cast<int>(anchor.paddedChannels);
  weight.compute_root().bound(w[3], 0, channels).reorder_storage(w[3], w[2], w[0], w[1])
      .reorder(w[3], w[2], w[0], w[1]).vectorize(w[3], width);
  bias.compute_root().bound(bias.args()[0], 0, channels).vectorize(bias.args()[0], width);
  accumulator.align_bounds(accumulator.args()[2], width);
}

// A channels-inner conv inside its pooling (LeNet): tiles of the pooled output of tile[0]
// pooled x positions × every channel (vectors, the last shifted inwards), whose window of conv
// outputs stays in registers; the epilogue and the pooling are inlined. LeNet's conv2 so: 182
// GFLOP/s of useful work, 83% of the FMA peak (Zen 4, /tmp/probe).
void schedulePooledChannelsInner(Func output, const AnchorInfo &anchor,
                                 const std::vector<int64_t> &poolShape, const TargetSpec &target) {
  std::vector<Var> args = output.args(); // x, y, c, n
  Var x = args[0], y = args[1], c = args[2], n = args[3];
  int width = anchor.vectorWidth > 0 ? anchor.vectorWidth : target.vectorWidth;
  // No wider than the pooled row (a shifted tile would read before it).
  int pooledX = static_cast<int>(std::clamp<int64_t>(anchor.tile[0], 1, poolShape.back()));
  schedulePaddedChannels(anchor, width);
  // Tiles of tile[1] channels (every channel when they fit the registers), x tiles inside.
  int64_t channels = poolShape[1];
  int tileC = static_cast<int>(std::min<int64_t>(anchor.tile[1], channels));
  Var xo("xo"), xi("xi"), co("co"), ci("ci"), cv("cv"), task("task");
  output.split(x, xo, xi, pooledX, TailStrategy::ShiftInwards)
      .split(c, co, ci, tileC, TailStrategy::ShiftInwards)
      .split(ci, ci, cv, width, TailStrategy::ShiftInwards)
      .reorder(cv, ci, xi, xo, co, y, n)
      .vectorize(cv)
      .unroll(ci)
      .unroll(xi)
      .fuse(y, n, task)
      .parallel(task);
  Func accumulator = anchor.accumulator;
  std::vector<Var> a = accumulator.args();
  Var ax = a[0], ay = a[1], ac = a[2], an = a[3], acv("acv");
  accumulator.compute_at(output, xo).store_in(MemoryType::Stack);
  scheduleAccumulatorInit(accumulator, width).unroll(ax).unroll(ay);
  const std::vector<RVar> &r = anchor.reduction;
  std::vector<VarOrRVar> order{acv, ac, ax, ay, r.back()};
  for (auto it = r.begin(); it + 1 != r.end(); ++it)
    order.push_back(*it);
  order.push_back(an);
  accumulator.update()
      .split(ac, ac, acv, width, TailStrategy::GuardWithIf)
      .reorder(order)
      .vectorize(acv)
      .unroll(ac)
      .unroll(ax)
      .unroll(ay);
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
  if (anchor.channelsInner)
    return schedulePooledChannelsInner(output, anchor, poolShape, target);
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

// Images per task of a co_outer conv with a window: a block of weights staged once serves
// them all (ResNet-18's 512-channel 3×3 layers at batch 8 restaged 9.4 MB per image before:
// 8.7–9.0 → 6.8–7.2 ms each, the whole model 116 → 107–110 ms; ResNet-50's 3×3 layer4 9.0–9.9
// → 6.6–7.6 ms, the model 283 → 275–285 ms; batch 1 unchanged; Xeon, 423 GFLOP/s, kiln-bench
// --profile, interleaved passes). The task's accumulators, 8 × 7×7×64 or 8 × 14×14×32 floats
// (100–200 KiB), stay in L2.
constexpr int kImagesPerTask = 8;

// Output rows per task of a conv walked by rows (orders rows and rows_xo) whose padded input
// is staged per task: a task of r rows stages the r + KH - 1 input rows it reads (r = 1 copied
// every input row three times for a 3×3 window: 8–10% of layer1's time, perf). Rows that
// divide the height, as many as leave a single image 8 or more tasks for the threads to share
// (56 rows: 4, 14 tasks; 28 rows: 2, 14 tasks).
int rowsPerStagedTask(const AnchorInfo &anchor) {
  if (!anchor.paddedInput.defined() || (anchor.order != "rows" && anchor.order != "rows_xo"))
    return 1;
  int64_t height = anchor.shape[2];
  for (int rows : {4, 2})
    if (height % rows == 0 && height / rows >= 8)
      return rows;
  return 1;
}

void scheduleConvChannelsLast(Func output, const AnchorInfo &anchor, const TargetSpec &target) {
  if (target.gpu) {
    scheduleGpu(output, static_cast<int64_t>(anchor.shape.size()));
    Func accumulator = anchor.accumulator;
    accumulator.compute_at(output, Var("xi"));
    return;
  }
  const std::vector<int64_t> &shape = anchor.shape;
  int width = anchor.vectorWidth > 0 ? anchor.vectorWidth : target.vectorWidth;
  int tileX = static_cast<int>(std::min<int64_t>(anchor.tile[0], shape[3]));
  schedulePaddedChannels(anchor, width);
  // A tile of more channels than there are (channels padded to whole vectors) is every channel.
  int tileC = static_cast<int>(std::min<int64_t>(anchor.tile[1], shape[1]));
  std::vector<Var> args = output.args(); // x, y, c, n
  Var x = args[0], y = args[1], c = args[2], n = args[3];
  Var xo("xo"), xi("xi"), co("co"), ci("ci"), cv("cv"), no("no"), ni("ni"), task("task");
  // Tiles of tileX positions × tileC channels whose accumulators stay in registers; channels
  // that do not fill the tile (LeNet's 20, 50) shift the last vectors inwards.
  output.split(c, co, ci, tileC, TailStrategy::ShiftInwards)
      .split(x, xo, xi, tileX, TailStrategy::ShiftInwards)
      .split(ci, ci, cv, width, TailStrategy::ShiftInwards);
  // Pointwise convs keep a task per image: their accumulators are reloaded per block of 64
  // input channels for 64 multiply-adds each, from L1 for one image (7×7×64 floats) but L2
  // for eight, and their blocks of weights (64×64) are cheap to restage. Eight images per task
  // made ResNet-50 b8 slower (283 → 287 ms: 2048→512 at 7×7 4.1–4.3 → 4.7–5.4 ms, layer3's
  // 1×1 3.9 → 4.2–5.0 ms; only 512→2048 gained, 4.1 → 3.7 ms).
  const std::vector<RVar> &r = anchor.reduction;
  std::vector<RVar> window(r.begin(), r.end() - 1);
  RVar inputChannel = r.back();
  int64_t windowSize = 1;
  for (const RVar &w : window)
    if (const int64_t *extent = as_const_int(w.extent()))
      windowSize *= *extent;
  // Blocks of 64 input channels, their weights staged (co_outer, below).
  int64_t inputChannels = anchor.inputChannels;
  bool blocked = anchor.order == "co_outer" && inputChannels >= 128 && inputChannels % 64 == 0;
  int imagesPerTask = blocked && windowSize > 1 ? kImagesPerTask : 1;
  int rowsPerTask = rowsPerStagedTask(anchor);
  Var yo("yo"), yi("yi");
  auto walk = [&](Stage stage, const std::string &order) {
    if (order == "co_outer" && imagesPerTask > 1) {
      // A task is a channel tile of up to kImagesPerTask images: each block of weights it
      // stages serves all of them.
      stage.split(n, no, ni, imagesPerTask, TailStrategy::GuardWithIf)
          .reorder(cv, ci, xi, xo, y, ni, no, co)
          .fuse(no, co, task)
          .parallel(task);
    } else if (order == "co_outer") {
      stage.reorder(cv, ci, xi, xo, y, n, co).fuse(n, co, task).parallel(task);
    } else {
      // Tasks of rowsPerTask rows of one image; rows_xo: x tiles outside channel tiles.
      std::vector<VarOrRVar> loops{cv, ci, xi};
      loops.push_back(order == "rows_xo" ? co : xo);
      loops.push_back(order == "rows_xo" ? xo : co);
      Var row = y;
      if (rowsPerTask > 1) {
        stage.split(y, yo, yi, rowsPerTask, TailStrategy::GuardWithIf);
        loops.push_back(yi);
        row = yo;
      }
      loops.push_back(row);
      loops.push_back(n);
      stage.reorder(loops).fuse(row, n, task).parallel(task);
    }
    stage.vectorize(cv).unroll(ci).unroll(xi);
  };
  walk(output, anchor.order);
  Func accumulator = anchor.accumulator;
  std::vector<Var> a = accumulator.args();
  Var ax = a[0], ay = a[1], ac = a[2], an = a[3];
  Var acv("acv"), axo("axo"), axi("axi");
  if (anchor.order == "co_outer") {
    // Rows of 7 and 14 (ResNet's last stages): a task is a channel tile of whole images, its
    // accumulators (7×7×64 floats per image) summed over blocks of 64 input channels, so a
    // block's weights (9×64×64 floats) serve every row and image from the cache instead of
    // being streamed again per row: at batch 1 the 512-channel layers went from ~105 to ~140
    // GFLOP/s (Zen 4).
    accumulator.compute_at(output, task).store_in(MemoryType::Stack);
    scheduleAccumulatorInit(accumulator, width);
    Stage update = accumulator.update();
    update.split(ac, ac, acv, width, TailStrategy::GuardWithIf)
        .split(ax, axo, axi, tileX, TailStrategy::GuardWithIf);
    std::vector<VarOrRVar> order{acv, ac, axi};
    RVar blocks("ci_block"), within("ci_within");
    if (blocked)
      update.split(inputChannel, blocks, within, 64);
    order.push_back(blocked ? within : inputChannel);
    for (const RVar &w : window)
      order.push_back(w);
    order.push_back(axo);
    order.push_back(ay);
    if (imagesPerTask > 1) // the task's images inside each block
      order.push_back(an);
    if (blocked)
      order.push_back(blocks);
    if (imagesPerTask == 1)
      order.push_back(an);
    update.reorder(order).vectorize(acv).unroll(ac).unroll(axi);
    // A block's weights (9×64×64 floats for a 3×3 conv) are copied, once per block, into a
    // contiguous buffer the rows then read: from the [KH][KW][I][O] weight a channel tile is
    // 256-byte runs 2 KiB apart (512 outputs), a pattern the prefetchers follow poorly while
    // the weights come from L3 or memory. ResNet-18's 512-channel 7×7 layers at batch 1 went
    // from 1.78–1.84 to 1.40–1.46 ms each, ResNet-50 b1 45.5 → 41.0 ms, batch 8 unchanged
    // (304 → 299 ms; Xeon, 2 threads, kiln-bench --profile).
    if (blocked) {
      Func weight = anchor.weight;
      Func staged = weight.in(accumulator);
      std::vector<Var> w = staged.args(); // kx, ky, ci, co; stored co innermost, then ci
      staged.compute_at(accumulator, blocks)
          .reorder_storage(w[3], w[2], w[0], w[1])
          .reorder(w[3], w[2], w[0], w[1])
          .vectorize(w[3], width);
    }
  } else {
    // The accumulator at the innermost tile loop: x tiles outside channel tiles compute it per
    // channel tile.
    // Whole vectors, kept in registers.
    accumulator.compute_at(output, anchor.order == "rows_xo" ? co : xo)
        .store_in(MemoryType::Stack);
    scheduleAccumulatorInit(accumulator, width).unroll(ax);
    // The reduction: input channels innermost (contiguous in the input, a broadcast each),
    // then the window; the tile's multiply-adds innermost of all.
    Stage update = accumulator.update();
    update.split(ac, ac, acv, width, TailStrategy::GuardWithIf);
    std::vector<VarOrRVar> order{acv, ac, ax, inputChannel};
    for (const RVar &w : window)
      order.push_back(w);
    order.push_back(ay);
    order.push_back(an);
    update.reorder(order).vectorize(acv).unroll(ac).unroll(ax);
  }
  // A padded input is staged per task (rowsPerStagedTask rows of output), or for co_outer per
  // image within each block of input channels (64 channels of one image, not a task's 8 images
  // × every channel, 2 MB at 14×14×256, which cost ResNet-18's layer3 5–10% at batch 8): its
  // boundary test then runs once per element staged, not per multiply-add (14x14 and 7x7
  // layers ran 14–30% faster so, /tmp/probe). Not for inputs of few channels (the stem's 3).
  if (anchor.paddedInput.defined()) {
    Func padded = anchor.paddedInput;
    Func staged = padded.in(accumulator);
    std::vector<Var> s = staged.args(); // x, y, c, n; stored and walked channels innermost
    if (imagesPerTask > 1)
      staged.compute_at(accumulator, an);
    else
      staged.compute_at(output, task);
    staged.reorder_storage(s[2], s[0], s[1], s[3])
        .reorder(s[2], s[0], s[1], s[3])
        .vectorize(s[2], width, TailStrategy::GuardWithIf);
  }
}

void scheduleDenseOutputInner(Func output, Func accumulator, RVar reduction,
                              const std::vector<int64_t> &shape, const TargetSpec &target) {
  if (target.gpu) {
    scheduleGpu(output, 2);
    accumulator.compute_at(output, Var("xi"));
    return;
  }
  int64_t outputs = shape[1];
  // Whole vectors only: fewer outputs than a tile shift the last vector inwards.
  int lanes = lanesFor(outputs, target.vectorWidth);
  int tileM = static_cast<int>(std::min<int64_t>(64, outputs / lanes * lanes));
  constexpr int kImages = 6;
  std::vector<Var> args = output.args(); // m, n
  Var m = args[0], n = args[1];
  Var mo("mo"), mi("mi"), mv("mv"), no("no"), ni("ni");
  Expr batch = output.output_buffer().dim(1).extent();
  auto walk = [&](Stage stage, int images) {
    stage.split(m, mo, mi, tileM, TailStrategy::ShiftInwards)
        .split(mi, mi, mv, lanes, TailStrategy::ShiftInwards)
        .split(n, no, ni, images, TailStrategy::ShiftInwards)
        .reorder(mv, mi, ni, no, mo)
        .vectorize(mv)
        .unroll(mi)
        .unroll(ni)
        .parallel(mo);
  };
  // Tiles of 6 images where the batch has them; image by image otherwise.
  Stage tiled = output.specialize(batch >= kImages);
  walk(tiled, kImages);
  walk(output, 1);
  std::vector<Var> a = accumulator.args();
  Var am = a[0], an = a[1], amv("amv");
  accumulator.compute_at(output, no).store_in(MemoryType::Stack);
  accumulator.split(am, am, amv, lanes, TailStrategy::ShiftInwards)
      .reorder(amv, am, an)
      .vectorize(amv)
      .unroll(am)
      .unroll(an);
  accumulator.update()
      .split(am, am, amv, lanes, TailStrategy::GuardWithIf)
      .reorder(amv, am, an, reduction)
      .vectorize(amv)
      .unroll(am)
      .unroll(an);
}

} // namespace kiln::codegen
