// Safetensors weights: round trips, files written by hand per the format, corrupt input, and
// atomic saving.
#include "kiln/runtime.h"

#include "TestSupport.h"

#include <cmath>
#include <cstring>
#include <random>

using kiln_test::bytesOf;
using kiln_test::readFile;
using kiln_test::TempDir;
using kiln_test::writeFile;

namespace {

// A safetensors file: the 8-byte little-endian header length, the header, the data.
std::string safetensorsFile(const std::string &header, const std::string &data) {
  std::string bytes;
  for (int i = 0; i < 8; ++i)
    bytes += static_cast<char>(static_cast<uint64_t>(header.size()) >> (8 * i));
  return bytes + header + data;
}

bool contains(const std::string &text, const std::string &part) {
  return text.find(part) != std::string::npos;
}

// Loads `path`, expecting failure with `status`; returns the message.
std::string loadError(const std::string &path, kiln_status status) {
  kiln_weights *weights = reinterpret_cast<kiln_weights *>(1);
  EXPECT_EQ(kiln_weights_load(path.c_str(), &weights), status) << kiln_last_error();
  EXPECT_EQ(weights, nullptr);
  kiln_weights_free(weights);
  return kiln_last_error();
}

// Writes a file from `header` and `data`, and expects KILN_CORRUPT_FILE with a message naming
// the file and containing `part`.
void expectCorrupt(const TempDir &dir, const std::string &header, const std::string &data,
                   const std::string &part) {
  std::string path = dir.file("bad.safetensors");
  writeFile(path, safetensorsFile(header, data));
  std::string message = loadError(path, KILN_CORRUPT_FILE);
  EXPECT_TRUE(contains(message, path + ": ")) << message;
  EXPECT_TRUE(contains(message, part)) << "expected '" << part << "' in: " << message;
}

struct Saved {
  std::string name;
  kiln_tensor tensor;
};

TEST(Weights, RoundTripEveryDtypeAndRank) {
  TempDir dir;
  std::vector<float> f32 = {1.5f, -2.25f, 3.0f, INFINITY, -0.0f, 6.0f};
  std::vector<double> f64 = {M_PI, -1e300, 5e-324};
  std::vector<int32_t> i32 = {1, -2, 3, INT32_MIN, INT32_MAX, 6, 7, 8};
  std::vector<int64_t> i64 = {INT64_MIN};
  std::vector<uint8_t> u8 = {0, 1, 127, 128, 255};
  int64_t s23[] = {2, 3}, s3[] = {3}, s222[] = {2, 2, 2}, s5[] = {5}, s04[] = {0, 4};
  int64_t s8[] = {1, 1, 1, 1, 1, 1, 1, 1};
  std::vector<Saved> saved = {
      {"conv1.weight", kiln_tensor_view(f32.data(), KILN_F32, 2, s23)},
      {"fc.bias", kiln_tensor_view(f64.data(), KILN_F64, 1, s3)},
      {"idx", kiln_tensor_view(i32.data(), KILN_I32, 3, s222)},
      {"bn1.num_batches_tracked", kiln_tensor_view(i64.data(), KILN_I64, 0, nullptr)},
      {"bytes", kiln_tensor_view(u8.data(), KILN_U8, 1, s5)},
      {"empty", kiln_tensor_view(nullptr, KILN_F32, 2, s04)},
      {"rank8", kiln_tensor_view(f32.data(), KILN_F32, 8, s8)},
  };
  std::vector<const char *> names;
  std::vector<kiln_tensor> tensors;
  for (const Saved &s : saved) {
    names.push_back(s.name.c_str());
    tensors.push_back(s.tensor);
  }
  std::string path = dir.file("model.safetensors");
  ASSERT_EQ(kiln_weights_save(path.c_str(), saved.size(), names.data(), tensors.data()), KILN_OK)
      << kiln_last_error();
  EXPECT_EQ(dir.list(), std::vector<std::string>{"model.safetensors"});

  kiln_weights *weights = nullptr;
  ASSERT_EQ(kiln_weights_load(path.c_str(), &weights), KILN_OK) << kiln_last_error();
  ASSERT_EQ(kiln_weights_count(weights), saved.size());
  std::vector<std::string> sorted;
  for (size_t i = 0; i < saved.size(); ++i)
    sorted.push_back(kiln_weights_name(weights, i));
  EXPECT_TRUE(std::is_sorted(sorted.begin(), sorted.end()));
  EXPECT_EQ(kiln_weights_name(weights, saved.size()), nullptr);
  for (const Saved &s : saved) {
    kiln_tensor got;
    ASSERT_EQ(kiln_weights_get(weights, s.name.c_str(), &got), KILN_OK) << kiln_last_error();
    EXPECT_EQ(got.dtype, s.tensor.dtype) << s.name;
    ASSERT_EQ(got.rank, s.tensor.rank) << s.name;
    for (int i = 0; i < got.rank; ++i)
      EXPECT_EQ(got.shape[i], s.tensor.shape[i]) << s.name;
    size_t bytes = kiln_tensor_numel(&got) * kiln_dtype_size(got.dtype);
    ASSERT_NE(got.data, nullptr) << s.name;
    EXPECT_EQ(reinterpret_cast<uintptr_t>(got.data) % kiln_dtype_size(got.dtype), 0u) << s.name;
    if (bytes) {
      EXPECT_EQ(std::memcmp(got.data, s.tensor.data, bytes), 0) << s.name;
    }
  }
  kiln_weights_free(weights);
}

TEST(Weights, RoundTripManyTensors) {
  TempDir dir;
  std::mt19937 random(7);
  const kiln_dtype dtypes[] = {KILN_F32, KILN_F64, KILN_I32, KILN_I64, KILN_U8};
  std::vector<std::string> names;
  std::vector<kiln_tensor> tensors;
  for (int i = 0; i < 300; ++i) {
    int64_t shape[4];
    int32_t rank = static_cast<int32_t>(random() % 5);
    for (int d = 0; d < rank; ++d)
      shape[d] = static_cast<int64_t>(random() % 4 + 1);
    kiln_tensor tensor;
    ASSERT_EQ(kiln_tensor_alloc(dtypes[random() % 5], rank, shape, &tensor), KILN_OK);
    auto *bytes = static_cast<unsigned char *>(tensor.data);
    for (int64_t b = 0; b < kiln_tensor_numel(&tensor) * int64_t(kiln_dtype_size(tensor.dtype));
         ++b)
      bytes[b] = static_cast<unsigned char>(random());
    names.push_back("layer" + std::to_string(i) + ".weight");
    tensors.push_back(tensor);
  }
  std::vector<const char *> cnames;
  for (const std::string &name : names)
    cnames.push_back(name.c_str());
  std::string path = dir.file("many.safetensors");
  ASSERT_EQ(kiln_weights_save(path.c_str(), names.size(), cnames.data(), tensors.data()), KILN_OK)
      << kiln_last_error();
  kiln_weights *weights = nullptr;
  ASSERT_EQ(kiln_weights_load(path.c_str(), &weights), KILN_OK) << kiln_last_error();
  EXPECT_EQ(kiln_weights_count(weights), names.size());
  for (size_t i = 0; i < names.size(); ++i) {
    kiln_tensor copy;
    ASSERT_EQ(kiln_tensor_alloc(tensors[i].dtype, tensors[i].rank, tensors[i].shape, &copy),
              KILN_OK);
    ASSERT_EQ(kiln_weights_copy_to(weights, cnames[i], &copy), KILN_OK) << kiln_last_error();
    EXPECT_EQ(std::memcmp(copy.data, tensors[i].data,
                          kiln_tensor_numel(&copy) * kiln_dtype_size(copy.dtype)),
              0)
        << names[i];
    kiln_tensor_free(&copy);
    kiln_tensor_free(&tensors[i]);
  }
  kiln_weights_free(weights);
}

// The bytes match the reference implementation's: tensors ordered by dtype alignment, then by
// name; compact JSON; header padded with spaces to a multiple of 8.
TEST(Weights, SavedLayoutMatchesTheReference) {
  TempDir dir;
  std::vector<float> b = {1.0f, 2.0f};
  std::vector<uint8_t> a = {7, 8, 9};
  std::vector<int64_t> c = {-1};
  int64_t two[] = {2}, three[] = {3}, one[] = {1};
  const char *names[] = {"b", "a", "c"};
  kiln_tensor tensors[] = {kiln_tensor_view(b.data(), KILN_F32, 1, two),
                           kiln_tensor_view(a.data(), KILN_U8, 1, three),
                           kiln_tensor_view(c.data(), KILN_I64, 1, one)};
  std::string path = dir.file("ref.safetensors");
  ASSERT_EQ(kiln_weights_save(path.c_str(), 3, names, tensors), KILN_OK) << kiln_last_error();
  std::string header = R"({"c":{"dtype":"I64","shape":[1],"data_offsets":[0,8]},)"
                       R"("b":{"dtype":"F32","shape":[2],"data_offsets":[8,16]},)"
                       R"("a":{"dtype":"U8","shape":[3],"data_offsets":[16,19]}})";
  header.append((8 - header.size() % 8) % 8, ' ');
  EXPECT_EQ(readFile(path), safetensorsFile(header, bytesOf(c) + bytesOf(b) + bytesOf(a)));
}

TEST(Weights, SavesAndLoadsNoTensors) {
  TempDir dir;
  std::string path = dir.file("empty.safetensors");
  ASSERT_EQ(kiln_weights_save(path.c_str(), 0, nullptr, nullptr), KILN_OK) << kiln_last_error();
  EXPECT_EQ(readFile(path), safetensorsFile("{}      ", ""));
  kiln_weights *weights = nullptr;
  ASSERT_EQ(kiln_weights_load(path.c_str(), &weights), KILN_OK) << kiln_last_error();
  EXPECT_EQ(kiln_weights_count(weights), 0u);
  kiln_weights_free(weights);
}

TEST(Weights, ReadsAFileWrittenByHand) {
  TempDir dir;
  // Keys out of order, whitespace, metadata, an unpadded header, and an f32 tensor at an odd
  // offset (the loader realigns it).
  std::string header = R"( { "w" : {"shape": [2, 2], "dtype": "F32", "data_offsets": [1, 17]},
      "__metadata__": {"format": "pt", "note": "by hand"},
      "flag": {"dtype": "U8", "shape": [], "data_offsets": [0, 1]},
      "empty": {"dtype": "I64", "shape": [0], "data_offsets": [17, 17]} })";
  std::vector<float> w = {0.5f, -1.0f, 2.0f, 1e-3f};
  std::string path = dir.file("hand.safetensors");
  writeFile(path, safetensorsFile(header, "\x2A" + bytesOf(w)));
  kiln_weights *weights = nullptr;
  ASSERT_EQ(kiln_weights_load(path.c_str(), &weights), KILN_OK) << kiln_last_error();
  ASSERT_EQ(kiln_weights_count(weights), 3u);
  EXPECT_STREQ(kiln_weights_name(weights, 0), "empty");
  EXPECT_STREQ(kiln_weights_name(weights, 1), "flag");
  EXPECT_STREQ(kiln_weights_name(weights, 2), "w");
  kiln_tensor tensor;
  ASSERT_EQ(kiln_weights_get(weights, "w", &tensor), KILN_OK);
  int64_t shape[] = {2, 2};
  EXPECT_EQ(kiln_tensor_check(&tensor, "w", KILN_F32, 2, shape), KILN_OK) << kiln_last_error();
  EXPECT_EQ(reinterpret_cast<uintptr_t>(tensor.data) % 4, 0u);
  EXPECT_EQ(std::memcmp(tensor.data, w.data(), 16), 0);
  ASSERT_EQ(kiln_weights_get(weights, "flag", &tensor), KILN_OK);
  EXPECT_EQ(tensor.rank, 0);
  EXPECT_EQ(*static_cast<uint8_t *>(tensor.data), 42);
  ASSERT_EQ(kiln_weights_get(weights, "empty", &tensor), KILN_OK);
  EXPECT_EQ(kiln_tensor_numel(&tensor), 0);
  kiln_weights_free(weights);
}

