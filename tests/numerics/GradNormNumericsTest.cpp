// Per-channel reductions and training-mode batch norm against the reference on random 2-D to
// 5-D shapes (batch 1–4, channels 1–9, spatial extents 1–6): reduce_to_channel, channel_mean,
// channel_var (biased and unbiased), running_update, batch_norm_train and its two gradients.
// Tolerance: GradTesting.h.
#include "GradTesting.h"

#include <gtest/gtest.h>

namespace kiln::testing {
namespace {

constexpr unsigned kSeed = 20261203;
constexpr int kConfigs = 50;

// Elements per channel: the batch and every spatial position.
int64_t perChannel(const std::vector<int64_t> &shape) {
  int64_t count = shape[0];
  for (size_t i = 2; i < shape.size(); ++i)
    count *= shape[i];
  return count;
}

// A shape with at least `minCount` elements per channel (the unbiased variance needs 2; batch
// norm's gradient cancels exactly at 2, which leaves only rounding to compare).
std::vector<int64_t> shapeWithCount(std::mt19937 &rng, int64_t minCount) {
  std::vector<int64_t> shape = randomShape(rng, 2, 5);
  while (perChannel(shape) < minCount)
    shape[0] += 1;
  return shape;
}

TEST(GradNumerics, ReduceToChannelAndChannelMean) {
  std::mt19937 rng(kSeed);
  for (int config = 0; config < 2 * kConfigs; ++config) {
    std::vector<int64_t> in = randomShape(rng, 2, 5);
    bool mean = config % 2;
    OpCase c;
    c.inputs = {randomTensor(in, rng)};
    c.argTypes = {mlirType(in, true)};
    c.op = std::string(mean ? "nn.channel_mean" : "nn.reduce_to_channel") +
           " %a0 : " + c.argTypes[0] + " -> tensor<*xf32>";
    Tensor ref =
        mean ? reference::channelMean(c.inputs[0]) : reference::reduceToChannel(c.inputs[0]);
    ASSERT_EQ(checkAgainstReference(c, ref, kSeed, config), "");
  }
}

TEST(GradNumerics, ChannelVar) {
  std::mt19937 rng(kSeed + 1);
  for (int config = 0; config < kConfigs; ++config) {
    std::vector<int64_t> in = shapeWithCount(rng, 2);
    bool unbiased = config % 2;
    OpCase c;
    c.inputs = {randomTensor(in, rng)};
    for (double &v : c.inputs[0].data)
      v = static_cast<float>(v + 3.0); // a mean far from 0: one-pass formulas would lose digits
    c.argTypes = {mlirType(in, true)};
    c.op = std::string("nn.channel_var %a0 unbiased = ") + (unbiased ? "true" : "false") + " : " +
           c.argTypes[0] + " -> tensor<*xf32>";
    Tensor ref = reference::channelVar(c.inputs[0], unbiased);
    ASSERT_EQ(checkAgainstReference(c, ref, kSeed + 1, config), "");
  }
}

TEST(GradNumerics, RunningUpdate) {
  std::mt19937 rng(kSeed + 2);
  for (int config = 0; config < kConfigs; ++config) {
    int64_t channels = pick(rng, 1, 70);
    double momentum = uniform(rng, 0.0, 1.0);
    OpCase c;
    c.inputs = {randomTensor({channels}, rng), randomTensor({channels}, rng)};
    std::string type = mlirType({channels}, false);
    c.argTypes = {type, type};
    c.op = "nn.running_update %a0, %a1 momentum = " + floatText(momentum) + " : (" + type + ", " +
           type + ") -> tensor<*xf32>";
    Tensor ref = reference::runningUpdate(c.inputs[0], c.inputs[1], momentum);
    ASSERT_EQ(checkAgainstReference(c, ref, kSeed + 2, config), "");
  }
}

TEST(GradNumerics, BatchNormTrain) {
  std::mt19937 rng(kSeed + 3);
  for (int config = 0; config < kConfigs; ++config) {
    std::vector<int64_t> in = randomShape(rng, 2, 5);
    int64_t channels = in[1];
    OpCase c;
    c.inputs = {randomTensor(in, rng), randomTensor({channels}, rng),
                randomTensor({channels}, rng)};
    std::string stat = mlirType({channels}, false);
    c.argTypes = {mlirType(in, true), stat, stat};
    c.op = "nn.batch_norm_train %a0, %a1, %a2 epsilon = 1.0e-05 : (" + c.argTypes[0] + ", " + stat +
           ", " + stat + ") -> tensor<*xf32>";
    Tensor ref = reference::batchNormTrain(c.inputs[0], c.inputs[1], c.inputs[2], 1e-5);
    ASSERT_EQ(checkAgainstReference(c, ref, kSeed + 3, config), "");
  }
}

TEST(GradNumerics, BatchNormTrainBackward) {
  std::mt19937 rng(kSeed + 4);
  for (int config = 0; config < 2 * kConfigs; ++config) {
    std::vector<int64_t> in = shapeWithCount(rng, 3);
    int64_t channels = in[1];
    bool data = config % 2 == 0;
    OpCase c;
    Tensor x = randomTensor(in, rng), dy = randomTensor(in, rng);
    std::string type = mlirType(in, true);
    Tensor ref;
    if (data) {
      Tensor gamma = randomTensor({channels}, rng);
      std::string stat = mlirType({channels}, false);
      c.inputs = {x, dy, gamma};
      c.argTypes = {type, type, stat};
      c.op = "nn.batch_norm_train_backward_data %a0, %a1, %a2 epsilon = 1.0e-05 : (" + type + ", " +
             type + ", " + stat + ") -> tensor<*xf32>";
      ref = reference::batchNormTrainBackwardData(x, dy, gamma, 1e-5);
    } else {
      c.inputs = {x, dy};
      c.argTypes = {type, type};
      c.op = "nn.batch_norm_train_backward_weight %a0, %a1 epsilon = 1.0e-05 : (" + type + ", " +
             type + ") -> tensor<*xf32>";
      ref = reference::batchNormTrainBackwardWeight(x, dy, 1e-5);
    }
    ASSERT_EQ(checkAgainstReference(c, ref, kSeed + 4, config), "");
  }
}

} // namespace
} // namespace kiln::testing
