// A model file compiled by kilnc into a shared library, kept in a cache directory keyed by the
// file's contents (an ONNX model's external data too), the target and the kilnc binary, so
// repeated runs reuse it.
#ifndef KILN_TOOLS_KILN_BENCH_MODELCACHE_H
#define KILN_TOOLS_KILN_BENCH_MODELCACHE_H

#include "kiln/runtime.h"

#include <string>

namespace kiln_bench {

struct CompileOptions {
  std::string kilnc;    // the compiler's path
  std::string cacheDir; // where compiled libraries are kept
  std::string target = "host";
  std::string schedule = "kiln"; // or auto: Halide's autoscheduler, for comparison
  bool verbose = true;  // say when a model is being compiled, and how long it took
};

// The cache folder of the model: <cacheDir>/<stem>-<key>, the key a hash of the model file, the
// target, the schedule, kilnc's size and time, and for an ONNX model the other files of its
// folder (its external data). Fails with KILN_IO_ERROR when the model or kilnc is missing.
kiln_status cacheDirectory(const std::string &modelPath, const CompileOptions &options,
                           std::string *out_dir);

// The path of the model's lib<name>.so, compiled now unless the cache holds it. Fails with
// KILN_IO_ERROR (and kilnc's output in the message) when kilnc fails.
kiln_status compileModel(const std::string &modelPath, const CompileOptions &options,
                         std::string *out_library);

} // namespace kiln_bench

#endif // KILN_TOOLS_KILN_BENCH_MODELCACHE_H
