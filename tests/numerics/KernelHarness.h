// Runs one nn op through Kiln's real path — kiln-infer-shapes, kiln-form-kernels, Halide code
// generation for the host — JIT-compiled, so kernels can be compared with the reference.
#ifndef KILN_TESTS_NUMERICS_KERNELHARNESS_H
#define KILN_TESTS_NUMERICS_KERNELHARNESS_H

#include "reference/Reference.h"

#include <functional>
#include <random>
#include <string>
#include <vector>

namespace kiln::testing {

using reference::Tensor;

// A single-op function: its MLIR text (arguments %a0, %a1, … of the given types, the op's result
// typed `resultType`) and concrete input values (the batch fixed). An argument of integer type
// (labels: tensor<?xi64>, also i32 and ui8) takes its Tensor's values, which must be integers.
struct OpCase {
  std::vector<std::string> argTypes;       // MLIR tensor types, `?` allowed for the batch
  std::string op;                          // e.g. "nn.relu %a0 : tensor<?x3xf32> -> tensor<*xf32>"
  std::vector<Tensor> inputs;
  std::string resultType = "tensor<*xf32>"; // ops whose result type is not inferred declare it
};

// A case from its argument types and the op's name and attributes ("conv_backward_data strides
// = [1, 1] ..."), without values: the op text gets its operands and types. For compile-only
// checks and benchmarks, which fill `inputs` themselves.
OpCase typedCase(std::vector<std::string> argTypes, const std::string &op,
                 const std::string &resultType = "tensor<*xf32>");

// Compiles and runs the case; on failure returns false and says why in *error.
bool runKernel(const OpCase &c, Tensor *out, std::string *error);

// Compiles the case, runs it once, then again for as long as keepRunning() returns true: a
// benchmark's loop (kiln-kernel-bench). False, with *error, when it cannot be built or fails.
bool runKernelRepeatedly(const OpCase &c, std::string *error,
                         const std::function<bool()> &keepRunning);

// Builds the case's kernel for a Halide target (e.g. "host-cuda") and compiles it to an object
// file without running it: checks that the target's schedule is legal where it cannot run. With
// a dumpDir, the kernel's lowered statement, HTML and assembly are written there (kernel.stmt…).
bool compileKernelFor(const OpCase &c, const std::string &target, std::string *error,
                      const std::string &dumpDir = "");

// Largest violation of |out − ref| ≤ atol + rtol·|ref| as a message, or "" when all fit.
std::string compareTensors(const Tensor &out, const Tensor &ref, double atol, double rtol);

// Uniform values in [-1, 1).
Tensor randomTensor(std::vector<int64_t> shape, std::mt19937 &rng);

// "tensor<?x3xf32>"; `element` is the MLIR element type (f32, i64).
std::string mlirType(const std::vector<int64_t> &shape, bool dynamicBatch,
                     const std::string &element = "f32");
// Integer values (class labels) as a Tensor, for an i64 argument.
Tensor integerTensor(const std::vector<int64_t> &values);
std::string arrayText(const std::vector<int64_t> &values); // "[1, 2]"

} // namespace kiln::testing

#endif // KILN_TESTS_NUMERICS_KERNELHARNESS_H
