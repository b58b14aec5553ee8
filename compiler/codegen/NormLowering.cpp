// Per-channel reductions over the batch and every spatial position — bias gradients, batch
// statistics, training-mode batch norm and its gradients — and the running-statistics update.
//
// Every channel sum is computed once per kernel run (compute_root), its channels in parallel,
// each channel summed serially in a fixed order, so results are bit-identical from run to run:
//  - spatial data whose rows hold at least 4 elements: `lanes` partial sums vectorized along the
//    contiguous rows (rfactor), added up in lane order at the end;
//  - otherwise ([N, C] data, 1×1 maps): vectors of channels, each lane a channel's serial sum
//    (strided loads), the vectors in parallel.
// The variance is two-pass (squared deviations from the mean), which keeps its digits when the
// mean is large. Measured (AMD EPYC, 2 cores, AVX-512; kiln-kernel-bench): batch_norm_train over 8×64×56×56 in 0.33 ms, its data gradient
// (four channel sums) in 0.62 ms, LeNet's conv1 bias gradient (64×20×24×24) in 0.085 ms.
// On CUDA, one thread per (image, channel) sums the spatial positions and one thread per channel
// adds the images up, again in a fixed order.
#include "codegen/Lowering.h"
#include "codegen/Schedules.h"

using namespace Halide;
using mlir::FailureOr;

namespace kiln::codegen {
namespace {

// Σ over n ∈ [0, batch) and every spatial position of term(index) per channel c, index being
// tensor-order {n, c, spatial…} over a tensor of `shape`.
class ChannelSum {
public:
  ChannelSum(const std::string &name, const std::vector<int64_t> &shape, Expr batch,
             const std::function<Expr(const std::vector<Expr> &)> &term)
      : sum(name), shape(shape) {
    int64_t rank = static_cast<int64_t>(shape.size());
    Region domain; // innermost first: x, y, z, then the batch
    for (int64_t i = rank - 1; i >= 2; --i)
      domain.push_back(Range(0, static_cast<int>(shape[i])));
    domain.push_back(Range(0, batch));
    r = RDom(domain, name + "_r");
    std::vector<Expr> index(rank);
    index[0] = r[static_cast<int>(rank) - 2];
    // Clamped: vectors of channels round the channel count up (see schedule()).
    index[1] = clamp(c, 0, static_cast<int>(shape[1]) - 1);
    for (int64_t i = 2; i < rank; ++i)
      index[i] = r[static_cast<int>(rank - 1 - i)];
    sum(c) = 0.0f;
    sum(c) += term(index);
  }

  Func func() const { return sum; }

  void schedule(const TargetSpec &target) {
    int64_t rank = static_cast<int64_t>(shape.size());
    int channels = static_cast<int>(shape[1]);
    sum.compute_root();
    if (target.gpu) {
      // Per image first (r's last dimension is the batch), then over the images.
      Var image("image"), block("block"), thread("thread");
      Func perImage = sum.update().rfactor(r[static_cast<int>(rank) - 2], image);
      perImage.compute_root().gpu_tile(image, c, block, Var("cb"), thread, Var("ct"), 32, 1,
                                       TailStrategy::GuardWithIf);
      perImage.update().gpu_tile(image, c, block, Var("cb"), thread, Var("ct"), 32, 1,
                                 TailStrategy::GuardWithIf);
      sum.gpu_tile(c, block, thread, 32, TailStrategy::GuardWithIf);
      sum.update().gpu_tile(c, block, thread, 32, TailStrategy::GuardWithIf);
      return;
    }
    int rowLanes = rank > 2 ? lanesFor(shape.back(), target.vectorWidth) : 1;
    if (rowLanes > 1) {
      RVar xo("xo"), xi("xi");
      Var lane("lane");
      Func partial =
          sum.update().split(r[0], xo, xi, rowLanes, TailStrategy::GuardWithIf).rfactor(xi, lane);
      partial.compute_at(sum, c).vectorize(lane);
      partial.update().vectorize(lane);
      sum.parallel(c);
      sum.update().parallel(c);
      return;
    }
    int lanes = lanesFor(channels, target.vectorWidth);
    if (lanes > 1) {
      // The channel count rounded up to whole vectors (the extra lanes read clamped channels and
      // are never used): a guarded tail here is what Halide 14 miscompiles (Schedules.h).
      Var co("co"), ci("ci");
      sum.vectorize(c, lanes, TailStrategy::RoundUp);
      std::vector<VarOrRVar> order{ci};
      for (int i = 0; i < r.dimensions(); ++i)
        order.push_back(r[i]);
      order.push_back(co);
      sum.update().split(c, co, ci, lanes, TailStrategy::RoundUp).reorder(order).vectorize(ci);
      sum.update().parallel(co);
    }
  }

private:
  Var c{"c"};
  Func sum;
  RDom r;
  std::vector<int64_t> shape;
};

// The number of elements each channel sums over, as a float.
Expr channelCount(const TensorFunc &t, const LoweringContext &ctx) {
  Expr count = cast<float>(ctx.extent(t, 0));
  for (int64_t i = 2; i < t.rank(); ++i)
    count *= static_cast<float>(t.shape[i]);
  return count;
}

// Per-channel mean and biased variance (two passes: the mean first, then squared deviations),
// each a compute_root Func of the channel.
struct ChannelStats {
  Func mean, var;
  std::vector<ChannelSum> sums;

