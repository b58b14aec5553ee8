// Tests of the reference nn ops and interpreter: small cases computed by hand (the arithmetic is in
// the comments), identities between ops, and the window count against the closed formulas.
// Tolerance: 1e-12 absolute, as every expected value is exact or one libm call away in double.
#include "reference/Interpreter.h"
#include "reference/Reference.h"

#include "kiln/Dialect/NN/NNDialect.h"
#include "kiln/Dialect/NN/ShapeFormulas.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <optional>
#include <random>
#include <string>

using namespace kiln::reference;

namespace {

constexpr double kTolerance = 1e-12;

Tensor make(std::vector<int64_t> shape, std::vector<double> data) {
  return Tensor{std::move(shape), std::move(data)};
}

// Values first, first + 1, … in row-major order.
Tensor iota(std::vector<int64_t> shape, double first = 1.0) {
  Tensor t{std::move(shape), {}};
  for (int64_t i = 0; i < t.numel(); ++i)
    t.data.push_back(first + static_cast<double>(i));
  return t;
}

Tensor random(std::vector<int64_t> shape, unsigned seed) {
  std::mt19937 generator(seed);
  std::uniform_real_distribution<double> uniform(-1.0, 1.0);
  Tensor t{std::move(shape), {}};
  for (int64_t i = 0; i < t.numel(); ++i)
    t.data.push_back(uniform(generator));
  return t;
}

void expectTensor(const Tensor &actual, const std::vector<int64_t> &shape,
                  const std::vector<double> &data, double tolerance = kTolerance) {
  ASSERT_TRUE(actual.valid());
  ASSERT_EQ(actual.shape, shape);
  ASSERT_EQ(actual.data.size(), data.size());
  for (size_t i = 0; i < data.size(); ++i)
    EXPECT_NEAR(actual.data[i], data[i], tolerance) << "at flat index " << i;
}

void expectSame(const Tensor &actual, const Tensor &expected) {
  expectTensor(actual, expected.shape, expected.data);
}

// Channels [first, first + count) of an N×C×… tensor.
Tensor channels(const Tensor &x, int64_t first, int64_t count) {
  int64_t plane = 1;
  for (size_t i = 2; i < x.shape.size(); ++i)
    plane *= x.shape[i];
  Tensor y{x.shape, {}};
  y.shape[1] = count;
  for (int64_t n = 0; n < x.shape[0]; ++n)
    for (int64_t c = first; c < first + count; ++c)
      for (int64_t i = 0; i < plane; ++i)
        y.data.push_back(x.data[(n * x.shape[1] + c) * plane + i]);
  return y;
}

// x is 1×1×4×4 holding 1..16, so x[i][j] = 4i + j + 1; w is [[1, 2], [3, 4]].
const Tensor kImage = iota({1, 1, 4, 4});
const Tensor kKernel = make({1, 1, 2, 2}, {1, 2, 3, 4});

} // namespace

//===----------------------------------------------------------------------===//
// Convolution
//===----------------------------------------------------------------------===//

TEST(ReferenceConv, Plain2D) {
  // y[i][j] = x[i][j] + 2x[i][j+1] + 3x[i+1][j] + 4x[i+1][j+1] = 10(4i + j) + 44 = 40i + 10j + 44,
  // plus the bias 0.5.
  Tensor bias = make({1}, {0.5});
  expectTensor(conv(kImage, kKernel, &bias, {{1, 1}, {0, 0, 0, 0}, {1, 1}, 1}), {1, 1, 3, 3},
               {44.5, 54.5, 64.5, 84.5, 94.5, 104.5, 124.5, 134.5, 144.5});
}

TEST(ReferenceConv, StrideAndAsymmetricPadding) {
  // Padding top 1, left 0, bottom 0, right 1: a 5×5 padded input, stride 2 → ⌊(5−2)/2⌋+1 = 2.
  // Output (r, c) reads rows 2r−1, 2r and columns 2c, 2c+1:
  //   (0,0): row −1 is padding; 3·x[0][0] + 4·x[0][1] = 3 + 8 = 11
  //   (0,1): 3·x[0][2] + 4·x[0][3] = 9 + 16 = 25
  //   (1,0): 1·5 + 2·6 + 3·9 + 4·10 = 84
  //   (1,1): 1·7 + 2·8 + 3·11 + 4·12 = 104
  expectTensor(conv(kImage, kKernel, nullptr, {{2, 2}, {1, 0, 0, 1}, {1, 1}, 1}), {1, 1, 2, 2},
               {11, 25, 84, 104});
}

TEST(ReferenceConv, Dilation) {
  // Dilation 2: taps 2 apart, span 3, output 2×2.
  // y[i][j] = x[i][j] + 2x[i][j+2] + 3x[i+2][j] + 4x[i+2][j+2] = 40i + 10j + (1 + 6 + 27 + 44).
  expectTensor(conv(kImage, kKernel, nullptr, {{1, 1}, {0, 0, 0, 0}, {2, 2}, 1}), {1, 1, 2, 2},
               {78, 88, 118, 128});
}

