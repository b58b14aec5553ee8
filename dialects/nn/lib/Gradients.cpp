// Each differentiable nn op's gradient, beside the ops' shape rules (NNOps.cpp): the
// Differentiable interface's buildGradients, one short function per op.
#include "kiln/Dialect/NN/NNDialect.h"

#include "mlir/IR/Builders.h"

using namespace mlir;
using namespace kiln::nn;

#include "kiln/Dialect/NN/DifferentiableInterface.cpp.inc"

namespace {

// Gradient ops take the type of the forward value they differentiate.
Type typeOf(Value v) { return v.getType(); }

LogicalResult expectResultGrad(Operation *op, Value resultGrad) {
  if (!resultGrad)
    return op->emitOpError() << "cannot be the root of differentiation; the loss must be";
  return success();
}

// `grad` (of the broadcast result's shape) summed back to the shape of `like`, times scale; the
// gradient itself where nothing was broadcast.
Value sumLike(OpBuilder &b, Location loc, Value grad, Value like, float scale = 1.0f) {
  if (grad.getType() == like.getType() && scale == 1.0f)
    return grad;
  return b.create<SumLikeOp>(loc, typeOf(like), grad, like, b.getF32FloatAttr(scale));
}

} // namespace

// z = a + b: dz/da = dz/db = 1, summed over what each was broadcast along.
LogicalResult BroadcastAddOp::buildGradients(OpBuilder &b, Value dy, SmallVectorImpl<Value> &grads) {
  if (failed(expectResultGrad(*this, dy)))
    return failure();
  grads.append({sumLike(b, getLoc(), dy, getLhs()), sumLike(b, getLoc(), dy, getRhs())});
  return success();
}

LogicalResult BroadcastSubOp::buildGradients(OpBuilder &b, Value dy, SmallVectorImpl<Value> &grads) {
  if (failed(expectResultGrad(*this, dy)))
    return failure();
  grads.append({sumLike(b, getLoc(), dy, getLhs()), sumLike(b, getLoc(), dy, getRhs(), -1.0f)});
  return success();
}

// z = a·b: da = dz·b, db = dz·a.
LogicalResult BroadcastMulOp::buildGradients(OpBuilder &b, Value dy, SmallVectorImpl<Value> &grads) {
  if (failed(expectResultGrad(*this, dy)))
    return failure();
  Type type = getOutput().getType();
  Value dyB = b.create<BroadcastMulOp>(getLoc(), type, dy, getRhs());
  Value dyA = b.create<BroadcastMulOp>(getLoc(), type, dy, getLhs());
  grads.append({sumLike(b, getLoc(), dyB, getLhs()), sumLike(b, getLoc(), dyA, getRhs())});
  return success();
}

// z = a/b: da = dz/b, db = −dz·a/b² = −(dz·z)/b.
LogicalResult BroadcastDivOp::buildGradients(OpBuilder &b, Value dy, SmallVectorImpl<Value> &grads) {
  if (failed(expectResultGrad(*this, dy)))
    return failure();
  Type type = getOutput().getType();
  Value dyOverB = b.create<BroadcastDivOp>(getLoc(), type, dy, getRhs());
  Value dyZ = b.create<BroadcastMulOp>(getLoc(), type, dy, getOutput());
  Value dyZOverB = b.create<BroadcastDivOp>(getLoc(), type, dyZ, getRhs());
  grads.append({sumLike(b, getLoc(), dyOverB, getLhs()),
                sumLike(b, getLoc(), dyZOverB, getRhs(), -1.0f)});
  return success();
}

// z = max(a, b): dz goes to a where a > b (relu_backward of a − b), the rest to b (ties too);
// z = min(a, b): to a where b > a. `first` and `second` are the operands in that order.
static void extremumGradients(OpBuilder &b, Location loc, Type type, Value dy, Value lhs,
                              Value rhs, bool isMax, SmallVectorImpl<Value> &grads) {
  Value diff = isMax ? b.create<BroadcastSubOp>(loc, type, lhs, rhs)
                     : b.create<BroadcastSubOp>(loc, type, rhs, lhs);
  Value toLhs = b.create<ReluBackwardOp>(loc, type, diff, dy);
  Value toRhs = b.create<BroadcastSubOp>(loc, type, dy, toLhs);
  grads.append({sumLike(b, loc, toLhs, lhs), sumLike(b, loc, toRhs, rhs)});
}

LogicalResult BroadcastMaxOp::buildGradients(OpBuilder &b, Value dy, SmallVectorImpl<Value> &grads) {
  if (failed(expectResultGrad(*this, dy)))
    return failure();
  extremumGradients(b, getLoc(), getOutput().getType(), dy, getLhs(), getRhs(), true, grads);
  return success();
}

LogicalResult BroadcastMinOp::buildGradients(OpBuilder &b, Value dy, SmallVectorImpl<Value> &grads) {
  if (failed(expectResultGrad(*this, dy)))
    return failure();
  extremumGradients(b, getLoc(), getOutput().getType(), dy, getLhs(), getRhs(), false, grads);
  return success();
}

