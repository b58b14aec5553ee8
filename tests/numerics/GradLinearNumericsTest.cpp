// Gradients of convolution (input and weight) and dense (input and weight) against the
// reference, on random configurations: 1-D/2-D/3-D convolutions with batch 1–4, channels 1–9,
// groups dividing them, kernel 1–5, stride and dilation 1–3, asymmetric padding 0–2; dense with
// batch 1–11 (blocks of 4 rows and a tail), 1–70 features, 1–20 units. Tolerance: GradTesting.h.
#include "GradTesting.h"

#include <gtest/gtest.h>

namespace kiln::testing {
namespace {

constexpr unsigned kSeed = 20261201;

// A random convolution: the shapes of its input, weight and output, and its parameters.
struct ConvConfig {
  std::vector<int64_t> input, weight, output;
  reference::ConvParams params;

  std::string attributes() const {
    return " strides = " + arrayText(params.strides) + " padding = " + arrayText(params.padding) +
           " dilations = " + arrayText(params.dilations) +
           " groups = " + std::to_string(params.groups);
  }
};

ConvConfig randomConv(std::mt19937 &rng, int64_t spatial, bool unitStride = false) {
  ConvConfig c;
  int64_t batch = pick(rng, 1, 4), groups = pick(rng, 1, 3);
  int64_t cin = groups * pick(rng, 1, 9 / groups), cout = groups * pick(rng, 1, 9 / groups);
  c.params.groups = groups;
  c.input = {batch, cin};
  c.weight = {cout, cin / groups};
  c.output = {batch, cout};
  std::vector<int64_t> before, after;
  for (int64_t i = 0; i < spatial; ++i) {
    int64_t k = pick(rng, 1, spatial == 3 ? 3 : 5), d = pick(rng, 1, 3);
    int64_t s = unitStride ? 1 : pick(rng, 1, 3);
    int64_t pb = pick(rng, 0, 2), pa = pick(rng, 0, 2);
    int64_t span = d * (k - 1) + 1;
    int64_t n = std::max<int64_t>(1, span - pb - pa + pick(rng, 0, spatial == 3 ? 3 : 8));
    c.input.push_back(n);
    c.weight.push_back(k);
    c.output.push_back((n + pb + pa - span) / s + 1);
    c.params.strides.push_back(s);
    c.params.dilations.push_back(d);
    before.push_back(pb);
    after.push_back(pa);
  }
  c.params.padding = before;
  c.params.padding.insert(c.params.padding.end(), after.begin(), after.end());
  return c;
}

// conv_backward_data of a random dy and weight of `conv`'s shapes against the reference; "" when
// they agree.
std::string checkConvBackwardData(const ConvConfig &conv, std::mt19937 &rng, unsigned seed,
                                  int config) {
  OpCase c;
  c.inputs = {randomTensor(conv.output, rng), randomTensor(conv.weight, rng)};
  c.argTypes = {mlirType(conv.output, true), mlirType(conv.weight, false)};
  c.resultType = mlirType(conv.input, true);
  c.op = "nn.conv_backward_data %a0, %a1" + conv.attributes() + " : (" + c.argTypes[0] + ", " +
         c.argTypes[1] + ") -> " + c.resultType;
  Tensor ref = reference::convBackwardData(c.inputs[0], c.inputs[1], conv.params, conv.input);
  return checkAgainstReference(c, ref, seed, config);
}

TEST(GradNumerics, ConvBackwardData) {
  std::mt19937 rng(kSeed);
  for (int config = 0; config < 150; ++config)
    ASSERT_EQ(checkConvBackwardData(randomConv(rng, 1 + config % 3), rng, kSeed, config), "");
}

// Stride 1, where the code generator picks between gathering over every tap and, when dy is
// small next to the kernel, a matrix product into columns then col2im (ConvGradLowering.cpp's
// preferColumns, restated here to check that both forms are exercised).
TEST(GradNumerics, ConvBackwardDataStrideOneBothForms) {
  std::mt19937 rng(kSeed + 3);
  int columns = 0, gathers = 0;
  for (int config = 0; config < 120; ++config) {
    ConvConfig conv = randomConv(rng, 1 + config % 3, /*unitStride=*/true);
    double gathered = 1, useful = 1, bytes = 4.0 * static_cast<double>(conv.input[1]);
    for (size_t i = 2; i < conv.input.size(); ++i) {
      gathered *= static_cast<double>(conv.input[i]);
      useful *= static_cast<double>(conv.output[i]);
      bytes *= static_cast<double>(conv.weight[i] * conv.output[i]);
    }
    (gathered >= 1.5 * useful && bytes <= 256 * 1024 ? columns : gathers) += 1;
    ASSERT_EQ(checkConvBackwardData(conv, rng, kSeed + 3, config), "");
  }
  EXPECT_GE(columns, 20);
  EXPECT_GE(gathers, 20);
}

// LeNet's conv2 gradient (the column form's reason to exist) and a grouped, dilated 2-D one.
TEST(GradNumerics, ConvBackwardDataColumnsLenetShapes) {
  std::mt19937 rng(kSeed + 4);
  ConvConfig lenet;
  lenet.input = {3, 20, 12, 12};
  lenet.weight = {50, 20, 5, 5};
  lenet.output = {3, 50, 8, 8};
  lenet.params.strides = {1, 1};
  lenet.params.dilations = {1, 1};
  lenet.params.padding = {0, 0, 0, 0};
  lenet.params.groups = 1;
  ConvConfig grouped;
  grouped.input = {2, 4, 7, 9};
  grouped.weight = {6, 2, 3, 3};
  grouped.output = {2, 6, 5, 7};
  grouped.params.strides = {1, 1};
  grouped.params.dilations = {2, 2};
  grouped.params.padding = {1, 1, 1, 1};
  grouped.params.groups = 2;
  for (const ConvConfig &conv : {lenet, grouped})
    ASSERT_EQ(checkConvBackwardData(conv, rng, kSeed + 4, 0), "") << conv.attributes();
}

TEST(GradNumerics, ConvBackwardFilter) {
  std::mt19937 rng(kSeed + 1);
  for (int config = 0; config < 150; ++config) {
    ConvConfig conv = randomConv(rng, 1 + config % 3);
    OpCase c;
    c.inputs = {randomTensor(conv.input, rng), randomTensor(conv.output, rng)};
    c.argTypes = {mlirType(conv.input, true), mlirType(conv.output, true)};
    c.resultType = mlirType(conv.weight, false);
    c.op = "nn.conv_backward_filter %a0, %a1" + conv.attributes() + " : (" + c.argTypes[0] + ", " +
           c.argTypes[1] + ") -> " + c.resultType;
    Tensor ref = reference::convBackwardFilter(c.inputs[0], c.inputs[1], conv.params, conv.weight);
    ASSERT_EQ(checkAgainstReference(c, ref, kSeed + 1, config), "");
  }
}

TEST(GradNumerics, DenseBackwardDataAndWeight) {
  std::mt19937 rng(kSeed + 2);
  for (int config = 0; config < 100; ++config) {
    int64_t n = pick(rng, 1, 11), features = pick(rng, 1, 70), units = pick(rng, 1, 20);
    Tensor x = randomTensor({n, features}, rng), w = randomTensor({units, features}, rng);
    Tensor dy = randomTensor({n, units}, rng);
    OpCase c;
    Tensor ref;
    if (config % 2 == 0) {
      c.inputs = {dy, w};
      c.argTypes = {mlirType(dy.shape, true), mlirType(w.shape, false)};
      c.op = "nn.dense_backward_data %a0, %a1";
      ref = reference::denseBackwardData(dy, w);
    } else {
      c.inputs = {x, dy};
      c.argTypes = {mlirType(x.shape, true), mlirType(dy.shape, true)};
      c.op = "nn.dense_backward_weight %a0, %a1";
      ref = reference::denseBackwardWeight(x, dy);
    }
    c.op += " : (" + c.argTypes[0] + ", " + c.argTypes[1] + ") -> tensor<*xf32>";
    ASSERT_EQ(checkAgainstReference(c, ref, kSeed + 2, config), "");
  }
}

} // namespace
} // namespace kiln::testing
