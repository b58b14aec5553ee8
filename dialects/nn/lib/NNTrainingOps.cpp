// Shape inference and verification of the training ops (gradients, batch-norm training,
// optimizer updates). Gradient results have the type of the forward value they differentiate.
#include "kiln/Dialect/NN/NNDialect.h"

#include "kiln/Dialect/NN/ShapeFormulas.h"

using namespace mlir;
using namespace kiln::nn;

namespace {

TensorType unranked(MLIRContext *ctx) { return UnrankedTensorType::get(Float32Type::get(ctx)); }

bool anyUnranked(Operation *op) {
  return llvm::any_of(op->getOperandTypes(), [](Type t) { return !isa<RankedTensorType>(t); });
}

// The declared result type, which ops whose result cannot be inferred must carry.
FailureOr<TensorType> declaredResult(Operation *op) {
  auto type = dyn_cast<RankedTensorType>(op->getResult(0).getType());
  if (!type)
    return op->emitOpError() << "expects an explicit ranked result type";
  return TensorType(type);
}

// Batch extents agree when both are static.
bool sameExtent(int64_t a, int64_t b) {
  return a == b || a == ShapedType::kDynamic || b == ShapedType::kDynamic;
}

LogicalResult expectSameShape(Operation *op, Value a, Value b) {
  auto ta = cast<RankedTensorType>(a.getType()), tb = cast<RankedTensorType>(b.getType());
  if (ta.getRank() != tb.getRank() ||
      !llvm::all_of(llvm::zip(ta.getShape(), tb.getShape()),
                    [](auto p) { return sameExtent(std::get<0>(p), std::get<1>(p)); }))
    return op->emitOpError() << "expects operands of one shape, got " << ta << " and " << tb;
  return success();
}

// The output extents of a sliding window over `input` (spatial dims from 2), or failure.
FailureOr<SmallVector<int64_t>> windowShape(Operation *op, RankedTensorType input,
                                            ArrayRef<int64_t> kernel, ArrayRef<int64_t> strides,
                                            ArrayRef<int64_t> padding, ArrayRef<int64_t> dilations,
                                            bool ceilMode) {
  int64_t spatial = input.getRank() - 2;
  if (spatial < 1 || static_cast<int64_t>(kernel.size()) != spatial ||
      static_cast<int64_t>(strides.size()) != spatial ||
      static_cast<int64_t>(padding.size()) != 2 * spatial ||
      (!dilations.empty() && static_cast<int64_t>(dilations.size()) != spatial))
    return op->emitOpError() << "expects window attributes for " << spatial
                             << " spatial dimension(s) of " << input;
  SmallVector<int64_t> out{input.getDimSize(0), 0};
  for (int64_t i = 0; i < spatial; ++i) {
    kiln::shape::Window w{kernel[i], strides[i], dilations.empty() ? 1 : dilations[i],
                          padding[i], padding[spatial + i], ceilMode};
    std::string why;
    std::optional<int64_t> size = kiln::shape::windowOutputSize(input.getDimSize(2 + i), w, &why);
    if (!size)
      return op->emitOpError() << "spatial dimension " << i << ": " << why;
    out.push_back(*size);
  }
  return out;
}

// The output gradient must have the forward op's output shape (channel dim checked apart).
LogicalResult expectWindowedGrad(Operation *op, RankedTensorType input, RankedTensorType grad,
                                 ArrayRef<int64_t> window, int64_t channels) {
  if (grad.getRank() != input.getRank() || !sameExtent(grad.getDimSize(0), window[0]) ||
      grad.getDimSize(1) != channels)
    return op->emitOpError() << "expects an output gradient shaped like the forward output, got "
                             << grad;
  for (size_t i = 2; i < window.size(); ++i)
    if (grad.getDimSize(i) != window[i])
      return op->emitOpError() << "expects output gradient dimension " << i << " to be "
                               << window[i] << ", got " << grad.getDimSize(i);
  return success();
}

LogicalResult checkConvPair(Operation *op, RankedTensorType input, RankedTensorType weight,
                            RankedTensorType grad, ArrayRef<int64_t> strides,
                            ArrayRef<int64_t> padding, ArrayRef<int64_t> dilations,
                            int64_t groups) {
  if (input.getRank() < 3 || input.getRank() > 5 || weight.getRank() != input.getRank())
    return op->emitOpError() << "expects input and weight of one rank between 3 and 5, got "
                             << input << " and " << weight;
  if (groups <= 0 || input.getDimSize(1) % groups || weight.getDimSize(0) % groups ||
      weight.getDimSize(1) * groups != input.getDimSize(1))
    return op->emitOpError() << "expects groups " << groups << " to split " << input << " and "
                             << weight;
  FailureOr<SmallVector<int64_t>> window = windowShape(
      op, input, weight.getShape().drop_front(2), strides, padding, dilations, false);
  if (failed(window))
    return failure();
  return expectWindowedGrad(op, input, grad, *window, weight.getDimSize(0));
}

// A per-channel vector for an N×C×… tensor.
FailureOr<TensorType> channelVector(Operation *op, Value input) {
  auto type = cast<RankedTensorType>(input.getType());
  if (type.getRank() < 2 || type.isDynamicDim(1))
    return op->emitOpError() << "expects an input with a static channel dimension, got " << type;
  return TensorType(RankedTensorType::get({type.getDimSize(1)}, Float32Type::get(op->getContext())));
}

FailureOr<TensorType> sameAs(Operation *op, Value like) {
  return TensorType(cast<RankedTensorType>(like.getType()));
}

// Optimizer ops: every state operand shaped like the parameter, hyper a vector of 8.
FailureOr<TensorType> optimizerResult(Operation *op, ValueRange like, Value hyper) {
  if (anyUnranked(op))
    return unranked(op->getContext());
  auto h = cast<RankedTensorType>(hyper.getType());
  if (h.getRank() != 1 || h.getDimSize(0) != 8)
    return op->emitOpError() << "expects hyperparameters as tensor<8xf32>, got " << h;
  for (Value v : like.drop_front())
    if (failed(expectSameShape(op, like.front(), v)))
      return failure();
  return sameAs(op, like.front());
}

} // namespace

