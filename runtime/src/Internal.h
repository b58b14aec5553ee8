// Helpers shared by the runtime's translation units; not part of the public API.
#ifndef KILN_RUNTIME_INTERNAL_H
#define KILN_RUNTIME_INTERNAL_H

#include "kiln/runtime.h"

#include <cstdarg>
#include <cstdint>
#include <functional>
#include <string>

// Internal symbols stay out of libkiln_runtime.so's dynamic symbol table.
namespace kiln_rt __attribute__((visibility("hidden"))) {

// Tensors the runtime allocates are aligned for the widest vector loads the kernels use.
constexpr size_t kTensorAlignment = 64;

// a * b, or false when it overflows int64 (both operands are >= 0).
inline bool checkedMul(int64_t a, int64_t b, int64_t *out) {
  return !__builtin_mul_overflow(a, b, out);
}

// 64-byte aligned memory of at least `bytes` (and at least one alignment unit, so an empty
// tensor still has non-NULL data); NULL when out of memory. Release with std::free.
void *allocateAligned(size_t bytes);

// "[8, 1, 28, 28]". A negative extent prints as "N" (a dynamic batch) only in an expected shape
// (`batchAsN`); a shape given by a caller prints as it is, so "got [-1, 1]" is not "got [N, 1]".
std::string formatShape(int32_t rank, const int64_t *shape, bool batchAsN = false);

// The byte count of a tensor of this dtype and shape, or -1 when the dtype is unknown, an
// extent is negative or the count overflows.
int64_t byteCount(const kiln_dtype &dtype, int32_t rank, const int64_t *shape);

// A kiln_dtype's value as stored, read without an enum load: C callers may store any int (a
// dtype of 99 from a corrupt descriptor), and loading that as the C++ enum is undefined
// (UBSan's -fsanitize=enum reports it). Take dtypes by reference and read them with this.
int rawDtype(const kiln_dtype &dtype);

// "f32", or "unknown dtype 99", for messages.
std::string dtypeName(const kiln_dtype &dtype);

// vsnprintf into a std::string.
std::string formatV(const char *format, va_list args);

// strerror() for the thread-safe messages (strerror_r's GNU variant).
std::string errnoMessage(int error);

// Safetensors dtype strings ("F32") of the dtypes the runtime supports; NULL for others.
const char *safetensorsDtypeName(const kiln_dtype &dtype);

// write(2) until all `size` bytes are written (retrying on EINTR); false with errno set.
bool writeFully(int fd, const void *buffer, size_t size);

// Creates `path` atomically: `fill` writes the contents to the descriptor of a temporary file
// beside it and returns false (errno set) on failure; the temporary is then fsync'd and renamed
// over `path`. On failure the error is "<path>: cannot <verb>: <reason>", `path` is untouched
// and the temporary removed.
kiln_status writeAtomically(const char *path, const char *verb,
                            const std::function<bool(int fd)> &fill);

} // namespace kiln_rt

#endif // KILN_RUNTIME_INTERNAL_H
