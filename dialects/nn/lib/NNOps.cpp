// The nn ops' verifiers and shape inference: each op's output-size rule lives here, beside it.
#include "kiln/Dialect/NN/NNDialect.h"

#include "kiln/Dialect/NN/ShapeFormulas.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/OpImplementation.h"

#include <cmath>
#include <limits>

using namespace mlir;
using namespace kiln::nn;

#define GET_OP_CLASSES
#include "kiln/Dialect/NN/NNOps.cpp.inc"

namespace {

Type f32(MLIRContext *ctx) { return Float32Type::get(ctx); }

TensorType unranked(MLIRContext *ctx) { return UnrankedTensorType::get(f32(ctx)); }

std::string dimString(int64_t d) { return d == ShapedType::kDynamic ? "?" : std::to_string(d); }

// Every static dimension of an operand must be positive.
LogicalResult checkPositive(Operation *op, RankedTensorType type, StringRef what) {
  for (auto [i, d] : llvm::enumerate(type.getShape()))
    if (d != ShapedType::kDynamic && d <= 0)
      return op->emitOpError() << "expects " << what << " dimension " << i
                               << " to be positive, got " << d;
  return success();
}

// The result type with the given shape, after checking its element count fits in 64 bits.
FailureOr<TensorType> makeResult(Operation *op, ArrayRef<int64_t> shape) {
  auto type = RankedTensorType::get(shape, f32(op->getContext()));
  if (!kiln::shape::checkedProduct(std::vector<int64_t>(shape.begin(), shape.end())))
    return op->emitOpError() << "expects a result whose element count fits in 64 bits, got "
                             << type;
  return TensorType(type);
}

// Input of an op over N×C×spatial data: rank 3..5, channels static.
LogicalResult checkSpatialInput(Operation *op, RankedTensorType input) {
  if (input.getRank() < 3 || input.getRank() > 5)
    return op->emitOpError() << "expects a 3-D, 4-D or 5-D input (N, C, then 1 to 3 spatial "
                                "dimensions), got "
                             << input;
  if (input.isDynamicDim(1))
    return op->emitOpError() << "expects a static channel dimension, got " << input;
  return checkPositive(op, input, "input");
}

LogicalResult checkArraySize(Operation *op, StringRef name, ArrayRef<int64_t> values,
                             int64_t expected, int64_t spatialRank) {
  if (static_cast<int64_t>(values.size()) != expected)
    return op->emitOpError() << "expects " << name << " to have " << expected << " values for "
                             << spatialRank << " spatial dimension(s), got " << values.size();
  return success();
}

// Shared by convolution and pooling: output extents of each spatial dimension.
FailureOr<SmallVector<int64_t>> windowedShape(Operation *op, RankedTensorType input,
                                              ArrayRef<int64_t> kernel, ArrayRef<int64_t> strides,
                                              ArrayRef<int64_t> padding,
                                              ArrayRef<int64_t> dilations, bool ceilMode) {
  int64_t spatial = input.getRank() - 2;
  SmallVector<int64_t> out;
  for (int64_t i = 0; i < spatial; ++i) {
    kiln::shape::Window w;
    w.kernel = kernel[i];
    w.stride = strides[i];
    w.dilation = dilations.empty() ? 1 : dilations[i];
    w.padBefore = padding[i];
    w.padAfter = padding[spatial + i];
    w.ceilMode = ceilMode;
    std::string why;
    std::optional<int64_t> size = kiln::shape::windowOutputSize(input.getDimSize(2 + i), w, &why);
    if (!size)
      return op->emitOpError() << "expects a valid window in spatial dimension " << i
                               << " (input extent " << dimString(input.getDimSize(2 + i))
                               << "): " << why;
    out.push_back(*size);
  }
  return out;
}

template <typename PoolOp>
FailureOr<TensorType> inferPool(PoolOp op) {
  auto input = dyn_cast<RankedTensorType>(op.getInput().getType());
  if (!input)
    return unranked(op.getContext());
  if (failed(checkSpatialInput(op, input)))
    return failure();
  int64_t spatial = input.getRank() - 2;
  if (failed(checkArraySize(op, "kernel_size", op.getKernelSize(), spatial, spatial)) ||
      failed(checkArraySize(op, "strides", op.getStrides(), spatial, spatial)) ||
      failed(checkArraySize(op, "padding", op.getPadding(), 2 * spatial, spatial)))
    return failure();
  // Padding of a whole window or more would make windows of padding alone (no maximum, a zero
  // divisor). ONNX allows any smaller padding; PyTorch at most half the window.
  // (Sizes were checked above, so indexing is safe; non-positive kernels fail just below.)
  for (int64_t i = 0; i < spatial; ++i) {
    int64_t k = op.getKernelSize()[i];
    int64_t before = op.getPadding()[i], after = op.getPadding()[spatial + i];
    if (k > 0 && (before >= k || after >= k))
      return op.emitOpError() << "expects padding smaller than the kernel size (" << k
                              << ") in spatial dimension " << i << ", got " << before
                              << " before and " << after
                              << " after: a window would hold padding alone";
  }
  FailureOr<SmallVector<int64_t>> spatialOut =
      windowedShape(op, input, op.getKernelSize(), op.getStrides(), op.getPadding(), {},
                    op.getCeilMode());
  if (failed(spatialOut))
    return failure();
  SmallVector<int64_t> shape{input.getDimSize(0), input.getDimSize(1)};
  shape.append(spatialOut->begin(), spatialOut->end());
  return makeResult(op, shape);
}

template <typename GlobalPoolOp>
FailureOr<TensorType> inferGlobalPool(GlobalPoolOp op) {
  auto input = dyn_cast<RankedTensorType>(op.getInput().getType());
  if (!input)
    return unranked(op.getContext());
  if (failed(checkSpatialInput(op, input)))
    return failure();
  SmallVector<int64_t> shape{input.getDimSize(0), input.getDimSize(1)};
  shape.append(input.getRank() - 2, 1);
  return makeResult(op, shape);
}

// Elementwise: the result has the input's shape.
FailureOr<TensorType> inferSameShape(Operation *op, Value input) {
  auto type = dyn_cast<RankedTensorType>(input.getType());
  if (!type)
    return unranked(op->getContext());
  if (failed(checkPositive(op, type, "input")))
    return failure();
  return makeResult(op, type.getShape());
}

} // namespace