TEST(Weights, NamesMayHoldAnyUnicode) {
  TempDir dir;
  std::vector<float> v = {1.0f};
  int64_t one[] = {1};
  const char *names[] = {"größe/\"quoted\"\\n\t", "日本"};
  kiln_tensor tensors[] = {kiln_tensor_view(v.data(), KILN_F32, 1, one),
                           kiln_tensor_view(v.data(), KILN_F32, 1, one)};
  std::string path = dir.file("unicode.safetensors");
  ASSERT_EQ(kiln_weights_save(path.c_str(), 2, names, tensors), KILN_OK) << kiln_last_error();
  kiln_weights *weights = nullptr;
  ASSERT_EQ(kiln_weights_load(path.c_str(), &weights), KILN_OK) << kiln_last_error();
  kiln_tensor tensor;
  EXPECT_EQ(kiln_weights_get(weights, names[0], &tensor), KILN_OK) << kiln_last_error();
  EXPECT_EQ(kiln_weights_get(weights, names[1], &tensor), KILN_OK) << kiln_last_error();
  kiln_weights_free(weights);
}

TEST(Weights, MissingFileIsAnIOError) {
  TempDir dir;
  std::string path = dir.file("absent.safetensors");
  EXPECT_EQ(loadError(path, KILN_IO_ERROR), path + ": No such file or directory");
  EXPECT_EQ(loadError(dir.path(), KILN_IO_ERROR), dir.path() + ": not a regular file");
  kiln_weights *weights;
  EXPECT_EQ(kiln_weights_load(nullptr, &weights), KILN_INVALID_ARGUMENT);
  EXPECT_EQ(kiln_weights_load(path.c_str(), nullptr), KILN_INVALID_ARGUMENT);
}

