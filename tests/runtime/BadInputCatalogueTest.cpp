// A catalogue of bad input at every entry point of the runtime that takes any: one table per
// entry point (kiln_tensor_alloc, kiln_tensor_check, kiln_weights_load, kiln_weights_get,
// kiln_weights_copy_to, kiln_weights_save, kiln_idx_load, kiln_file_write_atomic), each case a
// bad argument or a bad file (NULL pointers; wrong dtype, rank, extents; negative or overflowing
// extents; files missing, empty, truncated, bit-flipped, malformed or of the wrong kind; targets
// that are directories, FIFOs, devices or sockets) with the status and the exact message it must
// give (or, where the message holds a temporary file's counter, a pattern). The out-parameters
// are checked to be cleared, and the writers to leave nothing behind. Other tests cover the same
// ground by feature; this one is the list of what a caller can get wrong.
//
// kiln_tensor has no strides: a descriptor is dense C order by construction (runtime.h), so no
// stride can be wrong. A rank above KILN_MAX_RANK or below 0 (a malformed descriptor) is the
// descriptor's nearest equivalent and is in the tables instead.
#include "kiln/runtime.h"

#include "TestSupport.h"

#include <zlib.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <optional>
#include <string>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <vector>

using kiln_test::bytesOf;
using kiln_test::readFile;
using kiln_test::TempDir;
using kiln_test::writeFile;

