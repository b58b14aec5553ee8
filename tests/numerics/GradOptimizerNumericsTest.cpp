// The optimizers' update kernels (SGD with momentum and weight decay, Adam) against the
// reference on random parameter shapes (rank 1–4) and hyperparameters. Tolerance: GradTesting.h.
#include "GradTesting.h"

#include <cmath>
#include <functional>

#include <gtest/gtest.h>

namespace kiln::testing {
namespace {

constexpr unsigned kSeed = 20261205;
constexpr int kConfigs = 50;

std::vector<int64_t> parameterShape(std::mt19937 &rng) {
  int64_t rank = pick(rng, 1, 4);
  if (rank == 1)
    return {pick(rng, 1, 70)};
  std::vector<int64_t> shape;
  for (int64_t i = 0; i < rank; ++i)
    shape.push_back(pick(rng, 1, 9));
  return shape;
}

// [lr, momentum, weight decay, β1, β2, ε, 1 − β1^t, 1 − β2^t] at a random step t, as floats.
std::vector<double> randomHyper(std::mt19937 &rng) {
  double beta1 = uniform(rng, 0.5, 0.95), beta2 = uniform(rng, 0.9, 0.9999);
  double t = static_cast<double>(pick(rng, 1, 100));
  std::vector<double> h{
      uniform(rng, 1e-3, 0.5),  uniform(rng, 0.0, 0.99),  uniform(rng, 0.0, 1e-2), beta1, beta2,
      uniform(rng, 1e-8, 1e-3), 1.0 - std::pow(beta1, t), 1.0 - std::pow(beta2, t)};
  for (double &v : h)
    v = static_cast<float>(v);
  return h;
}

// The optimizer op `name` over `count` parameter-shaped operands and hyper, with its reference.
void checkOptimizer(const std::string &name, int count, unsigned seed,
                    const std::function<Tensor(const std::vector<Tensor> &,
                                               const std::vector<double> &, int)> &reference) {
  std::mt19937 rng(seed);
  for (int config = 0; config < kConfigs; ++config) {
    std::vector<int64_t> shape = parameterShape(rng);
    std::vector<double> hyper = randomHyper(rng);
    OpCase c;
    std::string type = mlirType(shape, false), operands, types;
    for (int i = 0; i < count; ++i) {
      c.inputs.push_back(randomTensor(shape, rng));
      c.argTypes.push_back(type);
      operands += "%a" + std::to_string(i) + ", ";
      types += type + ", ";
    }
    c.inputs.push_back(Tensor{{8}, hyper});
    c.argTypes.push_back("tensor<8xf32>");
    std::string attributes =
        name == "adam_moment" ? (config % 2 ? " second = true" : " second = false") : "";
    c.op = "nn." + name + " " + operands + "%a" + std::to_string(count) + attributes + " : (" +
           types + "tensor<8xf32>) -> tensor<*xf32>";
    Tensor ref = reference(c.inputs, hyper, config);
    ASSERT_EQ(checkAgainstReference(c, ref, seed, config), "");
  }
}

TEST(GradNumerics, MomentumUpdate) {
  checkOptimizer("momentum_update", 3, kSeed,
                 [](const std::vector<Tensor> &in, const std::vector<double> &h, int) {
                   return reference::momentumUpdate(in[0], in[1], in[2], h);
                 });
}

TEST(GradNumerics, SgdStep) {
  checkOptimizer("sgd_step", 2, kSeed + 1,
                 [](const std::vector<Tensor> &in, const std::vector<double> &h, int) {
                   return reference::sgdStep(in[0], in[1], h);
                 });
}

TEST(GradNumerics, AdamMoment) {
  checkOptimizer("adam_moment", 3, kSeed + 2,
                 [](const std::vector<Tensor> &in, const std::vector<double> &h, int config) {
                   return reference::adamMoment(in[0], in[1], in[2], h, config % 2);
                 });
}

TEST(GradNumerics, AdamStep) {
  // Adam's second moment is a mean of squares: non-negative.
  std::mt19937 rng(kSeed + 3);
  for (int config = 0; config < kConfigs; ++config) {
    std::vector<int64_t> shape = parameterShape(rng);
    std::vector<double> hyper = randomHyper(rng);
    Tensor p = randomTensor(shape, rng), m = randomTensor(shape, rng), v = randomTensor(shape, rng);
    for (double &e : v.data)
      e = std::abs(e);
    OpCase c;
    std::string type = mlirType(shape, false);
    c.inputs = {p, m, v, Tensor{{8}, hyper}};
    c.argTypes = {type, type, type, "tensor<8xf32>"};
    c.op = "nn.adam_step %a0, %a1, %a2, %a3 : (" + type + ", " + type + ", " + type +
           ", tensor<8xf32>) -> tensor<*xf32>";
    Tensor ref = reference::adamStep(p, m, v, hyper);
    ASSERT_EQ(checkAgainstReference(c, ref, kSeed + 3, config), "");
  }
}

} // namespace
} // namespace kiln::testing
