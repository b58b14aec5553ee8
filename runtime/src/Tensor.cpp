// Tensor descriptors (dtypes, allocation, boundary checks), model options and thread counts.
#include "Internal.h"

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <type_traits>
#include <unistd.h>

namespace {

struct DtypeInfo {
  size_t size;
  const char *name;
};

// Indexed by kiln_dtype; entry 0 is no dtype.
const DtypeInfo kDtypes[] = {
    {0, "unknown"}, {4, "f32"}, {8, "f64"}, {4, "i32"}, {8, "i64"}, {1, "u8"},
};

const DtypeInfo &dtypeInfo(int dtype) {
  return dtype >= 0 && static_cast<size_t>(dtype) < sizeof kDtypes / sizeof kDtypes[0]
             ? kDtypes[dtype]
             : kDtypes[0];
}

const DtypeInfo &dtypeInfo(const kiln_dtype &dtype) { return dtypeInfo(kiln_rt::rawDtype(dtype)); }

bool validRank(int32_t rank) { return rank >= 0 && rank <= KILN_MAX_RANK; }

} // namespace

namespace kiln_rt {

int rawDtype(const kiln_dtype &dtype) {
  std::underlying_type_t<kiln_dtype> value;
  std::memcpy(&value, &dtype, sizeof value);
  return static_cast<int>(value);
}

std::string dtypeName(const kiln_dtype &dtype) {
  int raw = rawDtype(dtype);
  return dtypeInfo(raw).size ? dtypeInfo(raw).name : "unknown dtype " + std::to_string(raw);
}

void *allocateAligned(size_t bytes) {
  size_t rounded = (bytes + kTensorAlignment - 1) / kTensorAlignment * kTensorAlignment;
  if (rounded < bytes)
    return nullptr; // the rounding overflowed
  return std::aligned_alloc(kTensorAlignment, rounded ? rounded : kTensorAlignment);
}

std::string formatShape(int32_t rank, const int64_t *shape, bool batchAsN) {
  std::string text = "[";
  for (int32_t i = 0; i < rank; ++i) {
    if (i)
      text += ", ";
    text += batchAsN && shape[i] < 0 ? std::string("N") : std::to_string(shape[i]);
  }
  return text + "]";
}

int64_t byteCount(const kiln_dtype &dtype, int32_t rank, const int64_t *shape) {
  int64_t bytes = static_cast<int64_t>(dtypeInfo(dtype).size);
  if (bytes == 0 || !validRank(rank) || (rank > 0 && !shape))
    return -1;
  for (int32_t i = 0; i < rank; ++i)
    if (shape[i] < 0 || !checkedMul(bytes, shape[i], &bytes))
      return -1;
  return bytes;
}

} // namespace kiln_rt

using namespace kiln_rt;

