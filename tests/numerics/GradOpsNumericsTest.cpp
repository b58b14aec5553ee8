// Activation gradients, reshape, the softmax family's gradients and the softmax cross-entropy
// loss and its gradient against the reference on random shapes (batch 1–4, channels or classes
// 1–9 or more, spatial extents 1–6). Tolerance: GradTesting.h.
#include "GradTesting.h"

#include <gtest/gtest.h>

#include <cmath>

namespace kiln::testing {
namespace {

constexpr unsigned kSeed = 20261204;
constexpr int kConfigs = 50;

TEST(GradNumerics, ActivationBackward) {
  std::mt19937 rng(kSeed);
  const char *ops[] = {"relu_backward", "tanh_backward", "sigmoid_backward"};
  for (int config = 0; config < 3 * kConfigs; ++config) {
    std::string name = ops[config % 3];
    std::vector<int64_t> shape = randomShape(rng, 2, 5);
    Tensor x = randomTensor(shape, rng), dy = randomTensor(shape, rng);
    for (double &v : x.data)
      v = static_cast<float>(v * 4);
    // relu_backward takes the input, tanh and sigmoid their (float-rounded) output.
    Tensor value = name == "relu_backward"   ? x
                   : name == "tanh_backward" ? reference::tanh(x)
                                             : reference::sigmoid(x);
    for (double &v : value.data)
      v = static_cast<float>(v);
    if (name == "relu_backward")
      for (size_t i = 0; i < value.data.size(); i += 7)
        value.data[i] = 0.0; // relu's gradient is 0 at 0
    Tensor ref = name == "relu_backward"   ? reference::reluBackward(value, dy)
                 : name == "tanh_backward" ? reference::tanhBackward(value, dy)
                                           : reference::sigmoidBackward(value, dy);
    OpCase c;
    c.inputs = {value, dy};
    std::string type = mlirType(shape, true);
    c.argTypes = {type, type};
    c.op = "nn." + name + " %a0, %a1 : (" + type + ", " + type + ") -> tensor<*xf32>";
    ASSERT_EQ(checkAgainstReference(c, ref, kSeed, config), "");
  }
}

TEST(GradNumerics, LeakyReluAndClipBackward) {
  std::mt19937 rng(kSeed + 1);
  for (int config = 0; config < 2 * 20; ++config) {
    std::vector<int64_t> shape = randomShape(rng, 2, 5);
    Tensor x = randomTensor(shape, rng), dy = randomTensor(shape, rng);
    for (size_t i = 0; i < x.data.size(); ++i)
      x.data[i] = i % 5 == 0 ? std::round(x.data[i] * 2) / 2 // on a kink: 0 or a bound (±0.5)
                             : static_cast<float>(x.data[i] * 2);
    OpCase c;
    c.inputs = {x, dy};
    std::string type = mlirType(shape, true);
    c.argTypes = {type, type};
    std::string operands = " %a0, %a1 {";
    std::string types = "} : (" + type + ", " + type + ") -> tensor<*xf32>";
    Tensor ref;
    if (config % 2 == 0) {
      c.op = "nn.leaky_relu_backward" + operands + "alpha = 1.000000e-01 : f32" + types;
      ref = reference::leakyReluBackward(x, dy, 0.1);
    } else {
      c.op = "nn.clip_backward" + operands + "min = -5.000000e-01 : f32, max = 5.000000e-01 : f32" +
             types;
      ref = reference::clipBackward(x, dy, -0.5, 0.5);
    }
    ASSERT_EQ(checkAgainstReference(c, ref, kSeed, config), "");
  }
}

// sum_like: the gradient of a broadcast operand, summed over the batch, dropped leading
// dimensions and extents of 1 (every dimension, for a rank-0 operand), with a scale of 1 or −1
// (sub's right operand).
TEST(GradNumerics, SumLike) {
  std::mt19937 rng(kSeed + 2);
  for (int config = 0; config < 30; ++config) {
    std::vector<int64_t> full = randomShape(rng, 2, 4);
    size_t drop = config % 10 == 9
                      ? full.size()
                      : static_cast<size_t>(pick(rng, 0, static_cast<int64_t>(full.size()) - 1));
    std::vector<int64_t> like(full.begin() + static_cast<std::ptrdiff_t>(drop), full.end());
    for (int64_t &d : like)
      if (pick(rng, 0, 1) == 0)
        d = 1;
    bool likeDynamic = like.size() == full.size() && like[0] != 1;
    double scale = config % 2 ? -1.0 : 1.0;
    OpCase c;
    c.inputs = {randomTensor(full, rng), randomTensor(like, rng)};
    c.argTypes = {mlirType(full, true), mlirType(like, likeDynamic)};
    c.op = "nn.sum_like %a0, %a1 {scale = " + std::to_string(scale) + " : f32} : (" +
           c.argTypes[0] + ", " + c.argTypes[1] + ") -> tensor<*xf32>";
    ASSERT_EQ(checkAgainstReference(c, reference::sumLike(c.inputs[0], like, scale), kSeed, config),
              "");
  }
}

// A factorization of `count` into 1 to 3 extents.
std::vector<int64_t> randomFactors(std::mt19937 &rng, int64_t count) {
  std::vector<int64_t> factors;
  int64_t parts = pick(rng, 1, 3);
  for (int64_t i = 1; i < parts; ++i) {
    std::vector<int64_t> divisors;
    for (int64_t d = 1; d <= count; ++d)
      if (count % d == 0)
        divisors.push_back(d);
    int64_t d = divisors[pick(rng, 0, static_cast<int64_t>(divisors.size()) - 1)];
    factors.push_back(d);
    count /= d;
  }
  factors.push_back(count);
  return factors;
}

TEST(GradNumerics, Reshape) {
  std::mt19937 rng(kSeed + 1);
  for (int config = 0; config < kConfigs; ++config) {
    std::vector<int64_t> in = randomShape(rng, 2, 5);
    int64_t perImage = 1;
    for (size_t i = 1; i < in.size(); ++i)
      perImage *= in[i];
    std::vector<int64_t> out{in[0]};
    for (int64_t f : randomFactors(rng, perImage))
      out.push_back(f);
    OpCase c;
    c.inputs = {randomTensor(in, rng)};
    c.argTypes = {mlirType(in, true)};
    c.resultType = mlirType(out, true);
    c.op = "nn.reshape %a0 : " + c.argTypes[0] + " -> " + c.resultType;
    Tensor ref = reference::reshape(c.inputs[0], out);
    ASSERT_EQ(checkAgainstReference(c, ref, kSeed + 1, config), "");
  }
}

TEST(GradNumerics, SoftmaxAndLogSoftmaxBackward) {
  std::mt19937 rng(kSeed + 2);
  for (int config = 0; config < 2 * kConfigs; ++config) {
    std::vector<int64_t> shape = randomShape(rng, 2, 4);
    int64_t axis = pick(rng, 1, static_cast<int64_t>(shape.size()) - 1);
    bool isLog = config % 2;
    Tensor x = randomTensor(shape, rng), dy = randomTensor(shape, rng);
    for (double &v : x.data)
      v = static_cast<float>(v * 5);
    Tensor y = isLog ? reference::logSoftmax(x, axis) : reference::softmax(x, axis);
    for (double &v : y.data)
      v = static_cast<float>(v);
    OpCase c;
    c.inputs = {y, dy};
    std::string type = mlirType(shape, true);
    c.argTypes = {type, type};
    c.op = std::string(isLog ? "nn.log_softmax_backward" : "nn.softmax_backward") +
           " %a0, %a1 axis = " + std::to_string(axis) + " : (" + type + ", " + type +
           ") -> tensor<*xf32>";
    Tensor ref = isLog ? reference::logSoftmaxBackward(y, dy, axis)
                       : reference::softmaxBackward(y, dy, axis);
    ASSERT_EQ(checkAgainstReference(c, ref, kSeed + 2, config), "");
  }
}

// Logits [N, C] with N 1–40 (several vectors of rows and a tail) and C 1–40, labels in range
// and typed `labelType`.
OpCase lossCase(std::mt19937 &rng, bool backward, std::vector<int64_t> *labels,
                const std::string &labelType) {
  int64_t n = pick(rng, 1, 40), classes = pick(rng, 1, 40);
  Tensor logits = randomTensor({n, classes}, rng);
  for (double &v : logits.data)
    v = static_cast<float>(v * 8);
  labels->clear();
  for (int64_t i = 0; i < n; ++i)
    labels->push_back(pick(rng, 0, classes - 1));
  OpCase c;
  c.inputs = {logits, integerTensor(*labels)};
  c.argTypes = {mlirType({n, classes}, true), mlirType({n}, true, labelType)};
  c.op = std::string(backward ? "nn.softmax_cross_entropy_backward" : "nn.softmax_cross_entropy") +
         " %a0, %a1 : (" + c.argTypes[0] + ", " + c.argTypes[1] + ") -> tensor<*xf32>";
  return c;
}

TEST(GradNumerics, SoftmaxCrossEntropyAndBackward) {
  std::mt19937 rng(kSeed + 3);
  for (int config = 0; config < 2 * kConfigs; ++config) {
    bool backward = config % 2;
    std::vector<int64_t> labels;
    // Labels are i64 from the frontends; i32 and ui8 labels work as well.
    const char *labelTypes[] = {"i64", "i32", "ui8"};
    OpCase c = lossCase(rng, backward, &labels, labelTypes[config % 3]);
    Tensor ref = backward ? reference::softmaxCrossEntropyBackward(c.inputs[0], labels)
                          : Tensor{{}, {reference::softmaxCrossEntropy(c.inputs[0], labels)}};
    ASSERT_EQ(checkAgainstReference(c, ref, kSeed + 3, config), "");
  }
}

// A label outside [0, C) must stop the kernel with a message, never read another row's logit.
TEST(GradNumerics, SoftmaxCrossEntropyRejectsLabelsOutOfRange) {
  std::mt19937 rng(kSeed + 4);
  for (bool backward : {false, true}) {
    for (int which = 0; which < 3; ++which) {
      std::vector<int64_t> labels;
      OpCase c = lossCase(rng, backward, &labels, "i64");
      int64_t classes = c.inputs[0].shape[1];
      labels.back() = which == 0 ? -1 : which == 1 ? classes : classes + (int64_t(1) << 40);
      c.inputs[1] = integerTensor(labels);
      Tensor out;
      std::string error;
      EXPECT_FALSE(runKernel(c, &out, &error)) << c.op;
      EXPECT_NE(error.find("a label is outside [0, classes)"), std::string::npos) << error;
    }
  }
}

} // namespace
} // namespace kiln::testing
