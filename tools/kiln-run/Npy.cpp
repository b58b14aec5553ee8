// NumPy .npy reading and writing. The format: the magic "\x93NUMPY", a version byte pair, the
// header's length (2 bytes little-endian in 1.0, 4 in 2.0/3.0), a Python dict literal
// {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3)} padded with spaces and a newline,
// then the raw data in C order.
#include "Npy.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <limits>
#include <memory>
#include <sys/stat.h>
#include <unistd.h>
#include <utility>
#include <vector>

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
              "kiln-run reads and writes little-endian .npy data in place");

namespace kiln_run {
namespace {

constexpr char kMagic[] = "\x93NUMPY";
constexpr size_t kMagicSize = 6;
// NumPy itself refuses headers over 10000 bytes by default; this bound only stops a damaged
// length field from making us allocate gigabytes.
constexpr uint32_t kMaxHeaderSize = 1u << 20;
// Nesting deeper than this in a header is damage, not a dtype we could use.
constexpr int kMaxDepth = 16;

struct DtypeInfo {
  kiln_dtype dtype;
  const char *descr;
};

const DtypeInfo kDtypes[] = {
    {KILN_F32, "<f4"}, {KILN_F64, "<f8"}, {KILN_I32, "<i4"}, {KILN_I64, "<i8"}, {KILN_U8, "|u1"},
};

// A readable name for a descr's type code and size ("f8" → "float64"), or "".
std::string typeName(const std::string &descr) {
  std::string code = descr;
  if (!code.empty() && std::strchr("<>|=", code[0]))
    code = code.substr(1);
  static const std::pair<const char *, const char *> kNames[] = {
      {"f2", "float16"}, {"f4", "float32"}, {"f8", "float64"}, {"i1", "int8"},
      {"i2", "int16"},   {"i4", "int32"},   {"i8", "int64"},   {"u1", "uint8"},
      {"u2", "uint16"},  {"u4", "uint32"},  {"u8", "uint64"},  {"b1", "bool"},
      {"c8", "complex64"}, {"c16", "complex128"}};
  for (const auto &[key, name] : kNames)
    if (code == key)
      return std::string(name) + (descr[0] == '>' ? ", big-endian" : "");
  return "";
}

std::string describeDescr(const std::string &descr) {
  std::string name = typeName(descr);
  return "'" + descr + "'" + (name.empty() ? "" : " (" + name + ")");
}

// The subset of Python literals that .npy headers use: strings, integers, booleans, None,
// tuples and lists, and dicts with string keys.
struct PyValue {
  enum class Kind { String, Int, Bool, None, Sequence, Dict } kind = Kind::None;
  std::string text;
  int64_t integer = 0;
  bool boolean = false;
  std::vector<PyValue> items;
  std::vector<std::pair<std::string, PyValue>> entries;

  const PyValue *find(const std::string &key) const {
    for (const auto &entry : entries)
      if (entry.first == key)
        return &entry.second;
    return nullptr;
  }
};

// A recursive-descent parser over the header text; errors say where and what was expected.
class HeaderParser {
public:
  explicit HeaderParser(const std::string &text) : text_(text) {}