TEST(Weights, EveryTruncationIsAnError) {
  TempDir dir;
  std::vector<float> w = {1, 2, 3, 4, 5, 6};
  std::vector<int64_t> n = {9};
  int64_t s23[] = {2, 3};
  const char *names[] = {"w", "n"};
  kiln_tensor tensors[] = {kiln_tensor_view(w.data(), KILN_F32, 2, s23),
                           kiln_tensor_view(n.data(), KILN_I64, 0, nullptr)};
  std::string good = dir.file("good.safetensors");
  ASSERT_EQ(kiln_weights_save(good.c_str(), 2, names, tensors), KILN_OK) << kiln_last_error();
  std::string bytes = readFile(good);
  std::string cut = dir.file("cut.safetensors");
  for (size_t length = 0; length < bytes.size(); ++length) {
    SCOPED_TRACE("cut at byte " + std::to_string(length));
    writeFile(cut, bytes.substr(0, length));
    std::string message = loadError(cut, KILN_CORRUPT_FILE);
    EXPECT_EQ(message.rfind(cut + ": ", 0), 0u) << message;
  }
  writeFile(cut, bytes + "X");
  EXPECT_EQ(loadError(cut, KILN_CORRUPT_FILE),
            cut + ": 1 bytes of data after the last tensor belong to no tensor");
  writeFile(cut, "");
  EXPECT_EQ(loadError(cut, KILN_CORRUPT_FILE),
            cut + ": 0 bytes, too short for the 8-byte header length");
}

