// nn ops from values and plain attributes: the builders both frontends use (OpBuilders.h).
#include "frontend/OpBuilders.h"

#include "kiln/Dialect/NN/ShapeFormulas.h"

using namespace mlir;

namespace kiln::build {

TensorType unranked(OpBuilder &b) { return UnrankedTensorType::get(b.getF32Type()); }

FailureOr<SmallVector<int64_t>> samePadding(RankedTensorType input, ArrayRef<int64_t> kernel,
                                            ArrayRef<int64_t> strides,
                                            ArrayRef<int64_t> dilations, bool largerBefore,
                                            std::string &why) {
  size_t rank = kernel.size();
  SmallVector<int64_t> pads(2 * rank, 0);
  for (size_t i = 0; i < rank; ++i) {
    int64_t stride = strides[i], extent = input.getDimSize(2 + i);
    std::optional<int64_t> span = kiln::shape::checkedMul(dilations[i], kernel[i] - 1);
    if (span)
      span = kiln::shape::checkedAdd(*span, 1);
    if (!span) {
      why = "the window of spatial dimension " + std::to_string(i) + " overflows 64 bits";
      return failure();
    }
    int64_t total;
    if (extent == ShapedType::kDynamic) {
      assert(stride == 1 && "the caller refuses a dynamic extent with a stride");
      total = *span - 1;
    } else {
      int64_t outputs = extent / stride + (extent % stride != 0); // ⌈n/s⌉
      // (outputs − 1)·stride < extent, so only adding the span can overflow.
      std::optional<int64_t> covered = kiln::shape::checkedAdd((outputs - 1) * stride, *span);
      if (!covered) {
        why = "the window of spatial dimension " + std::to_string(i) + " overflows 64 bits";
        return failure();
      }
      total = std::max<int64_t>(*covered - extent, 0);
    }
    int64_t small = total / 2, large = total - small;
    pads[i] = largerBefore ? large : small;
    pads[rank + i] = largerBefore ? small : large;
  }
  return pads;
}

FailureOr<Value> conv(OpBuilder &b, Location loc, Value input, Value weight, Value bias,
                      ArrayRef<int64_t> strides, ArrayRef<int64_t> padding,
                      ArrayRef<int64_t> dilations, int64_t groups) {
  return create<nn::ConvOp>(b, loc, input, weight, bias, strides, padding, dilations, groups);
}

FailureOr<Value> maxPool(OpBuilder &b, Location loc, Value input, ArrayRef<int64_t> kernel,
                         ArrayRef<int64_t> strides, ArrayRef<int64_t> padding, bool ceilMode) {
  return create<nn::MaxPoolOp>(b, loc, input, kernel, strides, padding, ceilMode);
}

FailureOr<Value> avgPool(OpBuilder &b, Location loc, Value input, ArrayRef<int64_t> kernel,
                         ArrayRef<int64_t> strides, ArrayRef<int64_t> padding, bool ceilMode,
                         bool countIncludePad) {
  return create<nn::AvgPoolOp>(b, loc, input, kernel, strides, padding, ceilMode,
                               countIncludePad);
}

FailureOr<Value> batchNorm(OpBuilder &b, Location loc, Value input, Value weight, Value bias,
                           Value mean, Value var, double epsilon, double momentum) {
  return create<nn::BatchNormOp>(b, loc, input, weight, bias, mean, var,
                                 b.getF64FloatAttr(epsilon), b.getF64FloatAttr(momentum));
}

FailureOr<Value> dense(OpBuilder &b, Location loc, Value input, Value weight, Value bias) {
  return create<nn::DenseOp>(b, loc, input, weight, bias);
}

FailureOr<Value> activation(OpBuilder &b, Location loc, StringRef name, Value input) {
  if (name == "relu")
    return create<nn::ReluOp>(b, loc, input);
  if (name == "tanh")
    return create<nn::TanhOp>(b, loc, input);
  if (name == "sigmoid")
    return create<nn::SigmoidOp>(b, loc, input);
  return input; // "none"
}

FailureOr<Value> leakyRelu(OpBuilder &b, Location loc, Value input, double negativeSlope) {
  return create<nn::LeakyReluOp>(b, loc, input,
                                 b.getF32FloatAttr(static_cast<float>(negativeSlope)));
}

FailureOr<Value> clip(OpBuilder &b, Location loc, Value input, double lo, double hi) {
  return create<nn::ClipOp>(b, loc, input, b.getF32FloatAttr(static_cast<float>(lo)),
                            b.getF32FloatAttr(static_cast<float>(hi)));
}

FailureOr<Value> softmax(OpBuilder &b, Location loc, Value input, int64_t axis, bool log) {
  if (log)
    return create<nn::LogSoftmaxOp>(b, loc, input, static_cast<uint64_t>(axis));
  return create<nn::SoftmaxOp>(b, loc, input, static_cast<uint64_t>(axis));
}

} // namespace kiln::build
