// Batch norm, dense, elementwise, flatten and softmax kernels against the reference on random
// shapes. Tolerance |out − ref| ≤ 1e-5 + 1e-3·|ref| (tanh and sigmoid use fast_exp, whose
// relative error is about 1e-7).
#include "KernelHarness.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>

namespace kiln::testing {
namespace {

constexpr unsigned kSeed = 20261127;

int64_t pick(std::mt19937 &rng, int64_t lo, int64_t hi) {
  return std::uniform_int_distribution<int64_t>(lo, hi)(rng);
}

std::vector<int64_t> randomShape(std::mt19937 &rng, int64_t minRank, int64_t maxRank) {
  int64_t rank = pick(rng, minRank, maxRank);
  std::vector<int64_t> shape{pick(rng, 1, 4), pick(rng, 1, 9)};
  for (int64_t i = 2; i < rank; ++i)
    shape.push_back(pick(rng, 1, 6));
  return shape;
}

void expectMatches(const OpCase &c, const Tensor &ref, int config) {
  Tensor out;
  std::string error;
  ASSERT_TRUE(runKernel(c, &out, &error)) << "seed " << kSeed << ", configuration " << config
                                          << ": " << error;
  ASSERT_EQ(compareTensors(out, ref, 1e-5, 1e-3), "")
      << "seed " << kSeed << ", configuration " << config << ": " << c.op;
}

TEST(OpsNumerics, BatchNormInference) {
  std::mt19937 rng(kSeed);
  for (int config = 0; config < 300; ++config) {
    std::vector<int64_t> in = randomShape(rng, 2, 5);
    int64_t c = in[1];
    OpCase k;
    k.inputs = {randomTensor(in, rng), randomTensor({c}, rng), randomTensor({c}, rng),
                randomTensor({c}, rng), randomTensor({c}, rng)};
    for (double &v : k.inputs[4].data)
      v = std::abs(v) + 0.1f; // a variance
    std::string stat = mlirType({c}, false);
    k.argTypes = {mlirType(in, true), stat, stat, stat, stat};
    k.op = "nn.batch_norm %a0, %a1, %a2, %a3, %a4 epsilon = 1.0e-05 momentum = 1.0e-01 : (" +
           k.argTypes[0] + ", " + stat + ", " + stat + ", " + stat + ", " + stat +
           ") -> tensor<*xf32>";
    Tensor ref = reference::batchNormInference(k.inputs[0], k.inputs[1], k.inputs[2],
                                               k.inputs[3], k.inputs[4], 1e-5);
    expectMatches(k, ref, config);
  }
}

// The batch-norm folding ops (kiln-fold-batch-norm), on weights of rank 2 to 5.
TEST(OpsNumerics, FoldBatchNorm) {
  std::mt19937 rng(kSeed + 5);
  for (int config = 0; config < 100; ++config) {
    std::vector<int64_t> w = randomShape(rng, 2, 5);
    w[0] = pick(rng, 1, 12);
    int64_t c = w[0];
    Tensor gamma = randomTensor({c}, rng), beta = randomTensor({c}, rng),
           mean = randomTensor({c}, rng), var = randomTensor({c}, rng),
           bias = randomTensor({c}, rng);
    for (double &v : var.data)
      v = std::abs(v) + 0.1f;
    std::string stat = mlirType({c}, false);
    OpCase weight;
    weight.inputs = {randomTensor(w, rng), gamma, var};
    weight.argTypes = {mlirType(w, false), stat, stat};
    weight.op = "nn.fold_batch_norm_weight %a0, %a1, %a2 epsilon = 1.0e-05 : (" +
                weight.argTypes[0] + ", " + stat + ", " + stat + ") -> tensor<*xf32>";
    expectMatches(weight,
                  reference::foldBatchNormWeight(weight.inputs[0], gamma, var, 1e-5), config);
    bool withBias = config % 2;
    OpCase folded;
    folded.inputs = {gamma, beta, mean, var};
    folded.argTypes = {stat, stat, stat, stat};
    std::string operands = "%a0, %a1, %a2, %a3", types = stat + ", " + stat + ", " + stat + ", " + stat;
    if (withBias) {
      folded.inputs.push_back(bias);
      folded.argTypes.push_back(stat);
      operands += ", %a4";
      types += ", " + stat;
    }
    folded.op = "nn.fold_batch_norm_bias " + operands + " epsilon = 1.0e-05 : (" + types +
                ") -> tensor<*xf32>";
    expectMatches(folded,
                  reference::foldBatchNormBias(gamma, beta, mean, var,
                                               withBias ? &bias : nullptr, 1e-5),
                  config);
  }
}

TEST(OpsNumerics, Dense) {
  std::mt19937 rng(kSeed + 1);
  for (int config = 0; config < 300; ++config) {
    int64_t n = pick(rng, 1, 4), features = pick(rng, 1, 70), units = pick(rng, 1, 20);
    bool bias = pick(rng, 0, 1);
    OpCase k;
    k.inputs = {randomTensor({n, features}, rng), randomTensor({units, features}, rng)};
    k.argTypes = {mlirType({n, features}, true), mlirType({units, features}, false)};
    std::string operands = "%a0, %a1", types = k.argTypes[0] + ", " + k.argTypes[1];
    if (bias) {
      k.inputs.push_back(randomTensor({units}, rng));
      k.argTypes.push_back(mlirType({units}, false));
      operands += ", %a2";
      types += ", " + k.argTypes[2];
    }
    k.op = "nn.dense " + operands + " : (" + types + ") -> tensor<*xf32>";
    Tensor ref = reference::dense(k.inputs[0], k.inputs[1], bias ? &k.inputs[2] : nullptr);
    expectMatches(k, ref, config);
  }
}

TEST(OpsNumerics, ElementwiseAndFlatten) {
  std::mt19937 rng(kSeed + 2);
  const char *ops[] = {"add", "relu", "tanh", "sigmoid", "flatten"};
  for (int config = 0; config < 300; ++config) {
    std::string name = ops[config % 5];
    std::vector<int64_t> in = randomShape(rng, 2, 5);
    OpCase k;
    k.inputs = {randomTensor(in, rng)};
    for (double &v : k.inputs[0].data)
      v = static_cast<float>(v * 4); // reach tanh's and sigmoid's tails
    k.argTypes = {mlirType(in, true)};
    Tensor ref;
    if (name == "add") {
      k.inputs.push_back(randomTensor(in, rng));
      k.argTypes.push_back(k.argTypes[0]);
      k.op = "nn.add %a0, %a1 : (" + k.argTypes[0] + ", " + k.argTypes[0] + ") -> tensor<*xf32>";
      ref = reference::add(k.inputs[0], k.inputs[1]);
    } else {
      k.op = "nn." + name + " %a0 : " + k.argTypes[0] + " -> tensor<*xf32>";
      ref = name == "relu"    ? reference::relu(k.inputs[0])
            : name == "tanh"  ? reference::tanh(k.inputs[0])
            : name == "sigmoid" ? reference::sigmoid(k.inputs[0])
                              : reference::flatten(k.inputs[0]);
    }
    expectMatches(k, ref, config);
  }
}

// Leaky ReLU with slopes of either sign, and clip with both bounds, one, or min > max (every
// element max, as NumPy's clip).
TEST(OpsNumerics, LeakyReluAndClip) {
  std::mt19937 rng(kSeed + 7);
  const float kInf = std::numeric_limits<float>::infinity();
  const float bounds[][2] = {{-0.5f, 0.5f}, {0.0f, 6.0f}, {-kInf, 0.25f}, {-1.0f, kInf}, {1.0f, -1.0f}};
  for (int config = 0; config < 40; ++config) {
    std::vector<int64_t> in = randomShape(rng, 2, 5);
    OpCase k;
    k.inputs = {randomTensor(in, rng)};
    for (double &v : k.inputs[0].data)
      v = static_cast<float>(v * 4);
    k.argTypes = {mlirType(in, true)};
    std::string type = k.argTypes[0];
    Tensor ref;
    if (config % 2 == 0) {
      float alpha = config % 4 == 0 ? 0.01f : -1.5f;
      k.op = "nn.leaky_relu %a0 {alpha = " + std::to_string(alpha) + " : f32} : " + type +
             " -> tensor<*xf32>";
      ref = reference::leakyRelu(k.inputs[0], alpha);
    } else {
      const float *b = bounds[(config / 2) % 5];
      // MLIR prints and parses infinity as the float's bits.
      auto attr = [](float v) {
        return std::isinf(v) ? std::string(v > 0 ? "0x7F800000" : "0xFF800000")
                             : std::to_string(v);
      };
      k.op = "nn.clip %a0 {min = " + attr(b[0]) + " : f32, max = " + attr(b[1]) + " : f32} : " +
             type + " -> tensor<*xf32>";
      ref = reference::clip(k.inputs[0], b[0], b[1]);
    }
    expectMatches(k, ref, config);
  }
}

// A shape `full` broadcasts from: up to all of its leading dimensions dropped, and each other
// extent kept or 1. The batch (dimension 0 of an operand of full rank) stays dynamic when kept.
std::vector<int64_t> broadcastableTo(const std::vector<int64_t> &full, std::mt19937 &rng) {
  size_t drop = static_cast<size_t>(pick(rng, 0, static_cast<int64_t>(full.size()) - 1));
  std::vector<int64_t> shape(full.begin() + static_cast<std::ptrdiff_t>(drop), full.end());
  for (int64_t &d : shape)
    if (pick(rng, 0, 1) == 0)
      d = 1;
  return shape;
}

// Broadcasting add, sub, mul, div, max and min of random shapes (rank 2–4, batch dynamic)
// against operands with dimensions dropped or of extent 1 or scalars, either operand the
// broadcast one.
TEST(OpsNumerics, BroadcastBinaryOps) {
  std::mt19937 rng(kSeed + 8);
  const char *names[] = {"broadcast_add", "broadcast_sub", "broadcast_mul",
                         "broadcast_div", "broadcast_max", "broadcast_min"};
  const reference::BinaryOp ops[] = {reference::BinaryOp::Add, reference::BinaryOp::Sub,
                                     reference::BinaryOp::Mul, reference::BinaryOp::Div,
                                     reference::BinaryOp::Max, reference::BinaryOp::Min};
  for (int config = 0; config < 72; ++config) {
    std::vector<int64_t> full = randomShape(rng, 2, 4);
    // Every twelfth a scalar (rank 0: ONNX's Clip bound or Gemm's C as a graph input).
    std::vector<int64_t> part =
        config % 12 == 11 ? std::vector<int64_t>{} : broadcastableTo(full, rng);
    bool partDynamic = !part.empty() && part.size() == full.size() && part[0] != 1;
    OpCase k;
    k.inputs = {randomTensor(full, rng), randomTensor(part, rng)};
    k.argTypes = {mlirType(full, true), mlirType(part, partDynamic)};
    if (config % 8 >= 4) { // the broadcast operand first
      std::swap(k.inputs[0], k.inputs[1]);
      std::swap(k.argTypes[0], k.argTypes[1]);
    }
    int which = config % 6;
    if (which == 3)
      for (double &v : k.inputs[1].data)
        v = v < 0 ? v - 0.5 : v + 0.5; // divisors away from 0
    k.op = std::string("nn.") + names[which] + " %a0, %a1 : (" + k.argTypes[0] + ", " +
           k.argTypes[1] + ") -> tensor<*xf32>";
    expectMatches(k, reference::broadcastBinary(ops[which], k.inputs[0], k.inputs[1]), config);
  }
}

// Transpose by random permutations: of every dimension for static shapes, of all but the batch
// for a dynamic one.
TEST(OpsNumerics, Transpose) {
  std::mt19937 rng(kSeed + 9);
  for (int config = 0; config < 40; ++config) {
    std::vector<int64_t> in = randomShape(rng, 2, 5);
    bool dynamic = config % 2 == 0;
    std::vector<int64_t> perm(in.size());
    for (size_t i = 0; i < perm.size(); ++i)
      perm[i] = static_cast<int64_t>(i);
    std::shuffle(perm.begin() + (dynamic ? 1 : 0), perm.end(), rng);
    OpCase k;
    k.inputs = {randomTensor(in, rng)};
    k.argTypes = {mlirType(in, dynamic)};
    k.op = "nn.transpose %a0 perm = " + arrayText(perm) + " : " + k.argTypes[0] + " -> tensor<*xf32>";
    expectMatches(k, reference::transpose(k.inputs[0], perm), config);
  }
}

// Pad by random amounts (negative ones crop) of every dimension but a dynamic batch, with a
// random value.
TEST(OpsNumerics, Pad) {
  std::mt19937 rng(kSeed + 10);
  for (int config = 0; config < 60; ++config) {
    std::vector<int64_t> in = randomShape(rng, 2, 5);
    bool dynamic = config % 2 == 0;
    size_t rank = in.size();
    std::vector<int64_t> pads(2 * rank, 0);
    for (size_t d = dynamic ? 1 : 0; d < rank; ++d) {
      pads[d] = pick(rng, -(in[d] - 1) / 2, 3);
      pads[rank + d] = pick(rng, -(in[d] - 1) / 2, 3);
    }
    double value = config % 3 == 0 ? 0.0 : pick(rng, -4, 4) * 0.75;
    OpCase k;
    k.inputs = {randomTensor(in, rng)};
    k.argTypes = {mlirType(in, dynamic)};
    k.op = "nn.pad %a0 pads = " + arrayText(pads) + " {value = " + std::to_string(value) +
           " : f32} : " + k.argTypes[0] + " -> tensor<*xf32>";
    expectMatches(k, reference::pad(k.inputs[0], pads, value), config);
  }
}

// Concat of 1 to 4 inputs along a random axis (not a dynamic batch).
TEST(OpsNumerics, Concat) {
  std::mt19937 rng(kSeed + 11);
  for (int config = 0; config < 60; ++config) {
    std::vector<int64_t> base = randomShape(rng, 1, 5);
    bool dynamic = config % 2 == 0 && base.size() > 1;
    int64_t rank = static_cast<int64_t>(base.size());
    int64_t axis = pick(rng, dynamic ? 1 : 0, rank - 1);
    int64_t count = pick(rng, 1, 4);
    OpCase k;
    std::string types;
    std::vector<Tensor> inputs;
    for (int64_t i = 0; i < count; ++i) {
      std::vector<int64_t> shape = base;
      shape[static_cast<size_t>(axis)] = pick(rng, 1, 5);
      k.inputs.push_back(randomTensor(shape, rng));
      k.argTypes.push_back(mlirType(shape, dynamic));
      k.op += (i ? ", %a" : "nn.concat %a") + std::to_string(i);
      types += (i ? ", " : "") + k.argTypes.back();
    }
    k.op += " axis = " + std::to_string(axis) + " : (" + types + ") -> tensor<*xf32>";
    expectMatches(k, reference::concat(k.inputs, axis), config);
  }
}

TEST(OpsNumerics, SoftmaxAndLogSoftmax) {
  std::mt19937 rng(kSeed + 3);
  for (int config = 0; config < 300; ++config) {
    std::vector<int64_t> in = randomShape(rng, 2, 4);
    int64_t axis = pick(rng, 1, static_cast<int64_t>(in.size()) - 1);
    bool isLog = config % 2;
    OpCase k;
    k.inputs = {randomTensor(in, rng)};
    for (double &v : k.inputs[0].data)
      v = static_cast<float>(v * 10);
    k.argTypes = {mlirType(in, true)};
    k.op = std::string(isLog ? "nn.log_softmax" : "nn.softmax") + " %a0 axis = " +
           std::to_string(axis) + " : " + k.argTypes[0] + " -> tensor<*xf32>";
    Tensor ref = isLog ? reference::logSoftmax(k.inputs[0], axis)
                       : reference::softmax(k.inputs[0], axis);
    expectMatches(k, ref, config);
  }
}

} // namespace
} // namespace kiln::testing
