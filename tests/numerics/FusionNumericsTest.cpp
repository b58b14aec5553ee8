// Fused kernels against the reference interpreter running the unfused ops, on random chains of
// the patterns the fusion passes form: conv (+ batch norm, folded) + activation, a residual add
// and the activation after it, conv + activation + a tiling pooling, flatten as a view, dense +
// batch norm + activation, with channel counts that make kiln-choose-layouts store them
// channels-innermost and others that keep NCHW. Each model goes through the whole pipeline and kilnc --check's
// comparison (checkModel: every kernel fed the previous kernels' outputs; tolerance
// 1e-4 + 1e-3·max|ref| per kernel).
#include "codegen/HostTarget.h"
#include "driver/Check.h"
#include "driver/Pipeline.h"

#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"

#include <gtest/gtest.h>

#include <random>
#include <sstream>

namespace kiln::testing {
namespace {

constexpr unsigned kSeed = 20261204;

int64_t pick(std::mt19937 &rng, int64_t lo, int64_t hi) {
  return std::uniform_int_distribution<int64_t>(lo, hi)(rng);
}

std::string type(const std::vector<int64_t> &shape) {
  std::string text = "tensor<?";
  for (size_t i = 1; i < shape.size(); ++i)
    text += "x" + std::to_string(shape[i]);
  return text + "xf32>";
}

std::string staticType(const std::vector<int64_t> &shape) {
  std::string text = "tensor<";
  for (size_t i = 0; i < shape.size(); ++i)
    text += (i ? "x" : "") + std::to_string(shape[i]);
  return text + "xf32>";
}

// Builds a function's body op by op, tracking the current value and its shape.
class ModelWriter {
public:
  explicit ModelWriter(std::vector<int64_t> input) : shape(std::move(input)), value("%x") {
    header = "func.func @forward(%x: " + type(shape) + ") -> ";
  }

  std::string parameter(const std::string &name, const std::vector<int64_t> &s, bool buffer = false) {
    std::string v = "%p" + std::to_string(next++);
    body << "  " << v << " = nn.parameter \"" << name << "\"" << (buffer ? " buffer" : "")
         << " : " << staticType(s) << "\n";
    return v;
  }

  // out = op(operands), of shape `result` (which shape inference verifies).
  std::string op(const std::string &text, std::vector<int64_t> result, const std::string &layer) {
    std::string v = "%v" + std::to_string(next++);
    body << "  " << v << " = " << text << " -> " << type(result) << " loc(\"" << layer << "\")\n";
    shape = std::move(result);
    value = v;
    return v;
  }

  std::string conv(const std::string &layer, int64_t out, int64_t k, int64_t stride, int64_t pad,
                   bool bias, const std::string &input, const std::vector<int64_t> &inShape) {
    std::string w = parameter(layer + ".weight", {out, inShape[1], k, k});
    std::string b = bias ? parameter(layer + ".bias", {out}) : "";
    int64_t h = (inShape[2] + 2 * pad - k) / stride + 1, wd = (inShape[3] + 2 * pad - k) / stride + 1;
    std::ostringstream text;
    text << "nn.conv " << input << ", " << w << (bias ? ", " + b : "") << " strides = [" << stride
         << ", " << stride << "] padding = [" << pad << ", " << pad << ", " << pad << ", " << pad
         << "] dilations = [1, 1] groups = 1 : (" << type(inShape) << ", "
         << staticType({out, inShape[1], k, k}) << (bias ? ", " + staticType({out}) : "") << ")";
    return op(text.str(), {inShape[0], out, h, wd}, layer);
  }

  std::string batchNorm(const std::string &layer) {
    int64_t c = shape[1];
    std::string g = parameter(layer + ".weight", {c}), b = parameter(layer + ".bias", {c});
    std::string m = parameter(layer + ".running_mean", {c}, true);
    std::string v = parameter(layer + ".running_var", {c}, true);
    std::string s = staticType({c});
    return op("nn.batch_norm " + value + ", " + g + ", " + b + ", " + m + ", " + v +
                  " epsilon = 1.0e-05 momentum = 1.0e-01 : (" + type(shape) + ", " + s + ", " +
                  s + ", " + s + ", " + s + ")",
              shape, layer);
  }

  std::string unary(const std::string &name, const std::string &layer) {
    return op("nn." + name + " " + value + " : " + type(shape), shape, layer);
  }

  std::string text() const {
    return header + type(shape) + " {\n" + body.str() + "  return " + value + " : " + type(shape) +
           "\n}\n";
  }

