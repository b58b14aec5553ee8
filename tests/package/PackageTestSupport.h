// Helpers shared by the generated-library tests: deterministic images, RAII models, files.
#ifndef KILN_TESTS_PACKAGE_PACKAGETESTSUPPORT_H
#define KILN_TESTS_PACKAGE_PACKAGETESTSUPPORT_H

#include "lenet.h"
#include "support/Files.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

namespace kiln::test {

inline const std::string kLenetWeights = KILN_LENET_DIR "/lenet.safetensors";
inline const std::string kLenetShared = KILN_LENET_DIR "/liblenet.so";
inline const std::string kTinyWeights = KILN_TINY_DIR "/tiny.safetensors";

// Image i of every batch is the same (stream i), whatever the batch size: values in [0, 1).
inline std::vector<float> images(int64_t batch) {
  std::vector<float> data(static_cast<size_t>(batch * 28 * 28));
  for (int64_t i = 0; i < batch; ++i) {
    float *image = data.data() + i * 28 * 28;
    kiln_fill_uniform(image, 28 * 28, 0.5f, /*seed=*/2024, /*stream=*/static_cast<uint64_t>(i));
    for (int64_t j = 0; j < 28 * 28; ++j)
      image[j] += 0.5f;
  }
  return data;
}

struct LenetDeleter {
  void operator()(lenet *model) const { lenet_destroy(model); }
};
using LenetPtr = std::unique_ptr<lenet, LenetDeleter>;

// Creates LeNet with 2 threads; fails the test (and returns null) on error.
inline LenetPtr createLenet(const char *weightsPath = nullptr) {
  kiln_options options;
  kiln_options_init(&options);
  options.weights_path = weightsPath;
  options.num_threads = 2;
  lenet *model = nullptr;
  kiln_status status = lenet_create(&options, &model);
  EXPECT_EQ(status, KILN_OK) << kiln_last_error();
  return LenetPtr(model);
}

// Logits [batch, 10] of the images; fails the test on error.
inline std::vector<float> forward(lenet *model, std::vector<float> input, int64_t batch) {
  std::vector<float> logits(static_cast<size_t>(batch * 10), -1.0f);
  int64_t dataShape[4] = {batch, 1, 28, 28}, logitsShape[2] = {batch, 10};
  kiln_tensor data = kiln_tensor_view(input.data(), KILN_F32, 4, dataShape);
  kiln_tensor out = kiln_tensor_view(logits.data(), KILN_F32, 2, logitsShape);
  kiln_status status = lenet_forward(model, &data, &out);
  EXPECT_EQ(status, KILN_OK) << kiln_last_error();
  return logits;
}

using testsupport::readFile;

inline void writeFile(const std::string &path, const std::string &bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << bytes;
}

// A safetensors file's tensors by name: dtype, shape and bytes.
struct SavedTensor {
  kiln_dtype dtype;
  std::vector<int64_t> shape;
  std::string bytes;
  bool operator==(const SavedTensor &other) const {
    return dtype == other.dtype && shape == other.shape && bytes == other.bytes;
  }
};
inline std::map<std::string, SavedTensor> readTensors(const std::string &path) {
  std::map<std::string, SavedTensor> tensors;
  kiln_weights *weights = nullptr;
  EXPECT_EQ(kiln_weights_load(path.c_str(), &weights), KILN_OK) << kiln_last_error();
  for (size_t i = 0; weights && i < kiln_weights_count(weights); ++i) {
    const char *name = kiln_weights_name(weights, i);
    kiln_tensor tensor;
    EXPECT_EQ(kiln_weights_get(weights, name, &tensor), KILN_OK);
    size_t bytes = static_cast<size_t>(kiln_tensor_numel(&tensor)) * kiln_dtype_size(tensor.dtype);
    tensors[name] = {tensor.dtype, std::vector<int64_t>(tensor.shape, tensor.shape + tensor.rank),
                     std::string(static_cast<const char *>(tensor.data), bytes)};
  }
  kiln_weights_free(weights);
  return tensors;
}

// What a fresh (untrained) model's <model>_save writes: exactly the tensors of `weightsPath`
// (kilnc's initial weights), plus optimizer buffers of zeros and optimizer.step = 0.
inline void expectFreshCheckpoint(const std::string &savedPath, const std::string &weightsPath) {
  std::map<std::string, SavedTensor> saved = readTensors(savedPath),
                                     weights = readTensors(weightsPath);
  for (const auto &[name, tensor] : weights) {
    auto found = saved.find(name);
    ASSERT_NE(found, saved.end()) << name;
    EXPECT_TRUE(found->second == tensor) << name;
  }
  for (const auto &[name, tensor] : saved) {
    if (weights.count(name))
      continue;
    EXPECT_EQ(name.rfind("optimizer.", 0), 0u) << name;
    EXPECT_EQ(tensor.bytes, std::string(tensor.bytes.size(), '\0')) << name << " is not zero";
  }
  ASSERT_TRUE(saved.count("optimizer.step"));
  EXPECT_EQ(saved["optimizer.step"].dtype, KILN_I64);
  EXPECT_TRUE(saved["optimizer.step"].shape.empty());
}

// A path in the test's temporary directory, unique per test.
inline std::string tempPath(const std::string &name) {
  const testing::TestInfo *info = testing::UnitTest::GetInstance()->current_test_info();
  return testing::TempDir() + "kiln-package-" + info->test_suite_name() + "-" + info->name() +
         "-" + name;
}

} // namespace kiln::test

#endif // KILN_TESTS_PACKAGE_PACKAGETESTSUPPORT_H
