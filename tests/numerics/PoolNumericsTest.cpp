// Pooling kernels against the reference on random 1-D/2-D/3-D configurations: max and average,
// kernel 1–4, stride 1–3, asymmetric padding up to the kernel less one (ONNX's range; PyTorch's
// stops at half the kernel), ceil_mode,
// count_include_pad, batch 1–4, channels 1–9; and global pooling. Tolerance
// |out − ref| ≤ 1e-5 + 1e-3·|ref|.
#include "KernelHarness.h"

#include <gtest/gtest.h>

namespace kiln::testing {
namespace {

constexpr unsigned kSeed = 20261126;
constexpr int kConfigs = 300;

int64_t pick(std::mt19937 &rng, int64_t lo, int64_t hi) {
  return std::uniform_int_distribution<int64_t>(lo, hi)(rng);
}

void checkPooling(bool isMax) {
  std::mt19937 rng(kSeed + isMax);
  for (int config = 0; config < kConfigs; ++config) {
    int64_t spatial = 1 + config % 3;
    std::vector<int64_t> in{pick(rng, 1, 4), pick(rng, 1, 9)};
    reference::PoolParams p;
    std::vector<int64_t> before, after;
    for (int64_t i = 0; i < spatial; ++i) {
      int64_t k = pick(rng, 1, 4), s = pick(rng, 1, 3);
      int64_t pb = pick(rng, 0, k - 1), pa = pick(rng, 0, k - 1);
      int64_t n = std::max<int64_t>(1, k - pb - pa + pick(rng, 0, spatial == 3 ? 4 : 9));
      in.push_back(n);
      p.kernel.push_back(k);
      p.strides.push_back(s);
      before.push_back(pb);
      after.push_back(pa);
    }
    p.padding = before;
    p.padding.insert(p.padding.end(), after.begin(), after.end());
    p.ceilMode = pick(rng, 0, 1);
    p.countIncludePad = pick(rng, 0, 1);

    OpCase c;
    c.inputs = {randomTensor(in, rng)};
    c.argTypes = {mlirType(in, true)};
    c.op = std::string(isMax ? "nn.max_pool" : "nn.avg_pool") + " %a0 kernel_size = " +
           arrayText(p.kernel) + " strides = " + arrayText(p.strides) + " padding = " +
           arrayText(p.padding) + " ceil_mode = " + (p.ceilMode ? "true" : "false");
    if (!isMax)
      c.op += std::string(" count_include_pad = ") + (p.countIncludePad ? "true" : "false");
    c.op += " : " + c.argTypes[0] + " -> tensor<*xf32>";

    Tensor ref = isMax ? reference::maxPool(c.inputs[0], p) : reference::avgPool(c.inputs[0], p);
    Tensor out;
    std::string error;
    ASSERT_TRUE(runKernel(c, &out, &error))
        << "seed " << kSeed + isMax << ", configuration " << config << ": " << error;
    ASSERT_EQ(compareTensors(out, ref, 1e-5, 1e-3), "")
        << "seed " << kSeed + isMax << ", configuration " << config << ": " << c.op;
  }
}

TEST(PoolNumerics, MaxPoolRandomConfigurations) { checkPooling(/*isMax=*/true); }
TEST(PoolNumerics, AvgPoolRandomConfigurations) { checkPooling(/*isMax=*/false); }

TEST(PoolNumerics, GlobalPoolingRandomShapes) {
  std::mt19937 rng(kSeed + 2);
  for (int config = 0; config < 300; ++config) {
    int64_t spatial = 1 + config % 3;
    std::vector<int64_t> in{pick(rng, 1, 4), pick(rng, 1, 9)};
    for (int64_t i = 0; i < spatial; ++i)
      in.push_back(pick(rng, 1, 7));
    bool isMax = config % 2;
    OpCase c;
    c.inputs = {randomTensor(in, rng)};
    c.argTypes = {mlirType(in, true)};
    c.op = std::string(isMax ? "nn.global_max_pool" : "nn.global_avg_pool") + " %a0 : " +
           c.argTypes[0] + " -> tensor<*xf32>";
    Tensor ref = isMax ? reference::globalMaxPool(c.inputs[0]) : reference::globalAvgPool(c.inputs[0]);
    Tensor out;
    std::string error;
    ASSERT_TRUE(runKernel(c, &out, &error)) << "configuration " << config << ": " << error;
    ASSERT_EQ(compareTensors(out, ref, 1e-5, 1e-3), "") << "configuration " << config << ": " << c.op;
  }
}

} // namespace
} // namespace kiln::testing
