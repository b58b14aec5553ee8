// Schedules of the training kernels beyond their numerics: every training op's CUDA schedule is
// legal (built and compiled to an object for host-cuda; nothing runs, so no GPU is needed), and
// the kernels that reduce over the batch give bit-identical results from run to run.
#include "GradTesting.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <sstream>

#include <gtest/gtest.h>

namespace kiln::testing {
namespace {

constexpr unsigned kSeed = 20261206;

// A case from its argument types and op text (no values: for compilation only).
OpCase typedCase(std::vector<std::string> argTypes, const std::string &op,
                 const std::string &resultType = "tensor<*xf32>") {
  OpCase c;
  c.argTypes = std::move(argTypes);
  c.resultType = resultType;
  std::string operands, types;
  for (size_t i = 0; i < c.argTypes.size(); ++i) {
    operands += (i ? ", %a" : " %a") + std::to_string(i);
    types += (i ? ", " : "") + c.argTypes[i];
  }
  size_t attributes = op.find(' ');
  std::string name = op.substr(0, attributes);
  std::string rest = attributes == std::string::npos ? "" : op.substr(attributes);
  // One operand: `type -> type`; several: a functional type (the ops' assembly formats).
  if (c.argTypes.size() > 1)
    types = "(" + types + ")";
  c.op = "nn." + name + operands + rest + " : " + types + " -> " + resultType;
  return c;
}

// One case per training op, with strides, padding and groups where the op has them.
std::vector<OpCase> everyTrainingOp() {
  const std::string x = "tensor<?x4x9x9xf32>", y = "tensor<?x4x5x5xf32>", w = "tensor<4x2x3x3xf32>",
                    v = "tensor<4xf32>", h = "tensor<8xf32>", m = "tensor<?x40xf32>",
                    u = "tensor<?x10xf32>", dw = "tensor<10x40xf32>", labels = "tensor<?xi64>",
                    pooled = "tensor<?x4x1x1xf32>";
  const std::string conv = " strides = [2, 2] padding = [1, 1, 1, 1] dilations = [1, 1] groups = 2";
  const std::string pool = " kernel_size = [3, 3] strides = [2, 2] padding = [1, 1, 1, 1]"
                           " ceil_mode = true";
  return {
      typedCase({y, w}, "conv_backward_data" + conv, x),
      typedCase({x, y}, "conv_backward_filter" + conv, w),
      typedCase({u, dw}, "dense_backward_data"),
      typedCase({m, u}, "dense_backward_weight"),
      typedCase({x, y}, "max_pool_backward" + pool),
      typedCase({y}, "avg_pool_backward" + pool + " count_include_pad = false", x),
      typedCase({pooled}, "global_avg_pool_backward", x),
      typedCase({x, pooled}, "global_max_pool_backward"),
      typedCase({x}, "reduce_to_channel"),
      typedCase({x}, "channel_mean"),
      typedCase({x}, "channel_var unbiased = true"),
      typedCase({v, v}, "running_update momentum = 1.0e-01"),
      typedCase({x, v, v}, "batch_norm_train epsilon = 1.0e-05"),
      typedCase({x, x, v}, "batch_norm_train_backward_data epsilon = 1.0e-05"),
      typedCase({x, x}, "batch_norm_train_backward_weight epsilon = 1.0e-05"),
      typedCase({m, m}, "relu_backward"),
      typedCase({m, m}, "tanh_backward"),
      typedCase({m, m}, "sigmoid_backward"),
      typedCase({m}, "reshape", "tensor<?x10x2x2xf32>"),
      typedCase({x, x}, "softmax_backward axis = 1"),
      typedCase({u, u}, "log_softmax_backward axis = 1"),
      typedCase({u, labels}, "softmax_cross_entropy"),
      typedCase({u, labels}, "softmax_cross_entropy_backward"),
      typedCase({dw, dw, dw, h}, "momentum_update"),
      typedCase({dw, dw, h}, "sgd_step"),
      typedCase({dw, dw, dw, h}, "adam_moment second = true"),
      typedCase({dw, dw, dw, h}, "adam_step"),
  };
}

TEST(GradSchedules, EveryTrainingOpCompilesForCuda) {
  for (const OpCase &c : everyTrainingOp()) {
    std::string error;
    EXPECT_TRUE(compileKernelFor(c, "host-cuda", &error)) << error;
  }
}

TEST(GradSchedules, EveryTrainingOpCompilesForAvx2AndArm) {
  // Narrower vectors than the host's: other lane counts, other tails.
  for (const char *target : {"x86-64-avx2", "arm-64-linux"}) {
    for (const OpCase &c : everyTrainingOp()) {
      std::string error;
      EXPECT_TRUE(compileKernelFor(c, target, &error)) << target << ": " << error;
    }
  }
}

// Runs a case three times; every run must give the first run's bits.
void expectDeterministic(const OpCase &c) {
  Tensor first;
  std::string error;
  ASSERT_TRUE(runKernel(c, &first, &error)) << error;
  for (int run = 0; run < 2; ++run) {
    Tensor again;
    ASSERT_TRUE(runKernel(c, &again, &error)) << error;
    ASSERT_EQ(again.data.size(), first.data.size());
    for (size_t i = 0; i < first.data.size(); ++i)
      ASSERT_EQ(std::memcmp(&again.data[i], &first.data[i], sizeof(double)), 0)
          << "element " << i << " differs between runs: " << c.op;
  }
}

TEST(GradSchedules, BatchReductionsAreBitIdenticalAcrossRuns) {
  std::mt19937 rng(kSeed);
  std::vector<int64_t> xs{32, 8, 12, 12}, ys{32, 8, 10, 10}, ws{8, 8, 3, 3};
  Tensor x = randomTensor(xs, rng), dy = randomTensor(ys, rng), dx = randomTensor(xs, rng);
  Tensor gamma = randomTensor({8}, rng);
  std::string xt = mlirType(xs, true), yt = mlirType(ys, true), wt = mlirType(ws, false);

  OpCase filter = typedCase({xt, yt},
                            "conv_backward_filter strides = [1, 1] padding = "
                            "[0, 0, 0, 0] dilations = [1, 1] groups = 1",
                            wt);
  filter.inputs = {x, dy};
  expectDeterministic(filter);

  OpCase norm =
      typedCase({xt, xt, "tensor<8xf32>"}, "batch_norm_train_backward_data epsilon = 1.0e-05");
  norm.inputs = {x, dx, gamma};
  expectDeterministic(norm);

  OpCase bias = typedCase({xt}, "reduce_to_channel");
  bias.inputs = {x};
  expectDeterministic(bias);

  Tensor features = randomTensor({64, 100}, rng), grads = randomTensor({64, 30}, rng);
  OpCase dense =
      typedCase({mlirType({64, 100}, true), mlirType({64, 30}, true)}, "dense_backward_weight");
  dense.inputs = {features, grads};
  expectDeterministic(dense);

  std::vector<int64_t> labels;
  for (int i = 0; i < 64; ++i)
    labels.push_back(pick(rng, 0, 29));
  OpCase loss = typedCase({mlirType({64, 30}, true), "tensor<?xi64>"}, "softmax_cross_entropy");
  loss.inputs = {grads, integerTensor(labels)};
  expectDeterministic(loss);
}

// Not a check: times LeNet's training kernels at batch 64 and some of ResNet-18's at batch 8
// (the figures quoted in the schedules' comments). Run with --gtest_also_run_disabled_tests;
// KILN_DUMP_DIR=dir also writes each kernel's .stmt/.html/.s under dir/<index>.
TEST(GradSchedules, DISABLED_TrainingKernelTimes) {
  std::mt19937 rng(kSeed + 1);
  auto conv = [](int stride, int pad) {
    std::string p = std::to_string(pad), s = std::to_string(stride);
    return " strides = [" + s + ", " + s + "] padding = [" + p + ", " + p + ", " + p + ", " + p +
           "] dilations = [1, 1] groups = 1";
  };
  const std::string pool2 =
      " kernel_size = [2, 2] strides = [2, 2] padding = [0, 0, 0, 0] ceil_mode = false";
  const std::string pool3 =
      " kernel_size = [3, 3] strides = [2, 2] padding = [1, 1, 1, 1] ceil_mode = false";
  struct Bench {
    std::string what;
    int64_t batch;
    OpCase c;
    double macsPerImage; // multiply-adds, for GFLOP/s; 0 for memory-bound kernels
  };
  const std::string lenet1 = "tensor<?x20x24x24xf32>", lenet2 = "tensor<?x50x8x8xf32>",
                    map56 = "tensor<?x64x56x56xf32>", v64 = "tensor<64xf32>";
  std::vector<Bench> benches = {
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
  const char *dumpDir = std::getenv("KILN_DUMP_DIR");
  for (size_t i = 0; i < benches.size(); ++i) {
    Bench &bench = benches[i];
    for (const std::string &type : bench.c.argTypes) {
      // "tensor<?x64x56x56xf32>" → {batch, 64, 56, 56}
      std::vector<int64_t> shape;
      std::stringstream dims(type.substr(7, type.rfind('x') - 7));
      for (std::string d; std::getline(dims, d, 'x');)
        shape.push_back(d == "?" ? bench.batch : std::stoll(d));
      Tensor t = randomTensor(shape, rng);
      if (type.find("i64") != std::string::npos)
        for (double &v : t.data)
          v = static_cast<double>(pick(rng, 0, 9));
      if (type == "tensor<8xf32>")
        t.data = {0.01, 0.9, 1e-4, 0.9, 0.999, 1e-8, 0.1, 0.001};
      bench.c.inputs.push_back(t);
    }
    Tensor out;
    std::string error;
    double ms = 0;
    ASSERT_TRUE(runKernel(bench.c, &out, &error, 20, &ms)) << error;
    std::printf("%-32s batch %3lld %9.3f ms", bench.what.c_str(),
                static_cast<long long>(bench.batch), ms);
    if (bench.macsPerImage > 0)
      std::printf(" %7.1f GFLOP/s", 2.0 * bench.macsPerImage * bench.batch / (ms * 1e6));
    std::printf("\n");
    if (dumpDir) {
      std::string dir = std::string(dumpDir) + "/" + std::to_string(i);
      std::filesystem::create_directories(dir);
      ASSERT_TRUE(compileKernelFor(bench.c, "host", &error, dir)) << error;
    }
  }
}

} // namespace
} // namespace kiln::testing
