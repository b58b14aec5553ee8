// Checks every reference gradient (reference/Gradients.h) against central finite differences of
// the forward reference (reference/Reference.h) on random configurations. For a random dy and
// L(x) = Σ dy·f(x), each element of the analytic gradient must match (L(x + h·e) − L(x − h·e))/2h
// with h = 1e-3, all in double, within |g − fd| ≤ atol + rtol·|fd|, rtol = 1e-3, atol = 1e-4. The
// ops are linear or smooth where they are sampled, so the central difference is off by O(h²).
// Each configuration comes from its own seed, printed (with the configuration) on failure.
#include "reference/Gradients.h"
#include "reference/Reference.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <numeric>
#include <random>
#include <string>

using namespace kiln::reference;

namespace {

constexpr double kStep = 1e-3, kRtol = 1e-3, kAtol = 1e-4;
constexpr unsigned kSeed = 1234; // configuration i of a family uses seed kSeed + i
constexpr unsigned kConfigs = 36;

using Shape = std::vector<int64_t>;
using Forward = std::function<Tensor(const Tensor &)>;

struct Rng {
  explicit Rng(unsigned seed) : generator(seed) {}
  double uniform(double lo, double hi) {
    return std::uniform_real_distribution<double>(lo, hi)(generator);
  }
  int64_t integer(int64_t lo, int64_t hi) { // inclusive
    return std::uniform_int_distribution<int64_t>(lo, hi)(generator);
  }
  bool coin() { return integer(0, 1) == 1; }
  std::mt19937 generator;
};

Tensor random(Shape shape, Rng &rng, double lo = -1.0, double hi = 1.0) {
  Tensor t{std::move(shape), {}};
  for (int64_t i = 0; i < t.numel(); ++i)
    t.data.push_back(rng.uniform(lo, hi));
  return t;
}

// Random values at least 1e-2 apart (a shuffled grid of step 2e-2, jittered by ±5e-3), so that no
// window has two values within 1e-2: max pooling is then linear within ±h of the sample.
Tensor distinct(Shape shape, Rng &rng) {
  Tensor t{std::move(shape), {}};
  std::vector<int64_t> order(static_cast<size_t>(t.numel()));
  std::iota(order.begin(), order.end(), 0);
  std::shuffle(order.begin(), order.end(), rng.generator);
  for (int64_t rank : order)
    t.data.push_back(0.02 * static_cast<double>(rank - t.numel() / 2) + rng.uniform(-5e-3, 5e-3));
  return t;
}

std::string str(const Shape &v) {
  std::string s = "[";
  for (size_t i = 0; i < v.size(); ++i)
    s += (i ? "," : "") + std::to_string(v[i]);
  return s + "]";
}

std::string trace(unsigned index, const std::string &config) {
  return "seed " + std::to_string(kSeed + index) + ": " + config;
}

double objective(const Forward &f, const Tensor &x, const Tensor &dy) {
  Tensor y = f(x);
  double sum = 0.0;
  for (size_t i = 0; i < y.data.size(); ++i)
    sum += dy.data[i] * y.data[i];
  return sum;
}

// `grad` must be the gradient of Σ dy·f(x) at x = `at`, element by element.
void expectGradient(const std::string &what, const Forward &f, const Tensor &at, const Tensor &dy,
                    const Tensor &grad, double step = kStep) {
  Tensor y = f(at);
  ASSERT_TRUE(y.valid()) << what << ": the forward op rejects its inputs";
  ASSERT_EQ(y.shape, dy.shape) << what;
  ASSERT_TRUE(grad.valid()) << what << ": the gradient is invalid";
  ASSERT_EQ(grad.shape, at.shape) << what;
  int failures = 0;
  Tensor x = at;
  for (size_t i = 0; i < x.data.size(); ++i) {
    double saved = x.data[i];
    x.data[i] = saved + step;
    double plus = objective(f, x, dy);
    x.data[i] = saved - step;
    double minus = objective(f, x, dy);
    x.data[i] = saved;
    double fd = (plus - minus) / (2.0 * step);
    if (!(std::abs(grad.data[i] - fd) <= kAtol + kRtol * std::abs(fd)) && ++failures <= 3)
      ADD_FAILURE() << what << ": element " << i << " is " << grad.data[i]
                    << ", finite differences give " << fd;
  }
  EXPECT_EQ(failures, 0) << what << ": " << failures << " of " << x.data.size() << " differ";
}

// A random dy of the shape f gives at x.
Tensor randomGradient(const Forward &f, const Tensor &x, Rng &rng) {
  return random(f(x).shape, rng);
}

Shape spatialShape(int64_t batch, int64_t channels, const Shape &extents) {
  Shape shape{batch, channels};
  shape.insert(shape.end(), extents.begin(), extents.end());
  return shape;
}

//===----------------------------------------------------------------------===//
// Convolution
//===----------------------------------------------------------------------===//

TEST(GradientReference, Convolution) {
  for (unsigned index = 0; index < kConfigs; ++index) {
    Rng rng(kSeed + index);
    int64_t spatial = 1 + index % 3;
    ConvParams p;
    int64_t kind = rng.integer(0, 3); // groups: 1, 2, 3, or depthwise
    p.groups = kind == 0 ? 1 : kind == 3 ? rng.integer(2, 4) : kind + 1;
    int64_t inPerGroup = kind == 3 ? 1 : rng.integer(1, 2), outPerGroup = rng.integer(1, 2);
    Shape kernel, extents, before, after;
    for (int64_t i = 0; i < spatial; ++i) {
      int64_t k = rng.integer(1, 3), d = rng.integer(1, 2), s = rng.integer(1, 3);
      int64_t pb = rng.integer(0, 2), pa = rng.integer(0, 2);
      int64_t need = std::max<int64_t>(1, d * (k - 1) + 1 - pb - pa);
      kernel.push_back(k);
      p.dilations.push_back(d);
      p.strides.push_back(s);
      before.push_back(pb);
      after.push_back(pa);
      extents.push_back(need + rng.integer(0, spatial == 3 ? 2 : 4));
    }
    p.padding = before;
    p.padding.insert(p.padding.end(), after.begin(), after.end());
    Tensor x = random(spatialShape(rng.integer(1, 2), p.groups * inPerGroup, extents), rng);
    Tensor w = random(spatialShape(p.groups * outPerGroup, inPerGroup, kernel), rng);
    Tensor b = random({w.shape[0]}, rng);
    SCOPED_TRACE(trace(index, "x " + str(x.shape) + " w " + str(w.shape) + " strides " +
                                  str(p.strides) + " padding " + str(p.padding) + " dilations " +
                                  str(p.dilations) + " groups " + std::to_string(p.groups)));
    Tensor dy = random(conv(x, w, &b, p).shape, rng);
    expectGradient(
        "dx", [&](const Tensor &v) { return conv(v, w, &b, p); }, x, dy,
        convBackwardData(dy, w, p, x.shape));
    expectGradient(
        "dw", [&](const Tensor &v) { return conv(x, v, &b, p); }, w, dy,
        convBackwardFilter(x, dy, p, w.shape));
    expectGradient(
        "dbias", [&](const Tensor &v) { return conv(x, w, &v, p); }, b, dy, reduceToChannel(dy));
  }
}

//===----------------------------------------------------------------------===//
// Pooling
//===----------------------------------------------------------------------===//

// A random pooling configuration: kernel 1-3 (at least one > 1), stride 1-3, padding < kernel
// per side (the verifier's rule), input extent ≥ kernel.
PoolParams randomPool(Rng &rng, int64_t spatial, Shape &extents) {
  PoolParams p;
  Shape after;
  for (int64_t i = 0; i < spatial; ++i) {
    int64_t k = rng.integer(i == 0 ? 2 : 1, 3);
    p.kernel.push_back(k);
    p.strides.push_back(rng.integer(1, 3));
    p.padding.push_back(rng.integer(0, k - 1));
    after.push_back(rng.integer(0, k - 1));
    extents.push_back(k + rng.integer(0, spatial == 3 ? 2 : 4));
  }
  p.padding.insert(p.padding.end(), after.begin(), after.end());
  p.ceilMode = rng.coin();
  p.countIncludePad = rng.coin();
  return p;
}

std::string describe(const Shape &x, const PoolParams &p) {
  return "x " + str(x) + " kernel " + str(p.kernel) + " strides " + str(p.strides) + " padding " +
         str(p.padding) + " ceil " + std::to_string(p.ceilMode) + " count_include_pad " +
         std::to_string(p.countIncludePad);
}

TEST(GradientReference, MaxPool) {
  for (unsigned index = 0; index < kConfigs; ++index) {
    Rng rng(kSeed + index);
    Shape extents;
    PoolParams p = randomPool(rng, 1 + index % 3, extents);
    Tensor x = distinct(spatialShape(rng.integer(1, 2), rng.integer(1, 3), extents), rng);
    SCOPED_TRACE(trace(index, describe(x.shape, p)));
    Forward f = [&](const Tensor &v) { return maxPool(v, p); };
    Tensor dy = randomGradient(f, x, rng);
    expectGradient("dx", f, x, dy, maxPoolBackward(x, dy, p));
  }
}

// x − 1e-6·(flat index) breaks every tie of an integer-valued x in favour of the lowest index,
// which within a window is the first in window order, without changing any other comparison.
Tensor breakTiesTowardsFirst(Tensor x) {
  for (size_t i = 0; i < x.data.size(); ++i)
    x.data[i] -= 1e-6 * static_cast<double>(i);
  return x;
}

TEST(GradientReference, MaxPoolTiesGoToTheFirstMaximum) {
  // Windows (1, 3), (3, 3), (3, 2) of [1, 3, 3, 2]: the tied middle window's maximum is the first
  // 3 (index 1), the last window's the second (index 2).
  PoolParams pair{{1, 2}, {1, 1}, {0, 0, 0, 0}};
  Tensor dx = maxPoolBackward({{1, 1, 1, 4}, {1, 3, 3, 2}}, {{1, 1, 1, 3}, {1, 10, 100}}, pair);
  EXPECT_EQ(dx.data, (std::vector<double>{0, 11, 100, 0}));
  // Padding never wins: all −1 with one pad a side; every window's first input position wins.
  PoolParams padded{{2, 2}, {1, 1}, {1, 1, 1, 1}};
  Tensor ones{{1, 1, 3, 3}, std::vector<double>(9, 1.0)};
  dx = maxPoolBackward({{1, 1, 2, 2}, {-1, -1, -1, -1}}, ones, padded);
  EXPECT_EQ(dx.data, (std::vector<double>{4, 2, 2, 1}));
  // Random integer data (ties everywhere): the gradient equals that of the tie-broken input,
  // found by finite differences with a step below the tie-breaking gaps.
  for (unsigned index = 0; index < kConfigs; ++index) {
    Rng rng(kSeed + index);
    Shape extents;
    PoolParams p = randomPool(rng, 1 + index % 3, extents);
    Tensor x = random(spatialShape(rng.integer(1, 2), rng.integer(1, 3), extents), rng);
    for (double &v : x.data)
      v = std::floor(2.0 * v); // −2, −1, 0, 1
    SCOPED_TRACE(trace(index, describe(x.shape, p)));
    Forward f = [&](const Tensor &v) { return maxPool(v, p); };
    Tensor dy = randomGradient(f, x, rng);
    expectGradient("dx (ties)", f, breakTiesTowardsFirst(x), dy, maxPoolBackward(x, dy, p), 1e-7);
    Tensor globalDy = random(globalMaxPool(x).shape, rng);
    expectGradient(
        "global dx (ties)", [](const Tensor &v) { return globalMaxPool(v); },
        breakTiesTowardsFirst(x), globalDy, globalMaxPoolBackward(x, globalDy), 1e-7);
  }
}

TEST(GradientReference, AvgPool) {
  for (unsigned index = 0; index < kConfigs; ++index) {
    Rng rng(kSeed + index);
    Shape extents;
    PoolParams p = randomPool(rng, 1 + index % 3, extents);
    Tensor x = random(spatialShape(rng.integer(1, 2), rng.integer(1, 3), extents), rng);
    SCOPED_TRACE(trace(index, describe(x.shape, p)));
    Forward f = [&](const Tensor &v) { return avgPool(v, p); };
    Tensor dy = randomGradient(f, x, rng);
    expectGradient("dx", f, x, dy, avgPoolBackward(dy, p, x.shape));
  }
}

TEST(GradientReference, GlobalPools) {
  for (unsigned index = 0; index < kConfigs; ++index) {
    Rng rng(kSeed + index);
    Shape extents;
    for (unsigned i = 0; i < 1 + index % 3; ++i)
      extents.push_back(rng.integer(1, 4));
    Shape shape = spatialShape(rng.integer(1, 3), rng.integer(1, 3), extents);
    SCOPED_TRACE(trace(index, "x " + str(shape)));
    Tensor x = random(shape, rng);
    Forward average = [](const Tensor &v) { return globalAvgPool(v); };
    Tensor dy = randomGradient(average, x, rng);
    expectGradient("avg dx", average, x, dy, globalAvgPoolBackward(dy, shape));
    x = distinct(shape, rng);
    Forward maximum = [](const Tensor &v) { return globalMaxPool(v); };
    expectGradient("max dx", maximum, x, dy, globalMaxPoolBackward(x, dy));
  }
}

//===----------------------------------------------------------------------===//
// Batch norm (training mode), dense, elementwise ops
//===----------------------------------------------------------------------===//

TEST(GradientReference, BatchNormTrainingThroughTheBatchStatistics) {
  const double epsilons[] = {1e-5, 1e-3, 0.1};
  for (unsigned index = 0; index < kConfigs; ++index) {
    Rng rng(kSeed + index);
    Shape shape{rng.integer(1, 3), rng.integer(1, 3)};
    for (unsigned i = 0; i < index % 4; ++i)
      shape.push_back(rng.integer(1, 3));
    int64_t plane = Tensor{shape, {}}.numel() / (shape[0] * shape[1]);
    shape[0] = std::max<int64_t>(shape[0], (4 + plane - 1) / plane); // ≥ 4 values a channel
    double eps = epsilons[index % 3];
    SCOPED_TRACE(trace(index, "x " + str(shape) + " eps " + std::to_string(eps)));
    // Resampled until every channel's standard deviation exceeds 0.3: the normalization's
    // curvature grows like 1/σ³, and this keeps the O(h²) error of the differences negligible.
    Tensor x, var;
    do {
      x = random(shape, rng, -2.0, 2.0);
      var = channelVar(x, false);
      ASSERT_TRUE(var.valid());
    } while (*std::min_element(var.data.begin(), var.data.end()) < 0.09);
    Tensor gamma = random({shape[1]}, rng, 0.5, 1.5), beta = random({shape[1]}, rng);
    Forward f = [&](const Tensor &v) { return batchNormTrain(v, gamma, beta, eps); };
    Tensor dy = randomGradient(f, x, rng);
    expectGradient("dx", f, x, dy, batchNormTrainBackwardData(x, dy, gamma, eps));
    expectGradient(
        "dgamma", [&](const Tensor &v) { return batchNormTrain(x, v, beta, eps); }, gamma, dy,
        batchNormTrainBackwardWeight(x, dy, eps));
    expectGradient(
        "dbeta", [&](const Tensor &v) { return batchNormTrain(x, gamma, v, eps); }, beta, dy,
        reduceToChannel(dy));
  }
}

TEST(GradientReference, Dense) {
  for (unsigned index = 0; index < kConfigs; ++index) {
    Rng rng(kSeed + index);
    Tensor x = random({rng.integer(1, 4), rng.integer(1, 6)}, rng);
    Tensor w = random({rng.integer(1, 5), x.shape[1]}, rng), b = random({w.shape[0]}, rng);
    SCOPED_TRACE(trace(index, "x " + str(x.shape) + " w " + str(w.shape)));
    Tensor dy = random(dense(x, w, &b).shape, rng);
    expectGradient(
        "dx", [&](const Tensor &v) { return dense(v, w, &b); }, x, dy, denseBackwardData(dy, w));
    expectGradient(
        "dw", [&](const Tensor &v) { return dense(x, v, &b); }, w, dy, denseBackwardWeight(x, dy));
    expectGradient(
        "dbias", [&](const Tensor &v) { return dense(x, w, &v); }, b, dy, reduceToChannel(dy));
  }
}

Shape randomShape(Rng &rng, int64_t minRank, int64_t maxRank) {
  Shape shape;
  for (int64_t i = 0, n = rng.integer(minRank, maxRank); i < n; ++i)
    shape.push_back(rng.integer(1, 4));
  return shape;
}

TEST(GradientReference, Activations) {
  for (unsigned index = 0; index < kConfigs; ++index) {
    Rng rng(kSeed + index);
    Shape shape = randomShape(rng, 1, 4);
    SCOPED_TRACE(trace(index, "x " + str(shape)));
    Tensor x = random(shape, rng, -3.0, 3.0), dy = random(shape, rng);
    Tensor away = x; // relu has a kink at 0: resample points within 1e-2 of it
    for (double &v : away.data)
      while (std::abs(v) < 1e-2)
        v = rng.uniform(-3.0, 3.0);
    expectGradient(
        "relu", [](const Tensor &v) { return relu(v); }, away, dy, reluBackward(away, dy));
    expectGradient(
        "tanh", [](const Tensor &v) { return kiln::reference::tanh(v); }, x, dy,
        tanhBackward(kiln::reference::tanh(x), dy));
    expectGradient(
        "sigmoid", [](const Tensor &v) { return sigmoid(v); }, x, dy,
        sigmoidBackward(sigmoid(x), dy));
  }
  // At the kink relu's gradient is 0, as PyTorch's.
  EXPECT_EQ(reluBackward({{3}, {-1, 0, 1}}, {{3}, {5, 6, 7}}).data, (std::vector<double>{0, 0, 7}));
}

TEST(GradientReference, AddFlattenAndReshape) {
  for (unsigned index = 0; index < kConfigs; ++index) {
    Rng rng(kSeed + index);
    Shape shape = randomShape(rng, 2, 5);
    SCOPED_TRACE(trace(index, "x " + str(shape)));
    Tensor a = random(shape, rng), b = random(shape, rng), dy = random(shape, rng);
    // add's gradient is dy for each operand (Gradients.cpp in the dialect passes dy through).
    expectGradient(
        "add lhs", [&](const Tensor &v) { return add(v, b); }, a, dy, dy);
    expectGradient(
        "add rhs", [&](const Tensor &v) { return add(a, v); }, b, dy, dy);
    Forward flat = [](const Tensor &v) { return flatten(v); };
    Tensor flatDy = randomGradient(flat, a, rng);
    expectGradient("flatten", flat, a, flatDy, reshape(flatDy, shape));
    Shape other{a.numel()};
    Forward reshaped = [&](const Tensor &v) { return reshape(v, other); };
    Tensor otherDy = randomGradient(reshaped, a, rng);
    expectGradient("reshape", reshaped, a, otherDy, reshape(otherDy, shape));
  }
}

TEST(GradientReference, SoftmaxAndLogSoftmax) {
  for (unsigned index = 0; index < kConfigs; ++index) {
    Rng rng(kSeed + index);
    Shape shape = randomShape(rng, 1, 4);
    int64_t axis = rng.integer(0, static_cast<int64_t>(shape.size()) - 1);
    SCOPED_TRACE(trace(index, "x " + str(shape) + " axis " + std::to_string(axis)));
    Tensor x = random(shape, rng, -3.0, 3.0), dy = random(shape, rng);
    expectGradient(
        "softmax", [&](const Tensor &v) { return softmax(v, axis); }, x, dy,
        softmaxBackward(softmax(x, axis), dy, axis));
    expectGradient(
        "log_softmax", [&](const Tensor &v) { return logSoftmax(v, axis); }, x, dy,
        logSoftmaxBackward(logSoftmax(x, axis), dy, axis));
  }
}

TEST(GradientReference, SoftmaxCrossEntropy) {
  for (unsigned index = 0; index < kConfigs; ++index) {
    Rng rng(kSeed + index);
    Tensor logits = random({rng.integer(1, 5), rng.integer(2, 7)}, rng, -3.0, 3.0);
    std::vector<int64_t> labels;
    for (int64_t n = 0; n < logits.shape[0]; ++n)
      labels.push_back(rng.integer(0, logits.shape[1] - 1));
    SCOPED_TRACE(trace(index, "logits " + str(logits.shape) + " labels " + str(labels)));
    Forward f = [&](const Tensor &v) { return Tensor{{}, {softmaxCrossEntropy(v, labels)}}; };
    Tensor dy{{}, {1.0}}; // the loss is the root: its gradient is 1
    expectGradient("dlogits", f, logits, dy, softmaxCrossEntropyBackward(logits, labels));
  }
}

//===----------------------------------------------------------------------===//
// Statistics and optimizers: values computed by hand
//===----------------------------------------------------------------------===//

TEST(GradientReference, ChannelStatisticsAndRunningUpdate) {
  // Channel 0 holds 1, 2 (image 0) and 3, 6 (image 1): mean 3, squared deviations 4+1+0+9 = 14.
  Tensor x{{2, 2, 2}, {1, 2, 10, 10, 3, 6, 10, 10}};
  EXPECT_EQ(channelMean(x).data, (std::vector<double>{3, 10}));
  EXPECT_EQ(channelVar(x, false).data, (std::vector<double>{3.5, 0}));
  EXPECT_NEAR(channelVar(x, true).data[0], 14.0 / 3.0, 1e-15);
  Tensor running = runningUpdate({{2}, {0, 1}}, {{2}, {3, 2}}, 0.1); // 0.9·running + 0.1·batch
  ASSERT_EQ(running.shape, Shape{2});
  EXPECT_NEAR(running.data[0], 0.3, 1e-15);
  EXPECT_NEAR(running.data[1], 0.9 + 0.2, 1e-15);
}

TEST(GradientReference, OptimizersFollowPyTorch) {
  const double lr = 0.1, momentum = 0.9, decay = 0.01;
  std::vector<double> hyper{lr, momentum, decay, 0.9, 0.999, 1e-8, 0.1, 0.001};
  Tensor p{{2}, {1.0, -2.0}}, g{{2}, {0.5, 0.25}}, zero{{2}, {0.0, 0.0}};
  // SGD's first step (buffer 0): v = g + wd·p; p' = p − lr·v.
  Tensor v = momentumUpdate(zero, g, p, hyper);
  EXPECT_NEAR(v.data[0], 0.5 + 0.01, 1e-15);
  EXPECT_NEAR(v.data[1], 0.25 - 0.02, 1e-15);
  Tensor next = sgdStep(p, v, hyper);
  EXPECT_NEAR(next.data[0], 1.0 - 0.1 * 0.51, 1e-15);
  // Second step: v' = momentum·v + g + wd·p'.
  Tensor v2 = momentumUpdate(v, g, next, hyper);
  EXPECT_NEAR(v2.data[0], 0.9 * 0.51 + 0.5 + 0.01 * next.data[0], 1e-15);
  // Adam's first step (t = 1, moments 0): m/bc1 = g', v/bc2 = g'², so p' = p − lr·g'/(|g'| + ε).
  hyper[6] = 1 - 0.9;
  hyper[7] = 1 - 0.999;
  Tensor m1 = adamMoment(zero, g, p, hyper, false), m2 = adamMoment(zero, g, p, hyper, true);
  EXPECT_NEAR(m1.data[0], 0.1 * 0.51, 1e-15);
  EXPECT_NEAR(m2.data[1], 0.001 * 0.23 * 0.23, 1e-15);
  Tensor adam = adamStep(p, m1, m2, hyper);
  EXPECT_NEAR(adam.data[0], 1.0 - 0.1 * 0.51 / (0.51 + 1e-8), 1e-12);
  EXPECT_NEAR(adam.data[1], -2.0 - 0.1 * 0.23 / (0.23 + 1e-8), 1e-12);
}

TEST(GradientReference, RejectsInputsThatDoNotFit) {
  Tensor x{{1, 2, 4, 4}, std::vector<double>(32, 1.0)}, w{{2, 2, 3, 3}, std::vector<double>(36)};
  ConvParams p{{1, 1}, {0, 0, 0, 0}, {1, 1}, 1};
  Tensor dy{{1, 2, 2, 2}, std::vector<double>(8)};
  EXPECT_TRUE(convBackwardData(dy, w, p, x.shape).valid());
  EXPECT_FALSE(convBackwardData(dy, w, p, {1, 2, 5, 4}).valid()); // dy is not conv's output
  EXPECT_FALSE(convBackwardData(dy, w, p, {1, 2, -4, 4}).valid());
  EXPECT_FALSE(convBackwardFilter(x, dy, {{1, 1}, {0, 0, 0, 0}, {1, 1}, 3}, w.shape).valid());
  EXPECT_FALSE(convBackwardFilter(x, dy, {{1}, {0, 0}, {1}, 1}, w.shape).valid());
  EXPECT_FALSE(reduceToChannel({{4}, std::vector<double>(4)}).valid());
  PoolParams pool{{2, 2}, {2, 2}, {0, 0, 0, 0}};
  EXPECT_TRUE(maxPoolBackward(x, dy, pool).valid());
  EXPECT_FALSE(maxPoolBackward(x, x, pool).valid());
  EXPECT_FALSE(avgPoolBackward(dy, pool, {2, 4, 4}).valid());
  EXPECT_FALSE(globalAvgPoolBackward(dy, x.shape).valid());
  EXPECT_FALSE(globalMaxPoolBackward(x, dy).valid());
  EXPECT_FALSE(batchNormTrain(x, {{3}, {1, 1, 1}}, {{2}, {0, 0}}, 1e-5).valid());
  EXPECT_FALSE(batchNormTrainBackwardData(x, dy, {{2}, {1, 1}}, 1e-5).valid());
  EXPECT_FALSE(channelVar({{1, 2}, {1, 2}}, true).valid()); // one value per channel
  EXPECT_TRUE(channelVar({{1, 2}, {1, 2}}, false).valid());
  EXPECT_FALSE(runningUpdate({{2}, {0, 0}}, {{3}, {0, 0, 0}}, 0.1).valid());
  Tensor dense23{{2, 3}, std::vector<double>(6)}, dense33{{3, 3}, std::vector<double>(9)};
  EXPECT_FALSE(denseBackwardData(dense23, {{4, 3}, std::vector<double>(12)}).valid());
  EXPECT_FALSE(denseBackwardWeight(dense23, dense33).valid());
  EXPECT_FALSE(tanhBackward(x, dy).valid());
  EXPECT_FALSE(reshape(x, {31}).valid());
  EXPECT_FALSE(reshape(x, {-1, -32}).valid());
  EXPECT_FALSE(softmaxBackward(x, x, 4).valid());
  EXPECT_FALSE(softmaxCrossEntropyBackward({{1, 2}, {0, 0}}, {2}).valid());
  EXPECT_FALSE(softmaxCrossEntropyBackward({{1, 2}, {0, 0}}, {0, 0}).valid());
  EXPECT_FALSE(momentumUpdate(x, x, x, {0.1}).valid());
  EXPECT_FALSE(adamStep(x, x, dy, std::vector<double>(8, 1.0)).valid());
}

} // namespace
