// The fusion properties nn ops declare (FusionProperties.td), as the questions passes ask.
#include "kiln/Dialect/NN/NNDialect.h"

using namespace mlir;

#include "kiln/Dialect/NN/FusionProperties.cpp.inc"

namespace kiln::nn {

// A softmax over the batch (axis 0) mixes samples; over any other axis it does not.
bool SoftmaxOp::isSampleIndependent() { return getAxis() != 0; }
bool LogSoftmaxOp::isSampleIndependent() { return getAxis() != 0; }
// Moving the batch away from dimension 0 mixes it with another dimension.
bool TransposeOp::isSampleIndependent() { return getPerm().empty() || getPerm()[0] == 0; }
// Padding, cropping or joining along the batch changes which samples there are.
bool PadOp::isSampleIndependent() {
  ArrayRef<int64_t> pads = getPads();
  return pads.size() < 2 || (pads[0] == 0 && pads[pads.size() / 2] == 0);
}
bool ConcatOp::isSampleIndependent() { return getAxis() != 0; }
// Summing over the batch (the gradient of an operand without it) mixes samples.
bool SumLikeOp::isSampleIndependent() {
  auto like = dyn_cast<RankedTensorType>(getLike().getType());
  auto input = dyn_cast<RankedTensorType>(getInput().getType());
  return like && input && like.getRank() == input.getRank() &&
         (like.getRank() == 0 || like.isDynamicDim(0) == input.isDynamicDim(0));
}

bool isElementwise(Operation *op) { return op->hasTrait<OpTrait::Elementwise>(); }
bool isFusionAnchor(Operation *op) { return op->hasTrait<OpTrait::FusionAnchor>(); }
bool isPooling(Operation *op) { return op->hasTrait<OpTrait::Pooling>(); }
bool isView(Operation *op) { return op->hasTrait<OpTrait::View>(); }
bool handlesChannelsLast(Operation *op) { return op->hasTrait<OpTrait::ChannelsLast>(); }

bool isSampleIndependent(Operation *op) {
  auto independent = dyn_cast<SampleIndependent>(op);
  return independent && independent.isSampleIndependent();
}

} // namespace kiln::nn
