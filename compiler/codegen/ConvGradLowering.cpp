// Gradients of convolution: with respect to its input (a transposed convolution, written as a
// gather over the output gradient) and with respect to its weight.
//
// Every output element is one serial sum, in a fixed order, and the parallel loops run over
// disjoint outputs, so results are bit-identical from run to run whatever the thread count.
#include "codegen/Lowering.h"
#include "codegen/Schedules.h"

using namespace Halide;
using mlir::FailureOr;

namespace kiln::codegen {
namespace {

int toInt(int64_t v) { return static_cast<int>(v); }

// conv_backward_filter without groups: vectors of `lanes` output channels, one (output channel
// block, input channel) per parallel task, its K×K taps (unrolled up to 5×5) held as K·K vector
// accumulators through the sum over images and positions. Per output position: one vector of
// transposed dy (co contiguous), K·K broadcast x values, K·K FMAs; dy is transposed once per
// kernel run (compute_root) and a padded x copied once, so the inner loop has no boundary tests.
// Measured on 2 cores of an AMD EPYC with AVX-512 (kiln-kernel-bench,
// tools/kiln-bench/KernelBench.cpp): LeNet's conv2 dw at batch 64 in 0.6 ms (340 GFLOP/s; 10.3 ms
// with the rfactor schedule that groups keep, below), ResNet's 3×3 64→64 dw over 56×56 at
// batch 8 in 4.8 ms (380 GFLOP/s).
void scheduleFilterGradient(Func output, Func acc, Func dyT, Func xPadded, RDom r, int64_t rank,
                            int64_t outChannels, int64_t taps2, const TargetSpec &target) {
  std::vector<Var> args = output.args(); // kx, (ky, (kz,)) ci, co
  if (target.gpu) {
    scheduleGpu(output, rank);
    acc.compute_at(output, Var("xi"));
    return;
  }
  int lanes = lanesFor(outChannels, target.vectorWidth);
  Var coo("coo"), coi("coi"), task("task");
  std::vector<VarOrRVar> order{coi};
  for (int64_t i = 0; i < rank - 2; ++i)
    order.push_back(args[i]);
  order.push_back(args[rank - 2]);
  order.push_back(coo);
  output.split(args[rank - 1], coo, coi, lanes, TailStrategy::ShiftInwards)
      .reorder(order)
      .fuse(args[rank - 2], coo, task)
      .parallel(task);
  std::vector<Var> accArgs = acc.args(); // co, kx, (ky, (kz,)) ci
  acc.compute_at(output, task).store_in(MemoryType::Stack);
  std::vector<VarOrRVar> updateOrder(accArgs.begin(), accArgs.end() - 1);
  for (int i = 0; i < r.dimensions(); ++i)
    updateOrder.push_back(r[i]);
  acc.update().reorder(updateOrder);
  if (lanes > 1) {
    acc.vectorize(accArgs[0]);
    acc.update().vectorize(accArgs[0]);
  }
  acc.update().unroll(accArgs[1]);
  if (rank > 3 && taps2 <= 25)
    acc.update().unroll(accArgs[2]);
  dyT.compute_root().parallel(dyT.args().back());
  if (lanes > 1)
    dyT.vectorize(dyT.args()[0], lanes, TailStrategy::GuardWithIf);
  if (xPadded.defined()) {
    xPadded.compute_root().parallel(xPadded.args().back());
    xPadded.vectorize(xPadded.args()[0], target.vectorWidth, TailStrategy::GuardWithIf);
  }
}

// What both forms of conv_backward_data share: the reduction over the kernel taps (innermost
// spatial first) and the output channels of the input channel's group, and the weight element.
struct DataGradient {
  const TensorFunc &dy, &weight;
  std::vector<int64_t> shape; // dx's
  int64_t rank, spatial, groups, inPerGroup, outPerGroup;
  llvm::ArrayRef<int64_t> strides, dilations, padding;
  RDom r;

