// The elementwise training ops: activation gradients, reshape and the optimizers' updates. Each is
// a map over its result, scheduled by scheduleElementwise (Schedules.h): vectors along the
// innermost dimension, the outer dimensions in parallel; on CUDA, 32 × 4 thread tiles. Memory
// bound: LeNet's fc1 momentum update (3 × 400k floats in, 400k out) takes 0.065 ms on 2 cores of
// an AMD EPYC.
#include "codegen/Lowering.h"
#include "codegen/Schedules.h"

#include <cmath>

using namespace Halide;
using mlir::FailureOr;

namespace kiln::codegen {
namespace {

// The op's result as value(index) at each tensor-order index.
LoweredOp elementwise(mlir::Operation *op, const LoweringContext &ctx,
                      const std::function<Expr(const std::vector<Expr> &)> &value) {
  std::vector<int64_t> shape = resultShape(op);
  std::vector<Var> v = tensorVars(static_cast<int64_t>(shape.size()));
  Func f(ctx.name);
  f(halideOrder(v)) = value(asExprs(v));
  LoweredOp lowered{{f, shape}, nullptr};
  lowered.schedule = [shape](Func output, const TargetSpec &target) {
    scheduleElementwise(output, shape, target);
  };
  return lowered;
}

// The entries of @train_step's `hyper` vector, set by the caller on each step.
enum class Hyper {
  LearningRate = 0,
  Momentum = 1,
  WeightDecay = 2,
  Beta1 = 3,
  Beta2 = 4,
  Epsilon = 5,
  BiasCorrection1 = 6, // 1 − β1^t
  BiasCorrection2 = 7, // 1 − β2^t
};

Expr hyper(const TensorFunc &h, Hyper which) { return h.func(static_cast<int>(which)); }

} // namespace

FailureOr<LoweredOp> lower(nn::ReluBackwardOp op, const Operands &in, const LoweringContext &ctx) {
  return elementwise(op, ctx, [&](const std::vector<Expr> &i) {
    return select(in[0].at(i) > 0.0f, in[1].at(i), 0.0f); // 0 at x = 0, as PyTorch
  });
}

FailureOr<LoweredOp> lower(nn::TanhBackwardOp op, const Operands &in, const LoweringContext &ctx) {
  return elementwise(op, ctx, [&](const std::vector<Expr> &i) {
    Expr y = in[0].at(i);
    return in[1].at(i) * (1.0f - y * y);
  });
}

FailureOr<LoweredOp> lower(nn::SigmoidBackwardOp op, const Operands &in,
                           const LoweringContext &ctx) {
  return elementwise(op, ctx, [&](const std::vector<Expr> &i) {
    Expr y = in[0].at(i);
    return in[1].at(i) * y * (1.0f - y);
  });
}

FailureOr<LoweredOp> lower(nn::LeakyReluBackwardOp op, const Operands &in,
                           const LoweringContext &ctx) {
  float alpha = op.getAlpha().convertToFloat();
  return elementwise(op, ctx, [&](const std::vector<Expr> &i) {
    return select(in[0].at(i) > 0.0f, in[1].at(i), alpha * in[1].at(i));
  });
}

FailureOr<LoweredOp> lower(nn::ClipBackwardOp op, const Operands &in, const LoweringContext &ctx) {
  float lo = op.getMin().convertToFloat(), hi = op.getMax().convertToFloat();
  return elementwise(op, ctx, [&](const std::vector<Expr> &i) {
    // An infinite bound (absent in ONNX's Clip) holds for every x but NaN: left out.
    Expr x = in[0].at(i), inside = Internal::const_true();
    if (std::isfinite(lo))
      inside = x >= lo;
    if (std::isfinite(hi))
      inside = inside && x <= hi;
    return select(inside, in[1].at(i), 0.0f);
  });
}

// Each element of the result sums the input over the dimensions `like` was broadcast along: the
// input's leading ones that `like` lacks, and those where `like` has 1 and the input more. One
// reduction per output element (a bias's gradient: over the batch and the spatial extents).
FailureOr<LoweredOp> lower(nn::SumLikeOp op, const Operands &in, const LoweringContext &ctx) {
  const TensorFunc &input = in[0], &like = in[1];
  float scale = op.getScale().convertToFloat();
  size_t lead = input.shape.size() - like.shape.size();
  std::vector<Range> ranges;
  std::vector<size_t> reduced;
  for (size_t i = 0; i < input.shape.size(); ++i)
    if (i < lead || (like.shape[i - lead] == 1 && input.shape[i] != 1)) {
      ranges.emplace_back(0, ctx.extent(input, static_cast<int64_t>(i)));
      reduced.push_back(i);
    }
  return elementwise(op, ctx, [&](const std::vector<Expr> &i) {
    if (ranges.empty())
      return scale * input.at(i);
    RDom r(ranges, ctx.name + "_r");
    std::vector<Expr> at(input.shape.size());
    for (size_t d = 0; d < at.size(); ++d)
      at[d] = d < lead ? Expr() : i[d - lead];
    for (size_t k = 0; k < reduced.size(); ++k)
      at[reduced[k]] = r[static_cast<int>(k)];
    return scale * Halide::sum(input.at(at));
  });
}

FailureOr<LoweredOp> lower(nn::ReshapeOp op, const Operands &in, const LoweringContext &ctx) {
  const TensorFunc &input = in[0];
  std::vector<int64_t> shape = resultShape(op);
  return elementwise(op, ctx, [&](const std::vector<Expr> &i) {
    // The element's row-major offset within its image, split into the input's dimensions.
    Expr offset = 0;
    for (size_t d = 1; d < shape.size(); ++d)
      offset = offset * static_cast<int>(shape[d]) + i[d];
    std::vector<Expr> index(input.rank());
    index[0] = i[0];
    for (int64_t d = input.rank() - 1; d >= 1; --d) {
      int extent = static_cast<int>(input.shape[d]);
      index[d] = d == 1 ? offset : offset % extent;
      offset = offset / extent;
    }
    return input.at(index);
  });
}

FailureOr<LoweredOp> lower(nn::MomentumUpdateOp op, const Operands &in,
                           const LoweringContext &ctx) {
  const TensorFunc &v = in[0], &g = in[1], &p = in[2], &h = in[3];
  return elementwise(op, ctx, [&](const std::vector<Expr> &i) {
    return hyper(h, Hyper::Momentum) * v.at(i) + (g.at(i) + hyper(h, Hyper::WeightDecay) * p.at(i));
  });
}

FailureOr<LoweredOp> lower(nn::SgdStepOp op, const Operands &in, const LoweringContext &ctx) {
  const TensorFunc &p = in[0], &v = in[1], &h = in[2];
  return elementwise(op, ctx, [&](const std::vector<Expr> &i) {
    return p.at(i) - hyper(h, Hyper::LearningRate) * v.at(i);
  });
}

FailureOr<LoweredOp> lower(nn::AdamMomentOp op, const Operands &in, const LoweringContext &ctx) {
  const TensorFunc &m = in[0], &g = in[1], &p = in[2], &h = in[3];
  bool second = op.getSecond();
  return elementwise(op, ctx, [&](const std::vector<Expr> &i) {
    Expr grad = g.at(i) + hyper(h, Hyper::WeightDecay) * p.at(i); // L2 decay, as PyTorch's Adam
    Expr beta = hyper(h, second ? Hyper::Beta2 : Hyper::Beta1);
    return beta * m.at(i) + (1.0f - beta) * (second ? grad * grad : grad);
  });
}

FailureOr<LoweredOp> lower(nn::AdamStepOp op, const Operands &in, const LoweringContext &ctx) {
  const TensorFunc &p = in[0], &m = in[1], &v = in[2], &h = in[3];
  return elementwise(op, ctx, [&](const std::vector<Expr> &i) {
    Expr firstHat = m.at(i) / hyper(h, Hyper::BiasCorrection1);
    Expr secondHat = v.at(i) / hyper(h, Hyper::BiasCorrection2);
    return p.at(i) -
           hyper(h, Hyper::LearningRate) * firstHat / (sqrt(secondHat) + hyper(h, Hyper::Epsilon));
  });
}

} // namespace kiln::codegen
