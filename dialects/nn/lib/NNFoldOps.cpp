// Shape inference of the batch-norm folding ops (kiln-fold-batch-norm writes them).
#include "kiln/Dialect/NN/NNDialect.h"

#include <limits>

using namespace mlir;

namespace kiln::nn {

namespace {

// Every operand ranked, or an unranked result while one is not.
bool ranked(Operation *op) {
  return llvm::all_of(op->getOperandTypes(), [](Type t) { return isa<RankedTensorType>(t); });
}

LogicalResult checkEpsilon(Operation *op, double epsilon) {
  if (!(epsilon > 0.0 && epsilon < std::numeric_limits<double>::infinity()))
    return op->emitOpError() << "expects a positive, finite epsilon, got " << epsilon;
  return success();
}

// Each (value, name) is a 1-D tensor of `channels` elements.
LogicalResult checkPerChannel(Operation *op, int64_t channels,
                              llvm::ArrayRef<std::pair<Value, StringRef>> values) {
  for (auto [value, name] : values) {
    auto type = cast<RankedTensorType>(value.getType());
    if (type.getRank() != 1 || type.getDimSize(0) != channels)
      return op->emitOpError() << "expects " << name << " of " << channels
                               << " elements (one per output channel), got " << type;
  }
  return success();
}

} // namespace

FailureOr<TensorType> FoldBatchNormWeightOp::inferResultType() {
  if (!ranked(*this))
    return TensorType(UnrankedTensorType::get(Float32Type::get(getContext())));
  auto weight = cast<RankedTensorType>(getWeight().getType());
  if (weight.getRank() < 2 || !weight.hasStaticShape())
    return emitOpError() << "expects a static weight of rank 2 or more (output channels "
                            "first), got "
                         << weight;
  if (failed(checkPerChannel(*this, weight.getDimSize(0),
                             {{getBnWeight(), "bn_weight"}, {getRunningVar(), "running_var"}})) ||
      failed(checkEpsilon(*this, getEpsilon().convertToDouble())))
    return failure();
  return TensorType(weight);
}

FailureOr<TensorType> FoldBatchNormBiasOp::inferResultType() {
  if (!ranked(*this))
    return TensorType(UnrankedTensorType::get(Float32Type::get(getContext())));
  auto gamma = cast<RankedTensorType>(getBnWeight().getType());
  if (gamma.getRank() != 1 || !gamma.hasStaticShape())
    return emitOpError() << "expects a static 1-D bn_weight, got " << gamma;
  SmallVector<std::pair<Value, StringRef>> values = {{getBnBias(), "bn_bias"},
                                                     {getRunningMean(), "running_mean"},
                                                     {getRunningVar(), "running_var"}};
  if (getBias())
    values.push_back({getBias(), "bias"});
  if (failed(checkPerChannel(*this, gamma.getDimSize(0), values)) ||
      failed(checkEpsilon(*this, getEpsilon().convertToDouble())))
    return failure();
  return TensorType(gamma);
}

} // namespace kiln::nn
