// Tensor descriptors: dtypes, views, allocation, boundary checks; options; thread counts.
#include "kiln/runtime.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <unistd.h>

extern "C" int kiln_c99_check(void); // HeaderC99Check.c, compiled as C99

namespace {

TEST(Tensor, HeaderWorksFromC99) { EXPECT_EQ(kiln_c99_check(), 0); }

TEST(Tensor, DtypeSizesAndNames) {
  EXPECT_EQ(kiln_dtype_size(KILN_F32), 4u);
  EXPECT_EQ(kiln_dtype_size(KILN_F64), 8u);
  EXPECT_EQ(kiln_dtype_size(KILN_I32), 4u);
  EXPECT_EQ(kiln_dtype_size(KILN_I64), 8u);
  EXPECT_EQ(kiln_dtype_size(KILN_U8), 1u);
  EXPECT_EQ(kiln_dtype_size(static_cast<kiln_dtype>(0)), 0u);
  EXPECT_EQ(kiln_dtype_size(static_cast<kiln_dtype>(99)), 0u);
  EXPECT_STREQ(kiln_dtype_name(KILN_F32), "f32");
  EXPECT_STREQ(kiln_dtype_name(KILN_F64), "f64");
  EXPECT_STREQ(kiln_dtype_name(KILN_I32), "i32");
  EXPECT_STREQ(kiln_dtype_name(KILN_I64), "i64");
  EXPECT_STREQ(kiln_dtype_name(KILN_U8), "u8");
  EXPECT_STREQ(kiln_dtype_name(static_cast<kiln_dtype>(-3)), "unknown");
}

TEST(Tensor, ViewAndNumel) {
  float data[6];
  int64_t shape[] = {2, 3};
  kiln_tensor view = kiln_tensor_view(data, KILN_F32, 2, shape);
  EXPECT_EQ(view.data, data);
  EXPECT_EQ(view.rank, 2);
  EXPECT_EQ(view.shape[0], 2);
  EXPECT_EQ(view.shape[1], 3);
  EXPECT_EQ(view.shape[2], 0);
  EXPECT_EQ(kiln_tensor_numel(&view), 6);

  kiln_tensor scalar = kiln_tensor_view(data, KILN_F32, 0, nullptr);
  EXPECT_EQ(kiln_tensor_numel(&scalar), 1);
  int64_t empty[] = {4, 0, 2};
  kiln_tensor none = kiln_tensor_view(data, KILN_F32, 3, empty);
  EXPECT_EQ(kiln_tensor_numel(&none), 0);

  EXPECT_EQ(kiln_tensor_numel(nullptr), 0);
  kiln_tensor badRank = kiln_tensor_view(data, KILN_F32, KILN_MAX_RANK + 1, shape);
  EXPECT_EQ(kiln_tensor_numel(&badRank), 0);
  kiln_tensor noShape = kiln_tensor_view(data, KILN_F32, 2, nullptr);
  EXPECT_EQ(kiln_tensor_numel(&noShape), 0);
  int64_t negative[] = {2, -1};
  kiln_tensor neg = kiln_tensor_view(data, KILN_F32, 2, negative);
  EXPECT_EQ(kiln_tensor_numel(&neg), 0);
  int64_t huge[] = {INT64_C(1) << 40, INT64_C(1) << 40};
  kiln_tensor overflow = kiln_tensor_view(data, KILN_F32, 2, huge);
  EXPECT_EQ(kiln_tensor_numel(&overflow), 0);
}

TEST(Tensor, AllocIsZeroedAndAligned) {
  int64_t shape[] = {3, 5, 7};
  kiln_tensor tensor;
  ASSERT_EQ(kiln_tensor_alloc(KILN_F64, 3, shape, &tensor), KILN_OK) << kiln_last_error();
  EXPECT_EQ(reinterpret_cast<uintptr_t>(tensor.data) % 64, 0u);
  EXPECT_EQ(tensor.dtype, KILN_F64);
  EXPECT_EQ(tensor.rank, 3);
  EXPECT_EQ(tensor.shape[2], 7);
  ASSERT_EQ(kiln_tensor_numel(&tensor), 105);
  const double *values = static_cast<const double *>(tensor.data);
  for (int i = 0; i < 105; ++i)
    EXPECT_EQ(values[i], 0.0);
  kiln_tensor_free(&tensor);
  EXPECT_EQ(tensor.data, nullptr);
  EXPECT_EQ(tensor.rank, 0);
  kiln_tensor_free(nullptr);
}

TEST(Tensor, AllocScalarAndEmptyHaveData) {
  kiln_tensor scalar, empty;
  ASSERT_EQ(kiln_tensor_alloc(KILN_I64, 0, nullptr, &scalar), KILN_OK);
  EXPECT_NE(scalar.data, nullptr);
  EXPECT_EQ(*static_cast<int64_t *>(scalar.data), 0);
  int64_t shape[] = {0, 3};
  ASSERT_EQ(kiln_tensor_alloc(KILN_U8, 2, shape, &empty), KILN_OK);
  EXPECT_NE(empty.data, nullptr);
  EXPECT_EQ(kiln_tensor_check(&empty, "empty", KILN_U8, 2, shape), KILN_OK);
  kiln_tensor_free(&scalar);
  kiln_tensor_free(&empty);
}

TEST(Tensor, AllocRejectsBadArguments) {
  int64_t shape[] = {2, 3};
  kiln_tensor tensor;
  EXPECT_EQ(kiln_tensor_alloc(KILN_F32, 2, shape, nullptr), KILN_INVALID_ARGUMENT);
  std::memset(&tensor, 0xAB, sizeof tensor);
  EXPECT_EQ(kiln_tensor_alloc(static_cast<kiln_dtype>(42), 2, shape, &tensor),
            KILN_INVALID_ARGUMENT);
  EXPECT_STREQ(kiln_last_error(), "kiln_tensor_alloc: unknown dtype 42");
  EXPECT_EQ(tensor.data, nullptr) << "the out-parameter is cleared on entry";
  EXPECT_EQ(kiln_tensor_alloc(KILN_F32, 9, shape, &tensor), KILN_INVALID_ARGUMENT);
  EXPECT_STREQ(kiln_last_error(), "kiln_tensor_alloc: rank 9 is not in [0, 8]");
  EXPECT_EQ(kiln_tensor_alloc(KILN_F32, -1, shape, &tensor), KILN_INVALID_ARGUMENT);
  EXPECT_EQ(kiln_tensor_alloc(KILN_F32, 2, nullptr, &tensor), KILN_INVALID_ARGUMENT);
  int64_t negative[] = {2, -3};
  EXPECT_EQ(kiln_tensor_alloc(KILN_F32, 2, negative, &tensor), KILN_INVALID_ARGUMENT);
  EXPECT_STREQ(kiln_last_error(),
               "kiln_tensor_alloc: shape [2, -3] has a negative extent or is too large");
  int64_t huge[] = {INT64_C(1) << 31, INT64_C(1) << 31};
  EXPECT_EQ(kiln_tensor_alloc(KILN_F64, 2, huge, &tensor), KILN_INVALID_ARGUMENT);
  EXPECT_EQ(tensor.data, nullptr);
}

class TensorCheck : public ::testing::Test {
protected:
  void SetUp() override {
    ASSERT_EQ(kiln_tensor_alloc(KILN_F32, 4, actual, &tensor), KILN_OK);
  }
  void TearDown() override { kiln_tensor_free(&tensor); }
  int64_t actual[4] = {8, 1, 28, 28};
  int64_t expected[4] = {-1, 1, 28, 28};
  kiln_tensor tensor;
};

TEST_F(TensorCheck, AcceptsMatchingTensorsAndAnyBatch) {
  EXPECT_EQ(kiln_tensor_check(&tensor, "lenet_forward: data", KILN_F32, 4, expected), KILN_OK);
  EXPECT_EQ(kiln_tensor_check(&tensor, "lenet_forward: data", KILN_F32, 4, actual), KILN_OK);
}

TEST_F(TensorCheck, RejectsNullTensorAndData) {
  EXPECT_EQ(kiln_tensor_check(nullptr, "lenet_forward: data", KILN_F32, 4, expected),
            KILN_INVALID_ARGUMENT);
  EXPECT_STREQ(kiln_last_error(), "lenet_forward: data: is NULL");
  kiln_tensor noData = kiln_tensor_view(nullptr, KILN_F32, 4, actual);
  EXPECT_EQ(kiln_tensor_check(&noData, "lenet_forward: data", KILN_F32, 4, expected),
            KILN_INVALID_ARGUMENT);
  EXPECT_STREQ(kiln_last_error(), "lenet_forward: data: has NULL data");
}

TEST_F(TensorCheck, RejectsWrongDtype) {
  kiln_tensor labels = kiln_tensor_view(tensor.data, KILN_I64, 4, actual);
  EXPECT_EQ(kiln_tensor_check(&labels, "lenet_forward: data", KILN_F32, 4, expected),
            KILN_DTYPE_MISMATCH);
  EXPECT_STREQ(kiln_last_error(), "lenet_forward: data: expected dtype f32, got i64");
  kiln_tensor unknown = kiln_tensor_view(tensor.data, static_cast<kiln_dtype>(0), 4, actual);
  EXPECT_EQ(kiln_tensor_check(&unknown, "x", KILN_U8, 4, expected), KILN_DTYPE_MISMATCH);
  EXPECT_STREQ(kiln_last_error(), "x: expected dtype u8, got unknown dtype 0");
}

TEST_F(TensorCheck, RejectsWrongRank) {
  int64_t flat[] = {8, 784};
  kiln_tensor matrix = kiln_tensor_view(tensor.data, KILN_F32, 2, flat);
  EXPECT_EQ(kiln_tensor_check(&matrix, "lenet_forward: data", KILN_F32, 4, expected),
            KILN_SHAPE_MISMATCH);
  EXPECT_STREQ(kiln_last_error(), "lenet_forward: data: expected rank 4, got 2");
  kiln_tensor malformed = kiln_tensor_view(tensor.data, KILN_F32, 12, flat);
  EXPECT_EQ(kiln_tensor_check(&malformed, "data", KILN_F32, 4, expected), KILN_SHAPE_MISMATCH);
  EXPECT_STREQ(kiln_last_error(), "data: expected rank 4, got -1");
}

TEST_F(TensorCheck, RejectsWrongExtents) {
  int64_t channels[] = {8, 3, 28, 28};
  kiln_tensor rgb = kiln_tensor_view(tensor.data, KILN_F32, 4, channels);
  EXPECT_EQ(kiln_tensor_check(&rgb, "lenet_forward: data", KILN_F32, 4, expected),
            KILN_SHAPE_MISMATCH);
  EXPECT_STREQ(kiln_last_error(),
               "lenet_forward: data: expected shape [N, 1, 28, 28], got [8, 3, 28, 28]");
  int64_t emptyBatch[] = {0, 1, 28, 28};
  kiln_tensor empty = kiln_tensor_view(tensor.data, KILN_F32, 4, emptyBatch);
  EXPECT_EQ(kiln_tensor_check(&empty, "data", KILN_F32, 4, expected), KILN_SHAPE_MISMATCH);
  EXPECT_STREQ(kiln_last_error(), "data: expected shape [N, 1, 28, 28], got [0, 1, 28, 28]");
  EXPECT_EQ(kiln_tensor_check(&tensor, "data", KILN_F32, 4, channels), KILN_SHAPE_MISMATCH);
  EXPECT_STREQ(kiln_last_error(), "data: expected shape [8, 3, 28, 28], got [8, 1, 28, 28]");
  // A caller's negative extent prints as it is: "got [N, ...]" read as if it matched.
  int64_t negativeBatch[] = {-1, 1, 28, 28};
  kiln_tensor negative = kiln_tensor_view(tensor.data, KILN_F32, 4, negativeBatch);
  EXPECT_EQ(kiln_tensor_check(&negative, "data", KILN_F32, 4, expected), KILN_SHAPE_MISMATCH);
  EXPECT_STREQ(kiln_last_error(), "data: expected shape [N, 1, 28, 28], got [-1, 1, 28, 28]");
}

TEST_F(TensorCheck, RejectsBadExpectations) {
  EXPECT_EQ(kiln_tensor_check(&tensor, nullptr, KILN_F32, 4, nullptr), KILN_INVALID_ARGUMENT);
  EXPECT_STREQ(kiln_last_error(), "tensor: bad expected rank 4 or NULL expected shape");
  EXPECT_EQ(kiln_tensor_check(&tensor, nullptr, KILN_F32, 9, expected), KILN_INVALID_ARGUMENT);
  EXPECT_EQ(kiln_tensor_check(&tensor, nullptr, KILN_I32, 4, expected), KILN_DTYPE_MISMATCH);
  EXPECT_STREQ(kiln_last_error(), "tensor: expected dtype i32, got f32");
}

TEST(Options, InitClearsEverything) {
  kiln_options options;
  std::memset(&options, 0x5A, sizeof options);
  kiln_options_init(&options);
  EXPECT_EQ(options.weights_path, nullptr);
  EXPECT_EQ(options.num_threads, 0);
  EXPECT_EQ(options.device, 0);
  kiln_options_init(nullptr);
}

// Sets $KILN_NUM_THREADS for one test and restores it afterwards.
class Threads : public ::testing::Test {
protected:
  void SetUp() override {
    if (const char *value = std::getenv("KILN_NUM_THREADS"))
      saved = value, hadValue = true;
    unsetenv("KILN_NUM_THREADS");
  }
  void TearDown() override {
    if (hadValue)
      setenv("KILN_NUM_THREADS", saved.c_str(), 1);
    else
      unsetenv("KILN_NUM_THREADS");
  }
  std::string saved;
  bool hadValue = false;
};

TEST_F(Threads, RequestedCountWins) {
  setenv("KILN_NUM_THREADS", "3", 1);
  EXPECT_EQ(kiln_resolve_num_threads(5), 5);
  EXPECT_EQ(kiln_resolve_num_threads(1), 1);
}

TEST_F(Threads, EnvironmentVariableIsTheDefault) {
  setenv("KILN_NUM_THREADS", "3", 1);
  EXPECT_EQ(kiln_resolve_num_threads(0), 3);
  EXPECT_EQ(kiln_resolve_num_threads(-2), 3);
  setenv("KILN_NUM_THREADS", "64", 1);
  EXPECT_EQ(kiln_resolve_num_threads(0), 64);
}

TEST_F(Threads, CheckedCountNamesTheBadValue) {
  int32_t threads = -1;
  EXPECT_EQ(kiln_num_threads(7, &threads), KILN_OK);
  EXPECT_EQ(threads, 7);
  EXPECT_EQ(kiln_num_threads(KILN_MAX_THREADS + 1, &threads), KILN_INVALID_ARGUMENT);
  EXPECT_STREQ(kiln_last_error(),
               "num_threads is 4097; expected 0 (automatic) or a count from 1 to 4096");
  EXPECT_EQ(kiln_num_threads(-5, &threads), KILN_INVALID_ARGUMENT);
  EXPECT_EQ(kiln_num_threads(0, nullptr), KILN_INVALID_ARGUMENT);
  setenv("KILN_NUM_THREADS", "4096", 1);
  EXPECT_EQ(kiln_num_threads(0, &threads), KILN_OK);
  EXPECT_EQ(threads, 4096);
  for (const char *bad : {"", "zero", "0", "-4", "3x", "4097", "99999999999"}) {
    setenv("KILN_NUM_THREADS", bad, 1);
    EXPECT_EQ(kiln_num_threads(0, &threads), KILN_INVALID_ARGUMENT) << bad;
    EXPECT_EQ(std::string(kiln_last_error()),
              "$KILN_NUM_THREADS is '" + std::string(bad) + "'; expected a count from 1 to 4096");
  }
}

TEST_F(Threads, OnlineProcessorsOtherwise) {
  int32_t online = static_cast<int32_t>(sysconf(_SC_NPROCESSORS_ONLN));
  ASSERT_GT(online, 0);
  EXPECT_EQ(kiln_resolve_num_threads(0), online);
  for (const char *bad : {"", "zero", "0", "-4", "3x", "99999999999"}) {
    setenv("KILN_NUM_THREADS", bad, 1);
    EXPECT_EQ(kiln_resolve_num_threads(0), online) << "KILN_NUM_THREADS='" << bad << "'";
  }
}

// A dtype no kiln_dtype names (a corrupt descriptor from C) is a mismatch with its number, and
// is read as stored, never loaded as the enum (UBSan's -fsanitize=enum).
TEST(TensorDtype, UnknownDtypeIsAMismatchWithItsNumber) {
  float data[4] = {};
  int64_t shape[1] = {4};
  kiln_tensor tensor = kiln_tensor_view(data, KILN_F32, 1, shape);
  int32_t bogus = 99;
  static_assert(sizeof tensor.dtype == sizeof bogus);
  std::memcpy(&tensor.dtype, &bogus, sizeof bogus);
  EXPECT_EQ(kiln_tensor_check(&tensor, "x", KILN_F32, 1, shape), KILN_DTYPE_MISMATCH);
  EXPECT_STREQ(kiln_last_error(), "x: expected dtype f32, got unknown dtype 99");
}

} // namespace