TEST(ReferenceConv, Groups) {
  // Four channels 1, 2, 3, 4 (1×1 spatial), two groups of two: output 0 sees channels 0 and 1,
  // output 1 sees channels 2 and 3. y0 = 1·1 + 10·2 = 21, y1 = 100·3 + 1000·4 = 4300.
  Tensor x = iota({1, 4, 1, 1});
  Tensor w = make({2, 2, 1, 1}, {1, 10, 100, 1000});
  expectTensor(conv(x, w, nullptr, {{1, 1}, {0, 0, 0, 0}, {1, 1}, 2}), {1, 2, 1, 1}, {21, 4300});
  // One group: both outputs see all four channels: 1 + 20 + 300 + 4000 and 100 + 2000 + 30 + 4.
  Tensor w1 = make({2, 4, 1, 1}, {1, 10, 100, 1000, 100, 1000, 10, 1});
  expectTensor(conv(x, w1, nullptr, {{1, 1}, {0, 0, 0, 0}, {1, 1}, 1}), {1, 2, 1, 1},
               {4321, 2134});
}

TEST(ReferenceConv, OneDimensional) {
  // [1 2 3 4 5] padded to [0 1 2 3 4 5 0], kernel [1 0 −1], stride 2 → ⌊(7−3)/2⌋+1 = 3 windows:
  // [0 1 2] → −2, [2 3 4] → −2, [4 5 0] → 4; bias 1 added.
  Tensor bias = make({1}, {1});
  expectTensor(conv(iota({1, 1, 5}), make({1, 1, 3}, {1, 0, -1}), &bias, {{2}, {1, 1}, {1}, 1}),
               {1, 1, 3}, {-1, -1, 5});
}

TEST(ReferenceConv, ThreeDimensional) {
  // A 2×2×2 cube 1..8 and a 2×2×2 kernel of ones, depth padded by one after: window 0 sums the
  // cube (36), window 1 the second depth slice 5 + 6 + 7 + 8 = 26 and the padding.
  Tensor w = make({1, 1, 2, 2, 2}, std::vector<double>(8, 1.0));
  ConvParams p{{1, 1, 1}, {0, 0, 0, 1, 0, 0}, {1, 1, 1}, 1};
  expectTensor(conv(iota({1, 1, 2, 2, 2}), w, nullptr, p), {1, 1, 2, 1, 1}, {36, 26});
}

TEST(ReferenceConv, IdentityKernelReturnsInput) {
  Tensor x = random({2, 3, 5, 4}, 1);
  Tensor w = make({3, 3, 1, 1}, {1, 0, 0, 0, 1, 0, 0, 0, 1});
  expectSame(conv(x, w, nullptr, {{1, 1}, {0, 0, 0, 0}, {1, 1}, 1}), x);
}

TEST(ReferenceConv, DepthwiseEqualsPerChannelConvs) {
  Tensor x = random({2, 3, 6, 5}, 2), w = random({3, 1, 3, 3}, 3), bias = random({3}, 4);
  ConvParams p{{2, 1}, {1, 0, 1, 2}, {1, 2}, 3};
  Tensor y = conv(x, w, &bias, p);
  ASSERT_TRUE(y.valid());
  ConvParams single = p;
  single.groups = 1;
  for (int64_t c = 0; c < 3; ++c) {
    Tensor b = make({1}, {bias.data[c]});
    Tensor wc = make({1, 1, 3, 3}, std::vector<double>(w.data.begin() + 9 * c,
                                                       w.data.begin() + 9 * (c + 1)));
    expectSame(channels(y, c, 1), conv(channels(x, c, 1), wc, &b, single));
  }
}

TEST(ReferenceConv, DepthOneThreeDEqualsTwoD) {
  Tensor x2 = random({2, 3, 5, 6}, 5), w2 = random({4, 3, 3, 3}, 6), bias = random({4}, 7);
  Tensor x3 = make({2, 3, 1, 5, 6}, x2.data), w3 = make({4, 3, 1, 3, 3}, w2.data);
  Tensor y2 = conv(x2, w2, &bias, {{2, 1}, {1, 0, 0, 2}, {1, 2}, 1});
  Tensor y3 = conv(x3, w3, &bias, {{1, 2, 1}, {0, 1, 0, 0, 0, 2}, {1, 1, 2}, 1});
  ASSERT_TRUE(y2.valid());
  std::vector<int64_t> shape3 = y2.shape;
  shape3.insert(shape3.begin() + 2, 1);
  expectTensor(y3, shape3, y2.data);
}

