// Unit tests of the window output-size formula and the checked 64-bit arithmetic under it.
// All arithmetic is integral, so every comparison is exact (no tolerance). The formula is checked
// against two independent references: a brute-force count of window positions (small sizes,
// exhaustively) and PyTorch's closed form evaluated in 128-bit integers (sizes near INT64_MAX).
#include "kiln/Dialect/NN/ShapeFormulas.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <optional>
#include <random>
#include <sstream>
#include <string>

namespace {

using kiln::shape::checkedAdd;
using kiln::shape::checkedMul;
using kiln::shape::checkedProduct;
using kiln::shape::kDynamic;
using kiln::shape::Window;
using kiln::shape::windowOutputSize;

constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
constexpr int64_t kMin = std::numeric_limits<int64_t>::min();

Window window(int64_t kernel, int64_t stride = 1, int64_t dilation = 1, int64_t padBefore = 0,
              int64_t padAfter = 0, bool ceilMode = false) {
  Window w;
  w.kernel = kernel;
  w.stride = stride;
  w.dilation = dilation;
  w.padBefore = padBefore;
  w.padAfter = padAfter;
  w.ceilMode = ceilMode;
  return w;
}

std::string describe(int64_t n, const Window &w) {
  std::ostringstream os;
  os << "n=" << n << " k=" << w.kernel << " s=" << w.stride << " d=" << w.dilation
     << " pad=" << w.padBefore << "/" << w.padAfter << (w.ceilMode ? " ceil" : " floor");
  return os.str();
}

// Brute force over window start positions i·s in the padded input [0, n + pb + pa):
//  - floor mode counts the windows that fit entirely: i·s + span ≤ padded;
//  - ceil mode counts the windows that start before padded − span + s (the last may hang over
//    the padded end) and that do not start in the trailing padding: i·s < n + pb.
// Returns nullopt when not even the first window fits (the formula must then fail).
std::optional<int64_t> bruteForceCount(int64_t n, const Window &w) {
  int64_t span = w.dilation * (w.kernel - 1) + 1;
  int64_t padded = n + w.padBefore + w.padAfter;
  if (span > padded)
    return std::nullopt;
  int64_t count = 0;
  for (int64_t start = 0; start < padded; start += w.stride) {
    bool counted = w.ceilMode ? (start < padded - span + w.stride && start < n + w.padBefore)
                              : (start + span <= padded);
    if (counted)
      ++count;
  }
  return count;
}

// PyTorch's pooling_output_shape, in 128 bits so that nothing overflows:
//   out = ⌊(n + pb + pa − d(k−1) − 1 + (ceil ? s − 1 : 0)) / s⌋ + 1,
//   and in ceil mode out − 1 when (out − 1)·s ≥ n + pb.
// (The numerator is non-negative wherever it is used here, so ⌊⌋ is plain division.)
__int128 pytorchOutputSize(int64_t n, const Window &w) {
  __int128 numerator = (__int128)n + w.padBefore + w.padAfter -
                       (__int128)w.dilation * (w.kernel - 1) - 1 +
                       (w.ceilMode ? w.stride - 1 : 0);
  __int128 out = numerator / w.stride + 1;
  if (w.ceilMode && (out - 1) * w.stride >= (__int128)n + w.padBefore)
    --out;
  return out;
}

//===----------------------------------------------------------------------===//
// Checked arithmetic
//===----------------------------------------------------------------------===//

TEST(CheckedArithmetic, AddAtTheLimits) {
  EXPECT_EQ(checkedAdd(2, 3), 5);
  EXPECT_EQ(checkedAdd(kMax, 0), kMax);
  EXPECT_EQ(checkedAdd(kMax - 1, 1), kMax);
  EXPECT_EQ(checkedAdd(kMax, 1), std::nullopt);
  EXPECT_EQ(checkedAdd(kMax, kMax), std::nullopt);
  EXPECT_EQ(checkedAdd(kMin, 0), kMin);
  EXPECT_EQ(checkedAdd(kMin, -1), std::nullopt);
  EXPECT_EQ(checkedAdd(kMin, kMax), -1);
  EXPECT_EQ(checkedAdd(kMin, kMin), std::nullopt);
}

TEST(CheckedArithmetic, MulAtTheLimits) {
  EXPECT_EQ(checkedMul(6, 7), 42);
  EXPECT_EQ(checkedMul(kMax, 1), kMax);
  EXPECT_EQ(checkedMul(kMax, 0), 0);
  EXPECT_EQ(checkedMul(kMax, 2), std::nullopt);
  EXPECT_EQ(checkedMul(int64_t{1} << 31, int64_t{1} << 31), int64_t{1} << 62);
  EXPECT_EQ(checkedMul(int64_t{1} << 32, int64_t{1} << 31), std::nullopt); // 2^63
  EXPECT_EQ(checkedMul(int64_t{1} << 32, int64_t{1} << 32), std::nullopt); // 2^64
  EXPECT_EQ(checkedMul(3037000499, 3037000499), 9223372030926249001);    // ⌊√INT64_MAX⌋²
  EXPECT_EQ(checkedMul(3037000500, 3037000500), std::nullopt);
  EXPECT_EQ(checkedMul(kMin, 1), kMin);
  EXPECT_EQ(checkedMul(kMin, -1), std::nullopt);
  EXPECT_EQ(checkedMul(-1, kMax), -kMax);
}

TEST(CheckedArithmetic, ProductAtTheLimits) {
  EXPECT_EQ(checkedProduct({}), 1);
  EXPECT_EQ(checkedProduct({20, 1, 5, 5}), 500);
  EXPECT_EQ(checkedProduct({kMax}), kMax);
  EXPECT_EQ(checkedProduct({kMax, 1, 1}), kMax);
  EXPECT_EQ(checkedProduct({kMax, 2}), std::nullopt);
  EXPECT_EQ(checkedProduct({int64_t{1} << 32, int64_t{1} << 32}), std::nullopt);
  // The overflow is caught even when a later factor is 0 or 1: the product is checked per step.
  EXPECT_EQ(checkedProduct({int64_t{1} << 32, int64_t{1} << 32, 0}), std::nullopt);
  EXPECT_EQ(checkedProduct({int64_t{1} << 62, 2}), std::nullopt);
  EXPECT_EQ(checkedProduct({int64_t{1} << 61, 2, 2}), std::nullopt); // 2^63
  EXPECT_EQ(checkedProduct({int64_t{1} << 61, 2}), int64_t{1} << 62);
  // Dynamic extents (the batch) are skipped.
  EXPECT_EQ(checkedProduct({kDynamic, 50, 4, 4}), 800);
  EXPECT_EQ(checkedProduct({kDynamic}), 1);
  EXPECT_EQ(checkedProduct({kDynamic, int64_t{1} << 32, int64_t{1} << 32}), std::nullopt);
}

//===----------------------------------------------------------------------===//
// windowOutputSize: exhaustive comparison with the references
//===----------------------------------------------------------------------===//

// Every n ≤ 12, k ≤ 6, s ≤ 5, d ≤ 4, paddings ≤ 4 on either side, floor and ceil: 72,000 cases.
TEST(WindowOutputSize, MatchesBruteForceExhaustively) {
  int64_t checked = 0, failures = 0;
  for (int64_t n = 1; n <= 12; ++n)
    for (int64_t k = 1; k <= 6; ++k)
      for (int64_t s = 1; s <= 5; ++s)
        for (int64_t d = 1; d <= 4; ++d)
          for (int64_t pb = 0; pb <= 4; ++pb)
            for (int64_t pa = 0; pa <= 4; ++pa)
              for (bool ceil : {false, true}) {
                Window w = window(k, s, d, pb, pa, ceil);
                std::string why;
                std::optional<int64_t> got = windowOutputSize(n, w, &why);
                std::optional<int64_t> want = bruteForceCount(n, w);
                ++checked;
                if (got != want) {
                  ++failures;
                  ADD_FAILURE() << describe(n, w) << ": got " << (got ? *got : -1)
                                << ", brute force " << (want ? *want : -1) << " (" << why << ")";
                }
                if (!want) {
                  EXPECT_NE(why.find("exceeds the padded input extent"), std::string::npos)
                      << describe(n, w) << ": " << why;
                }
                if (failures > 20)
                  return; // enough to diagnose
              }
  EXPECT_EQ(checked, 72000);
}

// PyTorch's closed form agrees wherever at most one window could start in the trailing padding,
// which holds when p_after < span (always for pooling, whose padding is at most half the
// kernel). Beyond that PyTorch drops only one such window and the brute force drops them all.
TEST(WindowOutputSize, MatchesPyTorchWherePaddingIsBelowTheWindow) {
  for (int64_t n = 1; n <= 12; ++n)
    for (int64_t k = 1; k <= 6; ++k)
      for (int64_t s = 1; s <= 5; ++s)
        for (int64_t d = 1; d <= 4; ++d)
          for (int64_t pb = 0; pb <= 4; ++pb)
            for (int64_t pa = 0; pa <= 4; ++pa)
              for (bool ceil : {false, true}) {
                Window w = window(k, s, d, pb, pa, ceil);
                int64_t span = d * (k - 1) + 1;
                if (pa >= span || span > n + pb + pa)
                  continue;
                std::optional<int64_t> got = windowOutputSize(n, w, nullptr);
                ASSERT_TRUE(got.has_value()) << describe(n, w);
                EXPECT_EQ((__int128)*got, pytorchOutputSize(n, w)) << describe(n, w);
              }
}

// The pooling case the dialect reaches: padding < k (ONNX's range; PyTorch's is ≤ k/2),
// dilation 1. Here PyTorch's formula and Kiln's agree on every configuration.
TEST(WindowOutputSize, MatchesPyTorchForEveryPoolingConfiguration) {
  for (int64_t n = 1; n <= 20; ++n)
    for (int64_t k = 1; k <= 8; ++k)
      for (int64_t s = 1; s <= 8; ++s)
        for (int64_t pb = 0; pb < k; ++pb)
          for (int64_t pa = 0; pa < k; ++pa)
            for (bool ceil : {false, true}) {
              Window w = window(k, s, 1, pb, pa, ceil);
              if (k > n + pb + pa)
                continue;
              std::optional<int64_t> got = windowOutputSize(n, w, nullptr);
              ASSERT_TRUE(got.has_value()) << describe(n, w);
              EXPECT_EQ((__int128)*got, pytorchOutputSize(n, w)) << describe(n, w);
            }
}

//===----------------------------------------------------------------------===//
// windowOutputSize: named cases
//===----------------------------------------------------------------------===//

TEST(WindowOutputSize, KnownLayers) {
  EXPECT_EQ(windowOutputSize(28, window(5), nullptr), 24);                    // LeNet conv1
  EXPECT_EQ(windowOutputSize(24, window(2, 2), nullptr), 12);                 // LeNet pool1
  EXPECT_EQ(windowOutputSize(224, window(7, 2, 1, 3, 3), nullptr), 112);      // ResNet stem
  EXPECT_EQ(windowOutputSize(112, window(3, 2, 1, 1, 1), nullptr), 56);       // ResNet max pool
  EXPECT_EQ(windowOutputSize(56, window(1, 2), nullptr), 28);                 // 1×1 downsample
  EXPECT_EQ(windowOutputSize(10, window(4, 1, 1, 2, 1), nullptr), 10);        // `same`, even k
  EXPECT_EQ(windowOutputSize(50, window(5, 2, 3, 4, 1), nullptr), 22);        // dilated, asym.
}

TEST(WindowOutputSize, CeilModeTrailingPaddingRule) {
  // 5 + 1 + 1, kernel 2, stride 2: ⌈5/2⌉ + 1 = 4 windows would start at 0, 2, 4, 6; 6 is in the
  // trailing padding (≥ 5 + 1), so 3.
  EXPECT_EQ(windowOutputSize(5, window(2, 2, 1, 1, 1, true), nullptr), 3);
  EXPECT_EQ(windowOutputSize(5, window(2, 2, 1, 1, 1, false), nullptr), 3);
  // Stride 3: starts 0, 3, 6 → 6 dropped, 2.
  EXPECT_EQ(windowOutputSize(5, window(2, 3, 1, 1, 1, true), nullptr), 2);
  // Ceil adds a window that starts inside the input: 6, kernel 3, stride 2 → starts 0, 2, 4.
  EXPECT_EQ(windowOutputSize(6, window(3, 2), nullptr), 2);
  EXPECT_EQ(windowOutputSize(6, window(3, 2, 1, 0, 0, true), nullptr), 3);
  // An exact fit needs no rounding: ceil equals floor.
  EXPECT_EQ(windowOutputSize(7, window(3, 2, 1, 0, 0, true), nullptr), 3);
  // A window starting in the leading padding is fine.
  EXPECT_EQ(windowOutputSize(1, window(2, 1, 1, 1, 1, true), nullptr), 2);
}

TEST(WindowOutputSize, WindowFillingThePaddedInputGivesOne) {
  EXPECT_EQ(windowOutputSize(5, window(3, 4, 3, 1, 1), nullptr), 1);    // span 7 = 5 + 2
  EXPECT_EQ(windowOutputSize(1, window(1, 1000), nullptr), 1);
  EXPECT_EQ(windowOutputSize(3, window(3, 1000, 1, 0, 0, true), nullptr), 1);
}

TEST(WindowOutputSize, DynamicInputGivesDynamicOutput) {
  for (bool ceil : {false, true}) {
    EXPECT_EQ(windowOutputSize(kDynamic, window(5), nullptr), kDynamic);
    EXPECT_EQ(windowOutputSize(kDynamic, window(3, 2, 2, 1, 0, ceil), nullptr), kDynamic);
    // The window itself is still checked, since that needs no input extent.
    std::string why;
    EXPECT_EQ(windowOutputSize(kDynamic, window(0, 1, 1, 0, 0, ceil), &why), std::nullopt);
    EXPECT_EQ(why, "kernel size must be positive, got 0");
    EXPECT_EQ(windowOutputSize(kDynamic, window(3, 1, 1, -1, 0, ceil), &why), std::nullopt);
    EXPECT_EQ(windowOutputSize(kDynamic, window(3, 1, kMax), &why), std::nullopt);
    EXPECT_EQ(why, "window extent overflows 64 bits");
  }
}

//===----------------------------------------------------------------------===//
// windowOutputSize: errors
//===----------------------------------------------------------------------===//

TEST(WindowOutputSize, RejectsNonPositiveParameters) {
  std::string why;
  for (int64_t bad : {int64_t{0}, int64_t{-1}, kMin}) {
    EXPECT_EQ(windowOutputSize(8, window(bad), &why), std::nullopt);
    EXPECT_EQ(why, "kernel size must be positive, got " + std::to_string(bad));
    EXPECT_EQ(windowOutputSize(8, window(2, bad), &why), std::nullopt);
    EXPECT_EQ(why, "stride must be positive, got " + std::to_string(bad));
    EXPECT_EQ(windowOutputSize(8, window(2, 1, bad), &why), std::nullopt);
    EXPECT_EQ(why, "dilation must be positive, got " + std::to_string(bad));
  }
  // A non-dynamic input extent must be positive too (the dialect checks it first).
  EXPECT_EQ(windowOutputSize(0, window(1), &why), std::nullopt);
  EXPECT_EQ(why, "input extent must be positive, got 0");
  EXPECT_EQ(windowOutputSize(-7, window(1), &why), std::nullopt);
  EXPECT_EQ(why, "input extent must be positive, got -7");
  // A null error pointer is allowed.
  EXPECT_EQ(windowOutputSize(8, window(0), nullptr), std::nullopt);
}

TEST(WindowOutputSize, RejectsNegativePadding) {
  std::string why;
  EXPECT_EQ(windowOutputSize(8, window(3, 1, 1, -1, 0), &why), std::nullopt);
  EXPECT_EQ(why, "padding must be non-negative, got -1 before and 0 after");
  EXPECT_EQ(windowOutputSize(8, window(3, 1, 1, 0, kMin), &why), std::nullopt);
  EXPECT_EQ(why, "padding must be non-negative, got 0 before and " + std::to_string(kMin) +
                     " after");
}

TEST(WindowOutputSize, RejectsKernelLargerThanThePaddedInput) {
  std::string why;
  EXPECT_EQ(windowOutputSize(4, window(5), &why), std::nullopt);
  EXPECT_EQ(why, "window extent 5 (kernel 5, dilation 1) exceeds the padded input extent 4");
  EXPECT_EQ(windowOutputSize(8, window(5, 1, 3, 2, 2), &why), std::nullopt);
  EXPECT_EQ(why, "window extent 13 (kernel 5, dilation 3) exceeds the padded input extent 12");
  // One more element of padding makes it fit.
  EXPECT_EQ(windowOutputSize(8, window(5, 1, 3, 2, 3), &why), 1);
}

//===----------------------------------------------------------------------===//
// windowOutputSize: near INT64_MAX
//===----------------------------------------------------------------------===//

TEST(WindowOutputSize, OverflowOfThePaddedInput) {
  std::string why;
  EXPECT_EQ(windowOutputSize(kMax, window(1, 1, 1, 1, 0), &why), std::nullopt);
  EXPECT_EQ(why, "padded input extent overflows 64 bits");
  EXPECT_EQ(windowOutputSize(kMax - 1, window(1, 1, 1, 1, 1), &why), std::nullopt);
  EXPECT_EQ(windowOutputSize(1, window(1, 1, 1, kMax, 1), &why), std::nullopt);
  EXPECT_EQ(windowOutputSize(1, window(1, 1, 1, kMax, kMax), &why), std::nullopt);
  // Exactly INT64_MAX is fine.
  EXPECT_EQ(windowOutputSize(kMax - 2, window(1, 1, 1, 1, 1), nullptr), kMax);
  EXPECT_EQ(windowOutputSize(1, window(1, 1, 1, kMax - 1, 0), nullptr), kMax);
  EXPECT_EQ(windowOutputSize(1, window(1, 1, 1, kMax - 1, 0, true), nullptr), kMax);
}

TEST(WindowOutputSize, OverflowOfTheWindowExtent) {
  std::string why;
  // d·(k−1) overflows.
  EXPECT_EQ(windowOutputSize(8, window(3, 1, kMax), &why), std::nullopt);
  EXPECT_EQ(why, "window extent overflows 64 bits");
  EXPECT_EQ(windowOutputSize(8, window(kMax, 1, 2), &why), std::nullopt);
  EXPECT_EQ(why, "window extent overflows 64 bits");
  // d·(k−1) = INT64_MAX fits, + 1 does not.
  EXPECT_EQ(windowOutputSize(8, window(2, 1, kMax), &why), std::nullopt);
  EXPECT_EQ(why, "window extent overflows 64 bits");
  // Span exactly INT64_MAX: fits an input of INT64_MAX once.
  EXPECT_EQ(windowOutputSize(kMax, window(3, 1, kMax / 2), nullptr), 1);
  EXPECT_EQ(windowOutputSize(kMax, window(kMax), nullptr), 1);
  EXPECT_EQ(windowOutputSize(kMax - 1, window(kMax), &why), std::nullopt);
  EXPECT_EQ(why, "window extent " + std::to_string(kMax) + " (kernel " + std::to_string(kMax) +
                     ", dilation 1) exceeds the padded input extent " + std::to_string(kMax - 1));
  // Kernel 1 never overflows, whatever the dilation.
  EXPECT_EQ(windowOutputSize(8, window(1, 1, kMax), nullptr), 8);
}

TEST(WindowOutputSize, LargeExtentsMatchPyTorch) {
  EXPECT_EQ(windowOutputSize(kMax, window(1), nullptr), kMax);
  EXPECT_EQ(windowOutputSize(kMax, window(1, kMax), nullptr), 1);
  EXPECT_EQ(windowOutputSize(kMax, window(1, kMax, 1, 0, 0, true), nullptr), 1);
  EXPECT_EQ(windowOutputSize(kMax, window(3, 2), nullptr), kMax / 2);

  // Random configurations with n + pb + pa ≤ INT64_MAX and p_after < span (see above), drawn
  // from a fixed seed so that a failure reproduces.
  std::mt19937_64 random(20240607);
  auto near = [&](int64_t limit) -> int64_t {
    // Half the draws near the limit, half anywhere in [1, limit].
    std::uniform_int_distribution<int64_t> offset(0, 1000), any(1, limit);
    return random() % 2 ? std::max<int64_t>(1, limit - offset(random)) : any(random);
  };
  for (int i = 0; i < 20000; ++i) {
    int64_t n = near(kMax);
    int64_t k = random() % 4 ? std::uniform_int_distribution<int64_t>(1, 9)(random) : near(n);
    int64_t d = k == 1 ? near(kMax) : std::uniform_int_distribution<int64_t>(1, 4)(random);
    int64_t s = random() % 2 ? std::uniform_int_distribution<int64_t>(1, 9)(random) : near(kMax);
    __int128 span = (__int128)d * (k - 1) + 1;
    int64_t room = kMax - n;
    int64_t pb = room ? std::uniform_int_distribution<int64_t>(0, std::min<int64_t>(room, 3))(random) : 0;
    int64_t pa = std::min<int64_t>(room - pb, random() % 3);
    bool ceil = random() % 2;
    Window w = window(k, s, d, pb, pa, ceil);
    if (span > (__int128)n + pb + pa || pa >= span)
      continue; // rejected (checked above) or where PyTorch differs by design
    std::string why;
    std::optional<int64_t> got = windowOutputSize(n, w, &why);
    ASSERT_TRUE(got.has_value()) << describe(n, w) << ": " << why;
    ASSERT_EQ((__int128)*got, pytorchOutputSize(n, w)) << describe(n, w);
  }
}

} // namespace