  ChannelStats(const TensorFunc &x, const LoweringContext &ctx, const std::string &name) {
    Expr count = channelCount(x, ctx);
    ChannelSum total(name + "_total", x.shape, ctx.extent(x, 0),
                     [&](const std::vector<Expr> &i) { return x.at(i); });
    Var c("c");
    mean = Func(name + "_mean");
    mean(c) = total.func()(c) / count;
    ChannelSum squares(name + "_squares", x.shape, ctx.extent(x, 0),
                       [&](const std::vector<Expr> &i) {
                         Expr d = x.at(i) - mean(i[1]);
                         return d * d;
                       });
    var = Func(name + "_var");
    var(c) = squares.func()(c) / count;
    sums = {total, squares};
  }

  // Statistics are tiny (one value per channel): computed at root, before the consumers.
  void schedule(const TargetSpec &target) {
    for (ChannelSum &s : sums)
      s.schedule(target);
    scheduleChannelFunc(mean, target);
    scheduleChannelFunc(var, target);
  }

  // A Func of the channel, at root (one value per channel: no need to tile it).
  static void scheduleChannelFunc(Func f, const TargetSpec &target) {
    f.compute_root();
    if (target.gpu)
      f.gpu_tile(f.args()[0], Var("block"), Var("thread"), 32, TailStrategy::GuardWithIf);
  }
};

// A [C] result f(c) of channel sums, computed at root first.
LoweredOp channelResult(Func f, int64_t channels, std::vector<ChannelSum> sums,
                        std::vector<Func> roots = {}) {
  std::vector<int64_t> shape{channels};
  LoweredOp lowered{{f, shape}, nullptr};
  lowered.schedule = [shape, sums, roots](Func output, const TargetSpec &target) mutable {
    for (ChannelSum &s : sums)
      s.schedule(target);
    for (Func &root : roots)
      ChannelStats::scheduleChannelFunc(root, target);
    scheduleElementwise(output, shape, target);
  };
  return lowered;
}

} // namespace

FailureOr<LoweredOp> lower(nn::ReduceToChannelOp op, const Operands &in,
                           const LoweringContext &ctx) {
  const TensorFunc &x = in[0];
  ChannelSum sum(ctx.name, x.shape, ctx.extent(x, 0),
                 [&](const std::vector<Expr> &i) { return x.at(i); });
  return channelResult(sum.func(), x.shape[1], {sum});
}

FailureOr<LoweredOp> lower(nn::ChannelMeanOp op, const Operands &in, const LoweringContext &ctx) {
  const TensorFunc &x = in[0];
  ChannelSum sum(ctx.name + "_sum", x.shape, ctx.extent(x, 0),
                 [&](const std::vector<Expr> &i) { return x.at(i); });
  Var c("c");
  Func mean(ctx.name);
  mean(c) = sum.func()(c) / channelCount(x, ctx);
  return channelResult(mean, x.shape[1], {sum});
}

FailureOr<LoweredOp> lower(nn::ChannelVarOp op, const Operands &in, const LoweringContext &ctx) {
  const TensorFunc &x = in[0];
  ChannelStats stats(x, ctx, ctx.name);
  Var c("c");
  Func var(ctx.name);
  Expr count = channelCount(x, ctx);
  // Unbiased: the sum of squares over count − 1 (the running variance PyTorch keeps).
  var(c) = op.getUnbiased() ? stats.var(c) * count / (count - 1.0f) : stats.var(c);
  LoweredOp lowered = channelResult(var, x.shape[1], stats.sums, {stats.mean});
  return lowered;
}

FailureOr<LoweredOp> lower(nn::RunningUpdateOp op, const Operands &in, const LoweringContext &ctx) {
  std::vector<int64_t> shape = resultShape(op);
  float momentum = static_cast<float>(op.getMomentum().convertToDouble());
  Var c("c");
  Func f(ctx.name);
  f(c) = (1.0f - momentum) * in[0].func(c) + momentum * in[1].func(c);
  LoweredOp lowered{{f, shape}, nullptr};
  lowered.schedule = [shape](Func output, const TargetSpec &target) {
    scheduleElementwise(output, shape, target);
  };
  return lowered;
}

FailureOr<LoweredOp> lower(nn::BatchNormTrainOp op, const Operands &in,
                           const LoweringContext &ctx) {
  const TensorFunc &x = in[0], &gamma = in[1], &beta = in[2];
  std::vector<int64_t> shape = resultShape(op);
  float eps = static_cast<float>(op.getEpsilon().convertToDouble());
  ChannelStats stats(x, ctx, ctx.name);
  // y = x·scale + shift per channel, scale = γ/√(σ² + ε), shift = β − μ·scale.
  Var c("c");
  Func scale(ctx.name + "_scale"), shift(ctx.name + "_shift");
  scale(c) = gamma.func(c) / sqrt(stats.var(c) + eps);
  shift(c) = beta.func(c) - stats.mean(c) * scale(c);
  std::vector<Var> v = tensorVars(x.rank());
  Func y(ctx.name);
  y(halideOrder(v)) = x.at(asExprs(v)) * scale(v[1]) + shift(v[1]);
  LoweredOp lowered{{y, shape}, nullptr};
  lowered.schedule = [stats, scale, shift, shape](Func output, const TargetSpec &target) mutable {
    stats.schedule(target);
    ChannelStats::scheduleChannelFunc(scale, target);
    ChannelStats::scheduleChannelFunc(shift, target);
    scheduleElementwise(output, shape, target);
  };
  return lowered;
}

FailureOr<LoweredOp> lower(nn::BatchNormTrainBackwardDataOp op, const Operands &in,
                           const LoweringContext &ctx) {
  const TensorFunc &x = in[0], &dy = in[1], &gamma = in[2];
  std::vector<int64_t> shape = resultShape(op);
  float eps = static_cast<float>(op.getEpsilon().convertToDouble());
  ChannelStats stats(x, ctx, ctx.name);
  Expr count = channelCount(x, ctx);
  ChannelSum sumDy(ctx.name + "_sum_dy", x.shape, ctx.extent(x, 0),
                   [&](const std::vector<Expr> &i) { return dy.at(i); });
  ChannelSum sumDyCentered(
      ctx.name + "_sum_dy_xc", x.shape, ctx.extent(x, 0),
      [&](const std::vector<Expr> &i) { return dy.at(i) * (x.at(i) - stats.mean(i[1])); });
  // dx = γ/σ·(dy − mean(dy) − x̂·mean(dy·x̂)) with x̂ = (x − μ)/σ, as
  // dx = scale·(dy − meanDy − (x − μ)·slope): scale = γ/σ, slope = Σ dy·(x − μ)/(σ²·count).
  Var c("c");
  Func invStd(ctx.name + "_inv_std"), scale(ctx.name + "_scale"), meanDy(ctx.name + "_mean_dy"),
      slope(ctx.name + "_slope");
  invStd(c) = 1.0f / sqrt(stats.var(c) + eps);
  scale(c) = gamma.func(c) * invStd(c);
  meanDy(c) = sumDy.func()(c) / count;
  slope(c) = sumDyCentered.func()(c) * invStd(c) * invStd(c) / count;
  std::vector<Var> v = tensorVars(x.rank());
  std::vector<Expr> i = asExprs(v);
  Func dx(ctx.name);
  dx(halideOrder(v)) =
      scale(v[1]) * (dy.at(i) - meanDy(v[1]) - (x.at(i) - stats.mean(v[1])) * slope(v[1]));
  std::vector<ChannelSum> sums{sumDy, sumDyCentered};
  std::vector<Func> roots{invStd, scale, meanDy, slope};
  LoweredOp lowered{{dx, shape}, nullptr};
  lowered.schedule = [stats, sums, roots, shape](Func output, const TargetSpec &target) mutable {
    stats.schedule(target);
    for (ChannelSum &s : sums)
      s.schedule(target);
    for (Func &f : roots)
      ChannelStats::scheduleChannelFunc(f, target);
    scheduleElementwise(output, shape, target);
  };
  return lowered;
}

FailureOr<LoweredOp> lower(nn::BatchNormTrainBackwardWeightOp op, const Operands &in,
                           const LoweringContext &ctx) {
  const TensorFunc &x = in[0], &dy = in[1];
  float eps = static_cast<float>(op.getEpsilon().convertToDouble());
  ChannelStats stats(x, ctx, ctx.name);
  ChannelSum sumDyCentered(
      ctx.name + "_sum_dy_xc", x.shape, ctx.extent(x, 0),
      [&](const std::vector<Expr> &i) { return dy.at(i) * (x.at(i) - stats.mean(i[1])); });
  // dγ = Σ dy·x̂ = Σ dy·(x − μ) / σ.
  Var c("c");
  Func dgamma(ctx.name);
  dgamma(c) = sumDyCentered.func()(c) / sqrt(stats.var(c) + eps);
  std::vector<ChannelSum> sums = stats.sums;
  sums.push_back(sumDyCentered);
  return channelResult(dgamma, x.shape[1], sums, {stats.mean, stats.var});
}

// Batch norm folded into the preceding layer's parameters: elementwise over the weight (output
// channel first) and the bias. They run when weights are loaded, not per forward pass.
FailureOr<LoweredOp> lower(nn::FoldBatchNormWeightOp op, const Operands &in,
                           const LoweringContext &ctx) {
  std::vector<int64_t> shape = resultShape(op);
  std::vector<Var> v = tensorVars(static_cast<int64_t>(shape.size()));
  float eps = static_cast<float>(op.getEpsilon().convertToDouble());
  Func folded(ctx.name);
  folded(halideOrder(v)) =
      in[0].at(asExprs(v)) * (in[1].func(v[0]) / sqrt(in[2].func(v[0]) + eps));
  LoweredOp lowered{{folded, shape}, nullptr};
  lowered.schedule = [shape](Func output, const TargetSpec &target) {
    scheduleElementwise(output, shape, target);
  };
  return lowered;
}

FailureOr<LoweredOp> lower(nn::FoldBatchNormBiasOp op, const Operands &in,
                           const LoweringContext &ctx) {
  std::vector<int64_t> shape = resultShape(op);
  Var o("o");
  float eps = static_cast<float>(op.getEpsilon().convertToDouble());
  Expr bias = in.size() > 4 ? in[4].func(o) : Expr(0.0f);
  Func folded(ctx.name);
  folded(o) = in[1].func(o) + (bias - in[2].func(o)) * (in[0].func(o) / sqrt(in[3].func(o) + eps));
  LoweredOp lowered{{folded, shape}, nullptr};
  lowered.schedule = [shape](Func output, const TargetSpec &target) {
    scheduleElementwise(output, shape, target);
  };
  return lowered;
}

} // namespace kiln::codegen
