// Hostile-input tests of the nn ops: random, often absurd, attributes and operand types (generic
// MLIR text) must give either a verified op whose inferred type is sane or an error diagnostic at
// the op, never a crash. The checks are exact; the random draws come from fixed seeds.
#include "kiln/Dialect/NN/NNDialect.h"
#include "kiln/Dialect/NN/ShapeFormulas.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/Verifier.h"
#include "mlir/Parser/Parser.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <vector>

namespace {

constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
constexpr int64_t kMin = std::numeric_limits<int64_t>::min();

class Hostile {
public:
  explicit Hostile(uint64_t seed) : random(seed) {}

  bool chance(int percent) { return int(random() % 100) < percent; }
  int64_t between(int64_t lo, int64_t hi) {
    return std::uniform_int_distribution<int64_t>(lo, hi)(random);
  }

  // An attribute value: mostly small and valid, sometimes at the int64 extremes.
  int64_t value() {
    static const int64_t extremes[] = {kMin, kMin + 1, -2, -1, 0, int64_t{1} << 31,
                                       int64_t{1} << 62, kMax - 1, kMax};
    if (chance(80))
      return between(1, 3);
    return extremes[random() % std::size(extremes)];
  }
  // An array for `count` spatial values, of the right size most of the time.
  std::string array(int64_t count) {
    if (chance(10))
      count = between(0, 7);
    std::string text = "array<i64";
    for (int64_t i = 0; i < count; ++i)
      text += (i ? ", " : ": ") + std::to_string(value());
    return text + ">";
  }
  std::string paddingArray(int64_t spatial) {
    int64_t count = chance(90) ? 2 * spatial : between(0, 7);
    std::string text = "array<i64";
    for (int64_t i = 0; i < count; ++i)
      text += (i ? ", " : ": ") + std::to_string(chance(85) ? between(0, 1) : value());
    return text + ">";
  }
  // A dimension: mostly a plausible extent, sometimes dynamic, zero or huge.
  std::string dim(int64_t plausible) {
    static const char *odd[] = {"?", "0", "1", "4294967296", "9223372036854775807"};
    if (chance(88))
      return std::to_string(plausible);
    return odd[random() % std::size(odd)];
  }
  std::string tensor(const std::vector<std::string> &dims, const char *element = "f32") {
    std::string text = "tensor<";
    for (const std::string &d : dims)
      text += d + "x";
    return text + element + ">";
  }
  std::string tensorOfRank(int64_t rank, int64_t plausible) {
    std::vector<std::string> dims;
    for (int64_t i = 0; i < rank; ++i)
      dims.push_back(dim(plausible));
    return tensor(dims);
  }
  std::string f64() {
    static const char *values[] = {"1.0e-05", "0.1", "0.0", "-1.0", "1.5", "1.0",
                                   "0x7FF8000000000000", "0x7FF0000000000000"};
    return std::string(chance(70) ? values[random() % 2] : values[random() % std::size(values)]) +
           " : f64";
  }

private:
  std::mt19937_64 random;
};

// One op in a function of the given argument types, written generically.
struct Case {
  std::vector<std::string> argTypes;
  std::string op; // uses %a0, %a1, …; its result is unranked
};

std::string moduleText(const Case &c) {
  std::string text = "func.func @f(";
  for (size_t i = 0; i < c.argTypes.size(); ++i)
    text += (i ? ", %a" : "%a") + std::to_string(i) + ": " + c.argTypes[i];
  return text + ") {\n  %y = " + c.op + "\n  return\n}\n";
}

std::string operands(size_t count) {
  std::string text = "(";
  for (size_t i = 0; i < count; ++i)
    text += (i ? ", %a" : "%a") + std::to_string(i);
  return text + ")";
}

std::string functionType(const std::vector<std::string> &argTypes) {
  std::string text = "(";
  for (size_t i = 0; i < argTypes.size(); ++i)
    text += (i ? ", " : "") + argTypes[i];
  return text + ") -> tensor<*xf32>";
}

Case convCase(Hostile &h) {
  int64_t rank = h.chance(90) ? h.between(3, 5) : h.between(0, 7);
  int64_t spatial = std::max<int64_t>(rank - 2, 0);
  int64_t groups = h.chance(70) ? 1 : h.value();
  int64_t inPerGroup = h.between(1, 3);
  int64_t inChannels = h.chance(90) && groups > 0 && groups < 8 ? groups * inPerGroup : 3;
  std::vector<std::string> input{h.dim(2), h.dim(inChannels)};
  std::vector<std::string> weight{h.dim(groups > 0 && groups < 8 ? 2 * groups : 4),
                                  h.dim(inPerGroup)};
  for (int64_t i = 0; i < spatial; ++i) {
    input.push_back(h.dim(h.between(1, 12)));
    weight.push_back(h.dim(h.between(1, 4)));
  }
  input.resize(rank, "2");
  if (h.chance(10))
    weight.resize(h.between(0, 6), "1");
  Case c{{h.tensor(input), h.tensor(weight)}, ""};
  if (h.chance(50))
    c.argTypes.push_back(h.chance(85) ? h.tensor({weight[0]}) : h.tensorOfRank(h.between(0, 2), 4));
  c.op = "\"nn.conv\"" + operands(c.argTypes.size()) + " <{strides = " + h.array(spatial) +
         ", padding = " + h.paddingArray(spatial) + ", dilations = " + h.array(spatial) +
         ", groups = " + std::to_string(groups) + " : i64}> : " + functionType(c.argTypes);
  return c;
}

Case poolCase(Hostile &h) {
  int64_t rank = h.chance(90) ? h.between(3, 5) : h.between(0, 7);
  int64_t spatial = std::max<int64_t>(rank - 2, 0);
  std::vector<std::string> input{h.dim(2), h.dim(3)};
  for (int64_t i = 0; i < spatial; ++i)
    input.push_back(h.dim(h.between(1, 12)));
  input.resize(rank, "2");
  Case c{{h.tensor(input)}, ""};
  int kind = h.between(0, 3);
  if (kind >= 2) {
    c.op = std::string(kind == 2 ? "\"nn.global_avg_pool\"" : "\"nn.global_max_pool\"") +
           "(%a0) : " + functionType(c.argTypes);
    return c;
  }
  std::string attrs = "kernel_size = " + h.array(spatial) + ", strides = " + h.array(spatial) +
                      ", padding = " + h.paddingArray(spatial) +
                      ", ceil_mode = " + (h.chance(50) ? "true" : "false");
  if (kind == 1)
    attrs += std::string(", count_include_pad = ") + (h.chance(50) ? "true" : "false");
  c.op = std::string(kind == 0 ? "\"nn.max_pool\"" : "\"nn.avg_pool\"") + "(%a0) <{" + attrs +
         "}> : " + functionType(c.argTypes);
  return c;
}

Case otherCase(Hostile &h) {
  Case c;
  switch (h.between(0, 5)) {
  case 0: { // batch norm
    int64_t channels = h.between(1, 8);
    std::vector<std::string> input{h.dim(2), h.dim(channels)};
    input.resize(h.chance(90) ? h.between(2, 5) : h.between(0, 7), h.dim(3));
    c.argTypes.push_back(h.tensor(input));
    for (int i = 0; i < 4; ++i)
      c.argTypes.push_back(h.chance(90) ? h.tensor({h.dim(channels)}) : h.tensorOfRank(2, channels));
    c.op = "\"nn.batch_norm\"" + operands(5) + " <{epsilon = " + h.f64() + ", momentum = " +
           h.f64() + "}> : " + functionType(c.argTypes);
    break;
  }
  case 1: { // dense
    int64_t features = h.between(1, 8), units = h.between(1, 8);
    c.argTypes = {h.chance(90) ? h.tensor({h.dim(2), h.dim(features)}) : h.tensorOfRank(3, 2),
                  h.chance(90) ? h.tensor({h.dim(units), h.dim(features)}) : h.tensorOfRank(1, 2)};
    if (h.chance(50))
      c.argTypes.push_back(h.tensor({h.dim(units)}));
    c.op = "\"nn.dense\"" + operands(c.argTypes.size()) + " : " + functionType(c.argTypes);
    break;
  }
  case 2: { // add
    std::string a = h.tensorOfRank(h.between(0, 4), 3);
    c.argTypes = {a, h.chance(70) ? a : h.tensorOfRank(h.between(0, 4), 3)};
    c.op = "\"nn.add\"" + operands(2) + " : " + functionType(c.argTypes);
    break;
  }
  case 3: { // flatten or an elementwise op
    static const char *names[] = {"nn.flatten", "nn.relu", "nn.tanh", "nn.sigmoid"};
    c.argTypes = {h.tensorOfRank(h.between(0, 5), 3)};
    c.op = std::string("\"") + names[h.between(0, 3)] + "\"(%a0) : " + functionType(c.argTypes);
    break;
  }
  case 4: { // softmax
    int64_t rank = h.between(0, 4);
    c.argTypes = {h.tensorOfRank(rank, 3)};
    int64_t axis = h.chance(70) ? h.between(-1, rank) : h.value();
    c.op = std::string(h.chance(50) ? "\"nn.softmax\"" : "\"nn.log_softmax\"") +
           "(%a0) <{axis = " + std::to_string(axis) + " : i64}> : " + functionType(c.argTypes);
    break;
  }
  default: { // loss
    int64_t batch = h.between(1, 4);
    c.argTypes = {h.chance(90) ? h.tensor({h.dim(batch), h.dim(10)}) : h.tensorOfRank(3, 2),
                  h.chance(90) ? h.tensor({h.dim(batch)}, "i64") : h.tensor({"2", "2"}, "i64")};
    c.op = "\"nn.softmax_cross_entropy\"" + operands(2) + " : " + functionType(c.argTypes);
    break;
  }
  }
  return c;
}

// Parses (and so verifies) one case; on success refines the result type and checks it.
void checkCase(mlir::MLIRContext &context, const Case &c, int &verified, int &rejected) {
  std::string text = moduleText(c);
  std::vector<std::string> errors;
  bool unlocatedError = false;
  mlir::ScopedDiagnosticHandler handler(&context, [&](mlir::Diagnostic &diag) {
    if (diag.getSeverity() == mlir::DiagnosticSeverity::Error) {
      errors.push_back(diag.str());
      if (!mlir::isa<mlir::FileLineColLoc>(diag.getLocation()))
        unlocatedError = true;
    }
    return mlir::success();
  });
  mlir::OwningOpRef<mlir::ModuleOp> module =
      mlir::parseSourceString<mlir::ModuleOp>(text, &context);
  if (!module) {
    ++rejected;
    ASSERT_FALSE(errors.empty()) << "rejected without an error:\n" << text;
    EXPECT_FALSE(unlocatedError) << "an error without a location:\n" << text;
    for (const std::string &e : errors)
      EXPECT_FALSE(e.empty()) << text;
    return;
  }
  ++verified;
  ASSERT_TRUE(errors.empty()) << text;
  mlir::Operation *op = nullptr;
  module->walk([&](mlir::Operation *candidate) {
    if (mlir::isa<kiln::nn::ShapeInference>(candidate))
      op = candidate;
  });
  ASSERT_NE(op, nullptr) << text;
  ASSERT_TRUE(mlir::succeeded(kiln::nn::refineResultType(op))) << text;
  auto type = mlir::dyn_cast<mlir::RankedTensorType>(op->getResult(0).getType());
  ASSERT_TRUE(type) << "verified but not inferred:\n" << text;
  for (int64_t d : type.getShape())
    EXPECT_TRUE(d == mlir::ShapedType::kDynamic || d > 0) << type.getShape().size() << "\n" << text;
  std::vector<int64_t> shape(type.getShape().begin(), type.getShape().end());
  EXPECT_TRUE(kiln::shape::checkedProduct(shape).has_value()) << text;
  // The refined op still verifies (its written type now equals the inferred one).
  EXPECT_TRUE(mlir::succeeded(mlir::verify(*module))) << text;
  EXPECT_TRUE(errors.empty()) << text;
}

class NNOpsHostileInput : public ::testing::Test {
protected:
  void SetUp() override {
    context.loadDialect<kiln::nn::NNDialect, mlir::func::FuncDialect>();
    // Keep a failing case's diagnostics out of the output; the handler records them.
    context.printOpOnDiagnostic(false);
  }
  void run(Case (*make)(Hostile &), uint64_t seed, int count) {
    Hostile h(seed);
    int verified = 0, rejected = 0;
    for (int i = 0; i < count && !HasFatalFailure(); ++i)
      checkCase(context, make(h), verified, rejected);
    RecordProperty("verified", verified);
    RecordProperty("rejected", rejected);
    // Both outcomes must be exercised, or the generator has drifted.
    EXPECT_GT(verified, count / 20) << "verified " << verified << ", rejected " << rejected;
    EXPECT_GT(rejected, count / 20) << "verified " << verified << ", rejected " << rejected;
  }
  mlir::MLIRContext context;
};

TEST_F(NNOpsHostileInput, Conv) { run(convCase, 1, 4000); }
TEST_F(NNOpsHostileInput, Pooling) { run(poolCase, 2, 4000); }
TEST_F(NNOpsHostileInput, OtherOps) { run(otherCase, 3, 4000); }

// The inferred conv shape is the window formula applied per dimension, for a few exact cases.
TEST(NNOps, InferredConvShape) {
  mlir::MLIRContext context;
  context.loadDialect<kiln::nn::NNDialect, mlir::func::FuncDialect>();
  const char *text = R"mlir(
    func.func @f(%x: tensor<?x8x10x9xf32>, %w: tensor<16x2x3x3xf32>) {
      %y = nn.conv %x, %w strides = [2, 1] padding = [0, 2, 1, 0] dilations = [1, 2] groups = 4
          : (tensor<?x8x10x9xf32>, tensor<16x2x3x3xf32>) -> tensor<*xf32>
      return
    })mlir";
  mlir::OwningOpRef<mlir::ModuleOp> module = mlir::parseSourceString<mlir::ModuleOp>(text, &context);
  ASSERT_TRUE(module);
  mlir::Operation *conv = nullptr;
  module->walk([&](kiln::nn::ConvOp op) { conv = op; });
  ASSERT_TRUE(conv);
  ASSERT_TRUE(mlir::succeeded(kiln::nn::refineResultType(conv)));
  // H: ⌊(10 + 0 + 1 − 2 − 1)/2⌋ + 1 = 5; W: ⌊(9 + 2 + 0 − 4 − 1)/1⌋ + 1 = 7
  auto type = mlir::cast<mlir::RankedTensorType>(conv->getResult(0).getType());
  EXPECT_EQ(type.getShape(), (llvm::ArrayRef<int64_t>{mlir::ShapedType::kDynamic, 16, 5, 7}));
}

} // namespace