  bool parse(PyValue *out, std::string *error) {
    bool ok = value(out, 0);
    skipSpace();
    if (ok && pos_ != text_.size())
      fail("unexpected text after the dict");
    if (!error_.empty()) {
      *error = error_;
      return false;
    }
    return true;
  }

private:
  bool fail(const std::string &what) {
    if (error_.empty())
      error_ = "malformed header at character " + std::to_string(pos_) + ": " + what;
    return false;
  }
  void skipSpace() {
    while (pos_ < text_.size() && std::strchr(" \t\r\n", text_[pos_]))
      ++pos_;
  }
  bool consume(char c) {
    skipSpace();
    if (pos_ < text_.size() && text_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }
  bool keyword(const char *word) {
    size_t length = std::strlen(word);
    if (text_.compare(pos_, length, word) != 0)
      return false;
    pos_ += length;
    return true;
  }

  bool value(PyValue *out, int depth) {
    if (depth > kMaxDepth)
      return fail("nested too deeply");
    skipSpace();
    if (pos_ >= text_.size())
      return fail("the header ends where a value was expected");
    char c = text_[pos_];
    if (c == '\'' || c == '"')
      return string(out);
    if (c == '(' || c == '[')
      return sequence(out, c == '(' ? ')' : ']', depth);
    if (c == '{')
      return dict(out, depth);
    if (c == '-' || (c >= '0' && c <= '9'))
      return integer(out);
    out->kind = PyValue::Kind::Bool;
    out->boolean = keyword("True");
    if (out->boolean || keyword("False"))
      return true;
    out->kind = PyValue::Kind::None;
    if (keyword("None"))
      return true;
    return fail(std::string("unexpected character '") + c + "'");
  }

  bool string(PyValue *out) {
    char quote = text_[pos_++];
    out->kind = PyValue::Kind::String;
    while (pos_ < text_.size() && text_[pos_] != quote) {
      if (text_[pos_] == '\\')
        return fail("escape sequences are not supported in header strings");
      out->text += text_[pos_++];
    }
    if (pos_ >= text_.size())
      return fail("unterminated string");
    ++pos_;
    return true;
  }

  bool integer(PyValue *out) {
    out->kind = PyValue::Kind::Int;
    bool negative = text_[pos_] == '-';
    if (negative)
      ++pos_;
    size_t start = pos_;
    int64_t value = 0;
    while (pos_ < text_.size() && text_[pos_] >= '0' && text_[pos_] <= '9') {
      if (__builtin_mul_overflow(value, 10, &value) ||
          __builtin_add_overflow(value, text_[pos_] - '0', &value))
        return fail("integer too large");
      ++pos_;
    }
    if (pos_ == start)
      return fail("expected digits after '-'");
    if (pos_ < text_.size() && text_[pos_] == 'L') // Python 2's long literal (old files)
      ++pos_;
    out->integer = negative ? -value : value;
    return true;
  }

  bool sequence(PyValue *out, char close, int depth) {
    ++pos_;
    out->kind = PyValue::Kind::Sequence;
    while (!consume(close)) {
      PyValue item;
      if (!value(&item, depth + 1))
        return false;
      out->items.push_back(std::move(item));
      if (!consume(',') && !(skipSpace(), pos_ < text_.size() && text_[pos_] == close))
        return fail(std::string("expected ',' or '") + close + "'");
    }
    return true;
  }

  bool dict(PyValue *out, int depth) {
    ++pos_;
    out->kind = PyValue::Kind::Dict;
    while (!consume('}')) {
      PyValue key, item;
      if (!value(&key, depth + 1))
        return false;
      if (key.kind != PyValue::Kind::String)
        return fail("dict keys must be strings");
      if (!consume(':'))
        return fail("expected ':' after '" + key.text + "'");
      // NumPy's literal_eval keeps a repeated key's last value, a first-match reader its
      // first: refused, so no two readers disagree on the file's type or shape.
      if (out->find(key.text))
        return fail("key '" + key.text + "' appears twice");
      if (!value(&item, depth + 1))
        return false;
      out->entries.emplace_back(key.text, std::move(item));
      if (!consume(',') && !(skipSpace(), pos_ < text_.size() && text_[pos_] == '}'))
        return fail("expected ',' or '}'");
    }
    return true;
  }

  const std::string &text_;
  size_t pos_ = 0;
  std::string error_;
};

struct FileCloser {
  void operator()(FILE *file) const { std::fclose(file); }
};
using File = std::unique_ptr<FILE, FileCloser>;

// `context` ends every message of a read: " (input 0 'data')".
kiln_status corrupt(const std::string &path, const std::string &context,
                    const std::string &message) {
  return kiln_fail(KILN_CORRUPT_FILE, "%s: %s%s", path.c_str(), message.c_str(),
                   context.c_str());
}

kiln_status ioError(const std::string &path, int error) {
  return kiln_fail(KILN_IO_ERROR, "%s: %s", path.c_str(), std::strerror(error));
}

uint32_t littleEndian(const unsigned char *bytes, size_t count) {
  uint32_t value = 0;
  for (size_t i = count; i-- > 0;)
    value = value << 8 | bytes[i];
  return value;
}

// Checks the header dict and extracts the shape. `expected` is the descr the caller needs.
kiln_status interpretHeader(const std::string &path, const PyValue &header,
                            const char *expected, const std::string &purpose,
                            const std::string &context, int32_t *rank, int64_t *shape) {
  if (header.kind != PyValue::Kind::Dict)
    return corrupt(path, context, "malformed header: not a dict");
  const PyValue *descr = header.find("descr");
  const PyValue *fortran = header.find("fortran_order");
  const PyValue *dims = header.find("shape");
  if (!descr || !fortran || !dims)
    return corrupt(path, context, std::string("malformed header: no '") +
                             (!descr ? "descr" : !fortran ? "fortran_order" : "shape") + "' key");
  std::string expectation = purpose + " expects " + describeDescr(expected);
  if (descr->kind != PyValue::Kind::String)
    return kiln_fail(KILN_DTYPE_MISMATCH, "%s: a structured dtype; %s", path.c_str(),
                     expectation.c_str());
  bool oneByte = std::strcmp(expected + 1, "u1") == 0;
  bool matches = descr->text == expected ||
                 (oneByte && descr->text.size() == 3 && std::strchr("<>|=", descr->text[0]) &&
                  descr->text.compare(1, 2, "u1") == 0);
  if (!matches)
    return kiln_fail(KILN_DTYPE_MISMATCH, "%s: dtype %s; %s", path.c_str(),
                     describeDescr(descr->text).c_str(), expectation.c_str());
  if (fortran->kind != PyValue::Kind::Bool)
    return corrupt(path, context, "malformed header: 'fortran_order' is not True or False");
  if (fortran->boolean)
    return corrupt(path, context, "Fortran-order (column-major) data; kiln-run needs C order "
                         "(save with np.ascontiguousarray)");
  if (dims->kind != PyValue::Kind::Sequence)
    return corrupt(path, context, "malformed header: 'shape' is not a tuple");
  if (dims->items.size() > KILN_MAX_RANK)
    return corrupt(path, context, "shape has " + std::to_string(dims->items.size()) +
                             " dimensions, more than Kiln's maximum of " +
                             std::to_string(KILN_MAX_RANK));
  *rank = static_cast<int32_t>(dims->items.size());
  for (int32_t i = 0; i < *rank; ++i) {
    const PyValue &extent = dims->items[i];
    if (extent.kind != PyValue::Kind::Int || extent.integer < 0)
      return corrupt(path, context, "malformed header: shape entry " + std::to_string(i) +
                               " is not a non-negative integer");
    shape[i] = extent.integer;
  }
  return KILN_OK;
}

} // namespace

const char *npyDescr(kiln_dtype dtype) {
  for (const DtypeInfo &info : kDtypes)
    if (info.dtype == dtype)
      return info.descr;
  return nullptr;
}

std::string formatNpyShape(int32_t rank, const int64_t *shape) {
  std::string text = "(";
  for (int32_t i = 0; i < rank; ++i)
    text += (i ? ", " : "") + std::to_string(shape[i]);
  return text + (rank == 1 ? ",)" : ")");
}

kiln_status readNpy(const std::string &path, kiln_dtype expected, const std::string &purpose,
                    kiln_tensor *out_tensor) {
  std::memset(out_tensor, 0, sizeof *out_tensor);
  // Every message says what the file was for: "x.npy: ... (input 0 'data')".
  std::string context = " (" + purpose + ")";
  auto ioError = [&](int error) {
    return kiln_fail(KILN_IO_ERROR, "%s: %s%s", path.c_str(), std::strerror(error),
                     context.c_str());
  };
  const char *expectedDescr = npyDescr(expected);
  if (!expectedDescr)
    return kiln_fail(KILN_DTYPE_MISMATCH, "%s: %s has dtype %s, which .npy files cannot hold",
                     path.c_str(), purpose.c_str(), kiln_dtype_name(expected));
  // O_NONBLOCK: opening a FIFO without a writer returns at once (and is refused below as not a
  // regular file) instead of blocking; on a regular file the flag changes nothing.
  int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0)
    return ioError(errno);
  File file(::fdopen(fd, "rb"));
  if (!file) {
    int error = errno;
    ::close(fd);
    return ioError(error);
  }
  struct stat info;
  if (::fstat(fileno(file.get()), &info) != 0)
    return ioError(errno);
  if (!S_ISREG(info.st_mode))
    return kiln_fail(KILN_IO_ERROR, "%s: not a regular file%s", path.c_str(), context.c_str());
  const int64_t fileSize = info.st_size;

