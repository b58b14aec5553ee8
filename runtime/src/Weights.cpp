// Reading safetensors files: every header field is validated before any data is trusted.
#include "Internal.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cerrno>
#include <cstdarg>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <new>
#include <optional>
#include <set>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "safetensors data is little-endian");

using json = nlohmann::json;
using namespace kiln_rt;

struct kiln_weights {
  struct Entry {
    std::string name;
    kiln_tensor tensor;
    int64_t begin, end; // byte offsets within the data section
  };
  std::string path;
  std::vector<Entry> entries; // sorted by name
  void *data = nullptr;       // the data section, 64-byte aligned
  std::vector<void *> realigned; // copies of tensors whose offset is not a multiple of their size
};

namespace {

// The reference implementation refuses headers over 100 MB; so does Kiln.
constexpr uint64_t kMaxHeaderBytes = 100000000;

const struct {
  kiln_dtype dtype;
  const char *name;
} kSafetensorsDtypes[] = {
    {KILN_F32, "F32"}, {KILN_F64, "F64"}, {KILN_I32, "I32"}, {KILN_I64, "I64"}, {KILN_U8, "U8"},
};

bool parseDtype(const std::string &name, kiln_dtype *dtype) {
  for (const auto &entry : kSafetensorsDtypes)
    if (name == entry.name) {
      *dtype = entry.dtype;
      return true;
    }
  return false;
}

// Reads exactly `size` bytes; false with errno set (0 at end of file) otherwise.
bool readFully(int fd, void *buffer, size_t size) {
  auto *bytes = static_cast<char *>(buffer);
  while (size > 0) {
    ssize_t got = ::read(fd, bytes, size);
    if (got < 0 && errno == EINTR)
      continue;
    if (got <= 0) {
      if (got == 0)
        errno = 0;
      return false;
    }
    bytes += got;
    size -= static_cast<size_t>(got);
  }
  return true;
}

// A non-negative JSON integer that fits int64.
bool getOffset(const json &value, int64_t *out) {
  if (!value.is_number_unsigned() || value.get<uint64_t>() > static_cast<uint64_t>(INT64_MAX))
    return false;
  *out = static_cast<int64_t>(value.get<uint64_t>());
  return true;
}

// Validates and reads one file into `weights`; every failure names the file.
class Loader {
public:
  Loader(const char *path, kiln_weights *weights) : path(path), weights(weights) {}
  ~Loader() {
    if (fd >= 0)
      ::close(fd);
  }
  kiln_status load();

private:
  kiln_status corrupt(const char *format, ...) __attribute__((format(printf, 2, 3)));
  kiln_status parseEntry(const std::string &name, const json &info, uint64_t dataSize);
  kiln_status checkLayout(uint64_t dataSize);
  kiln_status readData(uint64_t dataSize);