// The gradient of a transpose is the transpose by the inverse permutation.
LogicalResult TransposeOp::buildGradients(OpBuilder &b, Value dy, SmallVectorImpl<Value> &grads) {
  if (failed(expectResultGrad(*this, dy)))
    return failure();
  ArrayRef<int64_t> perm = getPerm();
  SmallVector<int64_t> inverse(perm.size());
  for (auto [i, p] : llvm::enumerate(perm))
    inverse[p] = static_cast<int64_t>(i);
  grads.push_back(b.create<TransposeOp>(getLoc(), typeOf(getInput()), dy,
                                        b.getDenseI64ArrayAttr(inverse)));
  return success();
}

// The gradient of a pad crops what was added (and pads with zeros what was cropped): the pad by
// the negated amounts.
LogicalResult PadOp::buildGradients(OpBuilder &b, Value dy, SmallVectorImpl<Value> &grads) {
  if (failed(expectResultGrad(*this, dy)))
    return failure();
  SmallVector<int64_t> negated;
  for (int64_t p : getPads())
    negated.push_back(-p);
  grads.push_back(b.create<PadOp>(getLoc(), typeOf(getInput()), dy,
                                  b.getDenseI64ArrayAttr(negated), b.getF32FloatAttr(0.0f)));
  return success();
}

// Each input's gradient is its slice of the result's gradient along the axis: a pad that crops
// the other inputs' parts.
LogicalResult ConcatOp::buildGradients(OpBuilder &b, Value dy, SmallVectorImpl<Value> &grads) {
  if (failed(expectResultGrad(*this, dy)))
    return failure();
  auto result = cast<RankedTensorType>(getOutput().getType());
  int64_t rank = result.getRank(), axis = static_cast<int64_t>(getAxis());
  int64_t offset = 0;
  for (Value input : getInputs()) {
    int64_t extent = cast<RankedTensorType>(input.getType()).getDimSize(axis);
    SmallVector<int64_t> pads(2 * rank, 0);
    pads[axis] = -offset;
    pads[rank + axis] = -(result.getDimSize(axis) - offset - extent);
    grads.push_back(b.create<PadOp>(getLoc(), typeOf(input), dy, b.getDenseI64ArrayAttr(pads),
                                    b.getF32FloatAttr(0.0f)));
    offset += extent;
  }
  return success();
}

LogicalResult ConvOp::buildGradients(OpBuilder &b, Value dy, SmallVectorImpl<Value> &grads) {
  if (failed(expectResultGrad(*this, dy)))
    return failure();
  grads.push_back(b.create<ConvBackwardDataOp>(getLoc(), typeOf(getInput()), dy, getWeight(),
                                               getStridesAttr(), getPaddingAttr(),
                                               getDilationsAttr(), getGroupsAttr()));
  grads.push_back(b.create<ConvBackwardFilterOp>(getLoc(), typeOf(getWeight()), getInput(), dy,
                                                 getStridesAttr(), getPaddingAttr(),
                                                 getDilationsAttr(), getGroupsAttr()));
  if (getBias())
    grads.push_back(b.create<ReduceToChannelOp>(getLoc(), typeOf(getBias()), dy));
  return success();
}

LogicalResult MaxPoolOp::buildGradients(OpBuilder &b, Value dy, SmallVectorImpl<Value> &grads) {
  if (failed(expectResultGrad(*this, dy)))
    return failure();
  grads.push_back(b.create<MaxPoolBackwardOp>(getLoc(), typeOf(getInput()), getInput(), dy,
                                              getKernelSizeAttr(), getStridesAttr(),
                                              getPaddingAttr(), getCeilModeAttr()));
  return success();
}

LogicalResult AvgPoolOp::buildGradients(OpBuilder &b, Value dy, SmallVectorImpl<Value> &grads) {
  if (failed(expectResultGrad(*this, dy)))
    return failure();
  grads.push_back(b.create<AvgPoolBackwardOp>(getLoc(), typeOf(getInput()), dy,
                                              getKernelSizeAttr(), getStridesAttr(),
                                              getPaddingAttr(), getCeilModeAttr(),
                                              getCountIncludePadAttr()));
  return success();
}

LogicalResult GlobalAvgPoolOp::buildGradients(OpBuilder &b, Value dy,
                                              SmallVectorImpl<Value> &grads) {
  if (failed(expectResultGrad(*this, dy)))
    return failure();
  grads.push_back(b.create<GlobalAvgPoolBackwardOp>(getLoc(), typeOf(getInput()), dy));
  return success();
}

LogicalResult GlobalMaxPoolOp::buildGradients(OpBuilder &b, Value dy,
                                              SmallVectorImpl<Value> &grads) {
  if (failed(expectResultGrad(*this, dy)))
    return failure();
  grads.push_back(b.create<GlobalMaxPoolBackwardOp>(getLoc(), typeOf(getInput()), getInput(), dy));
  return success();
}