//===----------------------------------------------------------------------===//
// ParameterOp
//===----------------------------------------------------------------------===//

LogicalResult ParameterOp::verify() {
  if (getName().empty())
    return emitOpError() << "expects a non-empty name";
  auto type = dyn_cast<RankedTensorType>(getResult().getType());
  if (!type || !type.hasStaticShape())
    return emitOpError() << "expects a statically shaped tensor, got " << getResult().getType();
  if (failed(checkPositive(*this, type, "parameter")))
    return failure();
  if (!kiln::shape::checkedProduct(std::vector<int64_t>(type.getShape().begin(),
                                                        type.getShape().end())))
    return emitOpError() << "expects an element count that fits in 64 bits, got " << type;
  return success();
}

//===----------------------------------------------------------------------===//
// ConvOp
//===----------------------------------------------------------------------===//

FailureOr<TensorType> ConvOp::inferResultType() {
  auto input = dyn_cast<RankedTensorType>(getInput().getType());
  auto weight = dyn_cast<RankedTensorType>(getWeight().getType());
  if (!input || !weight)
    return unranked(getContext());
  if (failed(checkSpatialInput(*this, input)))
    return failure();
  int64_t rank = input.getRank(), spatial = rank - 2;
  if (weight.getRank() != rank)
    return emitOpError() << "expects a " << rank << "-D weight (C_out, C_in/groups, kernel) for a "
                         << rank << "-D input, got " << weight;
  if (!weight.hasStaticShape())
    return emitOpError() << "expects a statically shaped weight, got " << weight;
  if (failed(checkPositive(*this, weight, "weight")))
    return failure();
  if (failed(checkArraySize(*this, "strides", getStrides(), spatial, spatial)) ||
      failed(checkArraySize(*this, "dilations", getDilations(), spatial, spatial)) ||
      failed(checkArraySize(*this, "padding", getPadding(), 2 * spatial, spatial)))
    return failure();

  int64_t groups = getGroups();
  int64_t inChannels = input.getDimSize(1), outChannels = weight.getDimSize(0);
  if (groups <= 0)
    return emitOpError() << "expects positive groups, got " << groups;
  if (inChannels % groups != 0)
    return emitOpError() << "expects groups (" << groups << ") to divide the input channels ("
                         << inChannels << ")";
  if (outChannels % groups != 0)
    return emitOpError() << "expects groups (" << groups << ") to divide the output channels ("
                         << outChannels << ")";
  if (weight.getDimSize(1) != inChannels / groups)
    return emitOpError() << "expects weight dimension 1 to be input channels / groups = "
                         << inChannels / groups << ", got " << weight.getDimSize(1);
  if (Value bias = getBias()) {
    auto biasType = dyn_cast<RankedTensorType>(bias.getType());
    if (!biasType)
      return unranked(getContext());
    if (biasType.getRank() != 1 || biasType.getDimSize(0) != outChannels)
      return emitOpError() << "expects a bias of " << outChannels << " elements, got " << biasType;
  }

  FailureOr<SmallVector<int64_t>> spatialOut =
      windowedShape(*this, input, weight.getShape().drop_front(2), getStrides(), getPadding(),
                    getDilations(), /*ceilMode=*/false);
  if (failed(spatialOut))
    return failure();
  SmallVector<int64_t> shape{input.getDimSize(0), outChannels};
  shape.append(spatialOut->begin(), spatialOut->end());
  return makeResult(*this, shape);
}

