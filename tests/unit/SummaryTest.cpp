// The summary of every model in models/: parameter totals equal the published ones.
#include "driver/Pipeline.h"
#include "driver/Summary.h"

#include "mlir/IR/MLIRContext.h"
#include "mlir/Support/FileUtilities.h"
#include "llvm/Support/SourceMgr.h"

#include <gtest/gtest.h>

namespace {

std::optional<kiln::ModelSummary> summarize(const std::string &file) {
  mlir::MLIRContext context;
  mlir::DialectRegistry registry;
  kiln::registerKilnDialects(registry);
  context.appendDialectRegistry(registry);
  context.loadAllAvailableDialects();
  std::string error;
  auto buffer = mlir::openInputFile(std::string(KILN_MODELS_DIR) + "/" + file, &error);
  if (!buffer) {
    ADD_FAILURE() << error;
    return std::nullopt;
  }
  llvm::SourceMgr sourceMgr;
  sourceMgr.AddNewSourceBuffer(std::move(buffer), llvm::SMLoc());
  mlir::SourceMgrDiagnosticHandler handler(sourceMgr, &context);
  auto module = kiln::loadModel(sourceMgr, &context);
  if (!module || mlir::failed(kiln::runPipeline(*module, {})))
    return std::nullopt;
  mlir::FailureOr<kiln::ModelSummary> summary = kiln::summarizeModel(*module);
  if (mlir::failed(summary))
    return std::nullopt;
  return *summary;
}

int64_t convParams(int64_t cin, int64_t cout, int64_t k, bool bias) {
  return cout * cin * k * k + (bias ? cout : 0);
}

TEST(Summary, LeNetMatchesTheLecture) {
  auto s = summarize("lenet.kiln");
  ASSERT_TRUE(s);
  // conv 20@5×5, conv 50@5×5, dense 800→500, dense 500→10, all with biases.
  int64_t expected = convParams(1, 20, 5, true) + convParams(20, 50, 5, true) +
                     (800 * 500 + 500) + (500 * 10 + 10);
  EXPECT_EQ(expected, 431080);
  EXPECT_EQ(s->parameters, 431080);
  EXPECT_EQ(s->buffers, 0);
  ASSERT_FALSE(s->layers.empty());
  EXPECT_EQ(s->layers.back().shape.back(), 10);
  // 2·MACs of the two convolutions and the two dense layers.
  int64_t macs = 20 * 24 * 24 * 25 + 50 * 8 * 8 * 20 * 25 + 800 * 500 + 500 * 10;
  int64_t convDenseFlops = 0;
  for (const kiln::LayerSummary &l : s->layers)
    if (l.op == "conv" || l.op == "dense")
      convDenseFlops += l.flops;
  EXPECT_EQ(convDenseFlops, 2 * macs);
}

TEST(Summary, ResNet18MatchesTorchvision) {
  auto s = summarize("resnet18.kiln");
  ASSERT_TRUE(s);
  EXPECT_EQ(s->parameters, 11689512);
  ASSERT_FALSE(s->layers.empty());
  EXPECT_EQ(s->layers.back().shape.back(), 1000);
}

TEST(Summary, ResNet50MatchesTorchvision) {
  auto s = summarize("resnet50.kiln");
  ASSERT_TRUE(s);
  EXPECT_EQ(s->parameters, 25557032);
  // Published: about 4.1 G multiply-accumulates per 224×224 image.
  int64_t macs = 0;
  for (const kiln::LayerSummary &l : s->layers)
    if (l.op == "conv" || l.op == "dense")
      macs += l.flops / 2;
  EXPECT_NEAR(macs / 1e9, 4.09, 0.02);
}

TEST(Summary, OneAndThreeDimensionalModelsSummarize) {
  for (const char *file : {"textcnn1d.kiln", "video3d.kiln"}) {
    auto s = summarize(file);
    ASSERT_TRUE(s) << file;
    EXPECT_GT(s->parameters, 0) << file;
    EXPECT_GT(s->flops, 0) << file;
  }
}

} // namespace