  DataGradient(nn::ConvBackwardDataOp op, const Operands &in, const std::string &name)
      : dy(in[0]), weight(in[1]), shape(resultShape(op)), rank(static_cast<int64_t>(shape.size())),
        spatial(rank - 2), groups(op.getGroups()), inPerGroup(weight.shape[1]),
        outPerGroup(weight.shape[0] / groups), strides(op.getStrides()),
        dilations(op.getDilations()), padding(op.getPadding()) {
    Region window;
    for (int64_t i = spatial - 1; i >= 0; --i)
      window.push_back(Range(0, toInt(weight.shape[2 + i])));
    window.push_back(Range(0, toInt(outPerGroup)));
    r = RDom(window, name + "_r");
  }

  RVar tap(int64_t i) const { return r[toInt(spatial - 1 - i)]; } // tensor-order spatial i
  Expr outChannel(Expr c) const {
    Expr group = groups == 1 ? Expr(0) : c / toInt(inPerGroup);
    return group * toInt(outPerGroup) + r[toInt(spatial)];
  }
  Expr weightAt(Expr c) const {
    std::vector<Expr> index{outChannel(c), groups == 1 ? c : c % toInt(inPerGroup)};
    for (int64_t i = 0; i < spatial; ++i)
      index.push_back(tap(i));
    return weight.at(index);
  }
  std::vector<RVar> reduction() const {
    std::vector<RVar> vars;
    for (int i = 0; i < r.dimensions(); ++i)
      vars.push_back(r[i]);
    return vars;
  }
};

// Strides > 1: only the taps k with (x + pad − k·d) divisible by s reach input position x, and
// which those are depends only on x's phase x mod s. The gradient is accumulated over (quotient,
// phase) coordinates, x = q·s + φ, with the reduction predicated on (φ, k): the predicate sits
// outside the loop over output channels, so a tap that does not divide costs a test, not a sum
// (Halide drops the phases a 1×1 kernel never reaches altogether). Per row, tiles of `lanes`
// quotients × up to 8 input channels accumulate in registers, as in the stride-1 schedule.
// ResNet-18's downsampling gradients at batch 8 (AMD EPYC, 2 cores, AVX-512): 1×1/2 64→128 in
// 0.39 ms (260 GFLOP/s of useful work; 3.4 ms when every tap was computed and selected), 3×3/2
// 64→128 in 5.2 ms (180 GFLOP/s).
LoweredOp lowerStridedDataGradient(nn::ConvBackwardDataOp op, const Operands &in,
                                   const LoweringContext &ctx) {
  DataGradient g(op, in, ctx.name);
  std::vector<Var> v = tensorVars(g.rank);
  // The accumulator's variables, Halide order: (q, φ) for each strided dimension (x for the
  // others), innermost first, then c and n; accAt reads it at dx's position.
  std::vector<Var> accVars;
  std::vector<Expr> dyIndex(g.spatial);
  Expr divides = Internal::const_true();
  Region dyBounds(g.rank);
  std::vector<Expr> accAt;
  for (int64_t i = g.spatial - 1; i >= 0; --i) {
    int s = toInt(g.strides[i]), d = toInt(g.dilations[i]), pad = toInt(g.padding[i]);
    std::string dim = v[2 + i].name();
    dyBounds[g.spatial - 1 - i] = Range(0, toInt(g.dy.shape[2 + i])); // quotients round up
    if (s == 1) {
      Var x(dim);
      accVars.push_back(x);
      accAt.push_back(v[2 + i]);
      dyIndex[i] = x + pad - g.tap(i) * d;
      continue;
    }
    Var q("q" + dim), phase("phase_" + dim);
    accVars.push_back(q);
    accVars.push_back(phase);
    accAt.push_back(v[2 + i] / s);
    // x mod s, bounded [0, s) over a vector of x; an outer row's phase written so that Halide
    // bounds it by the row's one phase (it bounds a % of a single point by [0, s) too).
    accAt.push_back(i == g.spatial - 1 ? v[2 + i] % s : v[2 + i] - v[2 + i] / s * s);
    Expr offset = phase + pad - g.tap(i) * d;
    divides = divides && offset % s == 0;
    dyIndex[i] = q + offset / s; // exact where it divides (Halide's division rounds down)
  }
  Var c("c"), n("n");
  accVars.push_back(c);
  accVars.push_back(n);
  accAt.push_back(v[1]);
  accAt.push_back(v[0]);
  g.r.where(divides);
  Func dyPadded = BoundaryConditions::constant_exterior(g.dy.func, 0.0f, dyBounds);
  std::vector<Expr> dyAt{n, g.outChannel(c)};
  dyAt.insert(dyAt.end(), dyIndex.begin(), dyIndex.end());
  Func acc(ctx.name + "_acc"), phases(ctx.name + "_phases");
  acc(accVars) = 0.0f;
  acc(accVars) += TensorFunc{dyPadded, g.dy.shape}.at(dyAt) * g.weightAt(c);
  phases(accVars) = acc(accVars);
  Func dx(ctx.name);
  dx(halideOrder(v)) = phases(accAt);

  int64_t channels = g.shape[1], rank = g.rank;
  int64_t accWidth = (g.shape.back() + g.strides.back() - 1) / g.strides.back();
  std::vector<RVar> reduction = g.reduction();
  LoweredOp lowered{{dx, g.shape}, nullptr};
  lowered.schedule = [acc, phases, dyPadded, reduction, shape = g.shape, channels, rank,
                      accWidth](Func output, const TargetSpec &target) {
    Func a = acc, p = phases, padded = dyPadded;
    if (target.gpu) {
      scheduleGpu(output, rank);
      a.compute_at(output, Var("xi"));
      return;
    }
    // The output: a copy that gathers the phases back, vectors along x. One row's phases at a
    // time (per image and outer position), the outermost dimension in parallel.
    std::vector<Var> args = output.args(); // x, (y, (z,)) c, n
    int outLanes = lanesFor(shape.back(), target.vectorWidth);
    if (outLanes > 1)
      output.vectorize(args[0], outLanes, TailStrategy::ShiftInwards);
    Var at = args[rank - 1];
    if (rank == 3) {
      output.reorder(args[0], args[1], args[2]).parallel(args[2]);
    } else if (rank == 4) {
      output.reorder(args[0], args[2], args[3], args[1]).parallel(args[1]);
    } else {
      output.reorder(args[0], args[3], args[1], args[4], args[2]).parallel(args[2]);
      at = args[1];
    }
    p.compute_at(output, at);
    padded.compute_at(output, at);
    padded.vectorize(padded.args()[0], target.vectorWidth, TailStrategy::GuardWithIf);
    // The row's phases in tiles of `lanes` quotients × up to 8 channels (channel tiles divide
    // the channels, which index the weight; quotients round up to whole vectors and read dy's
    // zero border), each tile's accumulators in registers through the taps and output channels.
    int lanes = lanesFor(accWidth, target.vectorWidth);
    int channelTile = 1;
    while (channelTile < 8 && channels % (channelTile * 2) == 0)
      channelTile *= 2;
    std::vector<Var> pArgs = p.args(); // q or x innermost, phases and outer dims, c, n
    Var qo("qo"), qi("qi"), co("co"), ci("ci");
    std::vector<VarOrRVar> tileOrder{qi, ci, qo};
    tileOrder.insert(tileOrder.end(), pArgs.begin() + 1, pArgs.end() - 2);
    tileOrder.push_back(co);
    tileOrder.push_back(pArgs.back());
    p.split(pArgs[0], qo, qi, lanes, TailStrategy::RoundUp)
        .split(pArgs[pArgs.size() - 2], co, ci, channelTile)
        .reorder(tileOrder)
        .unroll(ci);
    std::vector<Var> accArgs = a.args();
    Var channel = accArgs[accArgs.size() - 2];
    a.compute_at(p, qo).store_in(MemoryType::Stack).unroll(channel);
    // The output channels inside the taps: the predicate is tested once per tap.
    std::vector<VarOrRVar> order{accArgs[0], channel, reduction.back()};
    order.insert(order.end(), reduction.begin(), reduction.end() - 1);
    a.update().reorder(order).unroll(channel);
    if (lanes > 1) {
      p.vectorize(qi);
      a.vectorize(accArgs[0]);
      a.update().vectorize(accArgs[0]);
    }
  };
  return lowered;
}

// The gather form below sums over every tap at every input position, reading dy through its
// zero border; where dy is small next to the kernel (LeNet's conv2: 8×8 from 12×12 through 5×5)
// most of those products are zeros (2.25× the useful work there). Then the gradient is taken in
// two phases instead: cols[n, ci, k, o] = Σ_co w[co, ci, k]·dy[n, co, o] for every output
// position o — a matrix product with no wasted work, per image in tiles of `lanes` positions
// × up to 4 rows × the kernel row's taps held in registers — then dx[n, ci, x] = Σ_k
// cols[n, ci, k, x + pad − k·d] over the taps whose position exists (the col2im, a few adds per
// element). Stride 1 and CPU targets; one image's columns must fit in 256 KiB (L2).
// LeNet's conv2 dx at batch 64 (kiln-kernel-bench, AMD EPYC, 2 cores, AVX-512): 3.7 ms
// gathering, 1.07 ms in columns.
bool preferColumns(const DataGradient &g, const LoweringContext &ctx) {
  if (ctx.gpu)
    return false;
  double gathered = 1, useful = 1, columns = static_cast<double>(g.shape[1]);
  for (int64_t i = 0; i < g.spatial; ++i) {
    gathered *= static_cast<double>(g.shape[2 + i]);
    useful *= static_cast<double>(g.dy.shape[2 + i]);
    columns *= static_cast<double>(g.weight.shape[2 + i] * g.dy.shape[2 + i]);
  }
  return gathered >= 1.5 * useful && columns * sizeof(float) <= 256 * 1024;
}

LoweredOp lowerColumnsDataGradient(const DataGradient &g, const LoweringContext &ctx) {
  int64_t spatial = g.spatial, rank = g.rank;
  // cols' variables, Halide order: output positions (innermost spatial first), taps (same),
  // input channel, image.
  std::vector<Var> pos, taps;
  for (int64_t i = spatial - 1; i >= 0; --i) {
    pos.push_back(Var("o" + std::to_string(i)));
    taps.push_back(Var("k" + std::to_string(i)));
  }
  Var ci("ci"), n("n");
  std::vector<Var> colsArgs(pos);
  colsArgs.insert(colsArgs.end(), taps.begin(), taps.end());
  colsArgs.push_back(ci);
  colsArgs.push_back(n);
  auto posAt = [&](int64_t i) { return pos[spatial - 1 - i]; }; // tensor-order spatial i
  auto tapAt = [&](int64_t i) { return taps[spatial - 1 - i]; };

  RDom rco(0, toInt(g.outPerGroup), ctx.name + "_co");
  Expr group = g.groups == 1 ? Expr(0) : ci / toInt(g.inPerGroup);
  Expr co = group * toInt(g.outPerGroup) + rco;
  std::vector<Expr> dyAt{n, co}, wAt{co, g.groups == 1 ? Expr(ci) : ci % toInt(g.inPerGroup)};
  for (int64_t i = 0; i < spatial; ++i) {
    dyAt.push_back(posAt(i));
    wAt.push_back(tapAt(i));
  }
  Func acc(ctx.name + "_cols_acc"), cols(ctx.name + "_cols");
  acc(colsArgs) = 0.0f;
  acc(colsArgs) += g.dy.at(dyAt) * g.weight.at(wAt);
  cols(colsArgs) = acc(colsArgs);

  // col2im: the taps whose output position exists; the others read cols' zero border.
  Region bounds(colsArgs.size());
  for (int64_t i = 0; i < spatial; ++i)
    bounds[spatial - 1 - i] = Range(0, toInt(g.dy.shape[2 + i]));
  Func bordered = BoundaryConditions::constant_exterior(cols, 0.0f, bounds);
  std::vector<Var> v = tensorVars(rank);
  Region window;
  for (int64_t i = spatial - 1; i >= 0; --i)
    window.push_back(Range(0, toInt(g.weight.shape[2 + i])));
  RDom rk(window, ctx.name + "_k");
  std::vector<Expr> at(colsArgs.size());
  for (int64_t i = 0; i < spatial; ++i) {
    Expr k = rk[toInt(spatial - 1 - i)];
    at[spatial - 1 - i] = v[2 + i] + toInt(g.padding[i]) - k * toInt(g.dilations[i]);
    at[2 * spatial - 1 - i] = k;
  }
  at[2 * spatial] = v[1];
  at[2 * spatial + 1] = v[0];
  Func dx(ctx.name);
  std::vector<Var> hv = halideOrder(v);
  dx(hv) = 0.0f;
  dx(hv) += bordered(at);

  LoweredOp lowered{{dx, g.shape}, nullptr};
  std::vector<int64_t> shape = g.shape, dyShape = g.dy.shape, kernel = g.weight.shape;
  lowered.schedule = [acc, cols, dx, rco, shape, dyShape, kernel, spatial,
                      rank](Func output, const TargetSpec &target) {
    Func a = acc, c = cols, d = dx;
    std::vector<Var> args = output.args(); // x, (y, (z,)) c, n
    // One image per task: its columns, then its gradient, vectors along x.
    int outLanes = lanesFor(shape.back(), target.vectorWidth);
    if (outLanes > 1)
      output.vectorize(args[0], outLanes, TailStrategy::ShiftInwards);
    output.parallel(args[rank - 1]);
    d.compute_at(output, args[1]);
    if (outLanes > 1) {
      d.vectorize(d.args()[0], outLanes, TailStrategy::ShiftInwards);
      d.update().vectorize(d.args()[0], outLanes, TailStrategy::GuardWithIf);
    }
    c.compute_at(output, args[rank - 1]);
    // Every column of the image, whatever part of it dx reads: the tiles below must not start
    // before position 0 (a tile wider than the region read would be shifted there).
    for (int64_t i = 0; i < spatial; ++i)
      c.bound(c.args()[i], 0, toInt(dyShape[rank - 1 - i]));
    int64_t kx = kernel.back();
    std::vector<Var> cArgs = c.args();
    std::vector<Var> aArgs = a.args();
    // Rows narrower than a vector (LeNet's 8×8 maps, 16 lanes): the image's positions are
    // contiguous, so fuse rows and columns and take full vectors across rows; the tile is all
    // of an image's positions (at most 4 vectors) × the taps of a kernel row.
    int width = target.vectorWidth;
    int64_t plane = spatial >= 2 ? dyShape.back() * dyShape[rank - 2] : 0;
    if (spatial == 2 && dyShape.back() < width && plane % width == 0 && plane / width <= 4 &&
        kx <= 7) {
      // cols and its accumulator (pure and update stages, which share cols' variables) tile
      // alike; the update's reduction over output channels goes outside the tile.
      Var p("p"), po("po"), pi("pi");
      Var ox = cArgs[0], oy = cArgs[1], taps = cArgs[spatial];
      auto tile = [&](auto stage, std::vector<VarOrRVar> outside) {
        std::vector<VarOrRVar> before{ox, oy, taps}, after{pi, po, taps};
        before.insert(before.end(), outside.begin(), outside.end());
        after.insert(after.end(), outside.begin(), outside.end());
        stage.reorder(before).fuse(ox, oy, p).split(p, po, pi, width).reorder(after);
        stage.vectorize(pi).unroll(po).unroll(taps);
      };
      tile(c, {});
      a.compute_at(c, cArgs[spatial + 1]).store_in(MemoryType::Stack);
      tile(a, {});
      tile(a.update(), {rco.x});
      return;
    }
    // cols' register tile: `lanes` positions × `rows` rows × the taps of a kernel row.
    int lanes = lanesFor(dyShape.back(), target.vectorWidth);
    Var ox("ox_o"), oxi("ox_i"), oy("oy_o"), oyi("oy_i");
    std::vector<VarOrRVar> order{oxi};
    int rows = 1;
    if (spatial >= 2)
      rows = static_cast<int>(std::min<int64_t>(4, dyShape[rank - 2]));
    c.split(cArgs[0], ox, oxi, lanes, TailStrategy::ShiftInwards);
    if (spatial >= 2) {
      c.split(cArgs[1], oy, oyi, rows, TailStrategy::ShiftInwards);
      order.push_back(oyi);
    }
    bool unrollTaps = kx <= 7;
    if (unrollTaps)
      order.push_back(cArgs[spatial]);
    order.push_back(ox);
    if (spatial >= 2)
      order.push_back(oy);
    for (size_t i = spatial >= 2 ? 2 : 1; i < static_cast<size_t>(spatial); ++i)
      order.push_back(cArgs[i]);
    for (size_t i = spatial + (unrollTaps ? 1 : 0); i < cArgs.size(); ++i)
      order.push_back(cArgs[i]);
    c.reorder(order);
    if (lanes > 1)
      c.vectorize(oxi);
    if (spatial >= 2)
      c.unroll(oyi);
    if (unrollTaps)
      c.unroll(cArgs[spatial]);
    a.compute_at(c, ox).store_in(MemoryType::Stack);
    std::vector<VarOrRVar> aOrder{aArgs[0]};
    if (spatial >= 2)
      aOrder.push_back(aArgs[1]);
    if (unrollTaps)
      aOrder.push_back(aArgs[spatial]);
    aOrder.push_back(rco.x);
    a.update().reorder(aOrder);
    if (lanes > 1) {
      a.vectorize(aArgs[0]);
      a.update().vectorize(aArgs[0]);
    }
    if (spatial >= 2) {
      a.unroll(aArgs[1]);
      a.update().unroll(aArgs[1]);
    }
    if (unrollTaps) {
      a.unroll(aArgs[spatial]);
      a.update().unroll(aArgs[spatial]);
    }
  };
  return lowered;
}

} // namespace

// dx[n, ci, x] = Σ over the kernel taps k and the output channels co of ci's group of
// dy[n, co, (x + pad − k·d)/s]·w[co, ci mod Cin/g, k], where the division is exact and the
// quotient is an output position; out-of-range quotients read dy's zero border.
FailureOr<LoweredOp> lower(nn::ConvBackwardDataOp op, const Operands &in,
                           const LoweringContext &ctx) {
  if (llvm::any_of(op.getStrides(), [](int64_t s) { return s > 1; }))
    return lowerStridedDataGradient(op, in, ctx);
  DataGradient g(op, in, ctx.name);
  if (preferColumns(g, ctx))
    return lowerColumnsDataGradient(g, ctx);
  std::vector<Var> v = tensorVars(g.rank);
  std::vector<Expr> dyIndex{v[0], g.outChannel(v[1])};
  Region dyBounds(g.rank); // Halide order; only the dimensions an index can leave
  bool bounded = false;
  for (int64_t i = 0; i < g.spatial; ++i) {
    int d = toInt(g.dilations[i]), pad = toInt(g.padding[i]);
    int k = toInt(g.weight.shape[2 + i]), outExtent = toInt(g.dy.shape[2 + i]);
    dyIndex.push_back(v[2 + i] + pad - g.tap(i) * d);
    if (pad - (k - 1) * d < 0 || toInt(g.shape[2 + i]) - 1 + pad >= outExtent) {
      dyBounds[g.spatial - 1 - i] = Range(0, outExtent);
      bounded = true;
    }
  }
  // dy with its zero border, materialized per task (below) so the inner loop reads plain vectors.
  Func dyPadded =
      bounded ? BoundaryConditions::constant_exterior(g.dy.func, 0.0f, dyBounds) : g.dy.func;
  Func dx(ctx.name);
  std::vector<Var> hv = halideOrder(v);
  dx(hv) = 0.0f;
  dx(hv) += TensorFunc{dyPadded, g.dy.shape}.at(dyIndex) * g.weightAt(v[1]);

  std::vector<RVar> reduction = g.reduction();
  LoweredOp lowered{{dx, g.shape}, nullptr};
  // The forward convolution's tiling: `lanes` x-positions × 8 input channels, 8 vector
  // accumulators in registers through the whole reduction, each dy vector shared by the 8
  // channels, each weight broadcast (Schedules.cpp). The padded dy rows a task reads are copied
  // first: reading dy through its boundary condition put clamps and selects in the inner loop.
  // LeNet's conv2 dx at batch 64: 3.6 ms (57 GFLOP/s; 9.9 ms before the copy), ResNet's 3×3
  // 64→64 dx over 56×56 at batch 8: 6.0 ms (310 GFLOP/s), on 2 cores of an AMD EPYC with
  // AVX-512.
  lowered.schedule = [dx, shape = g.shape, reduction, dyPadded, bounded](Func output,
                                                                         const TargetSpec &target) {
    scheduleChannelTiled(output, dx, shape, /*channelTile=*/8, target, reduction);
    if (!bounded || target.gpu)
      return;
    Func padded = dyPadded;
    padded.compute_at(output, Var("task"));
    int lanes = lanesFor(shape.back(), target.vectorWidth);
    if (lanes > 1)
      padded.vectorize(padded.args()[0], lanes, TailStrategy::GuardWithIf);
  };
  return lowered;
}

// dw[co, ci, k] = Σ over images n and output positions o of dy[n, co, o]·x[n, g·Cin/g + ci,
// o·s − pad + k·d], x zero in the padding.
FailureOr<LoweredOp> lower(nn::ConvBackwardFilterOp op, const Operands &in,
                           const LoweringContext &ctx) {
  const TensorFunc &x = in[0], &dy = in[1];
  std::vector<int64_t> shape = resultShape(op);
  int64_t rank = static_cast<int64_t>(shape.size()), spatial = rank - 2;
  int64_t groups = op.getGroups();
  int64_t inPerGroup = shape[1], outPerGroup = shape[0] / groups;
  llvm::ArrayRef<int64_t> strides = op.getStrides(), dilations = op.getDilations(),
                          padding = op.getPadding();

  // Reduction over the output positions (innermost spatial first), then the images.
  Region positions;
  for (int64_t i = spatial - 1; i >= 0; --i)
    positions.push_back(Range(0, toInt(dy.shape[2 + i])));
  positions.push_back(Range(0, ctx.extent(x, 0)));
  RDom r(positions, ctx.name + "_r");
  auto position = [&](int64_t i) { return r[toInt(spatial - 1 - i)]; };
  RVar image = r[toInt(spatial)];

  // Weight dimensions: output channel, input channel (within the group), kernel taps.
  std::vector<Var> v{Var("co"), Var("ci")};
  static const char *taps[] = {"kx", "ky", "kz"}; // innermost first
  for (int64_t i = 0; i < spatial; ++i)
    v.emplace_back(taps[spatial - 1 - i]);
  Expr group = groups == 1 ? Expr(0) : v[0] / toInt(outPerGroup);
  std::vector<Expr> dyIndex{image, v[0]};
  std::vector<Expr> xIndex{image, group * toInt(inPerGroup) + v[1]};
  for (int64_t i = 0; i < spatial; ++i) {
    dyIndex.push_back(position(i));
    xIndex.push_back(position(i) * toInt(strides[i]) - toInt(padding[i]) +
                     v[2 + i] * toInt(dilations[i]));
  }
  Func xPaddedFunc = padSpatial(x, padding, 0.0f);
  TensorFunc xPadded{xPaddedFunc, x.shape};
  bool padded = xPaddedFunc.name() != x.func.name();
  Func dw(ctx.name);
  std::vector<Var> hv = halideOrder(v);
  LoweredOp lowered{{dw, shape}, nullptr};
  if (groups == 1) {
    // Output channels innermost, for vectors of them: dy transposed so that its channels are
    // contiguous, the sum accumulated in a Func of (co, taps…, ci) and copied to dw's layout.
    std::vector<Var> dyVars{Var("co")}; // Halide order: co, spatial innermost first, n
    for (int64_t i = spatial - 1; i >= 0; --i)
      dyVars.emplace_back(std::string("o") + taps[spatial - 1 - i]);
    dyVars.emplace_back("n");
    std::vector<Expr> dyAt{dyVars.back(), dyVars[0]};
    for (int64_t i = 0; i < spatial; ++i)
      dyAt.push_back(dyVars[spatial - i]);
    Func dyT(ctx.name + "_dy_t");
    dyT(dyVars) = dy.at(dyAt);
    std::vector<Var> accVars{v[0]};
    for (int64_t i = spatial - 1; i >= 0; --i)
      accVars.push_back(v[2 + i]);
    accVars.push_back(v[1]);
    std::vector<Expr> dyTAt{v[0]};
    for (int64_t i = spatial - 1; i >= 0; --i)
      dyTAt.push_back(position(i));
    dyTAt.push_back(image);
    Func acc(ctx.name + "_acc");
    acc(accVars) = 0.0f;
    acc(accVars) += dyT(dyTAt) * xPadded.at(xIndex);
    dw(hv) = acc(accVars);
    // The two innermost taps (x, y) held in registers when they number 25 or fewer.
    int64_t outChannels = shape[0], taps2 = shape[rank - 1] * (spatial > 1 ? shape[rank - 2] : 1);
    lowered.schedule = [acc, dyT, xPaddedFunc, padded, r, rank, outChannels,
                        taps2](Func output, const TargetSpec &target) {
      scheduleFilterGradient(output, acc, dyT, padded ? xPaddedFunc : Func(), r, rank, outChannels,
                             taps2, target);
    };
    return lowered;
  }

  // Groups: the channels of a vector would read different input channels. One (output
  // channel, input channel) pair per task, its taps summed as `lanes` partial sums along the
  // output rows (rfactor): dy and x read as contiguous vectors, each dy vector used by every tap.
  dw(hv) = 0.0f;
  dw(hv) += dy.at(dyIndex) * xPadded.at(xIndex);
  int64_t outWidth = dy.shape.back();
  lowered.schedule = [dw, r, rank, outWidth](Func output, const TargetSpec &target) {
    Func acc = dw;
    if (target.gpu) {
      // One thread per weight element, each summing its images and positions serially.
      scheduleGpu(output, rank);
      acc.compute_at(output, Var("xi"));
      return;
    }
    std::vector<Var> args = output.args(); // kx, (ky, (kz,)) ci, co
    Var task("task");
    output.fuse(args[rank - 2], args[rank - 1], task).parallel(task);
    acc.compute_at(output, task);
    int lanes = lanesFor(outWidth, target.vectorWidth);
    std::vector<Var> accArgs = acc.args();
    if (lanes == 1) {
      // Rows shorter than 4: the taps inside the position loops, scalar.
      std::vector<VarOrRVar> order(accArgs.begin(), accArgs.begin() + (rank - 2));
      for (int i = 0; i < r.dimensions(); ++i)
        order.push_back(r[i]);
      acc.update().reorder(order);
      return;
    }
    RVar xo("xo"), xi("xi");
    Var lane("lane");
    Func partial =
        acc.update().split(r[0], xo, xi, lanes, TailStrategy::GuardWithIf).rfactor(xi, lane);
    partial.compute_at(output, task).vectorize(lane);
    std::vector<Var> partialArgs = partial.args(); // lane, kx, (ky, (kz,)) ci, co
    std::vector<VarOrRVar> order{lane};
    for (int64_t i = 0; i < rank - 2; ++i)
      order.push_back(partialArgs[1 + i]);
    order.push_back(xo);
    for (int i = 1; i < r.dimensions(); ++i)
      order.push_back(r[i]);
    partial.update().reorder(order).vectorize(lane).unroll(partialArgs[1]);
  };
  return lowered;
}

} // namespace kiln::codegen