  const char *path;
  kiln_weights *weights;
  int fd = -1;
};

kiln_status Loader::corrupt(const char *format, ...) {
  va_list args;
  va_start(args, format);
  std::string message = formatV(format, args);
  va_end(args);
  return kiln_fail(KILN_CORRUPT_FILE, "%s: %s", path, message.c_str());
}

kiln_status Loader::parseEntry(const std::string &name, const json &info, uint64_t dataSize) {
  const char *tensor = name.c_str();
  if (!info.is_object())
    return corrupt("tensor '%s': the entry is not a JSON object", tensor);
  auto dtypeIt = info.find("dtype");
  kiln_dtype dtype;
  if (dtypeIt == info.end() || !dtypeIt->is_string())
    return corrupt("tensor '%s': no dtype string", tensor);
  if (!parseDtype(dtypeIt->get<std::string>(), &dtype))
    return corrupt("tensor '%s': unsupported dtype '%s' (Kiln reads F32, F64, I32, I64, U8)",
                   tensor, dtypeIt->get<std::string>().c_str());

  auto shapeIt = info.find("shape");
  if (shapeIt == info.end() || !shapeIt->is_array())
    return corrupt("tensor '%s': no shape array", tensor);
  if (shapeIt->size() > KILN_MAX_RANK)
    return corrupt("tensor '%s': rank %zu exceeds the runtime's maximum of %d", tensor,
                   shapeIt->size(), KILN_MAX_RANK);
  kiln_weights::Entry entry;
  entry.name = name;
  int32_t rank = static_cast<int32_t>(shapeIt->size());
  int64_t shape[KILN_MAX_RANK] = {0};
  for (int32_t i = 0; i < rank; ++i)
    if (!getOffset((*shapeIt)[static_cast<size_t>(i)], &shape[i]))
      return corrupt("tensor '%s': shape %s has an extent that is not a non-negative integer",
                     tensor, shapeIt->dump().c_str());
  int64_t bytes = byteCount(dtype, rank, shape);
  if (bytes < 0)
    return corrupt("tensor '%s': shape %s is too large", tensor, shapeIt->dump().c_str());

  auto offsetsIt = info.find("data_offsets");
  if (offsetsIt == info.end() || !offsetsIt->is_array() || offsetsIt->size() != 2 ||
      !getOffset((*offsetsIt)[0], &entry.begin) || !getOffset((*offsetsIt)[1], &entry.end))
    return corrupt("tensor '%s': data_offsets is not a pair of non-negative integers", tensor);
  std::string offsets = offsetsIt->dump();
  if (entry.begin > entry.end)
    return corrupt("tensor '%s': data_offsets %s are reversed", tensor, offsets.c_str());
  if (static_cast<uint64_t>(entry.end) > dataSize)
    return corrupt("tensor '%s': data_offsets %s extend past the end of the data (%llu bytes)",
                   tensor, offsets.c_str(), static_cast<unsigned long long>(dataSize));
  if (entry.end - entry.begin != bytes)
    return corrupt("tensor '%s': data_offsets %s hold %lld bytes, but %s%s needs %lld", tensor,
                   offsets.c_str(), static_cast<long long>(entry.end - entry.begin),
                   kiln_dtype_name(dtype), formatShape(rank, shape).c_str(),
                   static_cast<long long>(bytes));
  entry.tensor = kiln_tensor_view(nullptr, dtype, rank, shape);
  weights->entries.push_back(std::move(entry));
  return KILN_OK;
}

// Like the reference implementation, the tensors must tile the data section exactly: sorted by
// offset, each starts where the previous one ends and the last ends at the end of the file.
kiln_status Loader::checkLayout(uint64_t dataSize) {
  std::vector<const kiln_weights::Entry *> byOffset;
  for (const auto &entry : weights->entries)
    byOffset.push_back(&entry);
  std::sort(byOffset.begin(), byOffset.end(), [](const auto *a, const auto *b) {
    return a->begin != b->begin ? a->begin < b->begin : a->end < b->end;
  });
  const kiln_weights::Entry *previous = nullptr;
  for (const auto *entry : byOffset) {
    int64_t end = previous ? previous->end : 0;
    if (entry->begin < end)
      return corrupt("tensor '%s' (bytes %lld to %lld) overlaps tensor '%s' (bytes %lld to %lld)",
                     entry->name.c_str(), static_cast<long long>(entry->begin),
                     static_cast<long long>(entry->end), previous->name.c_str(),
                     static_cast<long long>(previous->begin),
                     static_cast<long long>(previous->end));
    if (entry->begin > end)
      return corrupt("tensor '%s': %lld unused bytes before it (it starts at %lld, the previous "
                     "tensor ends at %lld)",
                     entry->name.c_str(), static_cast<long long>(entry->begin - end),
                     static_cast<long long>(entry->begin), static_cast<long long>(end));
    previous = entry;
  }
  uint64_t end = previous ? static_cast<uint64_t>(previous->end) : 0;
  if (end != dataSize)
    return corrupt("%llu bytes of data after the last tensor belong to no tensor",
                   static_cast<unsigned long long>(dataSize - end));
  return KILN_OK;
}

kiln_status Loader::readData(uint64_t dataSize) {
  weights->data = allocateAligned(dataSize);
  if (!weights->data)
    return kiln_fail(KILN_OUT_OF_MEMORY, "%s: cannot allocate %llu bytes for the tensors", path,
                     static_cast<unsigned long long>(dataSize));
  if (!readFully(fd, weights->data, dataSize))
    return errno ? kiln_fail(KILN_IO_ERROR, "%s: %s", path, errnoMessage(errno).c_str())
                 : corrupt("the file shrank while it was being read");
  auto *base = static_cast<char *>(weights->data);
  for (auto &entry : weights->entries) {
    size_t size = kiln_dtype_size(entry.tensor.dtype);
    void *data = base + entry.begin;
    if (entry.begin % static_cast<int64_t>(size) != 0) {
      void *copy = allocateAligned(static_cast<size_t>(entry.end - entry.begin));
      if (!copy)
        return kiln_fail(KILN_OUT_OF_MEMORY, "%s: cannot allocate tensor '%s'", path,
                         entry.name.c_str());
      std::memcpy(copy, data, static_cast<size_t>(entry.end - entry.begin));
      weights->realigned.push_back(copy);
      data = copy;
    }
    entry.tensor.data = data;
  }
  return KILN_OK;
}

kiln_status Loader::load() {
  weights->path = path;
  // O_NONBLOCK: opening a FIFO without a writer returns at once (and is refused below as not a
  // regular file) instead of blocking; on a regular file the flag changes nothing.
  fd = ::open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0)
    return kiln_fail(KILN_IO_ERROR, "%s: %s", path, errnoMessage(errno).c_str());