TEST(ReferenceConv, InputsThatDoNotFitGiveTheInvalidTensor) {
  ConvParams p{{1, 1}, {0, 0, 0, 0}, {1, 1}, 1};
  EXPECT_FALSE(conv(iota({1, 2, 4, 4}), kKernel, nullptr, p).valid()); // channels
  EXPECT_FALSE(conv(make({1, 1, 4, 4}, {1, 2}), kKernel, nullptr, p).valid()); // data size
  EXPECT_FALSE(conv(kImage, kKernel, nullptr, {{1}, {0, 0}, {1}, 1}).valid()); // array sizes
  EXPECT_FALSE(conv(kImage, kKernel, nullptr, {{1, 1}, {0, 0, 0, 0}, {1, 1}, 0}).valid());
  EXPECT_FALSE(conv(kImage, iota({1, 1, 5, 5}), nullptr, p).valid()); // window > input
  Tensor badBias = make({2}, {0, 0});
  EXPECT_FALSE(conv(kImage, kKernel, &badBias, p).valid());
  EXPECT_FALSE(Tensor{}.valid());
}

//===----------------------------------------------------------------------===//
// Pooling
//===----------------------------------------------------------------------===//

TEST(ReferencePool, MaxPoolIgnoresPadding) {
  // 3×3 windows, stride 2, padding 1 on every side: ⌊(6−3)/2⌋+1 = 2. Windows clipped to the input
  // cover rows {0,1}/{1,2,3} × columns {0,1}/{1,2,3}. On −x (−1..−16) the padding must not win
  // with 0: maxima −x[0][0] = −1, −x[0][1] = −2, −x[1][0] = −5, −x[1][1] = −6.
  PoolParams p{{3, 3}, {2, 2}, {1, 1, 1, 1}, false, true};
  expectTensor(maxPool(kImage, p), {1, 1, 2, 2}, {6, 8, 14, 16});
  Tensor negative = kImage;
  for (double &v : negative.data)
    v = -v;
  expectTensor(maxPool(negative, p), {1, 1, 2, 2}, {-1, -2, -5, -6});
}

TEST(ReferencePool, MaxPoolCeilMode) {
  // 5×5 input 1..25 (x[i][j] = 5i + j + 1), 2×2 windows, stride 2. Floor: 2×2. Ceil:
  // ⌈3/2⌉+1 = 3, and the third window starts at 4 < 5, inside the input, so it stays; it covers
  // row/column 4 only. Maxima at rows/columns {1, 3, 4}.
  PoolParams p{{2, 2}, {2, 2}, {0, 0, 0, 0}, false, true};
  expectTensor(maxPool(iota({1, 1, 5, 5}), p), {1, 1, 2, 2}, {7, 9, 17, 19});
  p.ceilMode = true;
  expectTensor(maxPool(iota({1, 1, 5, 5}), p), {1, 1, 3, 3}, {7, 9, 10, 17, 19, 20, 22, 24, 25});
}

TEST(ReferencePool, CeilModeDropsWindowStartingInTrailingPadding) {
  // [1 2 3], k = 2, s = 2, padding 1/1: ⌈(5−2)/2⌉+1 = 3 windows would start at padded 0, 2, 4,
  // but 4 ≥ n + p_before = 4 is trailing padding, so 2 remain: [pad 1] → 1, [2 3] → 3.
  expectTensor(maxPool(iota({1, 1, 3}), {{2}, {2}, {1, 1}, true, true}), {1, 1, 2}, {1, 3});
  // [1 2 3 4], k = 3, s = 2, padding 1/1: the ceil window [4 pad] starts at input 3 and stays.
  expectTensor(maxPool(iota({1, 1, 4}), {{3}, {2}, {1, 1}, true, true}), {1, 1, 3}, {2, 4, 4});
  expectTensor(maxPool(iota({1, 1, 4}), {{3}, {2}, {1, 1}, false, true}), {1, 1, 2}, {2, 4});
}

TEST(ReferencePool, AvgPoolPaddingDivisors) {
  // 3×3 input 1..9, 2×2 windows, stride 2, padding 1: windows cover rows {−1,0}/{1,2} ×
  // columns {−1,0}/{1,2}. Sums of the input positions: 1, 2+3 = 5, 4+7 = 11, 5+6+8+9 = 28.
  // count_include_pad divides each by 4; otherwise by 1, 2, 2, 4 input positions.
  PoolParams p{{2, 2}, {2, 2}, {1, 1, 1, 1}, false, true};
  expectTensor(avgPool(iota({1, 1, 3, 3}), p), {1, 1, 2, 2}, {0.25, 1.25, 2.75, 7});
  p.countIncludePad = false;
  expectTensor(avgPool(iota({1, 1, 3, 3}), p), {1, 1, 2, 2}, {1, 2.5, 5.5, 7});
}

TEST(ReferencePool, AvgPoolCeilModeClipsToPaddedInput) {
  // [1 2 3 4], k = 3, s = 2, padding 1/1, ceil: windows start at input −1, 1, 3.
  //   [pad 1 2]: sum 3, window 3 (include) / 2 inputs;  [2 3 4]: 9 / 3 / 3;
  //   [4 pad (beyond)]: end = min(3 + 3, 4 + 1) = 5, so the divisor is 2 (include) or 1.
  PoolParams p{{3}, {2}, {1, 1}, true, true};
  expectTensor(avgPool(iota({1, 1, 4}), p), {1, 1, 3}, {1, 3, 2});
  p.countIncludePad = false;
  expectTensor(avgPool(iota({1, 1, 4}), p), {1, 1, 3}, {1.5, 3, 4});
}

