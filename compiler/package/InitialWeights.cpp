// PyTorch-default initial weights from a seed, and their safetensors file.
#include "package/InitialWeights.h"

#include "kiln/Dialect/NN/ShapeFormulas.h"
#include "kiln/runtime.h"

#include <cmath>

// The compiler refuses tensors the runtime cannot describe.
static_assert(kiln::shape::kMaxRank == KILN_MAX_RANK);

using namespace mlir;

namespace kiln::package {

namespace {

// The operands that read `value`, looking through kernel.fused into the ops of its region.
void collectReaders(Value value, llvm::SmallVectorImpl<OpOperand *> &readers) {
  for (OpOperand &use : value.getUses()) {
    if (auto fused = dyn_cast<kernel::FusedOp>(use.getOwner())) {
      Block &body = fused.getBody().front();
      if (use.getOperandNumber() < body.getNumArguments())
        collectReaders(body.getArgument(use.getOperandNumber()), readers);
      continue;
    }
    readers.push_back(&use);
  }
}

ParameterInit uniformFanIn(int64_t fanIn) {
  // PyTorch leaves the bound at 0 for an empty fan-in rather than dividing by zero.
  return {true, fanIn > 0 ? static_cast<float>(1.0 / std::sqrt(static_cast<double>(fanIn))) : 0.0f};
}

// C_in/groups × kernel elements of a conv weight [C_out, C_in/groups, k...], or in_features of
// a dense weight [out, in]: the product of the extents after the first.
int64_t fanInOf(Type weightType) {
  auto tensor = dyn_cast<RankedTensorType>(weightType);
  if (!tensor || tensor.getRank() < 2 || !tensor.hasStaticShape())
    return 0;
  int64_t fanIn = 1;
  for (int64_t extent : tensor.getShape().drop_front())
    fanIn *= extent;
  return fanIn;
}

// The fan-in of the conv or dense layer that reads `bias` as its bias (through kernels).
int64_t layerFanIn(Value bias) {
  llvm::SmallVector<OpOperand *> readers;
  collectReaders(bias, readers);
  for (OpOperand *use : readers)
    if (isa<nn::ConvOp, nn::DenseOp>(use->getOwner()) && use->getOperandNumber() == 2)
      return fanInOf(use->getOwner()->getOperand(1).getType());
  return 0;
}

} // namespace

ParameterInit defaultInit(nn::ParameterOp parameter) {
  llvm::SmallVector<OpOperand *> readers;
  collectReaders(parameter.getResult(), readers);
  for (OpOperand *use : readers) {
    Operation *reader = use->getOwner();
    unsigned operand = use->getOperandNumber();
    if (isa<nn::ConvOp, nn::DenseOp>(reader) && (operand == 1 || operand == 2))
      return uniformFanIn(fanInOf(reader->getOperand(1).getType()));
    if (isa<nn::BatchNormOp>(reader) && operand >= 1 && operand <= 4)
      return {false, operand == 1 || operand == 4 ? 1.0f : 0.0f};
    // Batch norm folded into the layer before it (kiln-fold-batch-norm): the same parameters,
    // read by the folding ops.
    if (isa<nn::FoldBatchNormWeightOp>(reader))
      return operand == 0 ? uniformFanIn(fanInOf(reader->getOperand(0).getType()))
                          : ParameterInit{false, 1.0f}; // bn weight, running_var
    if (isa<nn::FoldBatchNormBiasOp>(reader)) {
      if (operand == 4) // the layer's own bias: its weight's fan-in, as its weight reads it
        return uniformFanIn(layerFanIn(reader->getResult(0)));
      return {false, operand == 0 || operand == 3 ? 1.0f : 0.0f};
    }
  }
  llvm::StringRef name = parameter.getName();
  auto type = cast<RankedTensorType>(parameter.getType());
  if (name.ends_with("running_var") || (name.ends_with("weight") && type.getRank() == 1))
    return {false, 1.0f};
  if (type.getRank() >= 2)
    return uniformFanIn(fanInOf(type));
  return {false, 0.0f};
}

std::vector<std::vector<float>> initialWeights(const std::vector<Parameter> &parameters,
                                               uint64_t seed) {
  std::vector<std::vector<float>> weights;
  for (const Parameter &parameter : parameters) {
    std::vector<float> values(static_cast<size_t>(elementsPerSample(parameter.shape)),
                              parameter.init.uniform ? 0.0f : parameter.init.value);
    if (parameter.init.uniform)
      kiln_fill_uniform(values.data(), static_cast<int64_t>(values.size()), parameter.init.value,
                        seed, parameter.stream);
    weights.push_back(std::move(values));
  }
  return weights;
}

LogicalResult writeWeights(const std::string &path, const std::vector<Parameter> &parameters,
                           const std::vector<std::vector<float>> &weights, Location loc) {
  std::vector<const char *> names;
  std::vector<kiln_tensor> tensors;
  for (auto [parameter, values] : llvm::zip(parameters, weights)) {
    names.push_back(parameter.name.c_str());
    tensors.push_back(kiln_tensor_view(const_cast<float *>(values.data()), KILN_F32,
                                       static_cast<int32_t>(parameter.shape.size()),
                                       parameter.shape.data()));
  }
  kiln_status status = kiln_weights_save(path.c_str(), names.size(), names.data(), tensors.data());
  if (status != KILN_OK)
    return emitError(loc) << "cannot write the initial weights: " << kiln_last_error();
  return success();
}

} // namespace kiln::package
