// Writing safetensors files atomically, laid out as the reference implementation lays them out.
#include "Internal.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <set>
#include <vector>

using namespace kiln_rt;

namespace {

// The reference implementation orders tensors by dtype, widest alignment first, then by name,
// so each tensor's offset is a multiple of its element size: I64, F64, F32, I32, U8.
int alignmentRank(const kiln_dtype &dtype) {
  switch (rawDtype(dtype)) {
  case KILN_I64: return 4;
  case KILN_F64: return 3;
  case KILN_F32: return 2;
  case KILN_I32: return 1;
  default: return 0;
  }
}

// JSON keys must be UTF-8; nlohmann's serializer would abort on anything else.
bool isValidUtf8(const char *text) {
  const auto *s = reinterpret_cast<const unsigned char *>(text);
  while (*s) {
    int extra = *s < 0x80 ? 0 : (*s >> 5) == 0x6 ? 1 : (*s >> 4) == 0xE ? 2 : (*s >> 3) == 0x1E ? 3
                                                                                              : -1;
    if (extra < 0 || (extra == 1 && *s < 0xC2))
      return false;
    uint32_t code = extra ? *s & (0x3F >> extra) : *s;
    for (int i = 1; i <= extra; ++i) {
      if ((s[i] >> 6) != 0x2)
        return false;
      code = code << 6 | (s[i] & 0x3F);
    }
    static const uint32_t kMinimum[] = {0, 0x80, 0x800, 0x10000};
    if (code < kMinimum[extra] || code > 0x10FFFF || (code >= 0xD800 && code <= 0xDFFF))
      return false;
    s += extra + 1;
  }
  return true;
}

kiln_status checkTensors(const char *path, size_t count, const char *const *names,
                         const kiln_tensor *tensors) {
  if (count > 0 && (!names || !tensors))
    return kiln_fail(KILN_INVALID_ARGUMENT, "%s: cannot save: names or tensors is NULL", path);
  std::set<std::string> seen;
  for (size_t i = 0; i < count; ++i) {
    const char *name = names[i];
    if (!name || !*name || !isValidUtf8(name) || std::strcmp(name, "__metadata__") == 0)
      return kiln_fail(KILN_INVALID_ARGUMENT,
                       "%s: cannot save: tensor %zu's name is NULL, empty, not UTF-8 or "
                       "'__metadata__'",
                       path, i);
    if (!seen.insert(name).second)
      return kiln_fail(KILN_INVALID_ARGUMENT, "%s: cannot save: tensor '%s' appears twice", path,
                       name);
    const kiln_tensor &tensor = tensors[i];
    if (!safetensorsDtypeName(tensor.dtype))
      return kiln_fail(KILN_INVALID_ARGUMENT, "%s: cannot save: tensor '%s' has unknown dtype %d",
                       path, name, rawDtype(tensor.dtype));
    int64_t bytes = byteCount(tensor.dtype, tensor.rank, tensor.shape);
    if (bytes < 0)
      return kiln_fail(KILN_INVALID_ARGUMENT,
                       "%s: cannot save: tensor '%s' has a bad rank (%d) or shape", path, name,
                       static_cast<int>(tensor.rank));
    if (bytes > 0 && !tensor.data)
      return kiln_fail(KILN_INVALID_ARGUMENT, "%s: cannot save: tensor '%s' has NULL data", path,
                       name);
  }
  return KILN_OK;
}

// The header bytes (JSON padded with spaces to a multiple of 8) and the tensors' order in the
// data section.
std::string buildHeader(size_t count, const char *const *names, const kiln_tensor *tensors,
                        std::vector<size_t> *order) {
  order->resize(count);
  for (size_t i = 0; i < count; ++i)
    (*order)[i] = i;
  std::sort(order->begin(), order->end(), [&](size_t a, size_t b) {
    int rankA = alignmentRank(tensors[a].dtype), rankB = alignmentRank(tensors[b].dtype);
    return rankA != rankB ? rankA > rankB : std::strcmp(names[a], names[b]) < 0;
  });
  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  int64_t offset = 0;
  for (size_t i : *order) {
    const kiln_tensor &tensor = tensors[i];
    int64_t bytes = byteCount(tensor.dtype, tensor.rank, tensor.shape);
    nlohmann::ordered_json entry;
    entry["dtype"] = safetensorsDtypeName(tensor.dtype);
    entry["shape"] = std::vector<int64_t>(tensor.shape, tensor.shape + tensor.rank);
    entry["data_offsets"] = {offset, offset + bytes};
    header[names[i]] = std::move(entry);
    offset += bytes;
  }
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');
  return text;
}

} // namespace

extern "C" kiln_status kiln_weights_save(const char *path, size_t count,
                                         const char *const *names, const kiln_tensor *tensors) {
  if (!path || !*path)
    return kiln_fail(KILN_INVALID_ARGUMENT, "kiln_weights_save: path is NULL or empty");
  if (kiln_status status = checkTensors(path, count, names, tensors))
    return status;
  std::vector<size_t> order;
  std::string header = buildHeader(count, names, tensors, &order);

  return writeAtomically(path, "save", [&](int fd) {
    unsigned char length[8];
    for (int i = 0; i < 8; ++i)
      length[i] = static_cast<unsigned char>(static_cast<uint64_t>(header.size()) >> (8 * i));
    bool ok = writeFully(fd, length, sizeof length) && writeFully(fd, header.data(), header.size());
    for (size_t i = 0; ok && i < order.size(); ++i) {
      const kiln_tensor &tensor = tensors[order[i]];
      ok = writeFully(fd, tensor.data,
                      static_cast<size_t>(byteCount(tensor.dtype, tensor.rank, tensor.shape)));
    }
    return ok;
  });
}