TEST(ReferencePool, AvgPoolAsymmetricPadding) {
  // [1 2 3 4], k = 2, s = 1, padding 0 before, 1 after: windows [1 2] [2 3] [3 4] [4 pad];
  // the last divides 4 by 2 (include) or 1.
  PoolParams p{{2}, {1}, {0, 1}, false, true};
  expectTensor(avgPool(iota({1, 1, 4}), p), {1, 1, 4}, {1.5, 2.5, 3.5, 2});
  p.countIncludePad = false;
  expectTensor(avgPool(iota({1, 1, 4}), p), {1, 1, 4}, {1.5, 2.5, 3.5, 4});
}

TEST(ReferencePool, AvgPoolIncludingPaddingEqualsDepthwiseConvOfMeans) {
  // Without ceil mode every window lies in the padded input, so count_include_pad divides by the
  // full 3·2 window: a depthwise conv with weights 1/6 and zero padding computes the same.
  Tensor x = random({2, 3, 7, 6}, 9);
  Tensor w = make({3, 1, 3, 2}, std::vector<double>(18, 1.0 / 6.0));
  expectSame(avgPool(x, {{3, 2}, {2, 2}, {1, 0, 1, 1}, false, true}),
             conv(x, w, nullptr, {{2, 2}, {1, 0, 1, 1}, {1, 1}, 3}));
}

TEST(ReferencePool, ThreeDimensionalAvgPool) {
  // The 2×2×2 cube 1..8 under one 2×2×2 window: mean 4.5.
  expectTensor(avgPool(iota({1, 1, 2, 2, 2}), {{2, 2, 2}, {2, 2, 2}, {0, 0, 0, 0, 0, 0}}),
               {1, 1, 1, 1, 1}, {4.5});
}

TEST(ReferencePool, GlobalPools) {
  // Channel 0: 1 2 3 4 (mean 2.5, max 4); channel 1: −1 −5 −2 −3 (mean −2.75, max −1).
  Tensor x = make({1, 2, 2, 2}, {1, 2, 3, 4, -1, -5, -2, -3});
  expectTensor(globalAvgPool(x), {1, 2, 1, 1}, {2.5, -2.75});
  expectTensor(globalMaxPool(x), {1, 2, 1, 1}, {4, -1});
  expectTensor(globalAvgPool(iota({2, 1, 3})), {2, 1, 1}, {2, 5});
  expectTensor(globalMaxPool(iota({1, 1, 2, 2, 2})), {1, 1, 1, 1, 1}, {8});
  EXPECT_FALSE(globalAvgPool(iota({2, 3})).valid());
}

TEST(ReferencePool, InputsThatDoNotFitGiveTheInvalidTensor) {
  EXPECT_FALSE(maxPool(kImage, {{2}, {2}, {0, 0}}).valid());            // 1 kernel extent for 2-D
  EXPECT_FALSE(maxPool(kImage, {{5, 5}, {1, 1}, {0, 0, 0, 0}}).valid()); // window > input
  EXPECT_FALSE(avgPool(kImage, {{2, 2}, {0, 1}, {0, 0, 0, 0}}).valid()); // zero stride
  EXPECT_FALSE(avgPool(iota({4, 4}), {{2, 2}, {1, 1}, {0, 0, 0, 0}}).valid());
}

//===----------------------------------------------------------------------===//
// Window counting
//===----------------------------------------------------------------------===//

TEST(ReferenceWindowCount, MatchesClosedFormulasOnAGrid) {
  int compared = 0;
  for (int64_t n = 1; n <= 12; ++n)
    for (int64_t k = 1; k <= 5; ++k)
      for (int64_t s = 1; s <= 4; ++s)
        for (int64_t d = 1; d <= 3; ++d)
          for (int64_t pb = 0; pb <= 4; ++pb)
            for (int64_t pa = 0; pa <= 4; ++pa)
              for (bool ceil : {false, true}) {
                int64_t counted = windowCount(n, k, s, d, pb, pa, ceil);
                int64_t span = d * (k - 1) + 1, room = n + pb + pa - span;
                // The compiler's shape inference agrees everywhere.
                std::string why;
                std::optional<int64_t> inferred =
                    kiln::shape::windowOutputSize(n, {k, s, d, pb, pa, ceil}, &why);
                EXPECT_EQ(counted, inferred.value_or(0)) << n << " " << k << " " << s << " " << d
                                                         << " " << pb << " " << pa << " " << ceil;
                // PyTorch's formula (it drops at most one window) wherever p_after ≤ span.
                if (ceil && pa > span)
                  continue;
                int64_t expected = 0;
                if (room >= 0) {
                  expected = (ceil ? (room + s - 1) / s : room / s) + 1;
                  if (ceil && (expected - 1) * s >= n + pb)
                    --expected;
                }
                EXPECT_EQ(counted, expected) << n << " " << k << " " << s << " " << d << " "
                                             << pb << " " << pa << " " << ceil;
                ++compared;
              }
  EXPECT_GT(compared, 20000);
}

