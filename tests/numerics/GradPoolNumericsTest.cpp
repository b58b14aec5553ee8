// Gradients of pooling against the reference on random 1-D/2-D/3-D configurations: max and
// average, kernel 1–4, stride 1–3, asymmetric padding up to the kernel less one, ceil_mode,
// count_include_pad, batch 1–4, channels 1–9; and global pooling. Max pooling's inputs are made
// tie-free (distinct values), except in the tie tests, which check the first-maximum rule.
// Tolerance: GradTesting.h.
#include "GradTesting.h"

#include <gtest/gtest.h>

namespace kiln::testing {
namespace {

constexpr unsigned kSeed = 20261202;

struct PoolConfig {
  std::vector<int64_t> input, output;
  reference::PoolParams params;

  std::string attributes(bool isMax) const {
    std::string s = " kernel_size = " + arrayText(params.kernel) +
                    " strides = " + arrayText(params.strides) +
                    " padding = " + arrayText(params.padding) +
                    " ceil_mode = " + (params.ceilMode ? "true" : "false");
    if (!isMax)
      s += std::string(" count_include_pad = ") + (params.countIncludePad ? "true" : "false");
    return s;
  }
};

PoolConfig randomPool(std::mt19937 &rng, int64_t spatial) {
  PoolConfig c;
  c.input = {pick(rng, 1, 4), pick(rng, 1, 9)};
  c.output = c.input;
  std::vector<int64_t> before, after;
  c.params.ceilMode = pick(rng, 0, 1);
  c.params.countIncludePad = pick(rng, 0, 1);
  for (int64_t i = 0; i < spatial; ++i) {
    int64_t k = pick(rng, 1, 4), s = pick(rng, 1, 3);
    int64_t pb = pick(rng, 0, k - 1), pa = pick(rng, 0, k - 1);
    int64_t n = std::max<int64_t>(1, k - pb - pa + pick(rng, 0, spatial == 3 ? 4 : 9));
    c.input.push_back(n);
    c.output.push_back(reference::windowCount(n, k, s, 1, pb, pa, c.params.ceilMode));
    c.params.kernel.push_back(k);
    c.params.strides.push_back(s);
    before.push_back(pb);
    after.push_back(pa);
  }
  c.params.padding = before;
  c.params.padding.insert(c.params.padding.end(), after.begin(), after.end());
  return c;
}

OpCase maxPoolCase(const PoolConfig &pool, Tensor x, Tensor dy) {
  OpCase c;
  c.argTypes = {mlirType(x.shape, true), mlirType(dy.shape, true)};
  c.inputs = {std::move(x), std::move(dy)};
  c.op = "nn.max_pool_backward %a0, %a1" + pool.attributes(true) + " : (" + c.argTypes[0] + ", " +
         c.argTypes[1] + ") -> tensor<*xf32>";
  return c;
}

TEST(GradNumerics, MaxPoolBackward) {
  std::mt19937 rng(kSeed);
  for (int config = 0; config < 100; ++config) {
    PoolConfig pool = randomPool(rng, 1 + config % 3);
    Tensor x = randomTensor(pool.input, rng);
    makeDistinct(x, rng);
    OpCase c = maxPoolCase(pool, x, randomTensor(pool.output, rng));
    Tensor ref = reference::maxPoolBackward(c.inputs[0], c.inputs[1], pool.params);
    ASSERT_EQ(checkAgainstReference(c, ref, kSeed, config), "");
  }
}

// Inputs of a few repeated values (all negative in half the cases, where a padding that took
// part would win): every window has ties, and the gradient must go to the first maximum in
// row-major window order.
TEST(GradNumerics, MaxPoolBackwardTiesGoToTheFirstMaximum) {
  std::mt19937 rng(kSeed + 1);
  for (int config = 0; config < 30; ++config) {
    PoolConfig pool = randomPool(rng, 1 + config % 3);
    Tensor x = randomTensor(pool.input, rng);
    double offset = config % 2 ? -3.0 : 0.0;
    for (double &v : x.data)
      v = offset + static_cast<double>(pick(rng, 0, 2)) * 0.5;
    OpCase c = maxPoolCase(pool, x, randomTensor(pool.output, rng));
    Tensor ref = reference::maxPoolBackward(c.inputs[0], c.inputs[1], pool.params);
    ASSERT_EQ(checkAgainstReference(c, ref, kSeed + 1, config), "");
  }
}

TEST(GradNumerics, AvgPoolBackward) {
  std::mt19937 rng(kSeed + 2);
  for (int config = 0; config < 100; ++config) {
    PoolConfig pool = randomPool(rng, 1 + config % 3);
    OpCase c;
    c.inputs = {randomTensor(pool.output, rng)};
    c.argTypes = {mlirType(pool.output, true)};
    c.resultType = mlirType(pool.input, true);
    c.op = "nn.avg_pool_backward %a0" + pool.attributes(false) + " : " + c.argTypes[0] + " -> " +
           c.resultType;
    Tensor ref = reference::avgPoolBackward(c.inputs[0], pool.params, pool.input);
    ASSERT_EQ(checkAgainstReference(c, ref, kSeed + 2, config), "");
  }
}

TEST(GradNumerics, GlobalPoolingBackward) {
  std::mt19937 rng(kSeed + 3);
  for (int config = 0; config < 100; ++config) {
    std::vector<int64_t> in = randomShape(rng, 3, 5);
    std::vector<int64_t> pooled(in.size(), 1);
    pooled[0] = in[0];
    pooled[1] = in[1];
    bool isMax = config % 2;
    OpCase c;
    Tensor dy = randomTensor(pooled, rng);
    Tensor ref;
    if (isMax) {
      Tensor x = randomTensor(in, rng);
      if (config % 4 == 1)
        makeDistinct(x, rng);
      else // ties: the first maximum of each plane takes the gradient
        for (double &v : x.data)
          v = static_cast<double>(pick(rng, 0, 2));
      c.inputs = {x, dy};
      c.argTypes = {mlirType(in, true), mlirType(pooled, true)};
      c.op = "nn.global_max_pool_backward %a0, %a1 : (" + c.argTypes[0] + ", " + c.argTypes[1] +
             ") -> tensor<*xf32>";
      ref = reference::globalMaxPoolBackward(x, dy);
    } else {
      c.inputs = {dy};
      c.argTypes = {mlirType(pooled, true)};
      c.resultType = mlirType(in, true);
      c.op = "nn.global_avg_pool_backward %a0 : " + c.argTypes[0] + " -> " + c.resultType;
      ref = reference::globalAvgPoolBackward(dy, in);
    }
    ASSERT_EQ(checkAgainstReference(c, ref, kSeed + 3, config), "");
  }
}

} // namespace
} // namespace kiln::testing