FailureOr<TensorType> ConvBackwardDataOp::inferResultType() {
  if (anyUnranked(*this))
    return unranked(getContext());
  FailureOr<TensorType> result = declaredResult(*this);
  if (failed(result) ||
      failed(checkConvPair(*this, cast<RankedTensorType>(*result),
                           cast<RankedTensorType>(getWeight().getType()),
                           cast<RankedTensorType>(getOutputGrad().getType()), getStrides(),
                           getPadding(), getDilations(), getGroups())))
    return failure();
  return result;
}

FailureOr<TensorType> ConvBackwardFilterOp::inferResultType() {
  if (anyUnranked(*this))
    return unranked(getContext());
  FailureOr<TensorType> result = declaredResult(*this);
  if (failed(result) ||
      failed(checkConvPair(*this, cast<RankedTensorType>(getInput().getType()),
                           cast<RankedTensorType>(*result),
                           cast<RankedTensorType>(getOutputGrad().getType()), getStrides(),
                           getPadding(), getDilations(), getGroups())))
    return failure();
  return result;
}

FailureOr<TensorType> ReduceToChannelOp::inferResultType() {
  if (anyUnranked(*this))
    return unranked(getContext());
  return channelVector(*this, getInput());
}

FailureOr<TensorType> MaxPoolBackwardOp::inferResultType() {
  if (anyUnranked(*this))
    return unranked(getContext());
  auto input = cast<RankedTensorType>(getInput().getType());
  FailureOr<SmallVector<int64_t>> window =
      windowShape(*this, input, getKernelSize(), getStrides(), getPadding(), {}, getCeilMode());
  if (failed(window) ||
      failed(expectWindowedGrad(*this, input, cast<RankedTensorType>(getOutputGrad().getType()),
                                *window, input.getDimSize(1))))
    return failure();
  return TensorType(input);
}

FailureOr<TensorType> AvgPoolBackwardOp::inferResultType() {
  if (anyUnranked(*this))
    return unranked(getContext());
  FailureOr<TensorType> result = declaredResult(*this);
  if (failed(result))
    return failure();
  auto input = cast<RankedTensorType>(*result);
  FailureOr<SmallVector<int64_t>> window =
      windowShape(*this, input, getKernelSize(), getStrides(), getPadding(), {}, getCeilMode());
  if (failed(window) ||
      failed(expectWindowedGrad(*this, input, cast<RankedTensorType>(getOutputGrad().getType()),
                                *window, input.getDimSize(1))))
    return failure();
  return result;
}

