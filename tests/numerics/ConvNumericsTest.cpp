// Convolution kernels against the reference on random 1-D/2-D/3-D configurations: batch 1–4,
// channels 1–9, groups dividing them, kernel 1–5, stride and dilation 1–3, asymmetric padding,
// with and without bias. Tolerance |out − ref| ≤ 1e-5 + 1e-3·|ref| (float32 sums of up to a few
// hundred products against double).
#include "KernelHarness.h"

#include <gtest/gtest.h>

namespace kiln::testing {
namespace {

constexpr unsigned kSeed = 20261125;
constexpr int kConfigs = 300;

int64_t pick(std::mt19937 &rng, int64_t lo, int64_t hi) {
  return std::uniform_int_distribution<int64_t>(lo, hi)(rng);
}

TEST(ConvNumerics, RandomConfigurations) {
  std::mt19937 rng(kSeed);
  for (int config = 0; config < kConfigs; ++config) {
    int64_t spatial = 1 + config % 3;
    int64_t batch = pick(rng, 1, 4), groups = pick(rng, 1, 3);
    int64_t cin = groups * pick(rng, 1, 9 / groups), cout = groups * pick(rng, 1, 9 / groups);
    reference::ConvParams p;
    p.groups = groups;
    std::vector<int64_t> in{batch, cin}, w{cout, cin / groups};
    std::vector<int64_t> before, after;
    for (int64_t i = 0; i < spatial; ++i) {
      int64_t k = pick(rng, 1, spatial == 3 ? 3 : 5), d = pick(rng, 1, 3), s = pick(rng, 1, 3);
      int64_t pb = pick(rng, 0, 2), pa = pick(rng, 0, 2);
      int64_t span = d * (k - 1) + 1;
      int64_t n = std::max<int64_t>(1, span - pb - pa + pick(rng, 0, spatial == 3 ? 3 : 8));
      in.push_back(n);
      w.push_back(k);
      p.strides.push_back(s);
      p.dilations.push_back(d);
      before.push_back(pb);
      after.push_back(pa);
    }
    p.padding = before;
    p.padding.insert(p.padding.end(), after.begin(), after.end());
    bool bias = pick(rng, 0, 1);

    OpCase c;
    c.inputs = {randomTensor(in, rng), randomTensor(w, rng)};
    c.argTypes = {mlirType(in, true), mlirType(w, false)};
    std::string operands = "%a0, %a1", types = c.argTypes[0] + ", " + c.argTypes[1];
    if (bias) {
      c.inputs.push_back(randomTensor({cout}, rng));
      c.argTypes.push_back(mlirType({cout}, false));
      operands += ", %a2";
      types += ", " + c.argTypes[2];
    }
    c.op = "nn.conv " + operands + " strides = " + arrayText(p.strides) + " padding = " +
           arrayText(p.padding) + " dilations = " + arrayText(p.dilations) +
           " groups = " + std::to_string(groups) + " : (" + types + ") -> tensor<*xf32>";

    Tensor ref = reference::conv(c.inputs[0], c.inputs[1], bias ? &c.inputs[2] : nullptr, p);
    Tensor out;
    std::string error;
    ASSERT_TRUE(runKernel(c, &out, &error))
        << "seed " << kSeed << ", configuration " << config << ": " << error;
    std::string mismatch = compareTensors(out, ref, 1e-5, 1e-3);
    ASSERT_EQ(mismatch, "") << "seed " << kSeed << ", configuration " << config << ": " << c.op;
  }
}

} // namespace
} // namespace kiln::testing
