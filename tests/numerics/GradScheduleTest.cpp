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
      typedCase({m, m}, "leaky_relu_backward {alpha = 1.0e-01 : f32}"),
      typedCase({m, m}, "clip_backward {min = 0.0 : f32, max = 6.0 : f32}"),
      typedCase({x, "tensor<4x1x1xf32>"}, "sum_like {scale = -1.0 : f32}", "tensor<4x1x1xf32>"),
      typedCase({x, "tensor<9xf32>"}, "sum_like {scale = 1.0 : f32}", "tensor<9xf32>"),
      // The broadcasting ops (ONNX's Add, Sub, Mul, Div, Max, Min), which no .kiln layer makes, so
      // every-op-targets.test does not compile them: forward, but here with their gradients.
      typedCase({x, "tensor<4x1x1xf32>"}, "broadcast_add"),
      typedCase({"tensor<1xf32>", x}, "broadcast_sub"),
      typedCase({x, x}, "broadcast_mul"),
      typedCase({x, "tensor<9xf32>"}, "broadcast_div"),
      typedCase({"tensor<4x1x9xf32>", x}, "broadcast_max"),
      typedCase({x, "tensor<1xf32>"}, "broadcast_min"),
      typedCase({"tensor<f32>", x}, "broadcast_mul"),
      typedCase({x, "tensor<f32>"}, "sum_like {scale = 1.0 : f32}", "tensor<f32>"),
      typedCase({x}, "transpose perm = [0, 3, 1, 2]"),
      typedCase({x}, "pad pads = [0, 1, -1, 2, 0, 0, 2, -3] {value = 0.5 : f32}",
                "tensor<?x5x10x8xf32>"),
      typedCase({x, "tensor<?x2x9x9xf32>"}, "concat axis = 1", "tensor<?x6x9x9xf32>"),
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

} // namespace
} // namespace kiln::testing
