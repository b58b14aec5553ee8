// kiln-bench's cache key (tools/kiln-bench/ModelCache.h): an ONNX model's external data in its
// folder is part of the key, so changed weights are compiled again; a .kiln model's neighbours
// are not.
#include "kiln-bench/ModelCache.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <string>
#include <unistd.h>

namespace {

void write(const std::string &path, const std::string &text) {
  std::ofstream(path, std::ios::binary) << text;
}

class ModelCache : public ::testing::Test {
protected:
  void SetUp() override {
    char pattern[] = "/tmp/kiln-model-cache-XXXXXX";
    ASSERT_NE(mkdtemp(pattern), nullptr);
    dir = pattern;
    options.kilnc = "/proc/self/exe"; // any existing file: only its size and time are read
    options.cacheDir = dir + "/cache";
  }
  void TearDown() override { std::system(("rm -rf '" + dir + "'").c_str()); }

  std::string key(const std::string &model) {
    std::string out;
    EXPECT_EQ(kiln_bench::cacheDirectory(model, options, &out), KILN_OK);
    return out;
  }

  std::string dir;
  kiln_bench::CompileOptions options;
};

TEST_F(ModelCache, AnOnnxModelsExternalDataIsPartOfTheKey) {
  write(dir + "/model.onnx", "graph");
  write(dir + "/weights.bin", "1234");
  std::string first = key(dir + "/model.onnx");
  EXPECT_EQ(key(dir + "/model.onnx"), first);
  EXPECT_EQ(first.rfind(options.cacheDir + "/model-", 0), 0u) << first;
  write(dir + "/weights.bin", "12345678"); // new weights, same model file
  EXPECT_NE(key(dir + "/model.onnx"), first);
}

TEST_F(ModelCache, AKilnModelsNeighboursAreNot) {
  write(dir + "/lenet.kiln", "input data: [N, 1, 28, 28]\n");
  std::string first = key(dir + "/lenet.kiln");
  write(dir + "/notes.txt", "unrelated");
  EXPECT_EQ(key(dir + "/lenet.kiln"), first);
  write(dir + "/lenet.kiln", "input data: [N, 1, 32, 32]\n");
  EXPECT_NE(key(dir + "/lenet.kiln"), first);
}

TEST_F(ModelCache, AMissingModelIsAnError) {
  std::string out;
  EXPECT_EQ(kiln_bench::cacheDirectory(dir + "/absent.onnx", options, &out), KILN_IO_ERROR);
  EXPECT_TRUE(out.empty());
}

} // namespace
