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
  // A layer fails when some |out − ref| > atol + rtol·max|ref| (the layer's largest magnitude):
  // errors of float32 kernels grow with depth, so the bound is relative to the layer's scale.
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
