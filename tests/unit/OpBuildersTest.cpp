// The builders both frontends share (compiler/frontend/OpBuilders.h): 'same' padding against
// hand-computed windows, and an op built with its result type inferred.
#include "frontend/OpBuilders.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/MLIRContext.h"

#include <gtest/gtest.h>

using namespace mlir;

namespace {

RankedTensorType tensor(MLIRContext &ctx, llvm::ArrayRef<int64_t> shape) {
  return RankedTensorType::get(shape, Float32Type::get(&ctx));
}

TEST(OpBuilders, SamePaddingSplitsTheTotalAsEachConventionSays) {
  MLIRContext ctx;
  std::string why;
  // 3×3 over 5 wide, stride 1: total 2, one each side; dilation 2: total 4.
  auto pads = kiln::build::samePadding(tensor(ctx, {1, 1, 5, 5}), {3, 3}, {1, 1}, {1, 2}, false,
                                       why);
  ASSERT_TRUE(succeeded(pads)) << why;
  EXPECT_EQ(*pads, (llvm::SmallVector<int64_t>{1, 2, 1, 2}));
  // 4 wide over 7, stride 2: ⌈7/2⌉ = 4 outputs cover (4−1)·2 + 4 = 10, total 3: SAME_UPPER puts
  // 1 before and 2 after, SAME_LOWER 2 before and 1 after.
  auto upper = kiln::build::samePadding(tensor(ctx, {1, 1, 7}), {4}, {2}, {1}, false, why);
  auto lower = kiln::build::samePadding(tensor(ctx, {1, 1, 7}), {4}, {2}, {1}, true, why);
  ASSERT_TRUE(succeeded(upper) && succeeded(lower)) << why;
  EXPECT_EQ(*upper, (llvm::SmallVector<int64_t>{1, 2}));
  EXPECT_EQ(*lower, (llvm::SmallVector<int64_t>{2, 1}));
  // A window wider than needed pads nothing when the stride skips past the input: 1 over 5,
  // stride 3, covers (2−1)·3 + 1 = 4 < 5.
  auto none = kiln::build::samePadding(tensor(ctx, {1, 1, 5}), {1}, {3}, {1}, false, why);
  ASSERT_TRUE(succeeded(none)) << why;
  EXPECT_EQ(*none, (llvm::SmallVector<int64_t>{0, 0}));
  // A dynamic extent with stride 1: total d·(k−1) = 4.
  auto dynamic = kiln::build::samePadding(tensor(ctx, {1, 1, ShapedType::kDynamic}), {5}, {1},
                                          {1}, false, why);
  ASSERT_TRUE(succeeded(dynamic)) << why;
  EXPECT_EQ(*dynamic, (llvm::SmallVector<int64_t>{2, 2}));
}

TEST(OpBuilders, SamePaddingRefusesAWindowThatOverflows) {
  MLIRContext ctx;
  std::string why;
  auto pads = kiln::build::samePadding(tensor(ctx, {1, 1, 8}), {INT64_MAX / 2}, {1}, {4}, false,
                                       why);
  EXPECT_TRUE(failed(pads));
  EXPECT_EQ(why, "the window of spatial dimension 0 overflows 64 bits");
}

TEST(OpBuilders, AnOpIsBuiltWithItsShapeOrRefusedWithItsError) {
  MLIRContext ctx;
  ctx.loadDialect<kiln::nn::NNDialect>();
  OpBuilder b(&ctx);
  Location loc = b.getUnknownLoc();
  OwningOpRef<ModuleOp> module = ModuleOp::create(loc);
  b.setInsertionPointToStart(module->getBody());
  auto x = b.create<kiln::nn::ParameterOp>(loc, tensor(ctx, {2, 3, 8, 8}), "x", false);
  auto w = b.create<kiln::nn::ParameterOp>(loc, tensor(ctx, {4, 3, 3, 3}), "w", false);
  FailureOr<Value> y = kiln::build::conv(b, loc, x, w, Value(), {2, 2}, {1, 1, 1, 1}, {1, 1}, 1);
  ASSERT_TRUE(succeeded(y));
  EXPECT_EQ(cast<RankedTensorType>(y->getType()).getShape(),
            (llvm::ArrayRef<int64_t>{2, 4, 4, 4}));
  // Three groups do not divide 4 output channels: nn.conv's own error, reported as a failure.
  std::string message;
  ScopedDiagnosticHandler handler(&ctx, [&](Diagnostic &d) {
    message = d.str();
    return success();
  });
  FailureOr<Value> bad = kiln::build::conv(b, loc, x, w, Value(), {1, 1}, {0, 0, 0, 0}, {1, 1}, 3);
  EXPECT_TRUE(failed(bad));
  EXPECT_NE(message.find("nn.conv"), std::string::npos) << message;
}

} // namespace