//===----------------------------------------------------------------------===//
// Pooling
//===----------------------------------------------------------------------===//

FailureOr<TensorType> MaxPoolOp::inferResultType() { return inferPool(*this); }
FailureOr<TensorType> AvgPoolOp::inferResultType() { return inferPool(*this); }
FailureOr<TensorType> GlobalAvgPoolOp::inferResultType() { return inferGlobalPool(*this); }
FailureOr<TensorType> GlobalMaxPoolOp::inferResultType() { return inferGlobalPool(*this); }

//===----------------------------------------------------------------------===//
// BatchNormOp
//===----------------------------------------------------------------------===//

FailureOr<TensorType> BatchNormOp::inferResultType() {
  auto input = dyn_cast<RankedTensorType>(getInput().getType());
  if (!input)
    return unranked(getContext());
  if (input.getRank() < 2 || input.getRank() > 5)
    return emitOpError() << "expects a 2-D to 5-D input (N, C, ...), got " << input;
  if (input.isDynamicDim(1))
    return emitOpError() << "expects a static channel dimension, got " << input;
  if (failed(checkPositive(*this, input, "input")))
    return failure();
  int64_t channels = input.getDimSize(1);
  std::pair<Value, StringRef> stats[] = {{getWeight(), "weight"},
                                         {getBias(), "bias"},
                                         {getRunningMean(), "running_mean"},
                                         {getRunningVar(), "running_var"}};
  for (auto [value, name] : stats) {
    auto type = dyn_cast<RankedTensorType>(value.getType());
    if (!type)
      return unranked(getContext());
    if (type.getRank() != 1 || type.getDimSize(0) != channels)
      return emitOpError() << "expects " << name << " of " << channels << " elements (one per "
                           << "channel), got " << type;
  }
  // Written so that NaN fails too.
  double epsilon = getEpsilon().convertToDouble();
  if (!(epsilon > 0.0 && epsilon < std::numeric_limits<double>::infinity()))
    return emitOpError() << "expects a positive, finite epsilon, got " << epsilon;
  double momentum = getMomentum().convertToDouble();
  if (!(momentum >= 0.0 && momentum <= 1.0))
    return emitOpError() << "expects momentum in [0, 1], got " << momentum;
  return makeResult(*this, input.getShape());
}

//===----------------------------------------------------------------------===//
// DenseOp
//===----------------------------------------------------------------------===//

