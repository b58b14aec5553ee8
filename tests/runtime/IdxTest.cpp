// IDX datasets: plain and gzip'd files written here, corrupt ones, and the installed
// Fashion-MNIST.
#include "kiln/runtime.h"

#include "TestSupport.h"

#include <zlib.h>

#include <cstring>

using kiln_test::readFile;
using kiln_test::TempDir;
using kiln_test::writeFile;

namespace {

// An IDX file: 00 00 type rank, big-endian u32 dimensions, then `payload` (already big-endian).
std::string idxFile(unsigned char type, std::vector<uint32_t> dims, const std::string &payload) {
  std::string bytes = {0, 0, static_cast<char>(type), static_cast<char>(dims.size())};
  for (uint32_t dim : dims)
    for (int shift = 24; shift >= 0; shift -= 8)
      bytes += static_cast<char>(dim >> shift);
  return bytes + payload;
}

void writeGzip(const std::string &path, const std::string &bytes) {
  gzFile file = gzopen(path.c_str(), "wb");
  ASSERT_NE(file, nullptr) << path;
  if (!bytes.empty()) {
    ASSERT_EQ(gzwrite(file, bytes.data(), static_cast<unsigned>(bytes.size())),
              static_cast<int>(bytes.size()));
  }
  ASSERT_EQ(gzclose(file), Z_OK);
}

bool startsWith(const std::string &text, const std::string &prefix) {
  return text.rfind(prefix, 0) == 0;
}

// Loads `path` expecting failure with `status`; returns the message.
std::string loadError(const std::string &path, kiln_status status) {
  kiln_tensor tensor;
  std::memset(&tensor, 0x3C, sizeof tensor);
  EXPECT_EQ(kiln_idx_load(path.c_str(), &tensor), status) << kiln_last_error();
  EXPECT_EQ(tensor.data, nullptr);
  EXPECT_EQ(tensor.rank, 0);
  return kiln_last_error();
}

const std::string kPixels = {0, 1, 2, 3, 4, 5, static_cast<char>(254), static_cast<char>(255)};

TEST(Idx, LoadsPlainAndGzippedU8) {
  TempDir dir;
  std::string bytes = idxFile(0x08, {2, 2, 2}, kPixels);
  writeFile(dir.file("plain"), bytes);
  writeGzip(dir.file("zipped.gz"), bytes);
  writeGzip(dir.file("zipped-without-suffix"), bytes);
  for (const char *name : {"plain", "zipped.gz", "zipped-without-suffix"}) {
    SCOPED_TRACE(name);
    kiln_tensor tensor;
    ASSERT_EQ(kiln_idx_load(dir.file(name).c_str(), &tensor), KILN_OK) << kiln_last_error();
    int64_t shape[] = {2, 2, 2};
    EXPECT_EQ(kiln_tensor_check(&tensor, "idx", KILN_U8, 3, shape), KILN_OK) << kiln_last_error();
    EXPECT_EQ(std::memcmp(tensor.data, kPixels.data(), 8), 0);
    EXPECT_EQ(reinterpret_cast<uintptr_t>(tensor.data) % 64, 0u);
    kiln_tensor_free(&tensor);
  }
}

TEST(Idx, DecodesBigEndianTypes) {
  TempDir dir;
  struct Case {
    unsigned char type;
    std::string payload;
    kiln_dtype dtype;
    std::vector<double> values;
  };
  std::vector<Case> cases = {
      {0x0C, std::string("\x00\x00\x01\x02\xFF\xFF\xFF\xFE", 8), KILN_I32, {258, -2}},
      {0x0D, std::string("\x3F\xC0\x00\x00\xC0\x20\x00\x00", 8), KILN_F32, {1.5, -2.5}},
      {0x0E, std::string("\x40\x09\x21\xFB\x54\x44\x2D\x18\xBF\xF0\x00\x00\x00\x00\x00\x00", 16),
       KILN_F64, {3.141592653589793, -1.0}},
      {0x09, std::string("\x7F\x80", 2), KILN_I32, {127, -128}},
      {0x0B, std::string("\x01\x00\xFF\xFE", 4), KILN_I32, {256, -2}},
  };
  for (const Case &c : cases) {
    SCOPED_TRACE("IDX type " + std::to_string(c.type));
    std::string path = dir.file("typed");
    writeFile(path, idxFile(c.type, {2}, c.payload));
    kiln_tensor tensor;
    ASSERT_EQ(kiln_idx_load(path.c_str(), &tensor), KILN_OK) << kiln_last_error();
    ASSERT_EQ(tensor.dtype, c.dtype);
    ASSERT_EQ(kiln_tensor_numel(&tensor), 2);
    for (int i = 0; i < 2; ++i) {
      double value = c.dtype == KILN_I32   ? static_cast<int32_t *>(tensor.data)[i]
                     : c.dtype == KILN_F32 ? static_cast<float *>(tensor.data)[i]
                                           : static_cast<double *>(tensor.data)[i];
      EXPECT_EQ(value, c.values[i]) << i;
    }
    kiln_tensor_free(&tensor);
  }
}

TEST(Idx, EmptyAndScalarFiles) {
  TempDir dir;
  kiln_tensor tensor;
  writeFile(dir.file("empty"), idxFile(0x0B, {0, 5}, ""));
  ASSERT_EQ(kiln_idx_load(dir.file("empty").c_str(), &tensor), KILN_OK) << kiln_last_error();
  EXPECT_EQ(kiln_tensor_numel(&tensor), 0);
  EXPECT_NE(tensor.data, nullptr);
  kiln_tensor_free(&tensor);
  writeFile(dir.file("scalar"), idxFile(0x08, {}, "\x07"));
  ASSERT_EQ(kiln_idx_load(dir.file("scalar").c_str(), &tensor), KILN_OK) << kiln_last_error();
  EXPECT_EQ(tensor.rank, 0);
  EXPECT_EQ(*static_cast<uint8_t *>(tensor.data), 7);
  kiln_tensor_free(&tensor);
}

TEST(Idx, EveryTruncationIsAnError) {
  TempDir dir;
  std::string bytes = idxFile(0x0D, {2, 3}, std::string(24, '\x01'));
  std::string cut = dir.file("cut");
  for (size_t length = 0; length < bytes.size(); ++length) {
    SCOPED_TRACE("cut at byte " + std::to_string(length));
    writeFile(cut, bytes.substr(0, length));
    EXPECT_TRUE(startsWith(loadError(cut, KILN_CORRUPT_FILE), cut + ": truncated: "))
        << kiln_last_error();
    writeGzip(cut, bytes.substr(0, length));
    EXPECT_TRUE(startsWith(loadError(cut, KILN_CORRUPT_FILE), cut + ": truncated: "))
        << kiln_last_error();
  }
  writeFile(cut, bytes.substr(0, 20));
  EXPECT_EQ(loadError(cut, KILN_CORRUPT_FILE),
            cut + ": truncated: f32 [2, 3] needs 24 bytes of data, the file has 8");
}

TEST(Idx, EveryTruncatedGzipStreamIsAnError) {
  TempDir dir;
  std::string zipped = dir.file("whole.gz");
  writeGzip(zipped, idxFile(0x08, {4, 4}, std::string(16, '\x05')));
  std::string compressed = readFile(zipped);
  std::string cut = dir.file("cut.gz");
  // From 2 bytes on the file is recognised as gzip; shorter prefixes read as plain files.
  for (size_t length = 0; length < compressed.size(); ++length) {
    SCOPED_TRACE("cut at byte " + std::to_string(length));
    writeFile(cut, compressed.substr(0, length));
    EXPECT_TRUE(startsWith(loadError(cut, KILN_CORRUPT_FILE), cut + ": truncated: "))
        << kiln_last_error();
  }
}

TEST(Idx, DamagedGzipStreamIsAnError) {
  TempDir dir;
  std::string zipped = dir.file("whole.gz");
  std::string payload;
  for (int i = 0; i < 4096; ++i)
    payload += static_cast<char>(i * 7 % 251);
  writeGzip(zipped, idxFile(0x08, {4096}, payload));
  std::string bytes = readFile(zipped);
  bytes[bytes.size() - 6] ^= 0x55; // inside the CRC-32 trailer
  writeFile(zipped, bytes);
  EXPECT_EQ(loadError(zipped, KILN_CORRUPT_FILE),
            zipped + ": damaged gzip stream: incorrect data check");
}

TEST(Idx, RejectsMalformedHeadersAndTrailingData) {
  TempDir dir;
  std::string path = dir.file("bad");
  writeFile(path, "\x01\x00\x08\x01" + std::string(4, '\0'));
  EXPECT_EQ(loadError(path, KILN_CORRUPT_FILE),
            path + ": not an IDX file (the magic number starts 01 00, not 00 00)");
  writeFile(path, idxFile(0x0A, {1}, "x"));
  EXPECT_EQ(loadError(path, KILN_CORRUPT_FILE), path + ": unknown IDX element type 0x0a");
  writeFile(path, idxFile(0x08, std::vector<uint32_t>(9, 1), "x"));
  EXPECT_EQ(loadError(path, KILN_CORRUPT_FILE),
            path + ": 9 dimensions, more than the runtime's maximum of 8");
  writeFile(path, idxFile(0x08, {2}, "abc"));
  EXPECT_EQ(loadError(path, KILN_CORRUPT_FILE),
            path + ": data continues past the 2 bytes that u8 [2] holds");
  writeGzip(path, idxFile(0x08, {65536, 65536}, "x"));
  EXPECT_TRUE(startsWith(loadError(path, KILN_CORRUPT_FILE),
                         path + ": truncated: u8 [65536, 65536] needs 4294967296 bytes of data, "
                                "more than "))
      << kiln_last_error();
  writeGzip(path, idxFile(0x0E, {0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF}, ""));
  EXPECT_EQ(loadError(path, KILN_CORRUPT_FILE),
            path + ": dimensions [4294967295, 4294967295, 4294967295] are too large");
}

TEST(Idx, MissingFileIsAnIOError) {
  TempDir dir;
  std::string path = dir.file("absent-idx1-ubyte");
  EXPECT_EQ(loadError(path, KILN_IO_ERROR), path + ": No such file or directory");
  EXPECT_EQ(kiln_idx_load(path.c_str(), nullptr), KILN_INVALID_ARGUMENT);
  kiln_tensor tensor;
  EXPECT_EQ(kiln_idx_load(nullptr, &tensor), KILN_INVALID_ARGUMENT);
}

class MnistDir : public ::testing::Test {
protected:
  // train: 2 images of 2 x 2 (plain), labels gzip'd.
  void SetUp() override {
    writeFile(dir.file("train-images-idx3-ubyte"), idxFile(0x08, {2, 2, 2}, kPixels));
    writeGzip(dir.file("train-labels-idx1-ubyte.gz"), idxFile(0x08, {2}, "\x03\x09"));
  }
  kiln_status load(const char *split) {
    std::memset(&images, 0x77, sizeof images);
    std::memset(&labels, 0x77, sizeof labels);
    return kiln_mnist_load(dir.path().c_str(), split, &images, &labels);
  }
  void TearDown() override {
    kiln_tensor_free(&images);
    kiln_tensor_free(&labels);
  }
  TempDir dir;
  kiln_tensor images, labels;
};

TEST_F(MnistDir, LoadsPlainOrGzippedFiles) {
  ASSERT_EQ(load("train"), KILN_OK) << kiln_last_error();
  int64_t imageShape[] = {2, 2, 2}, labelShape[] = {2};
  EXPECT_EQ(kiln_tensor_check(&images, "images", KILN_U8, 3, imageShape), KILN_OK);
  EXPECT_EQ(kiln_tensor_check(&labels, "labels", KILN_U8, 1, labelShape), KILN_OK);
  EXPECT_EQ(static_cast<uint8_t *>(labels.data)[1], 9);
}

TEST_F(MnistDir, MissingSplitNamesTheFiles) {
  EXPECT_EQ(load("t10k"), KILN_IO_ERROR);
  std::string expected = dir.file("t10k-images-idx3-ubyte");
  EXPECT_EQ(std::string(kiln_last_error()),
            expected + ": no such file (nor " + expected + ".gz)");
  EXPECT_EQ(images.data, nullptr);
  EXPECT_EQ(labels.data, nullptr);
  EXPECT_EQ(kiln_mnist_load(dir.path().c_str(), "", &images, &labels), KILN_INVALID_ARGUMENT);
  EXPECT_EQ(kiln_mnist_load(nullptr, "train", &images, &labels), KILN_INVALID_ARGUMENT);
}

TEST_F(MnistDir, CountsMustAgree) {
  writeGzip(dir.file("train-labels-idx1-ubyte.gz"), idxFile(0x08, {3}, "\x01\x02\x03"));
  EXPECT_EQ(load("train"), KILN_CORRUPT_FILE);
  std::string labelsPath = dir.file("train-labels-idx1-ubyte.gz");
  EXPECT_EQ(std::string(kiln_last_error()),
            labelsPath + ": 3 labels for 2 images in " + dir.file("train-images-idx3-ubyte"));
  EXPECT_EQ(images.data, nullptr);
  EXPECT_EQ(labels.data, nullptr);
}

TEST_F(MnistDir, LabelsMustBeClasses) {
  writeGzip(dir.file("train-labels-idx1-ubyte.gz"), idxFile(0x08, {2}, "\x01\x0A"));
  EXPECT_EQ(load("train"), KILN_CORRUPT_FILE);
  EXPECT_EQ(std::string(kiln_last_error()), dir.file("train-labels-idx1-ubyte.gz") +
                                                ": label 1 is 10, not a class in [0, 9]");
}

TEST_F(MnistDir, ImagesMustBeU8Rank3) {
  writeFile(dir.file("train-images-idx3-ubyte"), idxFile(0x08, {2, 4}, kPixels));
  EXPECT_EQ(load("train"), KILN_CORRUPT_FILE);
  EXPECT_EQ(std::string(kiln_last_error()),
            dir.file("train-images-idx3-ubyte") +
                ": expected u8 images [N, rows, columns], got u8[2, 4]");
}

const char *const kFashionMnist = "/usr/share/datasets/fashion-mnist";

TEST(FashionMnist, TestSetLoads) {
  std::string images = std::string(kFashionMnist) + "/t10k-images-idx3-ubyte.gz";
  if (!std::filesystem::exists(images))
    GTEST_SKIP() << images << " is absent (Debian package dataset-fashion-mnist)";
  kiln_tensor data, labels;
  ASSERT_EQ(kiln_mnist_load(kFashionMnist, "t10k", &data, &labels), KILN_OK) << kiln_last_error();
  int64_t imageShape[] = {10000, 28, 28}, labelShape[] = {10000};
  EXPECT_EQ(kiln_tensor_check(&data, "images", KILN_U8, 3, imageShape), KILN_OK)
      << kiln_last_error();
  EXPECT_EQ(kiln_tensor_check(&labels, "labels", KILN_U8, 1, labelShape), KILN_OK)
      << kiln_last_error();
  // The test set holds 1000 images of each class, and the images are not blank.
  std::vector<int> perClass(10);
  for (int i = 0; i < 10000; ++i) {
    uint8_t label = static_cast<uint8_t *>(labels.data)[i];
    ASSERT_LT(label, 10);
    ++perClass[label];
  }
  EXPECT_EQ(perClass, std::vector<int>(10, 1000));
  const auto *pixels = static_cast<const uint8_t *>(data.data);
  EXPECT_GT(*std::max_element(pixels, pixels + 28 * 28), 0);
  kiln_tensor_free(&data);
  kiln_tensor_free(&labels);
}

TEST(FashionMnist, TrainingSetLoads) {
  std::string images = std::string(kFashionMnist) + "/train-images-idx3-ubyte.gz";
  if (!std::filesystem::exists(images))
    GTEST_SKIP() << images << " is absent (Debian package dataset-fashion-mnist)";
  kiln_tensor data, labels;
  ASSERT_EQ(kiln_mnist_load(kFashionMnist, "train", &data, &labels), KILN_OK)
      << kiln_last_error();
  int64_t imageShape[] = {60000, 28, 28};
  EXPECT_EQ(kiln_tensor_check(&data, "images", KILN_U8, 3, imageShape), KILN_OK)
      << kiln_last_error();
  EXPECT_EQ(labels.shape[0], 60000);
  kiln_tensor_free(&data);
  kiln_tensor_free(&labels);
}

} // namespace