  struct stat info;
  if (::fstat(fd, &info) != 0)
    return kiln_fail(KILN_IO_ERROR, "%s: %s", path, errnoMessage(errno).c_str());
  if (!S_ISREG(info.st_mode))
    return kiln_fail(KILN_IO_ERROR, "%s: not a regular file", path);
  uint64_t fileSize = static_cast<uint64_t>(info.st_size);
  if (fileSize < 8)
    return corrupt("%llu bytes, too short for the 8-byte header length",
                   static_cast<unsigned long long>(fileSize));
  unsigned char lengthBytes[8];
  if (!readFully(fd, lengthBytes, 8))
    return kiln_fail(KILN_IO_ERROR, "%s: cannot read the header length", path);
  uint64_t headerSize = 0;
  for (int i = 7; i >= 0; --i)
    headerSize = headerSize << 8 | lengthBytes[i];
  if (headerSize > kMaxHeaderBytes)
    return corrupt("header length %llu exceeds the limit of %llu bytes",
                   static_cast<unsigned long long>(headerSize),
                   static_cast<unsigned long long>(kMaxHeaderBytes));
  if (headerSize > fileSize - 8)
    return corrupt("header length %llu exceeds the %llu bytes after it",
                   static_cast<unsigned long long>(headerSize),
                   static_cast<unsigned long long>(fileSize - 8));

  std::string headerText(headerSize, '\0');
  if (!readFully(fd, headerText.data(), headerSize))
    return kiln_fail(KILN_IO_ERROR, "%s: cannot read the header", path);
  // A JSON object may repeat a key, and nlohmann keeps the last: a tensor listed twice (or a
  // field of one) would load as whichever came last, where another reader may take the first.
  // The callback sees every key, one set of keys per open object.
  std::vector<std::set<std::string>> objectKeys;
  std::optional<std::string> repeated;
  json header = json::parse(
      headerText.begin(), headerText.end(),
      [&](int, json::parse_event_t event, json &parsed) {
        if (event == json::parse_event_t::object_start)
          objectKeys.emplace_back();
        else if (event == json::parse_event_t::object_end && !objectKeys.empty())
          objectKeys.pop_back();
        else if (event == json::parse_event_t::key && !objectKeys.empty() && !repeated &&
                 parsed.is_string() &&
                 !objectKeys.back().insert(parsed.get<std::string>()).second)
          repeated = parsed.get<std::string>();
        return true;
      },
      /*allow_exceptions=*/false);
  if (header.is_discarded())
    return corrupt("the header is not valid JSON");
  if (repeated)
    return corrupt("the header names '%s' twice in one object", repeated->c_str());
  if (!header.is_object())
    return corrupt("the header is not a JSON object");

  uint64_t dataSize = fileSize - 8 - headerSize;
  for (const auto &[name, value] : header.items()) {
    if (name == "__metadata__") {
      bool strings = value.is_object() && std::all_of(value.begin(), value.end(), [](auto &v) {
                       return v.is_string();
                     });
      if (!strings)
        return corrupt("__metadata__ is not an object of strings");
      continue;
    }
    if (kiln_status status = parseEntry(name, value, dataSize))
      return status;
  }
  if (kiln_status status = checkLayout(dataSize))
    return status;
  // header.items() visits keys in sorted order, so entries are sorted by name already.
  return readData(dataSize);
}

} // namespace

