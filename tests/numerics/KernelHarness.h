// Runs one nn op through Kiln's real path — kiln-infer-shapes, kiln-form-kernels, Halide code
// generation for the host — JIT-compiled, so kernels can be compared with the reference.
#ifndef KILN_TESTS_NUMERICS_KERNELHARNESS_H
#define KILN_TESTS_NUMERICS_KERNELHARNESS_H

#include "reference/Reference.h"

#include <random>
#include <string>
#include <vector>

namespace kiln::testing {

using reference::Tensor;

// A single-op function: its MLIR text (arguments %a0, %a1, … of the given types, the op's result
// typed tensor<*xf32>) and concrete input values (the batch fixed).
struct OpCase {
  std::vector<std::string> argTypes; // MLIR tensor types, `?` allowed for the batch
  std::string op;                    // e.g. "nn.relu %a0 : tensor<?x3xf32> -> tensor<*xf32>"
  std::vector<Tensor> inputs;
};

// Compiles and runs the case; on failure returns false and says why in *error.
bool runKernel(const OpCase &c, Tensor *out, std::string *error);

// Largest violation of |out − ref| ≤ atol + rtol·|ref| as a message, or "" when all fit.
std::string compareTensors(const Tensor &out, const Tensor &ref, double atol, double rtol);

// Uniform values in [-1, 1).
Tensor randomTensor(std::vector<int64_t> shape, std::mt19937 &rng);

std::string mlirType(const std::vector<int64_t> &shape, bool dynamicBatch);
std::string arrayText(const std::vector<int64_t> &values); // "[1, 2]"

} // namespace kiln::testing

#endif // KILN_TESTS_NUMERICS_KERNELHARNESS_H