namespace {

// How a case's message is compared: exactly, or as a pattern in which '*' stands for any text
// (only for the counter that ends a temporary file's name).
enum class Match { Exact, Glob };

bool globMatches(const std::string &pattern, const std::string &text) {
  size_t star = pattern.find('*');
  if (star == std::string::npos)
    return pattern == text;
  std::string head = pattern.substr(0, star), tail = pattern.substr(star + 1);
  if (text.compare(0, head.size(), head) != 0 || text.size() < head.size())
    return false;
  // The rest of the pattern matches some suffix of what follows the head.
  for (size_t from = head.size(); from <= text.size(); ++from)
    if (globMatches(tail, text.substr(from)))
      return true;
  return false;
}

// Clears the last error to a value no call sets, so that a message check cannot pass on a
// message left over from an earlier call.
void resetLastError() { kiln_fail(KILN_OK, "(no message was recorded)"); }

// The status and kiln_last_error() of a failed call against the case's.
void expectFailure(kiln_status got, kiln_status status, const std::string &message,
                   Match match = Match::Exact) {
  EXPECT_EQ(got, status) << kiln_status_message(got) << ": " << kiln_last_error();
  std::string actual = kiln_last_error();
  if (match == Match::Exact)
    EXPECT_EQ(actual, message);
  else
    EXPECT_TRUE(globMatches(message, actual)) << "expected: " << message << "\n  actual: "
                                              << actual;
}

// A descriptor over `data` whose dtype is stored as an int, which may be one no kiln_dtype
// names: it is never loaded as the enum here (an out-of-range value would be undefined, and
// UBSan's -fsanitize=enum reports it), and the runtime reads it as stored. The rank is not
// checked, unlike kiln_tensor_view's.
kiln_tensor tensorOf(void *data, int32_t dtype, std::vector<int64_t> shape) {
  kiln_tensor tensor;
  std::memset(&tensor, 0, sizeof tensor);
  tensor.data = data;
  static_assert(sizeof tensor.dtype == sizeof dtype);
  std::memcpy(&tensor.dtype, &dtype, sizeof dtype);
  tensor.rank = static_cast<int32_t>(shape.size());
  std::copy(shape.begin(), shape.end(), tensor.shape);
  return tensor;
}

// The C string of an optional path; NULL for nullopt.
const char *cPath(const std::optional<std::string> &path) {
  return path ? path->c_str() : nullptr;
}

// A safetensors file: the 8-byte little-endian header length, the header, the data.
std::string safetensorsFile(const std::string &header, const std::string &data) {
  std::string bytes;
  for (int i = 0; i < 8; ++i)
    bytes += static_cast<char>(static_cast<uint64_t>(header.size()) >> (8 * i));
  return bytes + header + data;
}

// An IDX file: 00 00 type rank, big-endian u32 dimensions, then `payload`.
std::string idxFile(unsigned char type, const std::vector<uint32_t> &dims,
                    const std::string &payload) {
  std::string bytes = {0, 0, static_cast<char>(type), static_cast<char>(dims.size())};
  for (uint32_t dim : dims)
    for (int shift = 24; shift >= 0; shift -= 8)
      bytes += static_cast<char>(dim >> shift);
  return bytes + payload;
}

// `bytes` gzip'd, as gzip(1) would write them.
std::string gzipped(const TempDir &dir, const std::string &bytes) {
  std::string path = dir.file("gzip.tmp");
  gzFile file = gzopen(path.c_str(), "wb");
  EXPECT_NE(file, nullptr);
  if (!file)
    return "";
  if (!bytes.empty()) {
    EXPECT_EQ(gzwrite(file, bytes.data(), static_cast<unsigned>(bytes.size())),
              static_cast<int>(bytes.size()));
  }
  EXPECT_EQ(gzclose(file), Z_OK);
  std::string compressed = readFile(path);
  std::remove(path.c_str());
  return compressed;
}

// `bytes` with bit `bit` of byte `index` inverted.
std::string flipBit(std::string bytes, size_t index, int bit) {
  bytes.at(index) = static_cast<char>(bytes.at(index) ^ (1 << bit));
  return bytes;
}

// What a writer's temporary beside `path` is called, up to its counter: "<path>.tmp.<pid>."
std::string temporaryPrefix(const std::string &path) {
  return path + ".tmp." + std::to_string(getpid()) + ".";
}

// A bound UNIX socket at `path` (the descriptor stays open until the test ends).
int bindSocket(const std::string &path) {
  int fd = socket(AF_UNIX, SOCK_STREAM, 0);
  EXPECT_GE(fd, 0);
  sockaddr_un address;
  std::memset(&address, 0, sizeof address);
  address.sun_family = AF_UNIX;
  EXPECT_LT(path.size(), sizeof address.sun_path) << path;
  std::strncpy(address.sun_path, path.c_str(), sizeof address.sun_path - 1);
  EXPECT_EQ(bind(fd, reinterpret_cast<sockaddr *>(&address), sizeof address), 0) << path;
  return fd;
}

// ---- kiln_tensor_alloc ----------------------------------------------------------------------

TEST(BadInputCatalogue, TensorAlloc) {
  int64_t good[] = {2, 3};
  int64_t negative[] = {2, -3};
  int64_t lastNegative[] = {1, 1, 1, 1, 1, 1, 1, -1};
  int64_t minimum[] = {INT64_MIN};
  int64_t overflow[] = {INT64_C(1) << 62, 4};                     // the byte count overflows
  int64_t numelOverflow[] = {INT64_C(1) << 32, INT64_C(1) << 32}; // the element count does
  struct Case {
    const char *what;
    int32_t dtype; // passed as a prvalue, never loaded as the enum
    int32_t rank;
    const int64_t *shape;
    bool nullOut;
    kiln_status status;
    std::string message;
  } cases[] = {
      {"NULL out_tensor", KILN_F32, 2, good, true, KILN_INVALID_ARGUMENT,
       "kiln_tensor_alloc: out_tensor is NULL"},
      {"dtype 0 (none)", 0, 2, good, false, KILN_INVALID_ARGUMENT,
       "kiln_tensor_alloc: unknown dtype 0"},
      {"dtype just past the last", KILN_U8 + 1, 2, good, false,
       KILN_INVALID_ARGUMENT, "kiln_tensor_alloc: unknown dtype 6"},
      {"negative dtype", -1, 2, good, false, KILN_INVALID_ARGUMENT,
       "kiln_tensor_alloc: unknown dtype -1"},
      {"unknown dtype and bad rank: the dtype is named", 42, 99, good, false,
       KILN_INVALID_ARGUMENT, "kiln_tensor_alloc: unknown dtype 42"},
      {"negative rank", KILN_F32, -1, good, false, KILN_INVALID_ARGUMENT,
       "kiln_tensor_alloc: rank -1 is not in [0, 8]"},
      {"rank above KILN_MAX_RANK", KILN_F32, KILN_MAX_RANK + 1, good, false,
       KILN_INVALID_ARGUMENT, "kiln_tensor_alloc: rank 9 is not in [0, 8]"},
      {"rank INT32_MIN", KILN_F32, INT32_MIN, good, false, KILN_INVALID_ARGUMENT,
       "kiln_tensor_alloc: rank -2147483648 is not in [0, 8]"},
      {"NULL shape of rank 2", KILN_F32, 2, nullptr, false, KILN_INVALID_ARGUMENT,
       "kiln_tensor_alloc: shape is NULL"},
      {"negative extent", KILN_F32, 2, negative, false, KILN_INVALID_ARGUMENT,
       "kiln_tensor_alloc: shape [2, -3] has a negative extent or is too large"},
      {"negative last extent of rank 8", KILN_U8, 8, lastNegative, false, KILN_INVALID_ARGUMENT,
       "kiln_tensor_alloc: shape [1, 1, 1, 1, 1, 1, 1, -1] has a negative extent or is too "
       "large"},
      {"extent INT64_MIN", KILN_U8, 1, minimum, false, KILN_INVALID_ARGUMENT,
       "kiln_tensor_alloc: shape [-9223372036854775808] has a negative extent or is too large"},
      {"byte count overflows", KILN_F32, 2, overflow, false, KILN_INVALID_ARGUMENT,
       "kiln_tensor_alloc: shape [4611686018427387904, 4] has a negative extent or is too "
       "large"},
      {"element count overflows", KILN_U8, 2, numelOverflow, false, KILN_INVALID_ARGUMENT,
       "kiln_tensor_alloc: shape [4294967296, 4294967296] has a negative extent or is too "
       "large"},
  };
  for (const Case &c : cases) {
    SCOPED_TRACE(c.what);
    kiln_tensor tensor;
    std::memset(&tensor, 0xAB, sizeof tensor);
    resetLastError();
    kiln_status status = kiln_tensor_alloc(static_cast<kiln_dtype>(c.dtype), c.rank, c.shape,
                                           c.nullOut ? nullptr : &tensor);
    expectFailure(status, c.status, c.message);
    if (!c.nullOut) {
      EXPECT_EQ(tensor.data, nullptr) << "the out-parameter is cleared";
      EXPECT_EQ(tensor.rank, 0);
    }
    if (status == KILN_OK)
      kiln_tensor_free(&tensor);
  }
}

// ---- kiln_tensor_check ------------------------------------------------------------------------

TEST(BadInputCatalogue, TensorCheck) {
  std::vector<float> storage(4 * 28 * 28);
  int64_t expected[4] = {-1, 1, 28, 28}; // any batch
  int64_t vector3[1] = {3};
  auto data = [&](std::vector<int64_t> shape, int32_t dtype = KILN_F32) {
    return tensorOf(storage.data(), dtype, shape);
  };
  kiln_tensor good = data({2, 1, 28, 28});
  kiln_tensor noData = good;
  noData.data = nullptr;
  kiln_tensor rank9 = good;
  rank9.rank = KILN_MAX_RANK + 1;
  kiln_tensor rankMinus1 = kiln_tensor_view(storage.data(), KILN_F32, 12, expected);
  struct Case {
    const char *what;
    const kiln_tensor *tensor;
    const char *name;
    kiln_dtype dtype;
    int32_t rank;
    const int64_t *shape;
    kiln_status status;
    std::string message;
  };
  kiln_tensor f64 = data({2, 1, 28, 28}, KILN_F64), i32 = data({2, 1, 28, 28}, KILN_I32),
              bogus = data({2, 1, 28, 28}, 42), rank3 = data({2, 28, 28}),
              width27 = data({2, 1, 28, 27}), channels3 = data({2, 3, 28, 28}),
              batch0 = data({0, 1, 28, 28}), batchMinus1 = data({-1, 1, 28, 28}),
              vector4 = data({4}), wrongDtypeAndRank = data({2}, KILN_F64);
  const char *d = "lenet_forward: data";
  std::vector<Case> cases = {
      {"NULL tensor", nullptr, d, KILN_F32, 4, expected, KILN_INVALID_ARGUMENT,
       "lenet_forward: data: is NULL"},
      {"NULL tensor and NULL name", nullptr, nullptr, KILN_F32, 4, expected,
       KILN_INVALID_ARGUMENT, "tensor: is NULL"},
      {"NULL data", &noData, d, KILN_F32, 4, expected, KILN_INVALID_ARGUMENT,
       "lenet_forward: data: has NULL data"},
      {"expected rank negative", &good, d, KILN_F32, -1, expected, KILN_INVALID_ARGUMENT,
       "lenet_forward: data: bad expected rank -1 or NULL expected shape"},
      {"expected rank above KILN_MAX_RANK", &good, d, KILN_F32, 9, expected,
       KILN_INVALID_ARGUMENT, "lenet_forward: data: bad expected rank 9 or NULL expected shape"},
      {"NULL expected shape", &good, d, KILN_F32, 4, nullptr, KILN_INVALID_ARGUMENT,
       "lenet_forward: data: bad expected rank 4 or NULL expected shape"},
      {"dtype f64 for f32", &f64, d, KILN_F32, 4, expected, KILN_DTYPE_MISMATCH,
       "lenet_forward: data: expected dtype f32, got f64"},
      {"dtype i32 for f32 (same size)", &i32, d, KILN_F32, 4, expected, KILN_DTYPE_MISMATCH,
       "lenet_forward: data: expected dtype f32, got i32"},
      {"unknown dtype", &bogus, d, KILN_F32, 4, expected, KILN_DTYPE_MISMATCH,
       "lenet_forward: data: expected dtype f32, got unknown dtype 42"},
      {"wrong dtype and rank: the dtype is named", &wrongDtypeAndRank, d, KILN_F32, 4, expected,
       KILN_DTYPE_MISMATCH, "lenet_forward: data: expected dtype f32, got f64"},
      {"rank 3 for 4", &rank3, d, KILN_F32, 4, expected, KILN_SHAPE_MISMATCH,
       "lenet_forward: data: expected rank 4, got 3"},
      {"rank above KILN_MAX_RANK (malformed descriptor)", &rank9, d, KILN_F32, 4, expected,
       KILN_SHAPE_MISMATCH, "lenet_forward: data: expected rank 4, got 9"},
      {"rank -1 (kiln_tensor_view of a bad rank)", &rankMinus1, d, KILN_F32, 4, expected,
       KILN_SHAPE_MISMATCH, "lenet_forward: data: expected rank 4, got -1"},
      {"wrong last extent", &width27, d, KILN_F32, 4, expected, KILN_SHAPE_MISMATCH,
       "lenet_forward: data: expected shape [N, 1, 28, 28], got [2, 1, 28, 27]"},
      {"wrong channel count", &channels3, d, KILN_F32, 4, expected, KILN_SHAPE_MISMATCH,
       "lenet_forward: data: expected shape [N, 1, 28, 28], got [2, 3, 28, 28]"},
      {"batch 0 where any batch is expected", &batch0, d, KILN_F32, 4, expected,
       KILN_SHAPE_MISMATCH,
       "lenet_forward: data: expected shape [N, 1, 28, 28], got [0, 1, 28, 28]"},
      {"negative batch is printed as given", &batchMinus1, d, KILN_F32, 4, expected,
       KILN_SHAPE_MISMATCH,
       "lenet_forward: data: expected shape [N, 1, 28, 28], got [-1, 1, 28, 28]"},
      {"fixed extent differs", &vector4, "bias", KILN_F32, 1, vector3, KILN_SHAPE_MISMATCH,
       "bias: expected shape [3], got [4]"},
  };
  for (const Case &c : cases) {
    SCOPED_TRACE(c.what);
    resetLastError();
    expectFailure(kiln_tensor_check(c.tensor, c.name, c.dtype, c.rank, c.shape), c.status,
                  c.message);
  }
  // The table's good tensor passes: each case fails for its own defect alone.
  EXPECT_EQ(kiln_tensor_check(&good, d, KILN_F32, 4, expected), KILN_OK) << kiln_last_error();
}

// ---- kiln_weights_load ------------------------------------------------------------------------

TEST(BadInputCatalogue, WeightsLoad) {
  TempDir dir;
  auto file = [&](const std::string &name, const std::string &bytes) {
    std::string path = dir.file(name);
    writeFile(path, bytes);
    return path;
  };
  auto fifo = [&](const std::string &name) {
    std::string path = dir.file(name);
    EXPECT_EQ(mkfifo(path.c_str(), 0600), 0);
    return path;
  };
  // A good file: "w" f32 [2, 3] and nothing else.
  std::string header = R"({"w":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]}})";
  std::vector<float> values = {1, 2, 3, 4, 5, 6};
  std::string good = safetensorsFile(header, bytesOf(values));
  std::string goodPath = file("good.safetensors", good);
  size_t dtypeAt = 8 + header.find("F32"), extentAt = 8 + header.find("3]");
  size_t headerSize = header.size();
  std::string data8(8, 'x');

  struct Case {
    const char *what;
    std::optional<std::string> path; // nullopt: NULL
    bool nullOut;
    kiln_status status;
    std::string message;
  };
  std::string p; // the path of the case being built
  std::vector<Case> cases = {
      {"NULL out_weights", goodPath, true, KILN_INVALID_ARGUMENT,
       "kiln_weights_load: out_weights is NULL"},
      {"NULL path", std::nullopt, false, KILN_INVALID_ARGUMENT, "kiln_weights_load: path is NULL"},
      {"empty path", "", false, KILN_INVALID_ARGUMENT, "kiln_weights_load: path is empty"},
      {"missing file", p = dir.file("absent.safetensors"), false, KILN_IO_ERROR,
       p + ": No such file or directory"},
      {"missing directory", p = dir.file("no/such/dir/w.safetensors"), false, KILN_IO_ERROR,
       p + ": No such file or directory"},
      {"a directory", p = dir.path(), false, KILN_IO_ERROR, p + ": not a regular file"},
      {"a device", "/dev/null", false, KILN_IO_ERROR, "/dev/null: not a regular file"},
      {"empty file", p = file("empty.safetensors", ""), false, KILN_CORRUPT_FILE,
       p + ": 0 bytes, too short for the 8-byte header length"},
      {"shorter than the header length", p = file("short.safetensors", good.substr(0, 7)), false,
       KILN_CORRUPT_FILE, p + ": 7 bytes, too short for the 8-byte header length"},
      {"truncated in the header", p = file("cut-header.safetensors", good.substr(0, 8 + 20)),
       false, KILN_CORRUPT_FILE,
       p + ": header length " + std::to_string(headerSize) + " exceeds the 20 bytes after it"},
      {"truncated in the data", p = file("cut-data.safetensors", good.substr(0, good.size() - 14)),
       false, KILN_CORRUPT_FILE,
       p + ": tensor 'w': data_offsets [0,24] extend past the end of the data (10 bytes)"},
      {"header length beyond the file", p = file("long.safetensors", flipBit(good, 1, 7)), false,
       KILN_CORRUPT_FILE,
       p + ": header length " + std::to_string(headerSize + 32768) + " exceeds the " +
           std::to_string(headerSize + 24) + " bytes after it"},
      {"header length above the limit", p = file("huge.safetensors", std::string(8, '\xFF')),
       false, KILN_CORRUPT_FILE,
       p + ": header length 18446744073709551615 exceeds the limit of 100000000 bytes"},
      {"not a safetensors file (text)", p = file("text.safetensors", "hello, world\n"), false,
       KILN_CORRUPT_FILE,
       p + ": header length 8583909746840200552 exceeds the limit of 100000000 bytes"},
      {"header not JSON", p = file("garbage.safetensors", safetensorsFile("{\"w\": ", "")), false,
       KILN_CORRUPT_FILE, p + ": the header is not valid JSON"},
      {"header JSON but not an object", p = file("array.safetensors", safetensorsFile("[1]", "")),
       false, KILN_CORRUPT_FILE, p + ": the header is not a JSON object"},
      {"bit flipped in the header's '{'", p = file("flip-brace.safetensors", flipBit(good, 8, 0)),
       false, KILN_CORRUPT_FILE, p + ": the header is not valid JSON"},
      {"bit flipped in a dtype (F32 -> f32)",
       p = file("flip-dtype.safetensors", flipBit(good, dtypeAt, 5)), false, KILN_CORRUPT_FILE,
       p + ": tensor 'w': unsupported dtype 'f32' (Kiln reads F32, F64, I32, I64, U8)"},
      {"bit flipped in an extent (3 -> 2)",
       p = file("flip-extent.safetensors", flipBit(good, extentAt, 0)), false, KILN_CORRUPT_FILE,
       p + ": tensor 'w': data_offsets [0,24] hold 24 bytes, but f32[2, 2] needs 16"},
      {"entry not an object", p = file("entry.safetensors", safetensorsFile(R"({"w": 5})", "")),
       false, KILN_CORRUPT_FILE, p + ": tensor 'w': the entry is not a JSON object"},
      {"unknown dtype",
       p = file("bf16.safetensors",
                safetensorsFile(R"({"w":{"dtype":"BF16","shape":[4],"data_offsets":[0,8]}})",
                                data8)),
       false, KILN_CORRUPT_FILE,
       p + ": tensor 'w': unsupported dtype 'BF16' (Kiln reads F32, F64, I32, I64, U8)"},
      {"negative extent",
       p = file("negative.safetensors",
                safetensorsFile(R"({"w":{"dtype":"U8","shape":[-8],"data_offsets":[0,8]}})",
                                data8)),
       false, KILN_CORRUPT_FILE,
       p + ": tensor 'w': shape [-8] has an extent that is not a non-negative integer"},
      {"rank above KILN_MAX_RANK",
       p = file("rank9.safetensors",
                safetensorsFile(
                    R"({"w":{"dtype":"U8","shape":[1,1,1,1,1,1,1,1,8],"data_offsets":[0,8]}})",
                    data8)),
       false, KILN_CORRUPT_FILE, p + ": tensor 'w': rank 9 exceeds the runtime's maximum of 8"},
      {"shape and offsets disagree",
       p = file("size.safetensors",
                safetensorsFile(R"({"w":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})",
                                data8)),
       false, KILN_CORRUPT_FILE,
       p + ": tensor 'w': data_offsets [0,8] hold 8 bytes, but f32[3] needs 12"},
      {"offsets reversed",
       p = file("reversed.safetensors",
                safetensorsFile(R"({"w":{"dtype":"U8","shape":[0],"data_offsets":[8,0]}})",
                                data8)),
       false, KILN_CORRUPT_FILE, p + ": tensor 'w': data_offsets [8,0] are reversed"},
      {"offsets past the end",
       p = file("past.safetensors",
                safetensorsFile(R"({"w":{"dtype":"U8","shape":[16],"data_offsets":[0,16]}})",
                                data8)),
       false, KILN_CORRUPT_FILE,
       p + ": tensor 'w': data_offsets [0,16] extend past the end of the data (8 bytes)"},
      {"offsets overlapping",
       p = file("overlap.safetensors",
                safetensorsFile(R"({"a":{"dtype":"U8","shape":[6],"data_offsets":[0,6]},)"
                                R"("b":{"dtype":"U8","shape":[4],"data_offsets":[4,8]}})",
                                data8)),
       false, KILN_CORRUPT_FILE,
       p + ": tensor 'b' (bytes 4 to 8) overlaps tensor 'a' (bytes 0 to 6)"},
      {"a gap between tensors",
       p = file("gap.safetensors",
                safetensorsFile(R"({"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]},)"
                                R"("b":{"dtype":"U8","shape":[4],"data_offsets":[4,8]}})",
                                data8)),
       false, KILN_CORRUPT_FILE,
       p + ": tensor 'b': 2 unused bytes before it (it starts at 4, the previous tensor ends at "
           "2)"},
      {"data after the last tensor", p = file("trailing.safetensors", good + "!"), false,
       KILN_CORRUPT_FILE, p + ": 1 bytes of data after the last tensor belong to no tensor"},
      {"__metadata__ not strings",
       p = file("metadata.safetensors", safetensorsFile(R"({"__metadata__":{"epoch":3}})", "")),
       false, KILN_CORRUPT_FILE, p + ": __metadata__ is not an object of strings"},
      // A repeated name: JSON parsers keep the first or the last, so it is refused.
      {"a tensor named twice",
       p = file("twice.safetensors",
                safetensorsFile(R"({"w":{"dtype":"U8","shape":[4],"data_offsets":[0,4]},)"
                                R"("w":{"dtype":"U8","shape":[4],"data_offsets":[4,8]}})",
                                data8)),
       false, KILN_CORRUPT_FILE, p + ": the header names 'w' twice in one object"},
      {"a tensor's field named twice",
       p = file("field-twice.safetensors",
                safetensorsFile(R"({"w":{"dtype":"U8","dtype":"F32","shape":[8],)"
                                R"("data_offsets":[0,8]}})",
                                data8)),
       false, KILN_CORRUPT_FILE, p + ": the header names 'dtype' twice in one object"},
      // Opened without blocking: a FIFO nobody writes to is refused at once.
      {"a FIFO", p = fifo("weights.fifo"), false, KILN_IO_ERROR, p + ": not a regular file"},
  };
  for (const Case &c : cases) {
    SCOPED_TRACE(c.what);
    kiln_weights *weights = reinterpret_cast<kiln_weights *>(&cases);
    resetLastError();
    kiln_status status = kiln_weights_load(cPath(c.path), c.nullOut ? nullptr : &weights);
    expectFailure(status, c.status, c.message);
    if (!c.nullOut) {
      EXPECT_EQ(weights, nullptr) << "the out-parameter is cleared";
    }
    if (status == KILN_OK && !c.nullOut)
      kiln_weights_free(weights);
  }
  // The file every bad one was made from is good.
  kiln_weights *weights = nullptr;
  ASSERT_EQ(kiln_weights_load(goodPath.c_str(), &weights), KILN_OK) << kiln_last_error();
  kiln_weights_free(weights);
}