namespace kiln_rt {

const char *safetensorsDtypeName(const kiln_dtype &dtype) {
  for (const auto &entry : kSafetensorsDtypes)
    if (entry.dtype == rawDtype(dtype))
      return entry.name;
  return nullptr;
}

} // namespace kiln_rt

extern "C" {

kiln_status kiln_weights_load(const char *path, kiln_weights **out_weights) {
  if (!out_weights)
    return kiln_fail(KILN_INVALID_ARGUMENT, "kiln_weights_load: out_weights is NULL");
  *out_weights = nullptr;
  if (!path || !*path)
    return kiln_fail(KILN_INVALID_ARGUMENT, "kiln_weights_load: path is %s", path ? "empty" : "NULL");
  auto *weights = new (std::nothrow) kiln_weights;
  if (!weights)
    return kiln_fail(KILN_OUT_OF_MEMORY, "%s: cannot allocate the weights", path);
  if (kiln_status status = Loader(path, weights).load()) {
    kiln_weights_free(weights);
    return status;
  }
  *out_weights = weights;
  return KILN_OK;
}

void kiln_weights_free(kiln_weights *weights) {
  if (!weights)
    return;
  std::free(weights->data);
  for (void *copy : weights->realigned)
    std::free(copy);
  delete weights;
}

size_t kiln_weights_count(const kiln_weights *weights) {
  return weights ? weights->entries.size() : 0;
}

const char *kiln_weights_name(const kiln_weights *weights, size_t index) {
  if (!weights || index >= weights->entries.size())
    return nullptr;
  return weights->entries[index].name.c_str();
}

kiln_status kiln_weights_get(const kiln_weights *weights, const char *name,
                             kiln_tensor *out_tensor) {
  if (!out_tensor)
    return kiln_fail(KILN_INVALID_ARGUMENT, "kiln_weights_get: out_tensor is NULL");
  std::memset(out_tensor, 0, sizeof *out_tensor);
  if (!weights || !name)
    return kiln_fail(KILN_INVALID_ARGUMENT, "kiln_weights_get: weights or name is NULL");
  auto it = std::lower_bound(
      weights->entries.begin(), weights->entries.end(), name,
      [](const kiln_weights::Entry &entry, const char *key) { return entry.name < key; });
  if (it == weights->entries.end() || it->name != name)
    return kiln_fail(KILN_MISSING_TENSOR, "%s: no tensor '%s'", weights->path.c_str(), name);
  *out_tensor = it->tensor;
  return KILN_OK;
}

kiln_status kiln_weights_copy_to(const kiln_weights *weights, const char *name,
                                 const kiln_tensor *dst) {
  if (!weights || !name)
    return kiln_fail(KILN_INVALID_ARGUMENT, "kiln_weights_copy_to: weights or name is NULL");
  kiln_tensor src;
  if (kiln_status status = kiln_weights_get(weights, name, &src))
    return status;
  const char *path = weights->path.c_str();
  if (!dst || !dst->data)
    return kiln_fail(KILN_INVALID_ARGUMENT, "%s: tensor '%s': the destination %s", path, name,
                     dst ? "has NULL data" : "is NULL");
  if (rawDtype(dst->dtype) != rawDtype(src.dtype))
    return kiln_fail(KILN_DTYPE_MISMATCH, "%s: tensor '%s' has dtype %s, expected %s", path, name,
                     dtypeName(src.dtype).c_str(), dtypeName(dst->dtype).c_str());
  bool sameShape = dst->rank == src.rank &&
                   std::equal(src.shape, src.shape + src.rank, dst->shape);
  if (!sameShape) {
    std::string expected = dst->rank >= 0 && dst->rank <= KILN_MAX_RANK
                               ? formatShape(dst->rank, dst->shape)
                               : "rank " + std::to_string(dst->rank);
    return kiln_fail(KILN_SHAPE_MISMATCH, "%s: tensor '%s' has shape %s, expected %s", path,
                     name, formatShape(src.rank, src.shape).c_str(), expected.c_str());
  }
  size_t bytes = static_cast<size_t>(kiln_tensor_numel(&src)) * kiln_dtype_size(src.dtype);
  if (bytes)
    std::memcpy(dst->data, src.data, bytes);
  return KILN_OK;
}

} // extern "C"
