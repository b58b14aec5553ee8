// Packaging: a model's nn module becomes lib<model>.a, lib<model>.so, <model>.h and
// <model>.safetensors (see docs/library-api.md), built together and published atomically.
#ifndef KILN_PACKAGE_PACKAGE_H
#define KILN_PACKAGE_PACKAGE_H

#include "mlir/IR/BuiltinOps.h"
#include "mlir/Support/LogicalResult.h"

#include "frontend/OnnxImporter.h"

#include <cstdint>
#include <string>

namespace kiln {

struct PackageOptions {
  // Where the library's files go (created if missing).
  std::string outputDir;
  // A --target name (host, x86-64-avx2, x86-64-avx512, x86-64-zen4, arm-64-linux, host-cuda) or
  // a Halide target string.
  std::string target = "host";
  // Seed of the initial weights (the .safetensors and the library's default).
  uint64_t seed = 0;
  // When set: every stage's IR, the driver and each kernel's .stmt/.html/.s are written here.
  std::string dumpDir;
  // Print the IR after every pass to stderr (kilnc --print-ir-after-all).
  bool printIRAfterAll = false;
  // The optimizer of the training step, built when the model has a loss: sgd or adam.
  std::string optimizer = "sgd";
  // "kiln" (Kiln's schedules) or "auto" (Halide's Mullapudi2016 autoscheduler, for comparison).
  std::string schedule = "kiln";
  // Initial values by parameter name (an ONNX model's initializers), instead of the seed's.
  const InitialValues *initialValues = nullptr;
};

// The C identifier the model's files and functions are named after: the module's name
// (`module @lenet`), else the stem of its file, sanitized.
std::string modelName(mlir::ModuleOp module);

// Packages `module` (as parsed): runs the pipeline (driver/Pipeline.h) to kernels, with the
// training step (kiln-autodiff with options.optimizer) when the model has a loss; compiles
// each kernel and Halide's runtime for the target, generates and compiles the driver, archives
// and links the libraries and writes the initial weights. Everything is built in a temporary directory inside
// options.outputDir and moved into place only when all of it succeeded; on failure outputDir is
// left as it was (no partial or new files) and the reason is a diagnostic. For a cross target
// (arm-64-linux) there is no lib<model>.so: the static library is linked on the target, with a
// runtime built for it.
mlir::LogicalResult packageModel(mlir::ModuleOp module, const PackageOptions &options);

} // namespace kiln

#endif // KILN_PACKAGE_PACKAGE_H