extern "C" {

size_t kiln_dtype_size(kiln_dtype dtype) { return dtypeInfo(dtype).size; } // no enum load

const char *kiln_dtype_name(kiln_dtype dtype) { return dtypeInfo(dtype).name; }

kiln_tensor kiln_tensor_view(void *data, kiln_dtype dtype, int32_t rank, const int64_t *shape) {
  kiln_tensor tensor;
  std::memset(&tensor, 0, sizeof tensor);
  tensor.data = data;
  tensor.dtype = dtype;
  tensor.rank = rank;
  // A bad rank or a NULL shape yields a descriptor that kiln_tensor_check rejects.
  if (!validRank(rank) || (rank > 0 && !shape))
    tensor.rank = -1;
  else if (rank > 0)
    std::memcpy(tensor.shape, shape, static_cast<size_t>(rank) * sizeof *shape);
  return tensor;
}

int64_t kiln_tensor_numel(const kiln_tensor *tensor) {
  if (!tensor || !validRank(tensor->rank))
    return 0;
  int64_t numel = 1;
  for (int32_t i = 0; i < tensor->rank; ++i)
    if (tensor->shape[i] < 0 || !checkedMul(numel, tensor->shape[i], &numel))
      return 0;
  return numel;
}

kiln_status kiln_tensor_alloc(kiln_dtype dtype, int32_t rank, const int64_t *shape,
                              kiln_tensor *out_tensor) {
  if (!out_tensor)
    return kiln_fail(KILN_INVALID_ARGUMENT, "kiln_tensor_alloc: out_tensor is NULL");
  std::memset(out_tensor, 0, sizeof *out_tensor);
  if (dtypeInfo(dtype).size == 0)
    return kiln_fail(KILN_INVALID_ARGUMENT, "kiln_tensor_alloc: unknown dtype %d",
                     rawDtype(dtype));
  if (!validRank(rank))
    return kiln_fail(KILN_INVALID_ARGUMENT, "kiln_tensor_alloc: rank %d is not in [0, %d]",
                     static_cast<int>(rank), KILN_MAX_RANK);
  if (rank > 0 && !shape)
    return kiln_fail(KILN_INVALID_ARGUMENT, "kiln_tensor_alloc: shape is NULL");
  int64_t bytes = byteCount(dtype, rank, shape);
  if (bytes < 0)
    return kiln_fail(KILN_INVALID_ARGUMENT,
                     "kiln_tensor_alloc: shape %s has a negative extent or is too large",
                     formatShape(rank, shape).c_str());
  void *data = allocateAligned(static_cast<size_t>(bytes));
  if (!data)
    return kiln_fail(KILN_OUT_OF_MEMORY, "kiln_tensor_alloc: cannot allocate %lld bytes for %s%s",
                     static_cast<long long>(bytes), kiln_dtype_name(dtype),
                     formatShape(rank, shape).c_str());
  std::memset(data, 0, static_cast<size_t>(bytes));
  *out_tensor = kiln_tensor_view(data, dtype, rank, shape);
  return KILN_OK;
}

void kiln_tensor_free(kiln_tensor *tensor) {
  if (!tensor)
    return;
  std::free(tensor->data);
  std::memset(tensor, 0, sizeof *tensor);
}

kiln_status kiln_tensor_check(const kiln_tensor *tensor, const char *what, kiln_dtype dtype,
                              int32_t rank, const int64_t *shape) {
  if (!what)
    what = "tensor";
  if (!validRank(rank) || (rank > 0 && !shape))
    return kiln_fail(KILN_INVALID_ARGUMENT, "%s: bad expected rank %d or NULL expected shape",
                     what, static_cast<int>(rank));
  if (!tensor)
    return kiln_fail(KILN_INVALID_ARGUMENT, "%s: is NULL", what);
  if (!tensor->data)
    return kiln_fail(KILN_INVALID_ARGUMENT, "%s: has NULL data", what);
  if (int got = rawDtype(tensor->dtype); got != rawDtype(dtype)) {
    if (dtypeInfo(got).size == 0)
      return kiln_fail(KILN_DTYPE_MISMATCH, "%s: expected dtype %s, got unknown dtype %d", what,
                       dtypeInfo(dtype).name, got);
    return kiln_fail(KILN_DTYPE_MISMATCH, "%s: expected dtype %s, got %s", what,
                     dtypeInfo(dtype).name, dtypeInfo(got).name);
  }
  if (tensor->rank != rank)
    return kiln_fail(KILN_SHAPE_MISMATCH, "%s: expected rank %d, got %d", what,
                     static_cast<int>(rank), static_cast<int>(tensor->rank));
  for (int32_t i = 0; i < rank; ++i) {
    bool ok = shape[i] < 0 ? tensor->shape[i] > 0 : tensor->shape[i] == shape[i];
    if (!ok)
      return kiln_fail(KILN_SHAPE_MISMATCH, "%s: expected shape %s, got %s", what,
                       formatShape(rank, shape, /*batchAsN=*/true).c_str(),
                       formatShape(tensor->rank, tensor->shape).c_str());
  }
  return KILN_OK;
}

void kiln_options_init(kiln_options *options) {
  if (options)
    std::memset(options, 0, sizeof *options);
}

static int32_t onlineProcessors() {
  long online = sysconf(_SC_NPROCESSORS_ONLN);
  return online > 0 ? static_cast<int32_t>(std::min<long>(online, KILN_MAX_THREADS)) : 1;
}

kiln_status kiln_num_threads(int32_t requested, int32_t *threads) {
  if (!threads)
    return kiln_fail(KILN_INVALID_ARGUMENT, "kiln_num_threads: threads is NULL");
  if (requested < 0 || requested > KILN_MAX_THREADS)
    return kiln_fail(KILN_INVALID_ARGUMENT,
                     "num_threads is %d; expected 0 (automatic) or a count from 1 to %d",
                     static_cast<int>(requested), KILN_MAX_THREADS);
  if (requested > 0) {
    *threads = requested;
    return KILN_OK;
  }
  if (const char *text = std::getenv("KILN_NUM_THREADS")) {
    char *end = nullptr;
    errno = 0;
    long value = std::strtol(text, &end, 10);
    if (errno != 0 || end == text || *end != '\0' || value < 1 || value > KILN_MAX_THREADS)
      return kiln_fail(KILN_INVALID_ARGUMENT,
                       "$KILN_NUM_THREADS is '%.64s'; expected a count from 1 to %d", text,
                       KILN_MAX_THREADS);
    *threads = static_cast<int32_t>(value);
    return KILN_OK;
  }
  *threads = onlineProcessors();
  return KILN_OK;
}

int32_t kiln_resolve_num_threads(int32_t requested) {
  if (requested > 0)
    return std::min<int32_t>(requested, KILN_MAX_THREADS);
  int32_t threads = 0;
  return kiln_num_threads(0, &threads) == KILN_OK ? threads : onlineProcessors();
}

double kiln_seconds(void) {
  timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return static_cast<double>(now.tv_sec) + 1e-9 * static_cast<double>(now.tv_nsec);
}

} // extern "C"