TEST(Weights, HeaderLengthMustFit) {
  TempDir dir;
  std::string path = dir.file("len.safetensors");
  std::string file = safetensorsFile("{}", "");
  file[0] = 3; // claims 3 header bytes; 2 follow
  writeFile(path, file);
  EXPECT_EQ(loadError(path, KILN_CORRUPT_FILE),
            path + ": header length 3 exceeds the 2 bytes after it");
  file = std::string(8, '\xFF') + "{}";
  writeFile(path, file);
  EXPECT_EQ(loadError(path, KILN_CORRUPT_FILE),
            path + ": header length 18446744073709551615 exceeds the limit of 100000000 bytes");
}

TEST(Weights, HeaderMustBeAJsonObject) {
  TempDir dir;
  expectCorrupt(dir, R"({"w": {"dtype": "F32", )", "", "the header is not valid JSON");
  expectCorrupt(dir, "", "", "the header is not valid JSON");
  expectCorrupt(dir, "{\"\xFF\": 1}", "", "the header is not valid JSON");
  expectCorrupt(dir, "[1, 2]", "", "the header is not a JSON object");
  expectCorrupt(dir, R"({"w": 5})", "", "tensor 'w': the entry is not a JSON object");
  expectCorrupt(dir, R"({"__metadata__": [1]})", "", "__metadata__ is not an object of strings");
  expectCorrupt(dir, R"({"__metadata__": {"epoch": 3}})", "",
                "__metadata__ is not an object of strings");
}

