// The loss and the softmax family's gradients: softmax cross-entropy (mean over the batch) and
// its gradient, and the gradients of softmax and log-softmax along an axis.
//
// Per-row statistics (maximum, Σ exp) are computed once per kernel run at root, vectorized
// across rows (images) with strided loads: a row is short (10 classes for LeNet) and a vector of
// rows keeps every lane busy. Each row's reduction is serial, the loss sums the rows serially:
// results are bit-identical from run to run. exp and log are Halide's vectorizable fast_exp and
// fast_log (accurate to the last few bits of the mantissa); the libm calls would run one lane at
// a time. LeNet's loss and its gradient at batch 64 take about 1 µs and 2 µs (AMD EPYC, 2 cores).
#include "codegen/Lowering.h"
#include "codegen/Schedules.h"

using namespace Halide;
using mlir::FailureOr;

namespace kiln::codegen {
namespace {

// Row statistics of logits [N, C]: the maximum and Σ exp(logit − maximum) of each row.
struct RowStats {
  Func max, sumExp;
  int classes;
  RDom r;

  RowStats(const TensorFunc &logits, Expr batch, const std::string &name)
      : max(name + "_max"), sumExp(name + "_sum_exp"), classes(static_cast<int>(logits.shape[1])),
        r(0, classes, name + "_r") {
    Var n("n");
    // Rows clamped: the vectors of rows round the batch up (scheduleRows).
    Expr row = clamp(n, 0, batch - 1);
    max(n) = Float(32).min();
    max(n) = Halide::max(max(n), logits.func(r, row));
    sumExp(n) = 0.0f;
    sumExp(n) += fast_exp(logits.func(r, row) - max(n));
  }

  // log Σ exp(logits) of row n.
  Expr logSumExp(Expr n) const { return fast_log(sumExp(n)) + max(n); }

  void schedule(const TargetSpec &target) {
    for (Func f : {max, sumExp})
      scheduleRows(f, target, r);
  }