FailureOr<TensorType> GlobalAvgPoolBackwardOp::inferResultType() {
  if (anyUnranked(*this))
    return unranked(getContext());
  FailureOr<TensorType> result = declaredResult(*this);
  if (failed(result))
    return failure();
  auto grad = cast<RankedTensorType>(getOutputGrad().getType());
  auto input = cast<RankedTensorType>(*result);
  if (grad.getRank() != input.getRank() || grad.getRank() < 3 ||
      grad.getDimSize(1) != input.getDimSize(1) ||
      llvm::any_of(grad.getShape().drop_front(2), [](int64_t d) { return d != 1; }))
    return emitOpError() << "expects an output gradient of global pooling over " << input
                         << ", got " << grad;
  return result;
}

FailureOr<TensorType> GlobalMaxPoolBackwardOp::inferResultType() {
  if (anyUnranked(*this))
    return unranked(getContext());
  return sameAs(*this, getInput());
}

FailureOr<TensorType> BatchNormTrainOp::inferResultType() {
  if (anyUnranked(*this))
    return unranked(getContext());
  FailureOr<TensorType> channels = channelVector(*this, getInput());
  if (failed(channels))
    return failure();
  if (getWeight().getType() != *channels || getBias().getType() != *channels)
    return emitOpError() << "expects weight and bias of type " << *channels;
  return sameAs(*this, getInput());
}

FailureOr<TensorType> BatchNormTrainBackwardDataOp::inferResultType() {
  if (anyUnranked(*this))
    return unranked(getContext());
  if (failed(expectSameShape(*this, getInput(), getOutputGrad())))
    return failure();
  FailureOr<TensorType> channels = channelVector(*this, getInput());
  if (failed(channels))
    return failure();
  if (getWeight().getType() != *channels)
    return emitOpError() << "expects a weight of type " << *channels;
  return sameAs(*this, getInput());
}

FailureOr<TensorType> BatchNormTrainBackwardWeightOp::inferResultType() {
  if (anyUnranked(*this))
    return unranked(getContext());
  if (failed(expectSameShape(*this, getInput(), getOutputGrad())))
    return failure();
  return channelVector(*this, getInput());
}

FailureOr<TensorType> ChannelMeanOp::inferResultType() {
  if (anyUnranked(*this))
    return unranked(getContext());
  return channelVector(*this, getInput());
}

FailureOr<TensorType> ChannelVarOp::inferResultType() {
  if (anyUnranked(*this))
    return unranked(getContext());
  return channelVector(*this, getInput());
}

FailureOr<TensorType> RunningUpdateOp::inferResultType() {
  if (anyUnranked(*this))
    return unranked(getContext());
  if (failed(expectSameShape(*this, getRunning(), getBatch())))
    return failure();
  return sameAs(*this, getRunning());
}

FailureOr<TensorType> DenseBackwardDataOp::inferResultType() {
  if (anyUnranked(*this))
    return unranked(getContext());
  auto dy = cast<RankedTensorType>(getOutputGrad().getType());
  auto w = cast<RankedTensorType>(getWeight().getType());
  if (dy.getRank() != 2 || w.getRank() != 2 || dy.getDimSize(1) != w.getDimSize(0))
    return emitOpError() << "expects N×M output gradient and M×K weight, got " << dy << " and "
                         << w;
  return TensorType(RankedTensorType::get({dy.getDimSize(0), w.getDimSize(1)},
                                          Float32Type::get(getContext())));
}

FailureOr<TensorType> DenseBackwardWeightOp::inferResultType() {
  if (anyUnranked(*this))
    return unranked(getContext());
  auto x = cast<RankedTensorType>(getInput().getType());
  auto dy = cast<RankedTensorType>(getOutputGrad().getType());
  if (x.getRank() != 2 || dy.getRank() != 2 || !sameExtent(x.getDimSize(0), dy.getDimSize(0)))
    return emitOpError() << "expects N×K input and N×M output gradient, got " << x << " and "
                         << dy;
  return TensorType(RankedTensorType::get({dy.getDimSize(1), x.getDimSize(1)},
                                          Float32Type::get(getContext())));
}

#define KILN_SAME_SHAPE_PAIR(OP, A, B)                                                          \
  FailureOr<TensorType> OP::inferResultType() {                                                 \
    if (anyUnranked(*this))                                                                     \
      return unranked(getContext());                                                            \
    if (failed(expectSameShape(*this, A, B)))                                                   \
      return failure();                                                                         \
    return sameAs(*this, A);                                                                    \
  }