TEST(ReferenceWindowCount, RejectsBadParameters) {
  EXPECT_EQ(windowCount(4, 0, 1, 1, 0, 0, false), 0);
  EXPECT_EQ(windowCount(4, 2, 0, 1, 0, 0, false), 0);
  EXPECT_EQ(windowCount(4, 2, 1, 0, 0, 0, false), 0);
  EXPECT_EQ(windowCount(4, 2, 1, 1, -1, 0, false), 0);
  EXPECT_EQ(windowCount(0, 1, 1, 1, 0, 0, false), 0);
  EXPECT_EQ(windowCount(4, 6, 1, 1, 1, 0, true), 0);
  // Near the top of int64 the walk must neither overflow nor loop: one window, then a stride
  // that would leave the representable range.
  const int64_t big = std::numeric_limits<int64_t>::max() - 1;
  EXPECT_EQ(windowCount(big, 1, big, 1, 0, 0, false), 1);
  EXPECT_EQ(windowCount(big, 1, big, 1, 0, 0, true), 1);
}

//===----------------------------------------------------------------------===//
// Batch norm, dense, elementwise, softmax, loss
//===----------------------------------------------------------------------===//

TEST(ReferenceOps, BatchNormInference) {
  // Channel 0: (x − 2)/√(3 + 1)·2 + 1 on 1, 3 → 0, 2.
  // Channel 1: (x − 3)/√(15 + 1)·0.5 − 1 on 2, 4 → −1.125, −0.875.
  Tensor gamma = make({2}, {2, 0.5}), beta = make({2}, {1, -1});
  Tensor mean = make({2}, {2, 3}), var = make({2}, {3, 15});
  expectTensor(batchNormInference(make({1, 2, 2}, {1, 3, 2, 4}), gamma, beta, mean, var, 1.0),
               {1, 2, 2}, {0, 2, -1.125, -0.875});
  expectTensor(batchNormInference(make({2, 2}, {1, 2, 3, 4}), gamma, beta, mean, var, 1.0), {2, 2},
               {0, -1.125, 2, -0.875});
  EXPECT_FALSE(batchNormInference(make({1, 3}, {1, 2, 3}), gamma, beta, mean, var, 1.0).valid());
}

// Folding is exact in exact arithmetic: the folded conv equals batch norm of the conv.
TEST(ReferenceOps, FoldedBatchNormEqualsBatchNormOfTheLayer) {
  Tensor x = make({1, 2, 3, 3}, {1, -2, 3, 0.5, 2, -1, 4, 0, 1, -3, 2, 1, 0, 2, -1, 3, 1, 2});
  Tensor w = make({2, 2, 2, 2}, {1, 0.5, -1, 2, 0, 1, 1, -0.5, 2, -1, 0.5, 0, 1, 1, -2, 1});
  Tensor bias = make({2}, {0.25, -0.5});
  Tensor gamma = make({2}, {2, 0.5}), beta = make({2}, {1, -1});
  Tensor mean = make({2}, {2, 3}), var = make({2}, {3, 15});
  ConvParams p{{1, 1}, {0, 0, 0, 0}, {1, 1}, 1};
  for (const Tensor *b : {static_cast<const Tensor *>(nullptr), static_cast<const Tensor *>(&bias)}) {
    Tensor expected = batchNormInference(conv(x, w, b, p), gamma, beta, mean, var, 1e-5);
    Tensor foldedBias = foldBatchNormBias(gamma, beta, mean, var, b, 1e-5);
    Tensor actual = conv(x, foldBatchNormWeight(w, gamma, var, 1e-5), &foldedBias, p);
    ASSERT_EQ(actual.shape, expected.shape);
    for (size_t i = 0; i < actual.data.size(); ++i)
      EXPECT_NEAR(actual.data[i], expected.data[i], 1e-12) << i;
  }
  // Channel 0's weights scale by 2/√(3 + 1e-5); a channel count that does not match fails.
  EXPECT_NEAR(foldBatchNormWeight(w, gamma, var, 1e-5).data[0], 2 / std::sqrt(3 + 1e-5), 1e-15);
  EXPECT_FALSE(foldBatchNormWeight(w, make({3}, {1, 1, 1}), var, 1e-5).valid());
  EXPECT_FALSE(foldBatchNormBias(gamma, beta, mean, make({1}, {1}), nullptr, 1e-5).valid());
}

TEST(ReferenceOps, Dense) {
  // [1 2 3]·[1 0 −1] + 10 = 8, [1 2 3]·[2 1 0] + 20 = 24; [4 5 6] → −2 + 10 = 8, 13 + 20 = 33.
  Tensor x = iota({2, 3}), w = make({2, 3}, {1, 0, -1, 2, 1, 0}), bias = make({2}, {10, 20});
  expectTensor(dense(x, w, &bias), {2, 2}, {8, 24, 8, 33});
  expectTensor(dense(x, w, nullptr), {2, 2}, {-2, 4, -2, 13});
  EXPECT_FALSE(dense(x, iota({2, 4}), nullptr).valid());
}

