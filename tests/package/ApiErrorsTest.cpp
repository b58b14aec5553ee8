// The generated API rejects bad input with a status and a message, never a crash: NULL
// pointers, tensors of the wrong rank, extents, dtype or batch, bad options, and weights files
// that are missing, truncated, corrupt, incomplete or of the wrong shape or dtype.
#include "PackageTestSupport.h"

#include "codegen/HostTarget.h"

#include <cstdlib>
#include <limits>

using namespace kiln::test;
using testing::HasSubstr;

namespace {

class LenetArguments : public testing::Test {
protected:
  void SetUp() override {
    model = createLenet();
    ASSERT_TRUE(model);
  }

  // forward on tensors of the given shapes and dtypes over large enough buffers.
  kiln_status run(std::vector<int64_t> dataShape, std::vector<int64_t> logitsShape,
                  kiln_dtype dataType = KILN_F32, kiln_dtype logitsType = KILN_F32) {
    kiln_tensor data = kiln_tensor_view(input.data(), dataType,
                                        static_cast<int32_t>(dataShape.size()), dataShape.data());
    kiln_tensor out = kiln_tensor_view(output.data(), logitsType,
                                       static_cast<int32_t>(logitsShape.size()),
                                       logitsShape.data());
    return lenet_forward(model.get(), &data, &out);
  }