  std::vector<int64_t> shape;
  std::string value;

private:
  std::string header;
  std::ostringstream body;
  int next = 0;
};

const char *kActivations[] = {"relu", "tanh", "sigmoid"};

// A random chain: one or two conv blocks (conv, maybe batch norm, maybe an activation, maybe a
// residual add of a 1×1 shortcut conv and a relu), maybe a tiling pooling, then maybe flatten,
// dense, batch norm and an activation.
std::string randomModel(std::mt19937 &rng, std::string *description) {
  std::vector<int64_t> input{1, pick(rng, 1, 5), pick(rng, 5, 12), pick(rng, 5, 12)};
  ModelWriter m(input);
  std::ostringstream what;
  int blocks = static_cast<int>(pick(rng, 1, 2));
  for (int b = 0; b < blocks; ++b) {
    std::string in = m.value;
    std::vector<int64_t> inShape = m.shape;
    // Whole vectors of channels (16, 32) take the channels-innermost (NHWC) schedules.
    int64_t out = pick(rng, 0, 2) == 0 ? 16 * pick(rng, 1, 2) : pick(rng, 1, 20);
    int64_t k = 2 * pick(rng, 0, 2) + 1, stride = pick(rng, 1, 2);
    bool bias = pick(rng, 0, 1), norm = pick(rng, 0, 1);
    std::string layer = "block" + std::to_string(b);
    m.conv(layer + ".conv", out, k, stride, k / 2, bias, in, inShape);
    what << "conv" << k << "x" << k << "/" << stride << (bias ? "+bias" : "");
    if (norm) {
      m.batchNorm(layer + ".bn");
      what << "+bn";
    }
    if (pick(rng, 0, 3) > 0) {
      const char *act = kActivations[pick(rng, 0, 2)];
      m.unary(act, layer + "." + act);
      what << "+" << act;
    }
    if (pick(rng, 0, 1)) { // residual: a 1×1 shortcut of the block's input, same stride
      std::string main = m.value;
      std::vector<int64_t> mainShape = m.shape;
      std::string shortcut = m.conv(layer + ".shortcut", out, 1, stride, 0, false, in, inShape);
      m.op("nn.add " + main + ", " + shortcut + " : (" + type(mainShape) + ", " +
               type(mainShape) + ")",
           mainShape, layer + ".add");
      m.unary("relu", layer + ".add.relu");
      what << "+residual+relu";
    }
    what << "; ";
  }
  if (pick(rng, 0, 1) && m.shape[2] >= 2 && m.shape[3] >= 2) {
    int64_t window = std::min<int64_t>(pick(rng, 2, 3), std::min(m.shape[2], m.shape[3]));
    bool max = pick(rng, 0, 1);
    std::vector<int64_t> pooled{m.shape[0], m.shape[1], m.shape[2] / window, m.shape[3] / window};
    std::string attrs = " kernel_size = [" + std::to_string(window) + ", " +
                        std::to_string(window) + "] strides = [" + std::to_string(window) + ", " +
                        std::to_string(window) + "] padding = [0, 0, 0, 0] ceil_mode = false";
    m.op(std::string(max ? "nn.max_pool " : "nn.avg_pool ") + m.value + attrs +
             (max ? "" : " count_include_pad = true") + " : " + type(m.shape),
         pooled, "pool");
    what << (max ? "max" : "avg") << "pool" << window << "; ";
  }
  if (pick(rng, 0, 1)) {
    int64_t features = m.shape[1] * m.shape[2] * m.shape[3], units = pick(rng, 1, 24);
    std::vector<int64_t> flat{m.shape[0], features};
    m.op("nn.flatten " + m.value + " : " + type(m.shape), flat, "flatten");
    std::string w = m.parameter("fc.weight", {units, features});
    m.op("nn.dense " + m.value + ", " + w + " : (" + type(flat) + ", " +
             staticType({units, features}) + ")",
         {m.shape[0], units}, "fc");
    what << "flatten+dense";
    if (pick(rng, 0, 1)) {
      m.batchNorm("fc.bn");
      what << "+bn";
    }
    if (pick(rng, 0, 1)) {
      const char *act = kActivations[pick(rng, 0, 2)];
      m.unary(act, std::string("fc.") + act);
      what << "+" << act;
    }
  }
  *description = what.str();
  return "module @random {\n" + m.text() + "}\n";
}

TEST(FusionNumerics, RandomChainsMatchTheUnfusedReference) {
  std::mt19937 rng(kSeed);
  mlir::MLIRContext context;
  mlir::DialectRegistry registry;
  registerKilnDialects(registry);
  context.appendDialectRegistry(registry);
  context.loadAllAvailableDialects();
  bool avx2 = true;
  {
    kiln::codegen::CpuFeatures cpu = kiln::codegen::hostCpuFeatures();
    for (const std::string &feature :
         kiln::codegen::requiredCpuFeatures(Halide::Target("x86-64-linux-avx-avx2-f16c-fma-sse41")))
      avx2 = avx2 && cpu.contains(feature);
  }
  for (int config = 0; config < 60; ++config) {
    std::string description;
    std::string text = randomModel(rng, &description);
    std::string diagnostics;
    llvm::raw_string_ostream diagStream(diagnostics);
    mlir::ScopedDiagnosticHandler handler(&context, [&](mlir::Diagnostic &d) {
      diagStream << d << "\n";
      return mlir::success();
    });
    mlir::OwningOpRef<mlir::ModuleOp> module = mlir::parseSourceString<mlir::ModuleOp>(text, &context);
    ASSERT_TRUE(module) << diagnostics << text;
    ASSERT_TRUE(mlir::succeeded(runPipeline(*module, {}))) << diagnostics << text;
    CheckOptions options;
    options.batch = pick(rng, 1, 3);
    options.seed = kSeed + config;
    // Every third model also with 8-lane (AVX2) schedules, where this CPU runs them.
    if (config % 3 == 2 && avx2)
      options.target = "x86-64-avx2";
    std::string table;
    llvm::raw_string_ostream tableStream(table);
    EXPECT_TRUE(mlir::succeeded(checkModel(*module, options, tableStream)))
        << "configuration " << config << " (" << description << "):\n"
        << table << diagnostics << text;
  }
}

// ResNet's last stages in small: 3×3 and 1×1 convs with 128 input channels (blocks of 64) at
// rows of 14 and 7 to 128 and 40 channels, the co_outer schedules, where a task covers up to 8 images of a channel
// tile and stages each block of weights and of the padded input once: batches of 1, 8 and 11
// (a whole task and a partial one).
TEST(FusionNumerics, BlockedChannelTilesMatchTheReferenceAcrossImageTiles) {
  mlir::MLIRContext context;
  mlir::DialectRegistry registry;
  registerKilnDialects(registry);
  context.appendDialectRegistry(registry);
  context.loadAllAvailableDialects();
  for (int64_t width : {14, 7}) {
    ModelWriter m({1, 128, width, width});
    std::string in = m.value;
    std::vector<int64_t> inShape = m.shape;
    m.conv("block.conv1", 128, 3, 1, 1, false, in, inShape);
    m.batchNorm("block.bn1");
    m.unary("relu", "block.relu1");
    std::string mid = m.value;
    std::vector<int64_t> midShape = m.shape;
    // 40 output channels: the last vector of the channel tile shifts inwards.
    m.conv("block.conv2", 40, 3, 1, 1, true, mid, midShape);
    std::string main = m.value;
    std::vector<int64_t> mainShape = m.shape;
    std::string shortcut = m.conv("block.shortcut", 40, 1, 1, 0, false, in, inShape);
    m.op("nn.add " + main + ", " + shortcut + " : (" + type(mainShape) + ", " + type(mainShape) +
             ")",
         mainShape, "block.add");
    std::string text = "module @tiles {\n" + m.text() + "}\n";
    std::string diagnostics;
    llvm::raw_string_ostream diagStream(diagnostics);
    mlir::ScopedDiagnosticHandler handler(&context, [&](mlir::Diagnostic &d) {
      diagStream << d << "\n";
      return mlir::success();
    });
    mlir::OwningOpRef<mlir::ModuleOp> module = mlir::parseSourceString<mlir::ModuleOp>(text, &context);
    ASSERT_TRUE(module) << diagnostics << text;
    ASSERT_TRUE(mlir::succeeded(runPipeline(*module, {}))) << diagnostics << text;
    for (int64_t batch : {1, 8, 11}) {
      CheckOptions options;
      options.batch = batch;
      options.seed = kSeed + static_cast<unsigned>(batch * width);
      std::string table;
      llvm::raw_string_ostream tableStream(table);
      EXPECT_TRUE(mlir::succeeded(checkModel(*module, options, tableStream)))
          << "rows of " << width << ", batch " << batch << ":\n"
          << table << diagnostics;
    }
  }
}

} // namespace
} // namespace kiln::testing