TEST(ReferenceOps, Elementwise) {
  expectTensor(add(iota({2, 2}), make({2, 2}, {10, 20, 30, 40})), {2, 2}, {11, 22, 33, 44});
  EXPECT_FALSE(add(iota({2, 2}), iota({4})).valid());
  expectTensor(relu(make({3}, {-1, 0, 2})), {3}, {0, 0, 2});
  // tanh(atanh(0.5)) = 0.5; the sigmoid must not overflow at ±1000.
  expectTensor(kiln::reference::tanh(make({2}, {0, std::atanh(0.5)})), {2}, {0, 0.5});
  expectTensor(sigmoid(make({4}, {0, std::log(3.0), -1000, 1000})), {4}, {0.5, 0.75, 0, 1});
  expectTensor(flatten(iota({2, 3, 2, 2})), {2, 12}, iota({2, 12}).data);
}

TEST(ReferenceOps, PadAndCrop) {
  // [[1 2] [3 4]] with pads [1, 0, 0, 1] (before dimensions 0 and 1, then after them): a row of
  // 9s before, a column of 9s after: [9 9 9], [1 2 9], [3 4 9].
  expectTensor(pad(iota({2, 2}), {1, 0, 0, 1}, 9), {3, 3}, {9, 9, 9, 1, 2, 9, 3, 4, 9});
  // Negative pads crop: row 0 and the last column of a 3×3 go.
  expectTensor(pad(iota({3, 3}), {-1, 0, 0, -1}, 0), {2, 2}, {4, 5, 7, 8});
  // Padding then cropping by the same amounts gives the input back.
  Tensor x = random({2, 3, 4}, 5);
  expectSame(pad(pad(x, {0, 1, 2, 0, 3, 1}, 7), {0, -1, -2, 0, -3, -1}, 0), x);
  EXPECT_FALSE(pad(iota({2, 2}), {0, 0, 0}, 0).valid());
  EXPECT_FALSE(pad(iota({2, 2}), {-2, 0, 0, 0}, 0).valid()); // nothing left of dimension 0
}

TEST(ReferenceOps, Concat) {
  // Along axis 1 of 2×1 [1 2] and 2×2 [10 11 12 13]: rows [1 10 11], [2 12 13].
  expectTensor(concat({iota({2, 1}), iota({2, 2}, 10)}, 1), {2, 3}, {1, 10, 11, 2, 12, 13});
  expectTensor(concat({iota({1, 2}), iota({2, 2}, 10)}, 0), {3, 2}, {1, 2, 10, 11, 12, 13});
  // Joining channel slices gives the tensor back.
  Tensor x = random({2, 5, 3}, 6);
  expectSame(concat({channels(x, 0, 2), channels(x, 2, 3)}, 1), x);
  EXPECT_FALSE(concat({iota({2, 2}), iota({3, 3})}, 1).valid());
  EXPECT_FALSE(concat({iota({2, 2})}, 2).valid());
  EXPECT_FALSE(concat({}, 0).valid());
}

TEST(ReferenceOps, SoftmaxIsStableAndNormalized) {
  // Row [0, ln 3]: probabilities 1/4, 3/4. Rows of 1000s: uniform (exp(1000) would overflow).
  Tensor x = make({2, 2}, {0, std::log(3.0), 1000, 1000});
  expectTensor(softmax(x, 1), {2, 2}, {0.25, 0.75, 0.5, 0.5});
  double half = std::log(0.5);
  expectTensor(logSoftmax(x, 1), {2, 2}, {std::log(0.25), std::log(0.75), half, half});
  expectTensor(softmax(make({1, 3}, {1000, 1000, 1000}), 1), {1, 3}, {1 / 3.0, 1 / 3.0, 1 / 3.0});
  // Along axis 1 of a 2×3×4 tensor every (n, ·, w) fibre sums to 1 and log_softmax = log softmax.
  Tensor r = random({2, 3, 4}, 8);
  Tensor p = softmax(r, 1), logP = logSoftmax(r, 1);
  ASSERT_TRUE(p.valid() && logP.valid());
  for (int64_t n = 0; n < 2; ++n)
    for (int64_t w = 0; w < 4; ++w) {
      double sum = 0;
      for (int64_t c = 0; c < 3; ++c)
        sum += p.data[(n * 3 + c) * 4 + w];
      EXPECT_NEAR(sum, 1.0, kTolerance);
    }
  for (size_t i = 0; i < p.data.size(); ++i)
    EXPECT_NEAR(logP.data[i], std::log(p.data[i]), kTolerance);
  EXPECT_FALSE(softmax(r, 3).valid());
  EXPECT_FALSE(softmax(r, -1).valid());
}

