// IDX datasets (MNIST, Fashion-MNIST), plain or gzip'd: zlib reads both, deciding by content.
#include "Internal.h"

#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstdarg>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <limits>
#include <sys/stat.h>
#include <unistd.h>

using namespace kiln_rt;

namespace {

// IDX element types and what they load as; i8 and i16 widen to i32 (the runtime has no narrow
// signed types).
struct IdxType {
  unsigned char code;
  const char *name;
  size_t fileSize;
  kiln_dtype dtype;
};

// Deflate's largest possible expansion (zlib's technical details: 1032:1).
constexpr int64_t kMaxDeflateRatio = 1032;

const IdxType kIdxTypes[] = {
    {0x08, "u8", 1, KILN_U8},   {0x09, "i8", 1, KILN_I32},  {0x0B, "i16", 2, KILN_I32},
    {0x0C, "i32", 4, KILN_I32}, {0x0D, "f32", 4, KILN_F32}, {0x0E, "f64", 8, KILN_F64},
};

kiln_status corrupt(const char *path, const char *format, ...) __attribute__((format(printf, 2, 3)));
kiln_status corrupt(const char *path, const char *format, ...) {
  va_list args;
  va_start(args, format);
  std::string message = formatV(format, args);
  va_end(args);
  return kiln_fail(KILN_CORRUPT_FILE, "%s: %s", path, message.c_str());
}

// Why zlib stopped short: a read error, a damaged or truncated gzip stream, or (`needed` > 0)
// plain data that ends early.
kiln_status streamError(gzFile file, const char *path, const char *what, size_t needed) {
  int code = Z_OK;
  const char *message = gzerror(file, &code);
  if (code == Z_ERRNO)
    return kiln_fail(KILN_IO_ERROR, "%s: %s", path, errnoMessage(errno).c_str());
  if (code == Z_MEM_ERROR)
    return kiln_fail(KILN_OUT_OF_MEMORY, "%s: zlib is out of memory", path);
  if (code != Z_OK && code != Z_BUF_ERROR) {
    // zlib prefixes the stream's name, "<fd:3>: "; the path is already there.
    const char *colon = std::strstr(message, ">: ");
    return corrupt(path, "damaged gzip stream: %s", colon ? colon + 3 : message);
  }
  if (needed > 0)
    return corrupt(path, "truncated: %zu byte%s missing from the %s", needed,
                   needed == 1 ? "" : "s", what);
  return code == Z_BUF_ERROR ? corrupt(path, "truncated: the gzip stream ends early") : KILN_OK;
}

// Reads exactly `size` bytes; `what` names the part of the file for messages.
kiln_status readExactly(gzFile file, const char *path, const char *what, void *buffer,
                        size_t size) {
  auto *bytes = static_cast<char *>(buffer);
  while (size > 0) {
    unsigned chunk = static_cast<unsigned>(std::min<size_t>(size, 1u << 30));
    int got = gzread(file, bytes, chunk);
    if (got <= 0)
      return streamError(file, path, what, size);
    bytes += got;
    size -= static_cast<size_t>(got);
  }
  return KILN_OK;
}

uint32_t bigEndian32(const unsigned char *bytes) {
  return uint32_t(bytes[0]) << 24 | uint32_t(bytes[1]) << 16 | uint32_t(bytes[2]) << 8 | bytes[3];
}

// Converts `count` big-endian elements at `raw` into `out` as `type.dtype`, in place when they
// are the same buffer (only for types that do not widen).
void decode(const IdxType &type, const unsigned char *raw, int64_t count, void *out) {
  for (int64_t i = 0; i < count; ++i) {
    const unsigned char *e = raw + i * static_cast<int64_t>(type.fileSize);
    switch (type.code) {
    case 0x08: static_cast<uint8_t *>(out)[i] = e[0]; break;
    case 0x09: static_cast<int32_t *>(out)[i] = static_cast<int8_t>(e[0]); break;
    case 0x0B: static_cast<int32_t *>(out)[i] = static_cast<int16_t>(e[0] << 8 | e[1]); break;
    case 0x0C:
    case 0x0D: {
      uint32_t bits = bigEndian32(e);
      std::memcpy(static_cast<char *>(out) + 4 * i, &bits, 4);
      break;
    }
    case 0x0E: {
      uint64_t bits = uint64_t(bigEndian32(e)) << 32 | bigEndian32(e + 4);
      std::memcpy(static_cast<char *>(out) + 8 * i, &bits, 8);
      break;
    }
    }
  }
}

kiln_status loadIdx(const char *path, gzFile file, off_t compressedSize, kiln_tensor *out) {
  unsigned char magic[4];
  if (kiln_status status = readExactly(file, path, "header", magic, 4))
    return status;
  const IdxType *type = nullptr;
  for (const IdxType &candidate : kIdxTypes)
    if (candidate.code == magic[2])
      type = &candidate;
  if (magic[0] != 0 || magic[1] != 0)
    return corrupt(path, "not an IDX file (the magic number starts %02x %02x, not 00 00)",
                   magic[0], magic[1]);
  if (!type)
    return corrupt(path, "unknown IDX element type 0x%02x", magic[2]);
  int32_t rank = magic[3];
  if (rank > KILN_MAX_RANK)
    return corrupt(path, "%d dimensions, more than the runtime's maximum of %d",
                   static_cast<int>(rank), KILN_MAX_RANK);
  unsigned char dims[4 * KILN_MAX_RANK];
  if (kiln_status status = readExactly(file, path, "dimensions", dims, 4 * size_t(rank)))
    return status;
  int64_t shape[KILN_MAX_RANK] = {0};
  int64_t numel = 1;
  for (int32_t i = 0; i < rank; ++i)
    shape[i] = bigEndian32(dims + 4 * i);
  for (int32_t i = 0; i < rank; ++i)
    if (!checkedMul(numel, shape[i], &numel))
      return corrupt(path, "dimensions %s are too large", formatShape(rank, shape).c_str());
  int64_t fileBytes;
  // The bound leaves room for widening (at most 4x) without overflow.
  if (!checkedMul(numel, static_cast<int64_t>(type->fileSize), &fileBytes) ||
      fileBytes > std::numeric_limits<int64_t>::max() / 8)
    return corrupt(path, "dimensions %s are too large", formatShape(rank, shape).c_str());
  // Reject a truncated file before allocating for it: a plain file's size is known, and
  // deflate expands at most 1032-fold.
  if (compressedSize >= 0 && gzdirect(file) && 4 + 4 * rank + fileBytes > compressedSize)
    return corrupt(path, "truncated: %s %s needs %lld bytes of data, the file has %lld",
                   type->name, formatShape(rank, shape).c_str(), static_cast<long long>(fileBytes),
                   static_cast<long long>(compressedSize - 4 - 4 * rank));
  if (compressedSize >= 0 && !gzdirect(file) && fileBytes / kMaxDeflateRatio > compressedSize)
    return corrupt(path, "truncated: %s %s needs %lld bytes of data, more than %lld compressed "
                   "bytes can hold",
                   type->name, formatShape(rank, shape).c_str(), static_cast<long long>(fileBytes),
                   static_cast<long long>(compressedSize));

  size_t outBytes = static_cast<size_t>(numel) * kiln_dtype_size(type->dtype);
  bool widens = kiln_dtype_size(type->dtype) != type->fileSize;
  void *data = allocateAligned(outBytes);
  // + 1: an empty tensor still gets a pointer.
  void *raw = widens ? std::malloc(static_cast<size_t>(fileBytes) + 1) : data;
  kiln_status status = KILN_OK;
  if (!data || !raw)
    status = kiln_fail(KILN_OUT_OF_MEMORY, "%s: cannot allocate %zu bytes for %s%s", path,
                       outBytes, type->name, formatShape(rank, shape).c_str());
  if (!status)
    status = readExactly(file, path, "data", raw, static_cast<size_t>(fileBytes));
  // The stream must end here; reading on also makes zlib check the gzip trailer.
  char extra;
  if (!status && gzread(file, &extra, 1) > 0)
    status = corrupt(path, "data continues past the %lld bytes that %s %s holds",
                     static_cast<long long>(fileBytes), type->name,
                     formatShape(rank, shape).c_str());
  else if (!status)
    status = streamError(file, path, "data", 0);
  if (!status && type->code != 0x08) // bytes need no decoding
    decode(*type, static_cast<unsigned char *>(raw), numel, data);
  if (raw != data)
    std::free(raw);
  if (status) {
    std::free(data);
    return status;
  }
  *out = kiln_tensor_view(data, type->dtype, rank, shape);
  return KILN_OK;
}

bool exists(const std::string &path) { return ::access(path.c_str(), F_OK) == 0; }

} // namespace

