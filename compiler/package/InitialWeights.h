// A model's initial weights: PyTorch's default initialization drawn from a seed with the
// runtime's counter-based generator, so the .safetensors kilnc writes and a library created
// without a weights file hold the same bits.
#ifndef KILN_PACKAGE_INITIALWEIGHTS_H
#define KILN_PACKAGE_INITIALWEIGHTS_H

#include "package/ModelProgram.h"

#include "kiln/Dialect/NN/NNDialect.h"

#include <vector>

namespace kiln::package {

// PyTorch's default for the parameter, found from the op that reads it (through kernels):
// conv and dense weights and biases U(±1/√fan_in) (kaiming_uniform with a = √5; fan_in =
// C_in/groups × kernel elements, or in_features), batch-norm weight 1, bias 0, running_mean 0,
// running_var 1. A parameter no such op reads: `*.running_var` 1, a rank-1 `*.weight` 1,
// another tensor of rank ≥ 2 U(±1/√(product of the extents after the first)), else 0.
ParameterInit defaultInit(nn::ParameterOp parameter);

// The initial value of every parameter, in order.
std::vector<std::vector<float>> initialWeights(const std::vector<Parameter> &parameters,
                                               uint64_t seed);

// Writes the parameters to a safetensors file (atomically, through the runtime); a failure
// becomes a diagnostic at loc carrying the runtime's message.
mlir::LogicalResult writeWeights(const std::string &path, const std::vector<Parameter> &parameters,
                                 const std::vector<std::vector<float>> &weights,
                                 mlir::Location loc);

} // namespace kiln::package

#endif // KILN_PACKAGE_INITIALWEIGHTS_H