TEST(ReferenceOps, SoftmaxCrossEntropy) {
  // Uniform logits over C classes: −log(1/C) = log C for every row, whatever the label.
  Tensor uniform = make({4, 10}, std::vector<double>(40, 2.5));
  EXPECT_NEAR(softmaxCrossEntropy(uniform, {0, 3, 9, 5}), std::log(10.0), kTolerance);
  // Rows [0, ln 3]: label 1 has probability 3/4, label 0 has 1/4; the mean of −log of each.
  Tensor logits = make({2, 2}, {0, std::log(3.0), 0, std::log(3.0)});
  EXPECT_NEAR(softmaxCrossEntropy(logits, {1, 0}), -(std::log(0.75) + std::log(0.25)) / 2,
              kTolerance);
  EXPECT_TRUE(std::isnan(softmaxCrossEntropy(logits, {1, 2})));
  EXPECT_TRUE(std::isnan(softmaxCrossEntropy(logits, {1})));
}

//===----------------------------------------------------------------------===//
// Interpreter
//===----------------------------------------------------------------------===//

namespace {

// conv (weight [[1, 2], [3, 4]], bias −100) → relu → 2×2 max pool (ceil) → flatten → dense.
const char *kModule = R"mlir(
func.func @net(%x: tensor<?x1x4x4xf32>) -> tensor<?x2xf32> {
  %w = nn.parameter "conv.weight" : tensor<1x1x2x2xf32>
  %b = nn.parameter "conv.bias" : tensor<1xf32>
  %y = nn.conv %x, %w, %b strides = [1, 1] padding = [0, 0, 0, 0] dilations = [1, 1] groups = 1
      : (tensor<?x1x4x4xf32>, tensor<1x1x2x2xf32>, tensor<1xf32>) -> tensor<?x1x3x3xf32>
  %r = nn.relu %y : tensor<?x1x3x3xf32> -> tensor<?x1x3x3xf32>
  %p = nn.max_pool %r kernel_size = [2, 2] strides = [2, 2] padding = [0, 0, 0, 0]
      ceil_mode = true : tensor<?x1x3x3xf32> -> tensor<?x1x2x2xf32>
  %f = nn.flatten %p : tensor<?x1x2x2xf32> -> tensor<?x4xf32>
  %dw = nn.parameter "fc.weight" : tensor<2x4xf32>
  %d = nn.dense %f, %dw : (tensor<?x4xf32>, tensor<2x4xf32>) -> tensor<?x2xf32>
  return %d : tensor<?x2xf32>
}
func.func @loss(%x: tensor<?x1x4x4xf32>, %labels: tensor<?xi64>) -> tensor<f32> {
  %logits = func.call @net(%x) : (tensor<?x1x4x4xf32>) -> tensor<?x2xf32>
  %l = nn.softmax_cross_entropy %logits, %labels : (tensor<?x2xf32>, tensor<?xi64>) -> tensor<f32>
  return %l : tensor<f32>
}
func.func @sum(%a: tensor<?x2xf32>, %b: tensor<?x2xf32>) -> tensor<?x2xf32> {
  %y = nn.add %a, %b : (tensor<?x2xf32>, tensor<?x2xf32>) -> tensor<?x2xf32>
  return %y : tensor<?x2xf32>
}
func.func @forever(%x: tensor<2xf32>) -> tensor<2xf32> {
  %y = func.call @forever(%x) : (tensor<2xf32>) -> tensor<2xf32>
  return %y : tensor<2xf32>
}
func.func @unsupported(%x: tensor<2xf32>) -> tensor<2xf32> {
  %y = "test.mystery"(%x) : (tensor<2xf32>) -> tensor<2xf32>
  return %y : tensor<2xf32>
}
)mlir";

class ReferenceInterpreter : public ::testing::Test {
protected:
  void SetUp() override {
    context.getOrLoadDialect<kiln::nn::NNDialect>();
    context.getOrLoadDialect<mlir::func::FuncDialect>();
    context.allowUnregisteredDialects();
    module = mlir::parseSourceString<mlir::ModuleOp>(kModule, &context);
    ASSERT_TRUE(module);
    // Image 0 is 1..16; image 1 is zeros.
    input = iota({2, 1, 4, 4});
    for (int i = 16; i < 32; ++i)
      input.data[i] = 0;
    params = {{"conv.weight", kKernel},
              {"conv.bias", make({1}, {-100})},
              {"fc.weight", make({2, 4}, {1, 1, 1, 1, 1, -1, 0, 0})}};
  }

  mlir::func::FuncOp function(llvm::StringRef name) {
    return module->lookupSymbol<mlir::func::FuncOp>(name);
  }

  // Runs `name` and returns the diagnostics it emitted, one per line.
  mlir::FailureOr<std::vector<Tensor>> run(llvm::StringRef name, std::vector<Tensor> inputs,
                                           std::string &diagnostics) {
    mlir::ScopedDiagnosticHandler handler(&context, [&](mlir::Diagnostic &d) {
      diagnostics += d.str() + "\n";
      return mlir::success();
    });
    return runFunction(function(name), inputs, params);
  }