FailureOr<TensorType> DenseOp::inferResultType() {
  auto input = dyn_cast<RankedTensorType>(getInput().getType());
  auto weight = dyn_cast<RankedTensorType>(getWeight().getType());
  if (!input || !weight)
    return unranked(getContext());
  if (input.getRank() != 2)
    return emitOpError() << "expects a 2-D input (N, features), got " << input
                         << "; flatten it first";
  if (weight.getRank() != 2 || !weight.hasStaticShape())
    return emitOpError() << "expects a static 2-D weight (units, features), got " << weight;
  if (failed(checkPositive(*this, input, "input")) ||
      failed(checkPositive(*this, weight, "weight")))
    return failure();
  if (input.isDynamicDim(1) || input.getDimSize(1) != weight.getDimSize(1))
    return emitOpError() << "expects " << weight.getDimSize(1) << " input features to match the "
                         << "weight, got " << input;
  int64_t units = weight.getDimSize(0);
  if (Value bias = getBias()) {
    auto biasType = dyn_cast<RankedTensorType>(bias.getType());
    if (!biasType)
      return unranked(getContext());
    if (biasType.getRank() != 1 || biasType.getDimSize(0) != units)
      return emitOpError() << "expects a bias of " << units << " elements, got " << biasType;
  }
  return makeResult(*this, {input.getDimSize(0), units});
}

//===----------------------------------------------------------------------===//
// Elementwise, flatten, softmax, loss
//===----------------------------------------------------------------------===//

FailureOr<TensorType> AddOp::inferResultType() {
  auto lhs = dyn_cast<RankedTensorType>(getLhs().getType());
  auto rhs = dyn_cast<RankedTensorType>(getRhs().getType());
  if (!lhs || !rhs)
    return unranked(getContext());
  if (lhs.getShape() != rhs.getShape())
    return emitOpError() << "expects operands of one shape, got " << lhs << " and " << rhs;
  return inferSameShape(*this, getLhs());
}

template <typename BroadcastOp> FailureOr<TensorType> inferBroadcast(BroadcastOp op) {
  auto lhs = dyn_cast<RankedTensorType>(op.getLhs().getType());
  auto rhs = dyn_cast<RankedTensorType>(op.getRhs().getType());
  if (!lhs || !rhs)
    return unranked(op.getContext());
  if (failed(checkPositive(op, lhs, "lhs")) || failed(checkPositive(op, rhs, "rhs")))
    return failure();
  // A scalar (rank 0: ONNX's Clip bound, Gemm's C) broadcasts against a tensor; two scalars
  // would make a rank-0 result, which nn's kernels do not compute.
  if (lhs.getRank() == 0 && rhs.getRank() == 0)
    return op.emitOpError() << "expects an operand of rank 1 or more, got " << lhs << " and "
                            << rhs;
  std::string why;
  std::optional<std::vector<int64_t>> shape = kiln::shape::broadcastShape(
      {lhs.getShape().begin(), lhs.getShape().end()}, {rhs.getShape().begin(), rhs.getShape().end()},
      &why);
  if (!shape)
    return op.emitOpError() << "cannot broadcast " << lhs << " and " << rhs << ": " << why;
  return makeResult(op, *shape);
}

FailureOr<TensorType> BroadcastAddOp::inferResultType() { return inferBroadcast(*this); }
FailureOr<TensorType> BroadcastSubOp::inferResultType() { return inferBroadcast(*this); }
FailureOr<TensorType> BroadcastMulOp::inferResultType() { return inferBroadcast(*this); }
FailureOr<TensorType> BroadcastDivOp::inferResultType() { return inferBroadcast(*this); }
FailureOr<TensorType> BroadcastMaxOp::inferResultType() { return inferBroadcast(*this); }
FailureOr<TensorType> BroadcastMinOp::inferResultType() { return inferBroadcast(*this); }

FailureOr<TensorType> TransposeOp::inferResultType() {
  auto input = dyn_cast<RankedTensorType>(getInput().getType());
  if (!input)
    return unranked(getContext());
  if (failed(checkPositive(*this, input, "input")))
    return failure();
  ArrayRef<int64_t> perm = getPerm();
  int64_t rank = input.getRank();
  std::vector<bool> seen(static_cast<size_t>(rank), false);
  bool permutation = static_cast<int64_t>(perm.size()) == rank;
  for (int64_t p : perm) {
    permutation = permutation && p >= 0 && p < rank && !seen[static_cast<size_t>(p)];
    if (permutation)
      seen[static_cast<size_t>(p)] = true;
  }
  if (!permutation)
    return emitOpError() << "expects perm to be a permutation of the " << rank
                         << " dimensions of " << input;
  if (input.isDynamicDim(0) && perm[0] != 0)
    return emitOpError() << "expects the dynamic dimension 0 (the batch) to stay first";
  SmallVector<int64_t> shape;
  for (int64_t p : perm)
    shape.push_back(input.getDimSize(p));
  return makeResult(*this, shape);
}