extern "C" {

kiln_status kiln_idx_load(const char *path, kiln_tensor *out_tensor) {
  if (!out_tensor)
    return kiln_fail(KILN_INVALID_ARGUMENT, "kiln_idx_load: out_tensor is NULL");
  std::memset(out_tensor, 0, sizeof *out_tensor);
  if (!path || !*path)
    return kiln_fail(KILN_INVALID_ARGUMENT, "kiln_idx_load: path is %s", path ? "empty" : "NULL");
  // open() first so a missing file reports errno reliably (gzopen may not preserve it).
  // O_NONBLOCK: opening a FIFO returns at once even without a writer (a read then finds the end
  // of the file, and the data is reported truncated) instead of blocking; the flag is cleared
  // after the open, so a FIFO that has a writer (a shell's <(zcat ...)) is read as it comes.
  int fd = ::open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0)
    return kiln_fail(KILN_IO_ERROR, "%s: %s", path, errnoMessage(errno).c_str());
  int flags = ::fcntl(fd, F_GETFL);
  if (flags >= 0)
    ::fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
  struct stat info;
  off_t size = ::fstat(fd, &info) == 0 && S_ISREG(info.st_mode) ? info.st_size : -1;
  gzFile file = gzdopen(fd, "rb");
  if (!file) {
    ::close(fd);
    return kiln_fail(KILN_OUT_OF_MEMORY, "%s: cannot open a zlib stream", path);
  }
  kiln_status status = loadIdx(path, file, size, out_tensor);
  gzclose(file);
  return status;
}