TEST(Weights, DtypeMustBeSupported) {
  TempDir dir;
  expectCorrupt(dir, R"({"conv1.weight": {"dtype": "BF16", "shape": [1], "data_offsets": [0, 2]}})",
                "ab",
                "tensor 'conv1.weight': unsupported dtype 'BF16' (Kiln reads F32, F64, I32, I64, "
                "U8)");
  expectCorrupt(dir, R"({"w": {"dtype": "f32", "shape": [1], "data_offsets": [0, 4]}})", "abcd",
                "tensor 'w': unsupported dtype 'f32'");
  expectCorrupt(dir, R"({"w": {"dtype": 4, "shape": [1], "data_offsets": [0, 4]}})", "abcd",
                "tensor 'w': no dtype string");
  expectCorrupt(dir, R"({"w": {"shape": [1], "data_offsets": [0, 4]}})", "abcd",
                "tensor 'w': no dtype string");
}

TEST(Weights, ShapesMustBeValid) {
  TempDir dir;
  expectCorrupt(dir, R"({"w": {"dtype": "F32", "shape": [-1], "data_offsets": [0, 4]}})", "abcd",
                "tensor 'w': shape [-1] has an extent that is not a non-negative integer");
  expectCorrupt(dir, R"({"w": {"dtype": "F32", "shape": [1.5], "data_offsets": [0, 4]}})",
                "abcd", "tensor 'w': shape [1.5] has an extent");
  expectCorrupt(dir, R"({"w": {"dtype": "F32", "shape": ["2"], "data_offsets": [0, 4]}})",
                "abcd", "tensor 'w': shape [\"2\"] has an extent");
  expectCorrupt(dir,
                R"({"w": {"dtype": "F32", "shape": [4611686018427387904, 4], )"
                R"("data_offsets": [0, 4]}})",
                "abcd", "tensor 'w': shape [4611686018427387904,4] is too large");
  expectCorrupt(dir,
                R"({"w": {"dtype": "F32", "shape": [99999999999999999999], )"
                R"("data_offsets": [0, 4]}})",
                "abcd", "tensor 'w': shape");
  expectCorrupt(dir,
                R"({"w": {"dtype": "U8", "shape": [1,1,1,1,1,1,1,1,1], "data_offsets": [0, 1]}})",
                "a", "tensor 'w': rank 9 exceeds the runtime's maximum of 8");
  expectCorrupt(dir, R"({"w": {"dtype": "U8", "shape": 1, "data_offsets": [0, 1]}})", "a",
                "tensor 'w': no shape array");
}