// ---- kiln_weights_get and kiln_weights_copy_to ----------------------------------------------

class BadInputCatalogueWeights : public testing::Test {
protected:
  void SetUp() override {
    path = dir.file("weights.safetensors");
    std::vector<float> values = {1, 2, 3, 4, 5, 6};
    int64_t shape[] = {2, 3};
    const char *names[] = {"conv1.weight", "conv1.bias"};
    kiln_tensor tensors[] = {kiln_tensor_view(values.data(), KILN_F32, 2, shape),
                             kiln_tensor_view(values.data(), KILN_F32, 1, shape + 1)};
    ASSERT_EQ(kiln_weights_save(path.c_str(), 2, names, tensors), KILN_OK) << kiln_last_error();
    ASSERT_EQ(kiln_weights_load(path.c_str(), &weights), KILN_OK) << kiln_last_error();
  }
  void TearDown() override { kiln_weights_free(weights); }

  TempDir dir;
  std::string path;
  kiln_weights *weights = nullptr;
};

TEST_F(BadInputCatalogueWeights, Get) {
  struct Case {
    const char *what;
    const kiln_weights *weights;
    const char *name;
    bool nullOut;
    kiln_status status;
    std::string message;
  } cases[] = {
      {"NULL out_tensor", weights, "conv1.weight", true, KILN_INVALID_ARGUMENT,
       "kiln_weights_get: out_tensor is NULL"},
      {"NULL weights", nullptr, "conv1.weight", false, KILN_INVALID_ARGUMENT,
       "kiln_weights_get: weights or name is NULL"},
      {"NULL name", weights, nullptr, false, KILN_INVALID_ARGUMENT,
       "kiln_weights_get: weights or name is NULL"},
      {"unknown name", weights, "fc.bias", false, KILN_MISSING_TENSOR,
       path + ": no tensor 'fc.bias'"},
      {"empty name", weights, "", false, KILN_MISSING_TENSOR, path + ": no tensor ''"},
      {"a prefix of a name", weights, "conv1.weigh", false, KILN_MISSING_TENSOR,
       path + ": no tensor 'conv1.weigh'"},
      {"a name with a suffix", weights, "conv1.weight.x", false, KILN_MISSING_TENSOR,
       path + ": no tensor 'conv1.weight.x'"},
      {"a name in another case", weights, "Conv1.weight", false, KILN_MISSING_TENSOR,
       path + ": no tensor 'Conv1.weight'"},
      {"a name with a trailing space", weights, "conv1.bias ", false, KILN_MISSING_TENSOR,
       path + ": no tensor 'conv1.bias '"},
      {"before every name", weights, "a", false, KILN_MISSING_TENSOR, path + ": no tensor 'a'"},
      {"after every name", weights, "zzz", false, KILN_MISSING_TENSOR,
       path + ": no tensor 'zzz'"},
      {"__metadata__ is no tensor", weights, "__metadata__", false, KILN_MISSING_TENSOR,
       path + ": no tensor '__metadata__'"},
  };
  for (const Case &c : cases) {
    SCOPED_TRACE(c.what);
    kiln_tensor tensor;
    std::memset(&tensor, 0x11, sizeof tensor);
    resetLastError();
    expectFailure(kiln_weights_get(c.weights, c.name, c.nullOut ? nullptr : &tensor), c.status,
                  c.message);
    if (!c.nullOut) {
      EXPECT_EQ(tensor.data, nullptr) << "the out-parameter is cleared";
      EXPECT_EQ(tensor.rank, 0);
    }
  }
}