kiln_status kiln_mnist_load(const char *dir, const char *split, kiln_tensor *out_images,
                            kiln_tensor *out_labels) {
  if (!out_images || !out_labels)
    return kiln_fail(KILN_INVALID_ARGUMENT, "kiln_mnist_load: an out-parameter is NULL");
  std::memset(out_images, 0, sizeof *out_images);
  std::memset(out_labels, 0, sizeof *out_labels);
  if (!dir || !split || !*split)
    return kiln_fail(KILN_INVALID_ARGUMENT, "kiln_mnist_load: dir or split is NULL or empty");
  std::string paths[2];
  const char *const kinds[2] = {"images-idx3-ubyte", "labels-idx1-ubyte"};
  for (int i = 0; i < 2; ++i) {
    std::string plain = std::string(dir) + "/" + split + "-" + kinds[i];
    paths[i] = exists(plain) || !exists(plain + ".gz") ? plain : plain + ".gz";
    if (!exists(paths[i]))
      return kiln_fail(KILN_IO_ERROR, "%s: no such file (nor %s.gz)", plain.c_str(),
                       plain.c_str());
  }
  kiln_tensor images, labels;
  if (kiln_status status = kiln_idx_load(paths[0].c_str(), &images))
    return status;
  if (kiln_status status = kiln_idx_load(paths[1].c_str(), &labels)) {
    kiln_tensor_free(&images);
    return status;
  }
  kiln_status status = KILN_OK;
  if (images.dtype != KILN_U8 || images.rank != 3)
    status = corrupt(paths[0].c_str(), "expected u8 images [N, rows, columns], got %s%s",
                     kiln_dtype_name(images.dtype),
                     formatShape(images.rank, images.shape).c_str());
  else if (labels.dtype != KILN_U8 || labels.rank != 1)
    status = corrupt(paths[1].c_str(), "expected u8 labels [N], got %s%s",
                     kiln_dtype_name(labels.dtype),
                     formatShape(labels.rank, labels.shape).c_str());
  else if (images.shape[0] != labels.shape[0])
    status = corrupt(paths[1].c_str(), "%lld labels for %lld images in %s",
                     static_cast<long long>(labels.shape[0]),
                     static_cast<long long>(images.shape[0]), paths[0].c_str());
  for (int64_t i = 0; !status && i < labels.shape[0]; ++i) {
    uint8_t label = static_cast<uint8_t *>(labels.data)[i];
    if (label > 9)
      status = corrupt(paths[1].c_str(), "label %lld is %d, not a class in [0, 9]",
                       static_cast<long long>(i), label);
  }
  if (status) {
    kiln_tensor_free(&images);
    kiln_tensor_free(&labels);
    return status;
  }
  *out_images = images;
  *out_labels = labels;
  return KILN_OK;
}

} // extern "C"