TEST(Weights, OffsetsMustMatchShapesAndTheFile) {
  TempDir dir;
  std::string data(16, 'x');
  expectCorrupt(dir, R"({"w": {"dtype": "F32", "shape": [2, 2], "data_offsets": [0, 12]}})",
                data.substr(0, 12),
                "tensor 'w': data_offsets [0,12] hold 12 bytes, but f32[2, 2] needs 16");
  expectCorrupt(dir, R"({"w": {"dtype": "F32", "shape": [2, 2], "data_offsets": [16, 0]}})", data,
                "tensor 'w': data_offsets [16,0] are reversed");
  expectCorrupt(dir, R"({"w": {"dtype": "F32", "shape": [2, 2], "data_offsets": [0, 32]}})", data,
                "tensor 'w': data_offsets [0,32] extend past the end of the data (16 bytes)");
  expectCorrupt(dir, R"({"w": {"dtype": "F32", "shape": [2, 2], "data_offsets": [0]}})", data,
                "tensor 'w': data_offsets is not a pair of non-negative integers");
  expectCorrupt(dir, R"({"w": {"dtype": "F32", "shape": [2, 2], "data_offsets": [-4, 12]}})",
                data, "tensor 'w': data_offsets is not a pair of non-negative integers");
  expectCorrupt(dir, R"({"w": {"dtype": "F32", "shape": [2, 2]}})", data,
                "tensor 'w': data_offsets is not a pair");
}

TEST(Weights, TensorsMustNotOverlapOrLeaveGaps) {
  TempDir dir;
  std::string data(12, 'x');
  expectCorrupt(dir,
                R"({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},)"
                R"( "b": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}})",
                data, "tensor 'b' (bytes 4 to 12) overlaps tensor 'a' (bytes 0 to 8)");
  expectCorrupt(dir,
                R"({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},)"
                R"( "b": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}})",
                data.substr(0, 8), "overlaps tensor");
  expectCorrupt(dir,
                R"({"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]},)"
                R"( "b": {"dtype": "F32", "shape": [1], "data_offsets": [8, 12]}})",
                data,
                "tensor 'b': 4 unused bytes before it (it starts at 8, the previous tensor ends "
                "at 4)");
}

class LoadedWeights : public ::testing::Test {
protected:
  void SetUp() override {
    std::vector<float> weight(20 * 25);
    for (size_t i = 0; i < weight.size(); ++i)
      weight[i] = static_cast<float>(i);
    int64_t shape[] = {20, 1, 5, 5};
    const char *names[] = {"conv1.weight"};
    kiln_tensor tensors[] = {kiln_tensor_view(weight.data(), KILN_F32, 4, shape)};
    path = dir.file("weights.safetensors");
    ASSERT_EQ(kiln_weights_save(path.c_str(), 1, names, tensors), KILN_OK) << kiln_last_error();
    ASSERT_EQ(kiln_weights_load(path.c_str(), &weights), KILN_OK) << kiln_last_error();
  }
  void TearDown() override { kiln_weights_free(weights); }
  TempDir dir;
  std::string path;
  kiln_weights *weights = nullptr;
};