TEST_F(BadInputCatalogueWeights, CopyTo) {
  std::vector<double> storage(64, -7.0); // room for any destination below
  auto dst = [&](int32_t dtype, std::vector<int64_t> shape) {
    return tensorOf(storage.data(), dtype, shape);
  };
  kiln_tensor good = dst(KILN_F32, {2, 3});
  kiln_tensor noData = good;
  noData.data = nullptr;
  kiln_tensor f64 = dst(KILN_F64, {2, 3}), i32 = dst(KILN_I32, {2, 3}),
              none = dst(0, {2, 3}), flat = dst(KILN_F32, {6}),
              transposed = dst(KILN_F32, {3, 2}), extra = dst(KILN_F32, {2, 3, 1}),
              scalar = dst(KILN_F32, {}), negative = dst(KILN_F32, {2, -3}),
              rank9 = good, rankMinus1 = good;
  rank9.rank = KILN_MAX_RANK + 1;
  rankMinus1.rank = -1;
  const std::string w = path + ": tensor 'conv1.weight'";
  struct Case {
    const char *what;
    const kiln_weights *weights;
    const char *name;
    const kiln_tensor *dst;
    kiln_status status;
    std::string message;
  } cases[] = {
      {"NULL weights", nullptr, "conv1.weight", &good, KILN_INVALID_ARGUMENT,
       "kiln_weights_copy_to: weights or name is NULL"},
      {"NULL name", weights, nullptr, &good, KILN_INVALID_ARGUMENT,
       "kiln_weights_copy_to: weights or name is NULL"},
      {"unknown name", weights, "fc.bias", &good, KILN_MISSING_TENSOR,
       path + ": no tensor 'fc.bias'"},
      {"NULL destination", weights, "conv1.weight", nullptr, KILN_INVALID_ARGUMENT,
       w + ": the destination is NULL"},
      {"destination with NULL data", weights, "conv1.weight", &noData, KILN_INVALID_ARGUMENT,
       w + ": the destination has NULL data"},
      {"destination f64", weights, "conv1.weight", &f64, KILN_DTYPE_MISMATCH,
       w + " has dtype f32, expected f64"},
      {"destination i32 (same size)", weights, "conv1.weight", &i32, KILN_DTYPE_MISMATCH,
       w + " has dtype f32, expected i32"},
      {"destination of no dtype (0)", weights, "conv1.weight", &none, KILN_DTYPE_MISMATCH,
       w + " has dtype f32, expected unknown dtype 0"},
      {"destination of the same size, another rank", weights, "conv1.weight", &flat,
       KILN_SHAPE_MISMATCH, w + " has shape [2, 3], expected [6]"},
      {"destination transposed", weights, "conv1.weight", &transposed, KILN_SHAPE_MISMATCH,
       w + " has shape [2, 3], expected [3, 2]"},
      {"destination with a trailing unit dimension", weights, "conv1.weight", &extra,
       KILN_SHAPE_MISMATCH, w + " has shape [2, 3], expected [2, 3, 1]"},
      {"destination a scalar", weights, "conv1.weight", &scalar, KILN_SHAPE_MISMATCH,
       w + " has shape [2, 3], expected []"},
      {"destination with a negative extent", weights, "conv1.weight", &negative,
       KILN_SHAPE_MISMATCH, w + " has shape [2, 3], expected [2, -3]"},
      {"destination rank above KILN_MAX_RANK", weights, "conv1.weight", &rank9,
       KILN_SHAPE_MISMATCH, w + " has shape [2, 3], expected rank 9"},
      {"destination rank -1", weights, "conv1.weight", &rankMinus1, KILN_SHAPE_MISMATCH,
       w + " has shape [2, 3], expected rank -1"},
      // An out-of-range dtype in the destination (99) is left out: kiln_weights_copy_to compares
      // and passes dst->dtype as the enum, which UBSan's -fsanitize=enum reports (Tensor.cpp
      // reads dtypes through rawDtype for this reason; Weights.cpp does not).
  };
  for (const Case &c : cases) {
    SCOPED_TRACE(c.what);
    resetLastError();
    expectFailure(kiln_weights_copy_to(c.weights, c.name, c.dst), c.status, c.message);
    EXPECT_EQ(storage[0], -7.0) << "nothing is copied";
  }
  ASSERT_EQ(kiln_weights_copy_to(weights, "conv1.weight", &good), KILN_OK) << kiln_last_error();
  EXPECT_EQ(static_cast<float *>(good.data)[5], 6.0f);
}