  mlir::MLIRContext context;
  mlir::OwningOpRef<mlir::ModuleOp> module;
  Tensor input;
  ParameterMap params;
};

} // namespace

TEST_F(ReferenceInterpreter, RunsAFunction) {
  // Image 0: conv = 40i + 10j + 44 − 100 → [−56 −46 −36; −16 −6 4; 24 34 44]; relu; ceil-mode
  // pooling of the 3×3 → [0 4; 34 44]; dense: [0+4+34+44, 0−4] = [82, −4].
  // Image 1: conv = −100 everywhere, relu 0, so the logits are [0, 0].
  std::vector<std::string> seen;
  std::vector<int64_t> convShape;
  mlir::FailureOr<std::vector<Tensor>> results =
      runFunction(function("net"), {input}, params, [&](mlir::Operation *op, const Tensor &t) {
        seen.push_back(op->getName().getStringRef().str());
        if (mlir::isa<kiln::nn::ConvOp>(op))
          convShape = t.shape;
      });
  ASSERT_TRUE(mlir::succeeded(results));
  ASSERT_EQ(results->size(), 1u);
  expectTensor((*results)[0], {2, 2}, {82, -4, 0, 0});
  EXPECT_EQ(seen, (std::vector<std::string>{"nn.parameter", "nn.parameter", "nn.conv", "nn.relu",
                                            "nn.max_pool", "nn.flatten", "nn.parameter",
                                            "nn.dense"}));
  EXPECT_EQ(convShape, (std::vector<int64_t>{2, 1, 3, 3}));
}

TEST_F(ReferenceInterpreter, FollowsCallsAndComputesTheLoss) {
  std::string diagnostics;
  mlir::FailureOr<std::vector<Tensor>> results =
      run("loss", {input, make({2}, {0, 1})}, diagnostics);
  ASSERT_TRUE(mlir::succeeded(results)) << diagnostics;
  // Logits [82, −4] with label 0 and [0, 0] with label 1.
  double expected = softmaxCrossEntropy(make({2, 2}, {82, -4, 0, 0}), {0, 1});
  EXPECT_NEAR(expected, (std::log1p(std::exp(-86.0)) + std::log(2.0)) / 2, kTolerance);
  expectTensor((*results)[0], {}, {expected});
}

TEST_F(ReferenceInterpreter, ReportsAMissingParameter) {
  params.erase("fc.weight");
  std::string diagnostics;
  EXPECT_TRUE(mlir::failed(run("net", {input}, diagnostics)));
  EXPECT_EQ(diagnostics, "no value given for parameter 'fc.weight'\n");
}

TEST_F(ReferenceInterpreter, ReportsShapeMismatches) {
  std::string diagnostics;
  EXPECT_TRUE(mlir::failed(run("net", {iota({2, 1, 5, 4})}, diagnostics)));
  EXPECT_EQ(diagnostics, "input #0 of 'net' has shape [2, 1, 5, 4] (40 values) but its type is "
                         "'tensor<?x1x4x4xf32>'\n");
  diagnostics.clear();
  params["conv.weight"] = iota({1, 1, 3, 3});
  EXPECT_TRUE(mlir::failed(run("net", {input}, diagnostics)));
  EXPECT_EQ(diagnostics, "parameter 'conv.weight' has shape [1, 1, 3, 3] but its type is "
                         "'tensor<1x1x2x2xf32>'\n");
}

TEST_F(ReferenceInterpreter, ReportsBadLabelsAndUnsupportedOps) {
  std::string diagnostics;
  EXPECT_TRUE(mlir::failed(run("loss", {input, make({2}, {0, 2})}, diagnostics)));
  EXPECT_EQ(diagnostics, "'nn.softmax_cross_entropy' op expects every label to be an integer in "
                         "[0, 2), got 2 at index 1\n");
  diagnostics.clear();
  EXPECT_TRUE(mlir::failed(run("loss", {input, make({2}, {0.5, 1})}, diagnostics)));
  EXPECT_EQ(diagnostics, "'nn.softmax_cross_entropy' op expects every label to be an integer in "
                         "[0, 2), got 0.5 at index 0\n");
  diagnostics.clear();
  EXPECT_TRUE(mlir::failed(run("unsupported", {iota({2})}, diagnostics)));
  EXPECT_EQ(diagnostics, "'test.mystery' op is not supported by the reference interpreter\n");
}

TEST_F(ReferenceInterpreter, ReportsDynamicExtentsThatDisagreeAndRecursion) {
  std::string diagnostics;
  EXPECT_TRUE(mlir::failed(run("sum", {iota({1, 2}), iota({3, 2})}, diagnostics)));
  EXPECT_EQ(diagnostics, "'nn.add' op cannot be evaluated by the reference on operands of shape "
                         "[1, 2] [3, 2]\n");
  diagnostics.clear();
  EXPECT_TRUE(mlir::failed(run("forever", {iota({2})}, diagnostics)));
  EXPECT_EQ(diagnostics, "calls nest deeper than 64 while interpreting 'forever'; is it "
                         "recursive?\n");
}