TEST_F(LoadedWeights, CopyToChecksDtypeAndShape) {
  int64_t good[] = {20, 1, 5, 5}, wrong[] = {20, 1, 5, 4}, flat[] = {500};
  kiln_tensor dst;
  ASSERT_EQ(kiln_tensor_alloc(KILN_F32, 4, good, &dst), KILN_OK);
  ASSERT_EQ(kiln_weights_copy_to(weights, "conv1.weight", &dst), KILN_OK) << kiln_last_error();
  EXPECT_EQ(static_cast<float *>(dst.data)[499], 499.0f);

  kiln_tensor narrow = kiln_tensor_view(dst.data, KILN_F32, 4, wrong);
  EXPECT_EQ(kiln_weights_copy_to(weights, "conv1.weight", &narrow), KILN_SHAPE_MISMATCH);
  EXPECT_EQ(std::string(kiln_last_error()),
            path + ": tensor 'conv1.weight' has shape [20, 1, 5, 5], expected [20, 1, 5, 4]");
  kiln_tensor vector = kiln_tensor_view(dst.data, KILN_F32, 1, flat);
  EXPECT_EQ(kiln_weights_copy_to(weights, "conv1.weight", &vector), KILN_SHAPE_MISMATCH);
  EXPECT_EQ(std::string(kiln_last_error()),
            path + ": tensor 'conv1.weight' has shape [20, 1, 5, 5], expected [500]");
  kiln_tensor doubles = kiln_tensor_view(dst.data, KILN_F64, 4, good);
  EXPECT_EQ(kiln_weights_copy_to(weights, "conv1.weight", &doubles), KILN_DTYPE_MISMATCH);
  EXPECT_EQ(std::string(kiln_last_error()),
            path + ": tensor 'conv1.weight' has dtype f32, expected f64");
  EXPECT_EQ(kiln_weights_copy_to(weights, "conv1.weight", nullptr), KILN_INVALID_ARGUMENT);
  kiln_tensor noData = kiln_tensor_view(nullptr, KILN_F32, 4, good);
  EXPECT_EQ(kiln_weights_copy_to(weights, "conv1.weight", &noData), KILN_INVALID_ARGUMENT);
  EXPECT_EQ(kiln_weights_copy_to(weights, "conv2.weight", &dst), KILN_MISSING_TENSOR);
  kiln_tensor_free(&dst);
}

TEST_F(LoadedWeights, MissingTensorIsReported) {
  kiln_tensor tensor;
  std::memset(&tensor, 0x11, sizeof tensor);
  EXPECT_EQ(kiln_weights_get(weights, "fc.bias", &tensor), KILN_MISSING_TENSOR);
  EXPECT_EQ(std::string(kiln_last_error()), path + ": no tensor 'fc.bias'");
  EXPECT_EQ(tensor.data, nullptr);
  EXPECT_EQ(kiln_weights_get(weights, "conv1.weigh", &tensor), KILN_MISSING_TENSOR);
  EXPECT_EQ(kiln_weights_get(weights, "conv1.weight.x", &tensor), KILN_MISSING_TENSOR);
  EXPECT_EQ(kiln_weights_get(nullptr, "fc.bias", &tensor), KILN_INVALID_ARGUMENT);
  EXPECT_EQ(kiln_weights_count(nullptr), 0u);
  EXPECT_EQ(kiln_weights_name(nullptr, 0), nullptr);
  kiln_weights_free(nullptr);
}

TEST(WeightsSave, IntoAMissingDirectoryFailsCleanly) {
  TempDir dir;
  std::vector<float> v = {1.0f};
  int64_t one[] = {1};
  const char *names[] = {"v"};
  kiln_tensor tensors[] = {kiln_tensor_view(v.data(), KILN_F32, 1, one)};
  std::string path = dir.file("no/such/dir/w.safetensors");
  EXPECT_EQ(kiln_weights_save(path.c_str(), 1, names, tensors), KILN_IO_ERROR);
  EXPECT_TRUE(contains(kiln_last_error(), path + ": cannot create " + path + ".tmp."))
      << kiln_last_error();
  EXPECT_TRUE(contains(kiln_last_error(), "No such file or directory")) << kiln_last_error();
  EXPECT_TRUE(dir.list().empty());
}