// ---- kiln_weights_save ------------------------------------------------------------------------

TEST(BadInputCatalogue, WeightsSave) {
  TempDir dir;
  std::string target = dir.file("w.safetensors");
  writeFile(target, "previous");
  std::string subdir = dir.file("subdir"), fifo = dir.file("fifo"), socketPath = dir.file("sock");
  ASSERT_TRUE(std::filesystem::create_directory(subdir));
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  int socketFd = bindSocket(socketPath);
  std::vector<std::string> before = dir.list();

  std::vector<float> values = {1.0f, 2.0f};
  int64_t two[] = {2}, negative[] = {-2};
  kiln_tensor good = kiln_tensor_view(values.data(), KILN_F32, 1, two);
  kiln_tensor noData = kiln_tensor_view(nullptr, KILN_F32, 1, two);
  kiln_tensor noDtype = tensorOf(values.data(), 0, {2});
  kiln_tensor pastU8 = tensorOf(values.data(), KILN_U8 + 1, {2});
  kiln_tensor negativeExtent = kiln_tensor_view(values.data(), KILN_F32, 1, negative);
  kiln_tensor rank9 = good;
  rank9.rank = KILN_MAX_RANK + 1;
  kiln_tensor rankMinus1 = good;
  rankMinus1.rank = -1;
  std::string longName(300, 'n');
  const std::string t = target + ": cannot save: ";
  const std::string badName = "'s name is NULL, empty, not UTF-8 or '__metadata__'";
  struct Case {
    const char *what;
    std::optional<std::string> path; // nullopt: NULL
    size_t count;
    std::vector<const char *> names;  // empty: NULL
    std::vector<kiln_tensor> tensors; // empty: NULL
    kiln_status status;
    std::string message;
    Match match = Match::Exact;
  };
  std::string p;
  std::vector<Case> cases = {
      {"NULL path", std::nullopt, 1, {"a"}, {good}, KILN_INVALID_ARGUMENT,
       "kiln_weights_save: path is NULL or empty"},
      {"empty path", "", 1, {"a"}, {good}, KILN_INVALID_ARGUMENT,
       "kiln_weights_save: path is NULL or empty"},
      {"NULL names", target, 1, {}, {good}, KILN_INVALID_ARGUMENT,
       t + "names or tensors is NULL"},
      {"NULL tensors", target, 1, {"a"}, {}, KILN_INVALID_ARGUMENT,
       t + "names or tensors is NULL"},
      {"a NULL name", target, 1, {nullptr}, {good}, KILN_INVALID_ARGUMENT,
       t + "tensor 0" + badName},
      {"an empty name", target, 2, {"a", ""}, {good, good}, KILN_INVALID_ARGUMENT,
       t + "tensor 1" + badName},
      {"the name __metadata__", target, 1, {"__metadata__"}, {good}, KILN_INVALID_ARGUMENT,
       t + "tensor 0" + badName},
      {"a name that is not UTF-8", target, 1, {"bad\xC3"}, {good}, KILN_INVALID_ARGUMENT,
       t + "tensor 0" + badName},
      {"a name twice", target, 3, {"a", "b", "a"}, {good, good, good}, KILN_INVALID_ARGUMENT,
       t + "tensor 'a' appears twice"},
      {"NULL tensor data", target, 1, {"a"}, {noData}, KILN_INVALID_ARGUMENT,
       t + "tensor 'a' has NULL data"},
      {"dtype 0 (none)", target, 1, {"a"}, {noDtype}, KILN_INVALID_ARGUMENT,
       t + "tensor 'a' has unknown dtype 0"},
      {"dtype just past the last", target, 1, {"a"}, {pastU8}, KILN_INVALID_ARGUMENT,
       t + "tensor 'a' has unknown dtype 6"},
      {"negative extent", target, 1, {"a"}, {negativeExtent}, KILN_INVALID_ARGUMENT,
       t + "tensor 'a' has a bad rank (1) or shape"},
      {"rank above KILN_MAX_RANK", target, 1, {"a"}, {rank9}, KILN_INVALID_ARGUMENT,
       t + "tensor 'a' has a bad rank (9) or shape"},
      {"rank -1", target, 1, {"a"}, {rankMinus1}, KILN_INVALID_ARGUMENT,
       t + "tensor 'a' has a bad rank (-1) or shape"},
      {"path in a missing directory", p = dir.file("no/such/dir/w.safetensors"), 1, {"a"},
       {good}, KILN_IO_ERROR,
       p + ": cannot create " + temporaryPrefix(p) + "*: No such file or directory", Match::Glob},
      {"path under a regular file", p = target + "/w.safetensors", 1, {"a"}, {good},
       KILN_IO_ERROR, p + ": cannot create " + temporaryPrefix(p) + "*: Not a directory",
       Match::Glob},
      {"file name too long", p = dir.file(longName), 1, {"a"}, {good}, KILN_IO_ERROR,
       p + ": cannot create " + temporaryPrefix(p) + "*: File name too long", Match::Glob},
      {"path a directory", subdir, 1, {"a"}, {good}, KILN_IO_ERROR,
       subdir + ": cannot save: it is a directory, and only a regular file is replaced"},
      {"path a FIFO", fifo, 1, {"a"}, {good}, KILN_IO_ERROR,
       fifo + ": cannot save: it is a FIFO, and only a regular file is replaced"},
      {"path a socket", socketPath, 1, {"a"}, {good}, KILN_IO_ERROR,
       socketPath + ": cannot save: it is a socket, and only a regular file is replaced"},
      {"path a device", "/dev/null", 1, {"a"}, {good}, KILN_IO_ERROR,
       "/dev/null: cannot save: it is a device, and only a regular file is replaced"},
  };
  for (const Case &c : cases) {
    SCOPED_TRACE(c.what);
    resetLastError();
    const char *const *names = c.names.empty() ? nullptr : c.names.data();
    const kiln_tensor *tensors = c.tensors.empty() ? nullptr : c.tensors.data();
    expectFailure(kiln_weights_save(cPath(c.path), c.count, names, tensors), c.status, c.message,
                  c.match);
    EXPECT_EQ(readFile(target), "previous") << "the target is untouched";
    EXPECT_EQ(dir.list(), before) << "no temporary is left";
  }
  close(socketFd);
}