OpFoldResult TransposeOp::fold(FoldAdaptor) {
  auto inner = getInput().getDefiningOp<TransposeOp>();
  if (!inner || inner.getInput().getType() != getType())
    return {};
  // Result dimension i is the inner input's dimension innerPerm[perm[i]].
  ArrayRef<int64_t> perm = getPerm(), innerPerm = inner.getPerm();
  for (auto [i, p] : llvm::enumerate(perm))
    if (p < 0 || p >= static_cast<int64_t>(innerPerm.size()) ||
        innerPerm[static_cast<size_t>(p)] != static_cast<int64_t>(i))
      return {};
  return inner.getInput();
}

FailureOr<TensorType> PadOp::inferResultType() {
  auto input = dyn_cast<RankedTensorType>(getInput().getType());
  if (!input)
    return unranked(getContext());
  if (failed(checkPositive(*this, input, "input")))
    return failure();
  ArrayRef<int64_t> pads = getPads();
  int64_t rank = input.getRank();
  if (static_cast<int64_t>(pads.size()) != 2 * rank)
    return emitOpError() << "expects pads to have " << 2 * rank << " values (before, then after "
                         << "each dimension of " << input << "), got " << pads.size();
  if (!std::isfinite(getValue().convertToFloat()))
    return emitOpError() << "expects a finite padding value";
  SmallVector<int64_t> shape;
  for (int64_t d = 0; d < rank; ++d) {
    int64_t before = pads[d], after = pads[rank + d], extent = input.getDimSize(d);
    if (input.isDynamicDim(d)) {
      if (before != 0 || after != 0)
        return emitOpError() << "expects no padding of the dynamic dimension " << d
                             << ", got " << before << " before and " << after << " after";
      shape.push_back(ShapedType::kDynamic);
      continue;
    }
    // |pads| of 2^62 or more could wrap the sum; no real tensor is that large.
    constexpr int64_t kLimit = int64_t(1) << 62;
    if (before <= -kLimit || before >= kLimit || after <= -kLimit || after >= kLimit)
      return emitOpError() << "expects pads of magnitude below 2^62, got " << before
                           << " before and " << after << " after dimension " << d;
    if (extent + before + after < 1)
      return emitOpError() << "expects dimension " << d << " (extent " << extent
                           << ") to keep at least one element, got " << before << " before and "
                           << after << " after";
    shape.push_back(extent + before + after);
  }
  return makeResult(*this, shape);
}

FailureOr<TensorType> ConcatOp::inferResultType() {
  if (getInputs().empty())
    return emitOpError() << "expects at least one input";
  SmallVector<RankedTensorType> inputs;
  for (Value v : getInputs()) {
    auto type = dyn_cast<RankedTensorType>(v.getType());
    if (!type)
      return unranked(getContext());
    if (failed(checkPositive(*this, type, "input")))
      return failure();
    inputs.push_back(type);
  }
  int64_t rank = inputs[0].getRank(), axis = static_cast<int64_t>(getAxis());
  if (axis < 0 || axis >= rank)
    return emitOpError() << "expects an axis in [0, " << rank << "), got " << axis;
  SmallVector<int64_t> shape(inputs[0].getShape());
  for (auto [i, type] : llvm::enumerate(inputs)) {
    if (type.getRank() != rank)
      return emitOpError() << "expects every input to have rank " << rank << ", input " << i
                           << " is " << type;
    for (int64_t d = 0; d < rank; ++d) {
      if (d == axis && type.isDynamicDim(d))
        return emitOpError() << "expects a static extent along the axis " << axis
                             << " (the batch cannot be joined), input " << i << " is " << type;
      if (d != axis && type.getDimSize(d) != shape[d])
        return emitOpError() << "expects the inputs to agree in every dimension but " << axis
                             << ": input " << i << " is " << type << ", input 0 is " << inputs[0];
    }
    if (i > 0) {
      if (type.getDimSize(axis) >= (int64_t(1) << 62) - shape[axis])
        return emitOpError() << "expects a result extent along the axis below 2^62";
      shape[axis] += type.getDimSize(axis);
    }
  }
  return makeResult(*this, shape);
}

