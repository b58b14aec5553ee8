// The generated LeNet library computes the forward pass: deterministic, consistent across batch
// sizes, equal to the reference interpreter, with default weights equal to kilnc's weights file;
// and a multi-input, multi-output model's driver (copies, duplicates) does what @forward says.
#include "ForwardC.h"
#include "PackageTestSupport.h"
#include "tiny.h"

#include "driver/Pipeline.h"
#include "reference/Interpreter.h"

#include "mlir/IR/MLIRContext.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/SourceMgr.h"

#include <cmath>

using namespace kiln::test;

namespace {

TEST(LenetForward, IsDeterministicAndConsistentAcrossBatchSizes) {
  LenetPtr model = createLenet();
  ASSERT_TRUE(model);
  std::vector<float> eight = forward(model.get(), images(8), 8);
  std::vector<float> one = forward(model.get(), images(1), 1);
  std::vector<float> three = forward(model.get(), images(3), 3);
  // Image i gives the same logits in any batch (the kernels may vectorise over the batch, so
  // allow for a different summation order).
  for (size_t i = 0; i < one.size(); ++i)
    EXPECT_NEAR(one[i], eight[i], 1e-5) << "logit " << i;
  for (size_t i = 0; i < three.size(); ++i)
    EXPECT_NEAR(three[i], eight[i], 1e-5) << "logit " << i;
  // The same batch again, after smaller ones, gives the same bits.
  EXPECT_EQ(forward(model.get(), images(8), 8), eight);
  EXPECT_EQ(forward(model.get(), images(1), 1), one);
  // Different images, different logits; and the logits are finite.
  EXPECT_NE(std::vector<float>(eight.begin(), eight.begin() + 10),
            std::vector<float>(eight.begin() + 10, eight.begin() + 20));
  for (float value : eight)
    EXPECT_TRUE(std::isfinite(value));
}

TEST(LenetForward, MatchesTheReferenceInterpreter) {
  mlir::MLIRContext context;
  mlir::DialectRegistry registry;
  kiln::registerKilnDialects(registry);
  context.appendDialectRegistry(registry);
  context.loadAllAvailableDialects();
  auto buffer = llvm::MemoryBuffer::getFile(KILN_MODELS_DIR "/lenet.kiln");
  ASSERT_TRUE(buffer) << "cannot read models/lenet.kiln";
  llvm::SourceMgr sourceMgr;
  sourceMgr.AddNewSourceBuffer(std::move(*buffer), llvm::SMLoc());
  mlir::OwningOpRef<mlir::ModuleOp> module = kiln::loadModel(sourceMgr, &context);
  ASSERT_TRUE(module);
  ASSERT_TRUE(mlir::succeeded(kiln::runPipeline(*module, kiln::PipelineOptions())));
  auto function = module->lookupSymbol<mlir::func::FuncOp>("forward");
  ASSERT_TRUE(function);

  // The parameters kilnc wrote, as the interpreter's doubles.
  kiln_weights *weights = nullptr;
  ASSERT_EQ(kiln_weights_load(kLenetWeights.c_str(), &weights), KILN_OK) << kiln_last_error();
  kiln::reference::ParameterMap parameters;
  for (size_t i = 0; i < kiln_weights_count(weights); ++i) {
    const char *name = kiln_weights_name(weights, i);
    kiln_tensor tensor;
    ASSERT_EQ(kiln_weights_get(weights, name, &tensor), KILN_OK);
    ASSERT_EQ(tensor.dtype, KILN_F32);
    kiln::reference::Tensor value;
    value.shape.assign(tensor.shape, tensor.shape + tensor.rank);
    const float *data = static_cast<const float *>(tensor.data);
    value.data.assign(data, data + kiln_tensor_numel(&tensor));
    parameters[name] = std::move(value);
  }
  kiln_weights_free(weights);

  const int64_t batch = 3;
  std::vector<float> input = images(batch);
  kiln::reference::Tensor data;
  data.shape = {batch, 1, 28, 28};
  data.data.assign(input.begin(), input.end());
  auto expected = kiln::reference::runFunction(function, {data}, parameters);
  ASSERT_TRUE(mlir::succeeded(expected));
  ASSERT_EQ(expected->size(), 1u);
  ASSERT_EQ((*expected)[0].shape, (std::vector<int64_t>{batch, 10}));

  LenetPtr model = createLenet(kLenetWeights.c_str());
  ASSERT_TRUE(model);
  std::vector<float> logits = forward(model.get(), input, batch);
  for (size_t i = 0; i < logits.size(); ++i) {
    double reference = (*expected)[0].data[i];
    EXPECT_NEAR(logits[i], reference, 1e-5 + 1e-3 * std::fabs(reference)) << "logit " << i;
  }
}

TEST(LenetForward, DefaultWeightsAreTheWeightsFileKilncWrote) {
  LenetPtr byDefault = createLenet();
  LenetPtr fromFile = createLenet(kLenetWeights.c_str());
  ASSERT_TRUE(byDefault && fromFile);
  EXPECT_EQ(forward(byDefault.get(), images(4), 4), forward(fromFile.get(), images(4), 4));
  // Saving the default weights reproduces kilnc's tensors bit for bit, with the optimizer's
  // state (zeros, step 0) beside them.
  std::string saved = tempPath("default.safetensors");
  ASSERT_EQ(lenet_save(byDefault.get(), saved.c_str()), KILN_OK) << kiln_last_error();
  expectFreshCheckpoint(saved, kLenetWeights);
  std::remove(saved.c_str());
}

TEST(LenetForward, FillUniformIsStable) {
  // The generator's output is part of the weights-file contract (seed → weights): a change
  // would silently change every model's initial weights, so its first values are pinned.
  float values[4];
  kiln_fill_uniform(values, 4, 1.0f, 0, 0);
  EXPECT_EQ(std::vector<float>(values, values + 4),
            (std::vector<float>{-0x1.d8d238p-2f, 0x1.39c11p-2f, 0x1.403b3p-3f, 0x1.e08dp-7f}));
  kiln_fill_uniform(values, 4, 0.2f, 12345, 7);
  EXPECT_EQ(std::vector<float>(values, values + 4),
            (std::vector<float>{0x1.ab1c8p-5f, 0x1.25a1a6p-3f, -0x1.94e7p-4f, -0x1.b37ddap-5f}));
  // conv1.weight is stream 0 with bound 1/sqrt(25) = 0.2.
  kiln_weights *weights = nullptr;
  ASSERT_EQ(kiln_weights_load(kLenetWeights.c_str(), &weights), KILN_OK);
  kiln_tensor conv1;
  ASSERT_EQ(kiln_weights_get(weights, "conv1.weight", &conv1), KILN_OK);
  std::vector<float> expected(500);
  kiln_fill_uniform(expected.data(), 500, 0.2f, 0, 0);
  const float *data = static_cast<const float *>(conv1.data);
  EXPECT_EQ(std::vector<float>(data, data + 500), expected);
  kiln_tensor bias;
  ASSERT_EQ(kiln_weights_get(weights, "fc2.bias", &bias), KILN_OK);
  std::vector<float> expectedBias(10);
  kiln_fill_uniform(expectedBias.data(), 10, static_cast<float>(1.0 / std::sqrt(500.0)), 0, 7);
  data = static_cast<const float *>(bias.data);
  EXPECT_EQ(std::vector<float>(data, data + 10), expectedBias);
  kiln_weights_free(weights);
}

TEST(LenetForward, RunsFromC) {
  std::vector<float> input = images(5), logits(50, 0.0f);
  ASSERT_EQ(lenet_forward_from_c(nullptr, input.data(), 5, logits.data()), KILN_OK)
      << kiln_last_error();
  LenetPtr model = createLenet();
  ASSERT_TRUE(model);
  EXPECT_EQ(logits, forward(model.get(), input, 5));
}

TEST(LenetForward, SaveWritesWeightsThatLoadBackToTheSameOutputs) {
  // Weights other than the defaults: every parameter U(-0.3, 0.3) from another seed.
  LenetPtr base = createLenet();
  ASSERT_TRUE(base);
  std::string defaults = tempPath("defaults.safetensors");
  ASSERT_EQ(lenet_save(base.get(), defaults.c_str()), KILN_OK);
  kiln_weights *weights = nullptr;
  ASSERT_EQ(kiln_weights_load(defaults.c_str(), &weights), KILN_OK);
  std::vector<std::string> names;
  std::vector<std::vector<float>> values;
  std::vector<kiln_tensor> tensors;
  for (size_t i = 0; i < kiln_weights_count(weights); ++i) {
    names.push_back(kiln_weights_name(weights, i));
    kiln_tensor tensor;
    ASSERT_EQ(kiln_weights_get(weights, names.back().c_str(), &tensor), KILN_OK);
    if (tensor.dtype != KILN_F32) { // optimizer.step: kept
      tensors.push_back(tensor);
      continue;
    }
    values.emplace_back(static_cast<size_t>(kiln_tensor_numel(&tensor)));
    kiln_fill_uniform(values.back().data(), kiln_tensor_numel(&tensor), 0.3f, 77, i);
    tensors.push_back(kiln_tensor_view(values.back().data(), KILN_F32, tensor.rank, tensor.shape));
  }
  std::vector<const char *> cNames;
  for (const std::string &name : names)
    cNames.push_back(name.c_str());
  std::string custom = tempPath("custom.safetensors");
  ASSERT_EQ(kiln_weights_save(custom.c_str(), names.size(), cNames.data(), tensors.data()),
            KILN_OK);
  kiln_weights_free(weights); // after the save: `tensors` holds views of the step

  LenetPtr loaded = createLenet(custom.c_str());
  ASSERT_TRUE(loaded);
  std::vector<float> customLogits = forward(loaded.get(), images(2), 2);
  EXPECT_NE(customLogits, forward(base.get(), images(2), 2));
  std::string saved = tempPath("saved.safetensors");
  ASSERT_EQ(lenet_save(loaded.get(), saved.c_str()), KILN_OK) << kiln_last_error();
  LenetPtr reloaded = createLenet(saved.c_str());
  ASSERT_TRUE(reloaded);
  EXPECT_EQ(forward(reloaded.get(), images(2), 2), customLogits);
  for (const std::string &path : {defaults, custom, saved})
    std::remove(path.c_str());
}

TEST(LenetForward, RejectsABatchBeyondTheLimitBeforeAllocating) {
  LenetPtr model = createLenet();
  ASSERT_TRUE(model);
  float dummy = 0.0f;
  const int64_t batch = LENET_MAX_BATCH + 1;
  int64_t dataShape[4] = {batch, 1, 28, 28}, logitsShape[2] = {batch, 10};
  kiln_tensor data = kiln_tensor_view(&dummy, KILN_F32, 4, dataShape);
  kiln_tensor logits = kiln_tensor_view(&dummy, KILN_F32, 2, logitsShape);
  EXPECT_EQ(lenet_forward(model.get(), &data, &logits), KILN_INVALID_ARGUMENT);
  EXPECT_THAT(kiln_last_error(), testing::HasSubstr("exceeds the largest this library supports"));
}

// tiny: (a, b) → (relu((a + b)·Wᵀ), a, the first output again).
TEST(TinyForward, WritesEveryOutputIncludingCopies) {
  tiny *model = nullptr;
  ASSERT_EQ(tiny_create(nullptr, &model), KILN_OK) << kiln_last_error();
  kiln_weights *weights = nullptr;
  ASSERT_EQ(kiln_weights_load(kTinyWeights.c_str(), &weights), KILN_OK);
  kiln_tensor w;
  ASSERT_EQ(kiln_weights_get(weights, "proj.weight", &w), KILN_OK);
  const float *weight = static_cast<const float *>(w.data);

  const int64_t batch = 2;
  std::vector<float> a(batch * 4), b(batch * 4), act(batch * 4), copy(batch * 4), again(batch * 4);
  kiln_fill_uniform(a.data(), batch * 4, 1.0f, 1, 0);
  kiln_fill_uniform(b.data(), batch * 4, 1.0f, 1, 1);
  int64_t shape[2] = {batch, 4};
  kiln_tensor ta = kiln_tensor_view(a.data(), KILN_F32, 2, shape);
  kiln_tensor tb = kiln_tensor_view(b.data(), KILN_F32, 2, shape);
  kiln_tensor out0 = kiln_tensor_view(act.data(), KILN_F32, 2, shape);
  kiln_tensor out1 = kiln_tensor_view(copy.data(), KILN_F32, 2, shape);
  kiln_tensor out2 = kiln_tensor_view(again.data(), KILN_F32, 2, shape);
  ASSERT_EQ(tiny_forward(model, &ta, &tb, &out0, &out1, &out2), KILN_OK) << kiln_last_error();
  for (int64_t n = 0; n < batch; ++n)
    for (int64_t m = 0; m < 4; ++m) {
      double sum = 0;
      for (int64_t k = 0; k < 4; ++k)
        sum += (a[n * 4 + k] + b[n * 4 + k]) * weight[m * 4 + k];
      EXPECT_NEAR(act[n * 4 + m], std::max(sum, 0.0), 1e-6);
    }
  EXPECT_EQ(copy, a);
  EXPECT_EQ(again, act);

  // Every batched tensor must have the same batch.
  int64_t three[2] = {3, 4};
  std::vector<float> b3(12);
  kiln_tensor tb3 = kiln_tensor_view(b3.data(), KILN_F32, 2, three);
  EXPECT_EQ(tiny_forward(model, &ta, &tb3, &out0, &out1, &out2), KILN_SHAPE_MISMATCH);
  EXPECT_STREQ(kiln_last_error(), "tiny_forward: b has batch 3 but a has 2");
  kiln_weights_free(weights);
  tiny_destroy(model);
}

} // namespace