// ---- kiln_idx_load ----------------------------------------------------------------------------

TEST(BadInputCatalogue, IdxLoad) {
  TempDir dir;
  auto file = [&](const std::string &name, const std::string &bytes) {
    std::string path = dir.file(name);
    writeFile(path, bytes);
    return path;
  };
  std::string good = idxFile(0x08, {2, 2}, "abcd");
  std::string goodPath = file("good-idx2-ubyte", good);
  // A gzip'd file whose data is not all the same byte, so that deflate leaves a real stream.
  std::string payload;
  for (int i = 0; i < 4096; ++i)
    payload += static_cast<char>(i * 7 % 251);
  std::string zipped = gzipped(dir, idxFile(0x08, {4096}, payload));
  ASSERT_GT(zipped.size(), 100u);
  std::string hugeZipped = gzipped(dir, idxFile(0x08, {65536, 65536}, "x"));

  struct Case {
    const char *what;
    std::optional<std::string> path; // nullopt: NULL
    bool nullOut;
    kiln_status status;
    std::string message;
  };
  std::string p;
  std::vector<Case> cases = {
      {"NULL out_tensor", goodPath, true, KILN_INVALID_ARGUMENT,
       "kiln_idx_load: out_tensor is NULL"},
      {"NULL path", std::nullopt, false, KILN_INVALID_ARGUMENT, "kiln_idx_load: path is NULL"},
      {"empty path", "", false, KILN_INVALID_ARGUMENT, "kiln_idx_load: path is empty"},
      {"missing file", p = dir.file("absent-idx1-ubyte"), false, KILN_IO_ERROR,
       p + ": No such file or directory"},
      {"a directory", p = dir.path(), false, KILN_IO_ERROR, p + ": Is a directory"},
      {"empty file", p = file("empty", ""), false, KILN_CORRUPT_FILE,
       p + ": truncated: 4 bytes missing from the header"},
      {"bad magic", p = file("magic", "\x01\x00\x08\x01" + std::string(5, '\0')), false,
       KILN_CORRUPT_FILE, p + ": not an IDX file (the magic number starts 01 00, not 00 00)"},
      {"not an IDX file (text)", p = file("text", "hello, world\n"), false, KILN_CORRUPT_FILE,
       p + ": not an IDX file (the magic number starts 68 65, not 00 00)"},
      {"unknown type code", p = file("type", idxFile(0x0A, {1}, "x")), false, KILN_CORRUPT_FILE,
       p + ": unknown IDX element type 0x0a"},
      {"rank 0 without its element", p = file("rank0", idxFile(0x08, {}, "")), false,
       KILN_CORRUPT_FILE, p + ": truncated: u8 [] needs 1 bytes of data, the file has 0"},
      {"rank above KILN_MAX_RANK",
       p = file("rank9", idxFile(0x08, std::vector<uint32_t>(9, 1), "x")), false,
       KILN_CORRUPT_FILE, p + ": 9 dimensions, more than the runtime's maximum of 8"},
      {"rank 255", p = file("rank255", std::string("\x00\x00\x08\xFF", 4)), false,
       KILN_CORRUPT_FILE, p + ": 255 dimensions, more than the runtime's maximum of 8"},
      {"bit flipped in the rank (2 -> 10)", p = file("flip-rank", flipBit(good, 3, 3)), false,
       KILN_CORRUPT_FILE, p + ": 10 dimensions, more than the runtime's maximum of 8"},
      {"bit flipped in the type (u8 -> i32)", p = file("flip-type", flipBit(good, 2, 2)), false,
       KILN_CORRUPT_FILE, p + ": truncated: i32 [2, 2] needs 16 bytes of data, the file has 4"},
      {"dimensions truncated", p = file("dims", good.substr(0, 8)), false, KILN_CORRUPT_FILE,
       p + ": truncated: 4 bytes missing from the dimensions"},
      {"data truncated", p = file("cut-data", good.substr(0, good.size() - 1)), false,
       KILN_CORRUPT_FILE, p + ": truncated: u8 [2, 2] needs 4 bytes of data, the file has 3"},
      {"data trailing", p = file("trailing", good + "e"), false, KILN_CORRUPT_FILE,
       p + ": data continues past the 4 bytes that u8 [2, 2] holds"},
      {"dimensions far beyond the file", p = file("huge", idxFile(0x08, {100000, 100000}, "")),
       false, KILN_CORRUPT_FILE,
       p + ": truncated: u8 [100000, 100000] needs 10000000000 bytes of data, the file has 0"},
      {"element count overflows",
       p = file("overflow", idxFile(0x08, {0xFFFFFFFF, 0xFFFFFFFF}, "")), false,
       KILN_CORRUPT_FILE, p + ": dimensions [4294967295, 4294967295] are too large"},
      {"byte count overflows",
       p = file("overflow-f64", idxFile(0x0E, {0x80000000, 0x80000000, 4}, "")), false,
       KILN_CORRUPT_FILE, p + ": dimensions [2147483648, 2147483648, 4] are too large"},
      {"gzip'd, dimensions beyond what it can hold", p = file("huge.gz", hugeZipped), false,
       KILN_CORRUPT_FILE,
       p + ": truncated: u8 [65536, 65536] needs 4294967296 bytes of data, more than " +
           std::to_string(hugeZipped.size()) + " compressed bytes can hold"},
      {"gzip'd, the trailer cut off",
       p = file("no-trailer.gz", zipped.substr(0, zipped.size() - 8)), false, KILN_CORRUPT_FILE,
       p + ": truncated: the gzip stream ends early"},
      {"gzip'd, a bit flipped in the CRC",
       p = file("crc.gz", flipBit(zipped, zipped.size() - 6, 2)), false, KILN_CORRUPT_FILE,
       p + ": damaged gzip stream: incorrect data check"},
      {"gzip'd, a bit flipped in the length",
       p = file("isize.gz", flipBit(zipped, zipped.size() - 3, 0)), false, KILN_CORRUPT_FILE,
       p + ": damaged gzip stream: incorrect length check"},
  };
  for (const Case &c : cases) {
    SCOPED_TRACE(c.what);
    kiln_tensor tensor;
    std::memset(&tensor, 0x3C, sizeof tensor);
    resetLastError();
    expectFailure(kiln_idx_load(cPath(c.path), c.nullOut ? nullptr : &tensor), c.status,
                  c.message);
    if (!c.nullOut) {
      EXPECT_EQ(tensor.data, nullptr) << "the out-parameter is cleared";
      EXPECT_EQ(tensor.rank, 0);
    }
  }
  // The file the bad ones were made from is good.
  kiln_tensor tensor;
  ASSERT_EQ(kiln_idx_load(goodPath.c_str(), &tensor), KILN_OK) << kiln_last_error();
  kiln_tensor_free(&tensor);
}