  // Magic, version, and the header length (whose width depends on the version).
  unsigned char preamble[12];
  size_t got = std::fread(preamble, 1, 10, file.get());
  if (got < kMagicSize || std::memcmp(preamble, kMagic, kMagicSize) != 0)
    return corrupt(path, context, "not a .npy file (it does not start with \\x93NUMPY)");
  if (got < 10)
    return corrupt(path, context, "truncated: the file ends inside the .npy preamble");
  unsigned major = preamble[6], minor = preamble[7];
  if (major < 1 || major > 3 || minor != 0)
    return corrupt(path, context, "unsupported .npy format version " + std::to_string(major) + "." +
                             std::to_string(minor) + " (expected 1.0, 2.0 or 3.0)");
  size_t lengthBytes = major == 1 ? 2 : 4;
  if (lengthBytes == 4 && std::fread(preamble + 10, 1, 2, file.get()) != 2)
    return corrupt(path, context, "truncated: the file ends inside the .npy preamble");
  uint32_t headerSize = littleEndian(preamble + 8, lengthBytes);
  int64_t dataOffset = 8 + static_cast<int64_t>(lengthBytes) + headerSize;
  if (headerSize > kMaxHeaderSize)
    return corrupt(path, context, "header length " + std::to_string(headerSize) + " is implausible");
  if (dataOffset > fileSize)
    return corrupt(path, context, "truncated: the header should be " + std::to_string(headerSize) +
                             " bytes, the file ends after " +
                             std::to_string(fileSize - 8 - static_cast<int64_t>(lengthBytes)));
  std::string headerText(headerSize, '\0');
  errno = 0;
  if (std::fread(headerText.data(), 1, headerSize, file.get()) != headerSize)
    return ioError(errno ? errno : EIO);
  if (headerText.find('\0') != std::string::npos)
    return corrupt(path, context, "malformed header: it contains a NUL byte");