TEST(WeightsSave, FailedRenameLeavesNoTemporaryFile) {
  TempDir dir;
  std::vector<float> v = {1.0f};
  int64_t one[] = {1};
  const char *names[] = {"v"};
  kiln_tensor tensors[] = {kiln_tensor_view(v.data(), KILN_F32, 1, one)};
  std::string path = dir.file("occupied");
  ASSERT_TRUE(std::filesystem::create_directory(path));
  writeFile(path + "/keep", "kept");
  EXPECT_EQ(kiln_weights_save(path.c_str(), 1, names, tensors), KILN_IO_ERROR);
  EXPECT_TRUE(contains(kiln_last_error(), path + ": cannot save: ")) << kiln_last_error();
  EXPECT_EQ(dir.list(), std::vector<std::string>{"occupied"});
  EXPECT_EQ(readFile(path + "/keep"), "kept");
}

TEST(WeightsSave, ReplacesAnExistingFileEntirely) {
  TempDir dir;
  std::string path = dir.file("w.safetensors");
  writeFile(path, std::string(1 << 20, 'z'));
  std::vector<int32_t> v = {1, 2, 3};
  int64_t three[] = {3};
  const char *names[] = {"v"};
  kiln_tensor tensors[] = {kiln_tensor_view(v.data(), KILN_I32, 1, three)};
  ASSERT_EQ(kiln_weights_save(path.c_str(), 1, names, tensors), KILN_OK) << kiln_last_error();
  std::string header = R"({"v":{"dtype":"I32","shape":[3],"data_offsets":[0,12]}})";
  header.append((8 - header.size() % 8) % 8, ' ');
  EXPECT_EQ(readFile(path), safetensorsFile(header, bytesOf(v)));
  EXPECT_EQ(dir.list(), std::vector<std::string>{"w.safetensors"});
}

TEST(WeightsSave, RejectsBadTensorsAndLeavesTheFileAlone) {
  TempDir dir;
  std::string path = dir.file("w.safetensors");
  writeFile(path, "previous");
  std::vector<float> v = {1.0f, 2.0f};
  int64_t two[] = {2}, negative[] = {-2};
  kiln_tensor good = kiln_tensor_view(v.data(), KILN_F32, 1, two);
  auto save = [&](std::vector<const char *> names, std::vector<kiln_tensor> tensors) {
    return kiln_weights_save(path.c_str(), names.size(), names.data(), tensors.data());
  };
  EXPECT_EQ(save({"a", "a"}, {good, good}), KILN_INVALID_ARGUMENT);
  EXPECT_EQ(std::string(kiln_last_error()), path + ": cannot save: tensor 'a' appears twice");
  EXPECT_EQ(save({"a"}, {kiln_tensor_view(nullptr, KILN_F32, 1, two)}), KILN_INVALID_ARGUMENT);
  EXPECT_EQ(std::string(kiln_last_error()), path + ": cannot save: tensor 'a' has NULL data");
  EXPECT_EQ(save({"a"}, {kiln_tensor_view(v.data(), static_cast<kiln_dtype>(9), 1, two)}),
            KILN_INVALID_ARGUMENT);
  EXPECT_EQ(std::string(kiln_last_error()), path + ": cannot save: tensor 'a' has unknown dtype 9");
  EXPECT_EQ(save({"a"}, {kiln_tensor_view(v.data(), KILN_F32, 1, negative)}),
            KILN_INVALID_ARGUMENT);
  EXPECT_EQ(save({"a"}, {kiln_tensor_view(v.data(), KILN_F32, 9, two)}), KILN_INVALID_ARGUMENT);
  for (const char *name : {static_cast<const char *>(nullptr), "", "__metadata__", "bad\xC3"})
    EXPECT_EQ(save({name}, {good}), KILN_INVALID_ARGUMENT) << kiln_last_error();
  EXPECT_EQ(kiln_weights_save(path.c_str(), 1, nullptr, &good), KILN_INVALID_ARGUMENT);
  EXPECT_EQ(kiln_weights_save(nullptr, 0, nullptr, nullptr), KILN_INVALID_ARGUMENT);
  EXPECT_EQ(readFile(path), "previous");
  EXPECT_EQ(dir.list(), std::vector<std::string>{"w.safetensors"});
}

} // namespace
