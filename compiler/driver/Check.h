// `kilnc --check`: runs the model's generated kernels and the reference interpreter on the same
// random inputs and weights, and reports the largest difference layer by layer.
#ifndef KILN_DRIVER_CHECK_H
#define KILN_DRIVER_CHECK_H

#include "mlir/IR/BuiltinOps.h"
#include "llvm/Support/raw_ostream.h"

#include <cstdint>
#include <string>

namespace kiln {

struct CheckOptions {
  int64_t batch = 2;          // the dynamic batch's value for the check
  uint64_t seed = 0;          // of the random inputs and weights
  std::string target = "host";
  // A kernel fails when an element of its output has |out − ref| > atol + rtol·|ref|.
  double atol = 1e-4;
  double rtol = 1e-3;
};

// `module` is a shape-inferred nn module (after runPipeline). Each kernel's inputs are the
// previous kernels' outputs, as in the compiled library, so the per-layer numbers show how the
// error accumulates through the network. Prints one line per layer; fails (with a diagnostic)
// when a layer exceeds the tolerance or something cannot run.
mlir::LogicalResult checkModel(mlir::ModuleOp module, const CheckOptions &options,
                               llvm::raw_ostream &os);

} // namespace kiln

#endif // KILN_DRIVER_CHECK_H