  PyValue header;
  std::string parseError;
  if (!HeaderParser(headerText).parse(&header, &parseError))
    return corrupt(path, context, parseError);
  int32_t rank = 0;
  int64_t shape[KILN_MAX_RANK] = {0};
  if (kiln_status status =
          interpretHeader(path, header, expectedDescr, purpose, context, &rank, shape))
    return status;

  int64_t dataBytes = static_cast<int64_t>(kiln_dtype_size(expected));
  for (int32_t i = 0; i < rank; ++i)
    if (__builtin_mul_overflow(dataBytes, shape[i], &dataBytes))
      return corrupt(path, context, "shape " + formatNpyShape(rank, shape) + " is too large");
  int64_t available = fileSize - dataOffset;
  std::string holds = std::string(expectedDescr) + " " + formatNpyShape(rank, shape) +
                      " needs " + std::to_string(dataBytes) + " bytes of data";
  if (available < dataBytes)
    return corrupt(path, context, "truncated: " + holds + ", the file has " + std::to_string(available));
  if (available > dataBytes)
    return corrupt(path, context, holds + ", the file has " + std::to_string(available - dataBytes) +
                             " bytes more");

  kiln_tensor tensor;
  if (kiln_status status = kiln_tensor_alloc(expected, rank, shape, &tensor))
    return status;
  errno = 0;
  if (std::fread(tensor.data, 1, static_cast<size_t>(dataBytes), file.get()) !=
      static_cast<size_t>(dataBytes)) {
    int error = errno ? errno : EIO;
    kiln_tensor_free(&tensor);
    return ioError(error);
  }
  *out_tensor = tensor;
  return KILN_OK;
}

kiln_status writeNpy(const std::string &path, const kiln_tensor &tensor) {
  const char *descr = npyDescr(tensor.dtype);
  int64_t numel = kiln_tensor_numel(&tensor);
  if (!descr || !tensor.data || tensor.rank < 0 || tensor.rank > KILN_MAX_RANK)
    return kiln_fail(KILN_INVALID_ARGUMENT, "%s: cannot write a %s tensor of rank %d as .npy",
                     path.c_str(), kiln_dtype_name(tensor.dtype), static_cast<int>(tensor.rank));
  std::string header = std::string("{'descr': '") + descr + "', 'fortran_order': False, " +
                       "'shape': " + formatNpyShape(tensor.rank, tensor.shape) + ", }";
  // Pad so the data starts on a 64-byte boundary, as NumPy does; the header ends with '\n'.
  size_t unpadded = kMagicSize + 2 + 2 + header.size() + 1;
  header.append((64 - unpadded % 64) % 64, ' ');
  header += '\n';
  if (header.size() > std::numeric_limits<uint16_t>::max())
    return kiln_fail(KILN_INTERNAL_ERROR, "%s: .npy header too long", path.c_str());

  std::string preamble(kMagic, kMagicSize);
  preamble += '\x01';
  preamble += '\x00';
  preamble += static_cast<char>(header.size() & 0xff);
  preamble += static_cast<char>(header.size() >> 8);
  size_t dataBytes = static_cast<size_t>(numel) * kiln_dtype_size(tensor.dtype);

  File file(std::fopen(path.c_str(), "wb"));
  if (!file)
    return ioError(path, errno);
  errno = 0;
  bool ok = std::fwrite(preamble.data(), 1, preamble.size(), file.get()) == preamble.size() &&
            std::fwrite(header.data(), 1, header.size(), file.get()) == header.size() &&
            std::fwrite(tensor.data, 1, dataBytes, file.get()) == dataBytes;
  int error = errno;
  ok = std::fclose(file.release()) == 0 && ok;
  if (!ok) {
    if (!error)
      error = errno ? errno : EIO;
    std::remove(path.c_str());
    return ioError(path, error);
  }
  return KILN_OK;
}

} // namespace kiln_run