KILN_SAME_SHAPE_PAIR(ReluBackwardOp, getValue(), getOutputGrad())
KILN_SAME_SHAPE_PAIR(TanhBackwardOp, getValue(), getOutputGrad())
KILN_SAME_SHAPE_PAIR(SigmoidBackwardOp, getValue(), getOutputGrad())
KILN_SAME_SHAPE_PAIR(SoftmaxBackwardOp, getOutput(), getOutputGrad())
KILN_SAME_SHAPE_PAIR(LogSoftmaxBackwardOp, getOutput(), getOutputGrad())
#undef KILN_SAME_SHAPE_PAIR

FailureOr<TensorType> SumLikeOp::inferResultType() {
  if (!getScale().isFinite())
    return emitOpError() << "expects a finite scale";
  if (anyUnranked(*this))
    return unranked(getContext());
  auto input = cast<RankedTensorType>(getInput().getType());
  auto like = cast<RankedTensorType>(getLike().getType());
  if (input.getRank() == 0)
    return emitOpError() << "expects an input of rank 1 or more";
  std::vector<int64_t> in(input.getShape().begin(), input.getShape().end());
  std::string why;
  std::optional<std::vector<int64_t>> shape =
      kiln::shape::broadcastShape(in, {like.getShape().begin(), like.getShape().end()}, &why);
  if (!shape || *shape != in)
    return emitOpError() << "expects the input " << input << " to be a broadcast of " << like
                         << (shape ? "" : ": " + why);
  return sameAs(*this, getLike());
}

bool SumLikeOp::isIdentity() {
  return getInput().getType() == getLike().getType() && getScale().isExactlyValue(1.0);
}

FailureOr<TensorType> LeakyReluBackwardOp::inferResultType() {
  if (failed(checkLeakyReluSlope(*this, getAlpha())))
    return failure();
  if (anyUnranked(*this))
    return unranked(getContext());
  if (failed(expectSameShape(*this, getValue(), getOutputGrad())))
    return failure();
  return sameAs(*this, getValue());
}

FailureOr<TensorType> ClipBackwardOp::inferResultType() {
  if (failed(checkClipBounds(*this, getMin(), getMax())))
    return failure();
  if (anyUnranked(*this))
    return unranked(getContext());
  if (failed(expectSameShape(*this, getValue(), getOutputGrad())))
    return failure();
  return sameAs(*this, getValue());
}

FailureOr<TensorType> ReshapeOp::inferResultType() {
  if (anyUnranked(*this))
    return unranked(getContext());
  FailureOr<TensorType> result = declaredResult(*this);
  if (failed(result))
    return failure();
  auto in = cast<RankedTensorType>(getInput().getType());
  auto out = cast<RankedTensorType>(*result);
  auto perImage = [](RankedTensorType t) {
    int64_t n = 1;
    for (int64_t d : t.getShape().drop_front())
      n *= d;
    return n;
  };
  if (in.getRank() < 1 || out.getRank() < 1 || !sameExtent(in.getDimSize(0), out.getDimSize(0)) ||
      !in.hasStaticShape() != !out.hasStaticShape() || perImage(in) != perImage(out))
    return emitOpError() << "cannot reshape " << in << " into " << out;
  return result;
}

FailureOr<TensorType> SoftmaxCrossEntropyBackwardOp::inferResultType() {
  if (anyUnranked(*this))
    return unranked(getContext());
  auto logits = cast<RankedTensorType>(getLogits().getType());
  auto labels = cast<RankedTensorType>(getLabels().getType());
  if (logits.getRank() != 2 || labels.getRank() != 1 ||
      !sameExtent(logits.getDimSize(0), labels.getDimSize(0)))
    return emitOpError() << "expects N×C logits and N labels, got " << logits << " and "
                         << labels;
  return TensorType(logits);
}

FailureOr<TensorType> MomentumUpdateOp::inferResultType() {
  return optimizerResult(*this, {getVelocity(), getGrad(), getParam()}, getHyper());
}
FailureOr<TensorType> SgdStepOp::inferResultType() {
  return optimizerResult(*this, {getParam(), getVelocity()}, getHyper());
}
FailureOr<TensorType> AdamMomentOp::inferResultType() {
  return optimizerResult(*this, {getMoment(), getGrad(), getParam()}, getHyper());
}
FailureOr<TensorType> AdamStepOp::inferResultType() {
  return optimizerResult(*this, {getParam(), getFirstMoment(), getSecondMoment()}, getHyper());
}