LogicalResult BatchNormTrainOp::buildGradients(OpBuilder &b, Value dy,
                                               SmallVectorImpl<Value> &grads) {
  if (failed(expectResultGrad(*this, dy)))
    return failure();
  grads.push_back(b.create<BatchNormTrainBackwardDataOp>(getLoc(), typeOf(getInput()), getInput(),
                                                         dy, getWeight(), getEpsilonAttr()));
  grads.push_back(b.create<BatchNormTrainBackwardWeightOp>(getLoc(), typeOf(getWeight()),
                                                           getInput(), dy, getEpsilonAttr()));
  grads.push_back(b.create<ReduceToChannelOp>(getLoc(), typeOf(getBias()), dy));
  return success();
}

LogicalResult DenseOp::buildGradients(OpBuilder &b, Value dy, SmallVectorImpl<Value> &grads) {
  if (failed(expectResultGrad(*this, dy)))
    return failure();
  grads.push_back(b.create<DenseBackwardDataOp>(getLoc(), typeOf(getInput()), dy, getWeight()));
  grads.push_back(b.create<DenseBackwardWeightOp>(getLoc(), typeOf(getWeight()), getInput(), dy));
  if (getBias())
    grads.push_back(b.create<ReduceToChannelOp>(getLoc(), typeOf(getBias()), dy));
  return success();
}

LogicalResult AddOp::buildGradients(OpBuilder &b, Value dy, SmallVectorImpl<Value> &grads) {
  if (failed(expectResultGrad(*this, dy)))
    return failure();
  grads.append({dy, dy});
  return success();
}

LogicalResult ReluOp::buildGradients(OpBuilder &b, Value dy, SmallVectorImpl<Value> &grads) {
  if (failed(expectResultGrad(*this, dy)))
    return failure();
  grads.push_back(b.create<ReluBackwardOp>(getLoc(), typeOf(getInput()), getInput(), dy));
  return success();
}

LogicalResult TanhOp::buildGradients(OpBuilder &b, Value dy, SmallVectorImpl<Value> &grads) {
  if (failed(expectResultGrad(*this, dy)))
    return failure();
  grads.push_back(b.create<TanhBackwardOp>(getLoc(), typeOf(getInput()), getOutput(), dy));
  return success();
}

LogicalResult SigmoidOp::buildGradients(OpBuilder &b, Value dy, SmallVectorImpl<Value> &grads) {
  if (failed(expectResultGrad(*this, dy)))
    return failure();
  grads.push_back(b.create<SigmoidBackwardOp>(getLoc(), typeOf(getInput()), getOutput(), dy));
  return success();
}

LogicalResult LeakyReluOp::buildGradients(OpBuilder &b, Value dy, SmallVectorImpl<Value> &grads) {
  if (failed(expectResultGrad(*this, dy)))
    return failure();
  grads.push_back(b.create<LeakyReluBackwardOp>(getLoc(), typeOf(getInput()), getInput(), dy,
                                                getAlphaAttr()));
  return success();
}

LogicalResult ClipOp::buildGradients(OpBuilder &b, Value dy, SmallVectorImpl<Value> &grads) {
  if (failed(expectResultGrad(*this, dy)))
    return failure();
  grads.push_back(b.create<ClipBackwardOp>(getLoc(), typeOf(getInput()), getInput(), dy,
                                           getMinAttr(), getMaxAttr()));
  return success();
}

LogicalResult FlattenOp::buildGradients(OpBuilder &b, Value dy, SmallVectorImpl<Value> &grads) {
  if (failed(expectResultGrad(*this, dy)))
    return failure();
  grads.push_back(b.create<ReshapeOp>(getLoc(), typeOf(getInput()), dy));
  return success();
}

LogicalResult ReshapeOp::buildGradients(OpBuilder &b, Value dy, SmallVectorImpl<Value> &grads) {
  if (failed(expectResultGrad(*this, dy)))
    return failure();
  grads.push_back(b.create<ReshapeOp>(getLoc(), typeOf(getInput()), dy));
  return success();
}

LogicalResult SoftmaxOp::buildGradients(OpBuilder &b, Value dy, SmallVectorImpl<Value> &grads) {
  if (failed(expectResultGrad(*this, dy)))
    return failure();
  grads.push_back(b.create<SoftmaxBackwardOp>(getLoc(), typeOf(getInput()), getOutput(), dy,
                                              getAxisAttr()));
  return success();
}

LogicalResult LogSoftmaxOp::buildGradients(OpBuilder &b, Value dy,
                                           SmallVectorImpl<Value> &grads) {
  if (failed(expectResultGrad(*this, dy)))
    return failure();
  grads.push_back(b.create<LogSoftmaxBackwardOp>(getLoc(), typeOf(getInput()), getOutput(), dy,
                                                 getAxisAttr()));
  return success();
}

LogicalResult SoftmaxCrossEntropyOp::buildGradients(OpBuilder &b, Value dy,
                                                    SmallVectorImpl<Value> &grads) {
  if (dy)
    return emitOpError() << "must be the root of differentiation (the loss)";
  grads.push_back(b.create<SoftmaxCrossEntropyBackwardOp>(getLoc(), typeOf(getLogits()),
                                                          getLogits(), getLabels()));
  grads.push_back(Value()); // labels are not differentiable
  return success();
}