// ---- kiln_file_write_atomic -------------------------------------------------------------------

TEST(BadInputCatalogue, FileWriteAtomic) {
  TempDir dir;
  std::string regular = dir.file("regular.csv");
  writeFile(regular, "previous");
  std::string subdir = dir.file("subdir"), full = dir.file("full"), fifo = dir.file("fifo"),
              link = dir.file("link"), socketPath = dir.file("sock");
  ASSERT_TRUE(std::filesystem::create_directory(subdir));
  ASSERT_TRUE(std::filesystem::create_directory(full));
  writeFile(full + "/keep", "kept");
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  std::filesystem::create_symlink(fifo, link);
  int socketFd = bindSocket(socketPath);
  std::vector<std::string> before = dir.list();

  struct Case {
    const char *what;
    std::optional<std::string> path; // nullopt: NULL
    const void *data;
    size_t size;
    kiln_status status;
    std::string message;
    Match match = Match::Exact;
  };
  std::string p;
  std::string longName(300, 'n');
  std::vector<Case> cases = {
      {"NULL path", std::nullopt, "x", 1, KILN_INVALID_ARGUMENT,
       "kiln_file_write_atomic: path is NULL or empty"},
      {"empty path", "", "x", 1, KILN_INVALID_ARGUMENT,
       "kiln_file_write_atomic: path is NULL or empty"},
      {"NULL data of size 3", regular, nullptr, 3, KILN_INVALID_ARGUMENT,
       regular + ": cannot write: data is NULL"},
      {"NULL data of the largest size", regular, nullptr, SIZE_MAX, KILN_INVALID_ARGUMENT,
       regular + ": cannot write: data is NULL"},
      {"missing directory", p = dir.file("no/such/dir/x.csv"), "x", 1, KILN_IO_ERROR,
       p + ": cannot create " + temporaryPrefix(p) + "*: No such file or directory",
       Match::Glob},
      {"path ending in a slash", p = dir.file("new/"), "x", 1, KILN_IO_ERROR,
       p + ": cannot create " + temporaryPrefix(p) + "*: No such file or directory",
       Match::Glob},
      {"path under a regular file", p = regular + "/x.csv", "x", 1, KILN_IO_ERROR,
       p + ": cannot create " + temporaryPrefix(p) + "*: Not a directory", Match::Glob},
      {"file name too long", p = dir.file(longName), "x", 1, KILN_IO_ERROR,
       p + ": cannot create " + temporaryPrefix(p) + "*: File name too long", Match::Glob},
      {"target an empty directory", subdir, "x", 1, KILN_IO_ERROR,
       subdir + ": cannot write: it is a directory, and only a regular file is replaced"},
      {"target a directory with files", full, "x", 1, KILN_IO_ERROR,
       full + ": cannot write: it is a directory, and only a regular file is replaced"},
      {"target a FIFO", fifo, "x", 1, KILN_IO_ERROR,
       fifo + ": cannot write: it is a FIFO, and only a regular file is replaced"},
      {"target a link to a FIFO", link, "x", 1, KILN_IO_ERROR,
       link + ": cannot write: it is a FIFO, and only a regular file is replaced"},
      {"target a socket", socketPath, "x", 1, KILN_IO_ERROR,
       socketPath + ": cannot write: it is a socket, and only a regular file is replaced"},
      {"target a device", "/dev/null", "x", 1, KILN_IO_ERROR,
       "/dev/null: cannot write: it is a device, and only a regular file is replaced"},
  };
  for (const Case &c : cases) {
    SCOPED_TRACE(c.what);
    resetLastError();
    expectFailure(kiln_file_write_atomic(cPath(c.path), c.data, c.size), c.status, c.message,
                  c.match);
    EXPECT_EQ(readFile(regular), "previous") << "the target is untouched";
    EXPECT_EQ(readFile(full + "/keep"), "kept");
    EXPECT_EQ(dir.list(), before) << "no temporary is left";
  }
  close(socketFd);
}

} // namespace
