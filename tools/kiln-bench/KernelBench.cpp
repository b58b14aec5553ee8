// kiln-kernel-bench: Google Benchmark over single kernels, each built by Kiln's code generator
// (kiln-infer-shapes, kiln-form-kernels, Halide) and JIT-compiled for this machine, on random
// inputs: LeNet's training kernels at batch 64 and some of ResNet-18's at batch 8 (the figures
// quoted in compiler/codegen's schedule comments). Threads: Halide's default (HL_NUM_THREADS).
// KILN_DUMP_DIR=dir also writes each kernel's .stmt/.html/.s under dir/<index>.
#include "KernelHarness.h"

#include <benchmark/benchmark.h>

#include <cstdlib>
#include <filesystem>
#include <sstream>

namespace {

using namespace kiln::testing;

struct KernelCase {
  std::string what;
  int64_t batch;
  OpCase c;
  double macsPerImage; // multiply-adds, for GFLOP/s; 0 for memory-bound kernels
};

std::vector<KernelCase> kernelCases() {
  auto conv = [](int stride, int pad) {
    std::string p = std::to_string(pad), s = std::to_string(stride);
    return " strides = [" + s + ", " + s + "] padding = [" + p + ", " + p + ", " + p + ", " + p +
           "] dilations = [1, 1] groups = 1";
  };
  const std::string pool2 =
      " kernel_size = [2, 2] strides = [2, 2] padding = [0, 0, 0, 0] ceil_mode = false";
  const std::string pool3 =
      " kernel_size = [3, 3] strides = [2, 2] padding = [1, 1, 1, 1] ceil_mode = false";
  const std::string lenet1 = "tensor<?x20x24x24xf32>", lenet2 = "tensor<?x50x8x8xf32>",
                    map56 = "tensor<?x64x56x56xf32>", v64 = "tensor<64xf32>";
  return {
      {"LeNet conv2 forward", 64,
       typedCase({"tensor<?x20x12x12xf32>", "tensor<50x20x5x5xf32>"}, "conv" + conv(1, 0),
                 lenet2),
       50.0 * 64 * 20 * 25},
      {"LeNet conv1 dw", 64,
       typedCase({"tensor<?x1x28x28xf32>", lenet1}, "conv_backward_filter" + conv(1, 0),
                 "tensor<20x1x5x5xf32>"),
       20.0 * 24 * 24 * 25},
      {"LeNet conv2 dx", 64,
       typedCase({lenet2, "tensor<50x20x5x5xf32>"}, "conv_backward_data" + conv(1, 0),
                 "tensor<?x20x12x12xf32>"),
       50.0 * 64 * 20 * 25},
      {"LeNet conv2 dw", 64,
       typedCase({"tensor<?x20x12x12xf32>", lenet2}, "conv_backward_filter" + conv(1, 0),
                 "tensor<50x20x5x5xf32>"),
       50.0 * 64 * 20 * 25},
      {"LeNet pool1 dx", 64,
       typedCase({"tensor<?x20x12x12xf32>"},
                 "avg_pool_backward" + pool2 + " count_include_pad = true", lenet1),
       0},
      {"LeNet tanh1 dx", 64, typedCase({lenet1, lenet1}, "tanh_backward"), 0},
      {"LeNet conv1 bias grad", 64, typedCase({lenet1}, "reduce_to_channel"), 0},
      {"LeNet fc1 dx", 64,
       typedCase({"tensor<?x500xf32>", "tensor<500x800xf32>"}, "dense_backward_data"), 500.0 * 800},
      {"LeNet fc1 dw", 64,
       typedCase({"tensor<?x800xf32>", "tensor<?x500xf32>"}, "dense_backward_weight"), 500.0 * 800},
      {"LeNet loss", 64, typedCase({"tensor<?x10xf32>", "tensor<?xi64>"}, "softmax_cross_entropy"),
       0},
      {"LeNet loss grad", 64,
       typedCase({"tensor<?x10xf32>", "tensor<?xi64>"}, "softmax_cross_entropy_backward"), 0},
      {"LeNet fc1 momentum", 64,
       typedCase(
           {"tensor<500x800xf32>", "tensor<500x800xf32>", "tensor<500x800xf32>", "tensor<8xf32>"},
           "momentum_update"),
       0},
      {"ResNet bn train 64×56²", 8,
       typedCase({map56, v64, v64}, "batch_norm_train epsilon = 1.0e-05"), 0},
      {"ResNet bn dx 64×56²", 8,
       typedCase({map56, map56, v64}, "batch_norm_train_backward_data epsilon = 1.0e-05"), 0},
      {"ResNet conv 3×3 64→64 dx 56²", 8,
       typedCase({map56, "tensor<64x64x3x3xf32>"}, "conv_backward_data" + conv(1, 1), map56),
       64.0 * 64 * 9 * 56 * 56},
      {"ResNet conv 3×3 64→64 dw 56²", 8,
       typedCase({map56, map56}, "conv_backward_filter" + conv(1, 1), "tensor<64x64x3x3xf32>"),
       64.0 * 64 * 9 * 56 * 56},
      {"ResNet conv 1×1/2 64→128 dx", 8,
       typedCase({"tensor<?x128x28x28xf32>", "tensor<128x64x1x1xf32>"},
                 "conv_backward_data" + conv(2, 0), map56),
       128.0 * 64 * 28 * 28},
      {"ResNet conv 3×3/2 64→128 dx", 8,
       typedCase({"tensor<?x128x28x28xf32>", "tensor<128x64x3x3xf32>"},
                 "conv_backward_data" + conv(2, 1), map56),
       128.0 * 64 * 9 * 28 * 28},
      {"ResNet max pool 3×3/2 dx 112²", 8,
       typedCase({"tensor<?x64x112x112xf32>", map56}, "max_pool_backward" + pool3), 0},
  };
}

// Random inputs for the case's argument types, `?` being the batch; labels are classes 0-9 and
// the optimizer's hyperparameters plausible values.
void fillInputs(KernelCase &k, std::mt19937 &rng) {
  for (const std::string &type : k.c.argTypes) {
    // "tensor<?x64x56x56xf32>" → {batch, 64, 56, 56}
    std::vector<int64_t> shape;
    std::stringstream dims(type.substr(7, type.rfind('x') - 7));
    for (std::string d; std::getline(dims, d, 'x');)
      shape.push_back(d == "?" ? k.batch : std::stoll(d));
    Tensor t = randomTensor(shape, rng);
    if (type.find("i64") != std::string::npos)
      for (double &v : t.data)
        v = static_cast<double>(rng() % 10);
    if (type == "tensor<8xf32>")
      t.data = {0.01, 0.9, 1e-4, 0.9, 0.999, 1e-8, 0.1, 0.001};
    k.c.inputs.push_back(t);
  }
}

void runCase(benchmark::State &state, KernelCase k) {
  std::string error;
  if (!runKernelRepeatedly(k.c, &error, [&] { return state.KeepRunning(); })) {
    state.SkipWithError(error.c_str());
    return;
  }
  if (k.macsPerImage > 0)
    state.counters["GFLOP/s"] = benchmark::Counter(2.0 * k.macsPerImage * k.batch / 1e9,
                                                   benchmark::Counter::kIsIterationInvariantRate);
}

} // namespace

int main(int argc, char **argv) {
  benchmark::Initialize(&argc, argv);
  std::mt19937 rng(20261206);
  std::vector<KernelCase> cases = kernelCases();
  const char *dumpDir = std::getenv("KILN_DUMP_DIR");
  for (size_t i = 0; i < cases.size(); ++i) {
    fillInputs(cases[i], rng);
    std::string name = cases[i].what + " b" + std::to_string(cases[i].batch);
    benchmark::RegisterBenchmark(name.c_str(), runCase, cases[i])
        ->UseRealTime()
        ->Unit(benchmark::kMillisecond);
    if (dumpDir) {
      std::string dir = std::string(dumpDir) + "/" + std::to_string(i), error;
      std::filesystem::create_directories(dir);
      if (!compileKernelFor(cases[i].c, "host", &error, dir))
        std::fprintf(stderr, "%s: %s\n", name.c_str(), error.c_str());
    }
  }
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