  LenetPtr model;
  std::vector<double> input = std::vector<double>(4 * 28 * 28 * 2, 0.0);
  std::vector<double> output = std::vector<double>(4 * 10 * 2, 0.0);
};

TEST_F(LenetArguments, AcceptsGoodTensors) {
  EXPECT_EQ(run({2, 1, 28, 28}, {2, 10}), KILN_OK) << kiln_last_error();
}

TEST_F(LenetArguments, RejectsNullPointers) {
  int64_t dataShape[4] = {1, 1, 28, 28}, logitsShape[2] = {1, 10};
  kiln_tensor data = kiln_tensor_view(input.data(), KILN_F32, 4, dataShape);
  kiln_tensor out = kiln_tensor_view(output.data(), KILN_F32, 2, logitsShape);

  EXPECT_EQ(lenet_forward(nullptr, &data, &out), KILN_INVALID_ARGUMENT);
  EXPECT_STREQ(kiln_last_error(), "lenet_forward: model is NULL");
  EXPECT_EQ(lenet_forward(model.get(), nullptr, &out), KILN_INVALID_ARGUMENT);
  EXPECT_THAT(kiln_last_error(), HasSubstr("lenet_forward: data"));
  EXPECT_EQ(lenet_forward(model.get(), &data, nullptr), KILN_INVALID_ARGUMENT);
  EXPECT_THAT(kiln_last_error(), HasSubstr("lenet_forward: logits"));
  kiln_tensor noData = data;
  noData.data = nullptr;
  EXPECT_EQ(lenet_forward(model.get(), &noData, &out), KILN_INVALID_ARGUMENT);
  EXPECT_THAT(kiln_last_error(), HasSubstr("lenet_forward: data"));

  EXPECT_EQ(lenet_create(nullptr, nullptr), KILN_INVALID_ARGUMENT);
  EXPECT_STREQ(kiln_last_error(), "lenet_create: out_model is NULL");
  EXPECT_EQ(lenet_save(nullptr, "x.safetensors"), KILN_INVALID_ARGUMENT);
  EXPECT_STREQ(kiln_last_error(), "lenet_save: model is NULL");
  EXPECT_EQ(lenet_save(model.get(), nullptr), KILN_INVALID_ARGUMENT);
  EXPECT_STREQ(kiln_last_error(), "lenet_save: safetensors_path is NULL");
  lenet_destroy(nullptr);
}

TEST_F(LenetArguments, RejectsWrongRanks) {
  EXPECT_EQ(run({1, 28, 28}, {1, 10}), KILN_SHAPE_MISMATCH);
  EXPECT_THAT(kiln_last_error(), HasSubstr("lenet_forward: data"));
  EXPECT_EQ(run({1, 1, 28, 28}, {1, 10, 1}), KILN_SHAPE_MISMATCH);
  EXPECT_THAT(kiln_last_error(), HasSubstr("lenet_forward: logits"));
}

TEST_F(LenetArguments, RejectsWrongExtents) {
  EXPECT_EQ(run({2, 1, 28, 27}, {2, 10}), KILN_SHAPE_MISMATCH);
  EXPECT_THAT(kiln_last_error(), HasSubstr("lenet_forward: data"));
  EXPECT_EQ(run({2, 3, 28, 28}, {2, 10}), KILN_SHAPE_MISMATCH);
  EXPECT_EQ(run({2, 1, 28, 28}, {2, 9}), KILN_SHAPE_MISMATCH);
  EXPECT_THAT(kiln_last_error(), HasSubstr("lenet_forward: logits"));
  // A negative extent is named as given, not printed as the expected shape's "N".
  EXPECT_EQ(run({-1, 1, 28, 28}, {1, 10}), KILN_SHAPE_MISMATCH);
  EXPECT_STREQ(kiln_last_error(),
               "lenet_forward: data: expected shape [N, 1, 28, 28], got [-1, 1, 28, 28]");
  EXPECT_EQ(run({0, 1, 28, 28}, {0, 10}), KILN_SHAPE_MISMATCH);
  EXPECT_EQ(run({-2, 1, 28, 28}, {-2, 10}), KILN_SHAPE_MISMATCH);
}

TEST_F(LenetArguments, RejectsAnOutputThatOverlapsAnInput) {
  // The kernels would read data they had already overwritten: refused, whether the logits
  // start inside the data or cover it.
  int64_t dataShape[4] = {2, 1, 28, 28}, logitsShape[2] = {2, 10};
  kiln_tensor data = kiln_tensor_view(input.data(), KILN_F32, 4, dataShape);
  for (size_t offset : {size_t(0), size_t(100), size_t(28 * 28 * 2 - 1)}) {
    kiln_tensor logits =
        kiln_tensor_view(reinterpret_cast<float *>(input.data()) + offset, KILN_F32, 2,
                         logitsShape);
    EXPECT_EQ(lenet_forward(model.get(), &data, &logits), KILN_INVALID_ARGUMENT) << offset;
    EXPECT_STREQ(kiln_last_error(), "lenet_forward: logits overlaps data in memory; an output "
                                    "must not share its storage with an input or another output");
  }
  // Adjacent is not overlapping.
  kiln_tensor after = kiln_tensor_view(reinterpret_cast<float *>(input.data()) + 28 * 28 * 2,
                                       KILN_F32, 2, logitsShape);
  EXPECT_EQ(lenet_forward(model.get(), &data, &after), KILN_OK) << kiln_last_error();
}

TEST_F(LenetArguments, RejectsWrongDtypes) {
  EXPECT_EQ(run({1, 1, 28, 28}, {1, 10}, KILN_F64), KILN_DTYPE_MISMATCH);
  EXPECT_THAT(kiln_last_error(), HasSubstr("lenet_forward: data"));
  EXPECT_EQ(run({1, 1, 28, 28}, {1, 10}, KILN_F32, KILN_I32), KILN_DTYPE_MISMATCH);
  EXPECT_THAT(kiln_last_error(), HasSubstr("lenet_forward: logits"));
}

TEST_F(LenetArguments, RejectsABatchMismatch) {
  EXPECT_EQ(run({2, 1, 28, 28}, {3, 10}), KILN_SHAPE_MISMATCH);
  EXPECT_STREQ(kiln_last_error(), "lenet_forward: logits has batch 3 but data has 2");
}

TEST(LenetOptions, RejectsBadOptions) {
  kiln_options options;
  kiln_options_init(&options);
  lenet *model = reinterpret_cast<lenet *>(&options); // must be cleared on failure
  options.device = 1;
  EXPECT_EQ(lenet_create(&options, &model), KILN_DEVICE_ERROR);
  EXPECT_EQ(model, nullptr);
  EXPECT_THAT(kiln_last_error(), HasSubstr("compiled for the CPU"));
  options.device = 0;
  options.num_threads = -1;
  EXPECT_EQ(lenet_create(&options, &model), KILN_INVALID_ARGUMENT);
  EXPECT_THAT(kiln_last_error(), HasSubstr("num_threads is -1"));
  options.num_threads = 1000000;
  EXPECT_EQ(lenet_create(&options, &model), KILN_INVALID_ARGUMENT);
  EXPECT_STREQ(kiln_last_error(), "lenet_create: num_threads is 1000000; expected 0 (automatic) "
                                  "or a count from 1 to 4096");
  EXPECT_EQ(model, nullptr);
  options.num_threads = 0;
  // A malformed or out-of-range $KILN_NUM_THREADS is refused, not ignored.
  std::string saved = std::getenv("KILN_NUM_THREADS") ? std::getenv("KILN_NUM_THREADS") : "";
  bool had = std::getenv("KILN_NUM_THREADS") != nullptr;
  for (const char *bad : {"abc", "-5", "0", "1000000000", "3x", ""}) {
    setenv("KILN_NUM_THREADS", bad, 1);
    EXPECT_EQ(lenet_create(&options, &model), KILN_INVALID_ARGUMENT) << bad;
    EXPECT_EQ(kiln_last_error(), "lenet_create: $KILN_NUM_THREADS is '" + std::string(bad) +
                                     "'; expected a count from 1 to 4096");
    EXPECT_EQ(model, nullptr);
  }
  setenv("KILN_NUM_THREADS", "2", 1);
  ASSERT_EQ(lenet_create(&options, &model), KILN_OK) << kiln_last_error();
  lenet_destroy(model);
  if (had)
    setenv("KILN_NUM_THREADS", saved.c_str(), 1);
  else
    unsetenv("KILN_NUM_THREADS");
  // NULL options are the defaults.
  ASSERT_EQ(lenet_create(nullptr, &model), KILN_OK) << kiln_last_error();
  lenet_destroy(model);
}

// Creating LeNet from `path` fails with `status`, a message containing `text`, and no model.
void expectCreateFails(const std::string &path, kiln_status status, const std::string &text) {
  kiln_options options;
  kiln_options_init(&options);
  options.weights_path = path.c_str();
  lenet *model = nullptr;
  EXPECT_EQ(lenet_create(&options, &model), status) << kiln_last_error();
  EXPECT_EQ(model, nullptr);
  EXPECT_THAT(kiln_last_error(), HasSubstr(text));
  lenet_destroy(model);
}

// LeNet's default weights with one tensor replaced (or dropped, when shape is empty), and
// optionally an extra tensor of another dtype.
std::string weightsWith(const std::string &file, const std::string &replaced,
                        std::vector<int64_t> shape, kiln_dtype dtype = KILN_F32) {
  kiln_weights *weights = nullptr;
  EXPECT_EQ(kiln_weights_load(kLenetWeights.c_str(), &weights), KILN_OK);
  std::vector<const char *> names;
  std::vector<kiln_tensor> tensors;
  std::vector<double> storage(1 << 20, 0.0);
  for (size_t i = 0; i < kiln_weights_count(weights); ++i) {
    const char *name = kiln_weights_name(weights, i);
    kiln_tensor tensor;
    EXPECT_EQ(kiln_weights_get(weights, name, &tensor), KILN_OK);
    if (replaced == name) {
      if (shape.empty())
        continue;
      tensor = kiln_tensor_view(storage.data(), dtype, static_cast<int32_t>(shape.size()),
                                shape.data());
    }
    names.push_back(name);
    tensors.push_back(tensor);
  }
  // PyTorch's batch-norm counter and other extra tensors are ignored.
  int64_t scalar[1] = {1};
  names.push_back("extra.num_batches_tracked");
  tensors.push_back(kiln_tensor_view(storage.data(), KILN_I64, 1, scalar));
  std::string path = tempPath(file);
  EXPECT_EQ(kiln_weights_save(path.c_str(), names.size(), names.data(), tensors.data()), KILN_OK)
      << kiln_last_error();
  kiln_weights_free(weights);
  return path;
}

TEST(LenetWeights, AcceptsExtraTensors) {
  std::string path = weightsWith("extra.safetensors", "", {});
  LenetPtr model = createLenet(path.c_str());
  EXPECT_TRUE(model);
  std::remove(path.c_str());
}

TEST(LenetWeights, RejectsAMissingFile) {
  std::string path = tempPath("does-not-exist.safetensors");
  expectCreateFails(path, KILN_IO_ERROR, path);
}

TEST(LenetWeights, RejectsAnEmptyPath) {
  // Not ": No such file or directory", which names no file.
  expectCreateFails("", KILN_INVALID_ARGUMENT,
                    "lenet_create: weights_path is empty; give a safetensors file, or NULL for "
                    "the model's initial weights");
  kiln_weights *weights = nullptr;
  EXPECT_EQ(kiln_weights_load("", &weights), KILN_INVALID_ARGUMENT);
  EXPECT_STREQ(kiln_last_error(), "kiln_weights_load: path is empty");
  kiln_tensor tensor;
  EXPECT_EQ(kiln_idx_load("", &tensor), KILN_INVALID_ARGUMENT);
  EXPECT_STREQ(kiln_last_error(), "kiln_idx_load: path is empty");
}

TEST(LenetWeights, RejectsATruncatedFile) {
  std::string bytes = readFile(kLenetWeights);
  std::string path = tempPath("truncated.safetensors");
  writeFile(path, bytes.substr(0, bytes.size() / 2));
  expectCreateFails(path, KILN_CORRUPT_FILE, path);
  writeFile(path, bytes.substr(0, 5)); // not even the header length
  kiln_options options;
  kiln_options_init(&options);
  options.weights_path = path.c_str();
  lenet *model = nullptr;
  EXPECT_NE(lenet_create(&options, &model), KILN_OK);
  EXPECT_EQ(model, nullptr);
  EXPECT_THAT(kiln_last_error(), HasSubstr(path));
  std::remove(path.c_str());
}

TEST(LenetWeights, RejectsACorruptHeader) {
  std::string bytes = readFile(kLenetWeights);
  std::string path = tempPath("corrupt.safetensors");
  // Keep the length prefix, garble the JSON.
  for (size_t i = 8; i < 40 && i < bytes.size(); ++i)
    bytes[i] = '#';
  writeFile(path, bytes);
  expectCreateFails(path, KILN_CORRUPT_FILE, path);
  std::remove(path.c_str());
}

TEST(LenetWeights, RejectsATensorOfTheWrongShape) {
  std::string path = weightsWith("shape.safetensors", "conv1.weight", {20, 1, 5, 4});
  expectCreateFails(path, KILN_SHAPE_MISMATCH, "conv1.weight");
  std::remove(path.c_str());
}

TEST(LenetWeights, RejectsATensorOfTheWrongDtype) {
  std::string path = weightsWith("dtype.safetensors", "fc2.bias", {10}, KILN_F64);
  expectCreateFails(path, KILN_DTYPE_MISMATCH, "fc2.bias");
  std::remove(path.c_str());
}

TEST(LenetWeights, RejectsAMissingTensor) {
  std::string path = weightsWith("missing.safetensors", "fc2.bias", {});
  expectCreateFails(path, KILN_MISSING_TENSOR, "fc2.bias");
  std::remove(path.c_str());
}

TEST(LenetWeights, RejectsNonFiniteValues) {
  // A checkpoint saved after training diverged: refused when loaded, whether a weight is NaN,
  // infinite, or an optimizer buffer is.
  struct Case {
    const char *tensor;
    std::vector<int64_t> poisoned;
    float value;
    const char *message;
  };
  float nan = std::numeric_limits<float>::quiet_NaN();
  float inf = std::numeric_limits<float>::infinity();
  for (const Case &c : {Case{"fc2.bias", {3}, nan, "holds 1 non-finite value (NaN or infinity), "
                                                   "the first at index 3"},
                        Case{"conv1.weight", {7, 8, 100}, -inf, "holds 3 non-finite values (NaN "
                                                               "or infinity), the first at index 7"}}) {
    kiln_weights *weights = nullptr;
    ASSERT_EQ(kiln_weights_load(kLenetWeights.c_str(), &weights), KILN_OK);
    std::vector<const char *> names;
    std::vector<kiln_tensor> tensors;
    std::vector<float> copy;
    for (size_t i = 0; i < kiln_weights_count(weights); ++i) {
      names.push_back(kiln_weights_name(weights, i));
      kiln_tensor tensor;
      ASSERT_EQ(kiln_weights_get(weights, names.back(), &tensor), KILN_OK);
      if (std::string(names.back()) == c.tensor) {
        const float *data = static_cast<const float *>(tensor.data);
        copy.assign(data, data + kiln_tensor_numel(&tensor));
        for (int64_t index : c.poisoned)
          copy.at(static_cast<size_t>(index)) = c.value;
        tensor.data = copy.data();
      }
      tensors.push_back(tensor);
    }
    ASSERT_FALSE(copy.empty()) << c.tensor;
    std::string path = tempPath("nonfinite.safetensors");
    ASSERT_EQ(kiln_weights_save(path.c_str(), names.size(), names.data(), tensors.data()), KILN_OK)
        << kiln_last_error();
    kiln_weights_free(weights);
    expectCreateFails(path, KILN_NUMERIC_ERROR,
                      path + ": tensor '" + c.tensor + "' " + c.message +
                          "; a checkpoint saved after training diverged cannot be used");
    std::remove(path.c_str());
  }
}

TEST(LenetWeights, SaveReportsAnUnwritablePath) {
  LenetPtr model = createLenet();
  ASSERT_TRUE(model);
  std::string path = tempPath("no-such-dir") + "/weights.safetensors";
  EXPECT_EQ(lenet_save(model.get(), path.c_str()), KILN_IO_ERROR);
  EXPECT_THAT(kiln_last_error(), HasSubstr("no-such-dir"));
}


// The library records the target it was compiled for (kilnc --target=host resolved on this
// machine) and refuses, with a status naming the features, a CPU that lacks one it needs:
// KILN_CPU_DISABLE plays a CPU without them.
TEST(LenetCpuCheck, RecordsItsTargetAndRefusesACpuLackingAFeature) {
  Halide::Target host = kiln::codegen::resolveHostTarget();
  EXPECT_EQ(Halide::Target(lenet_target()), host) << lenet_target();
  std::vector<std::string> required = kiln::codegen::requiredCpuFeatures(host);
  if (required.empty())
    GTEST_SKIP() << "the host target " << host.to_string() << " needs no optional CPU feature";
  std::string disabled = required.front() + "," + required.back();
  std::string missing =
      required.size() == 1 ? required.front() : required.front() + ", " + required.back();
  setenv("KILN_CPU_DISABLE", disabled.c_str(), 1);
  lenet *model = reinterpret_cast<lenet *>(1);
  kiln_status status = lenet_create(nullptr, &model);
  std::string message = kiln_last_error();
  unsetenv("KILN_CPU_DISABLE");
  EXPECT_EQ(status, KILN_UNSUPPORTED_CPU);
  EXPECT_EQ(model, nullptr);
  EXPECT_EQ(message, "lenet_create: this library was compiled for target " +
                         std::string(lenet_target()) +
                         ", which needs CPU features this CPU lacks: " + missing +
                         "; compile the model for this machine (kilnc --target=host) or for a "
                         "target it supports");
  EXPECT_TRUE(createLenet());
}

} // namespace