  // A per-row Func at root (with the reduction along the row `r`, if any): vectors of rows on
  // the CPU, one thread per row on CUDA. The row count is the run-time batch: reductions round
  // it up to whole vectors over clamped reads (a guarded tail of an update is what Halide 14
  // miscompiles, Schedules.h); pure Funcs guard their tail.
  static void scheduleRows(Func f, const TargetSpec &target, RDom r = RDom(), bool onHost = false) {
    Var n = f.args()[0], no("no"), ni("ni"), block("block"), thread("thread");
    f.compute_root();
    bool reduction = r.defined();
    TailStrategy tail = reduction ? TailStrategy::RoundUp : TailStrategy::GuardWithIf;
    for (int stage = 0; stage <= f.num_update_definitions(); ++stage) {
      Stage s = stage == 0 ? Stage(f) : f.update(stage - 1);
      if (target.gpu && !onHost) {
        s.gpu_tile(n, block, thread, 64, tail);
        continue;
      }
      s.split(n, no, ni, target.vectorWidth, tail);
      if (stage > 0)
        s.reorder(ni, r.x, no);
      s.vectorize(ni);
    }
  }
};

// The label of each row as an index, checked: a label outside [0, classes) stops the kernel
// with an error (the runtime reports it) rather than reading another row's logit. Checked on
// the host, also for CUDA (a GPU kernel cannot format the message), before the rows.
Func checkedLabels(const TensorFunc &labels, int classes, const std::string &name) {
  Var n("n");
  Expr label = cast<int64_t>(labels.func(n)); // any integer type, compared without overflow
  Expr valid = label >= 0 && label < classes;
  Func checked(name + "_label");
  checked(n) = require(valid, cast<int>(clamp(label, 0, classes - 1)),
                       "softmax cross-entropy: a label is outside [0, classes):", label);
  return checked;
}

} // namespace

FailureOr<LoweredOp> lower(nn::SoftmaxCrossEntropyOp op, const Operands &in,
                           const LoweringContext &ctx) {
  const TensorFunc &logits = in[0], &labels = in[1];
  RowStats stats(logits, ctx.extent(logits, 0), ctx.name);
  // −log softmax(logits)[n, label] = logsumexp(row n) − logit[n, label].
  Var n("n");
  Func label = checkedLabels(labels, stats.classes, ctx.name);
  Func perImage(ctx.name + "_per_image");
  perImage(n) = stats.logSumExp(n) - logits.func(label(n), n);
  Expr batch = ctx.extent(logits, 0);
  RDom images(0, batch, ctx.name + "_images");
  Func total(ctx.name + "_total"), loss(ctx.name);
  total() = 0.0f;
  total() += perImage(images);
  loss() = total() / cast<float>(batch);
  LoweredOp lowered{{loss, {}}, nullptr};
  lowered.schedule = [stats, label, perImage, total](Func output,
                                                     const TargetSpec &target) mutable {
    stats.schedule(target);
    RowStats::scheduleRows(label, target, RDom(), /*onHost=*/true);
    RowStats::scheduleRows(perImage, target);
    // The mean of N numbers: one serial sum (a few hundred adds), in image order.
    total.compute_root();
    if (target.gpu) {
      total.gpu_single_thread();
      total.update().gpu_single_thread();
      output.gpu_single_thread();
    }
  };
  return lowered;
}

FailureOr<LoweredOp> lower(nn::SoftmaxCrossEntropyBackwardOp op, const Operands &in,
                           const LoweringContext &ctx) {
  const TensorFunc &logits = in[0], &labels = in[1];
  std::vector<int64_t> shape = resultShape(op);
  RowStats stats(logits, ctx.extent(logits, 0), ctx.name);
  // (softmax(logits) − onehot(label))/N.
  Var c("c"), n("n");
  Func label = checkedLabels(labels, stats.classes, ctx.name);
  Expr softmax = fast_exp(logits.func(c, n) - stats.max(n)) / stats.sumExp(n);
  Expr invBatch = 1.0f / cast<float>(ctx.extent(logits, 0));
  Func grad(ctx.name);
  grad(c, n) = (softmax - select(c == label(n), 1.0f, 0.0f)) * invBatch;
  LoweredOp lowered{{grad, shape}, nullptr};
  lowered.schedule = [stats, label, shape](Func output, const TargetSpec &target) mutable {
    stats.schedule(target);
    RowStats::scheduleRows(label, target, RDom(), /*onHost=*/true);
    scheduleElementwise(output, shape, target);
  };
  return lowered;
}

namespace {

// The gradients of softmax (isLog false) and log-softmax from their output y along `axis`:
// softmax dx = y·(dy − Σ dy·y), log-softmax dx = dy − exp(y)·Σ dy.
template <typename SoftmaxBackwardLikeOp>
LoweredOp lowerSoftmaxBackward(SoftmaxBackwardLikeOp op, const Operands &in,
                               const LoweringContext &ctx, bool isLog) {
  const TensorFunc &y = in[0], &dy = in[1];
  std::vector<int64_t> shape = resultShape(op);
  int64_t rank = static_cast<int64_t>(shape.size()), axis = op.getAxis();
  std::vector<Var> v = tensorVars(rank);
  std::vector<Var> hv = halideOrder(v);
  RDom r(0, static_cast<int>(shape[axis]), ctx.name + "_r");
  std::vector<Expr> along = asExprs(v);
  along[axis] = r;
  // The sum is a Func of every variable, read with the axis' variable at 0 (that dimension of
  // its realization has extent 1), like the forward softmax's statistics.
  Func total(ctx.name + "_sum");
  total(hv) = 0.0f;
  total(hv) += isLog ? dy.at(along) : dy.at(along) * y.at(along);
  std::vector<Expr> base = asExprs(v);
  base[axis] = 0;
  Expr s = total(std::vector<Expr>(base.rbegin(), base.rend()));
  std::vector<Expr> i = asExprs(v);
  Func dx(ctx.name);
  dx(hv) = isLog ? dy.at(i) - fast_exp(y.at(i)) * s : y.at(i) * (dy.at(i) - s);

  LoweredOp lowered{{dx, shape}, nullptr};
  lowered.schedule = [total, r, shape, axis](Func output, const TargetSpec &target) {
    Func t = total;
    int64_t rank = static_cast<int64_t>(shape.size());
    std::vector<Var> args = t.args();
    if (target.gpu) {
      scheduleGpu(output, rank);
      t.compute_at(output, Var("xi"));
      return;
    }
    // One image per task: its sums first, vectorized along the innermost dimension unless that
    // is the axis (then each sum runs along a contiguous row).
    std::vector<Var> outArgs = output.args();
    int outLanes = lanesFor(shape.back(), target.vectorWidth);
    if (outLanes > 1)
      output.vectorize(outArgs[0], outLanes, TailStrategy::ShiftInwards);
    output.parallel(outArgs.back());
    t.compute_at(output, outArgs.back());
    // Lanes that divide the row: no tail (Schedules.h).
    int lanes = axis == rank - 1 ? 1 : dividingLanes(shape.back(), target.vectorWidth);
    if (lanes > 1) {
      Var xo("xo"), xi("xi");
      t.vectorize(args[0], lanes);
      t.update().split(args[0], xo, xi, lanes).reorder(xi, r.x, xo).vectorize(xi);
    }
  };
  return lowered;
}

} // namespace

FailureOr<LoweredOp> lower(nn::SoftmaxBackwardOp op, const Operands &in,
                           const LoweringContext &ctx) {
  return lowerSoftmaxBackward(op, in, ctx, /*isLog=*/false);
}

FailureOr<LoweredOp> lower(nn::LogSoftmaxBackwardOp op, const Operands &in,
                           const LoweringContext &ctx) {
  return lowerSoftmaxBackward(op, in, ctx, /*isLog=*/true);
}

} // namespace kiln::codegen