FailureOr<TensorType> ReluOp::inferResultType() { return inferSameShape(*this, getInput()); }
FailureOr<TensorType> TanhOp::inferResultType() { return inferSameShape(*this, getInput()); }
FailureOr<TensorType> SigmoidOp::inferResultType() { return inferSameShape(*this, getInput()); }

LogicalResult kiln::nn::checkLeakyReluSlope(Operation *op, llvm::APFloat alpha) {
  if (!alpha.isFinite())
    return op->emitOpError() << "expects a finite alpha";
  return success();
}

LogicalResult kiln::nn::checkClipBounds(Operation *op, llvm::APFloat min, llvm::APFloat max) {
  if (min.isNaN() || max.isNaN())
    return op->emitOpError() << "expects bounds that are not NaN (an absent bound is infinite)";
  return success();
}

FailureOr<TensorType> LeakyReluOp::inferResultType() {
  if (failed(checkLeakyReluSlope(*this, getAlpha())))
    return failure();
  return inferSameShape(*this, getInput());
}

FailureOr<TensorType> ClipOp::inferResultType() {
  if (failed(checkClipBounds(*this, getMin(), getMax())))
    return failure();
  return inferSameShape(*this, getInput());
}

FailureOr<TensorType> FlattenOp::inferResultType() {
  auto input = dyn_cast<RankedTensorType>(getInput().getType());
  if (!input)
    return unranked(getContext());
  if (input.getRank() < 2)
    return emitOpError() << "expects at least a 2-D input (N, ...), got " << input;
  if (failed(checkPositive(*this, input, "input")))
    return failure();
  ArrayRef<int64_t> rest = input.getShape().drop_front();
  if (llvm::is_contained(rest, ShapedType::kDynamic))
    return emitOpError() << "expects static dimensions after the batch, got " << input;
  std::optional<int64_t> features =
      kiln::shape::checkedProduct(std::vector<int64_t>(rest.begin(), rest.end()));
  if (!features)
    return emitOpError() << "expects a flattened size that fits in 64 bits, got " << input;
  return makeResult(*this, {input.getDimSize(0), *features});
}

template <typename SoftmaxLikeOp>
static FailureOr<TensorType> inferSoftmaxLike(SoftmaxLikeOp op) {
  auto input = dyn_cast<RankedTensorType>(op.getInput().getType());
  if (!input)
    return unranked(op.getContext());
  int64_t axis = op.getAxis();
  if (axis < 0 || axis >= input.getRank())
    return op.emitOpError() << "expects axis in [0, " << input.getRank() << "), got " << axis
                            << " for " << input;
  return inferSameShape(op, op.getInput());
}

FailureOr<TensorType> SoftmaxOp::inferResultType() { return inferSoftmaxLike(*this); }
FailureOr<TensorType> LogSoftmaxOp::inferResultType() { return inferSoftmaxLike(*this); }

FailureOr<TensorType> SoftmaxCrossEntropyOp::inferResultType() {
  auto logits = dyn_cast<RankedTensorType>(getLogits().getType());
  auto labels = dyn_cast<RankedTensorType>(getLabels().getType());
  if (!logits || !labels)
    return unranked(getContext());
  if (logits.getRank() != 2)
    return emitOpError() << "expects 2-D logits (N, classes), got " << logits;
  if (failed(checkPositive(*this, logits, "logits")))
    return failure();
  if (labels.getRank() != 1)
    return emitOpError() << "expects 1-D labels (N), got " << labels;
  if (failed(checkPositive(*this, labels, "labels")))
    return failure();
  if (!logits.isDynamicDim(0) && !labels.isDynamicDim(0) &&
      logits.getDimSize(0) != labels.getDimSize(0))
    return emitOpError() << "expects one label per row of logits, got " << labels << " for "
                         << logits;
  return makeResult(*this, {});
}
