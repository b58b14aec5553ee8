// Loading a compiled model with dlopen and validating its descriptor before any field past the
// ABI version is trusted.
#include "ModelLibrary.h"

#include <cerrno>
#include <cstring>
#include <dlfcn.h>
#include <sys/stat.h>

namespace kiln_run {
namespace {

// More than any real model has; a larger count means a damaged or foreign descriptor.
constexpr int32_t kMaxTensors = 1024;

kiln_status notAModel(const std::string &path, const std::string &why) {
  return kiln_fail(KILN_INVALID_ARGUMENT, "%s: not a usable Kiln model library: %s", path.c_str(),
                   why.c_str());
}

kiln_status checkIOs(const std::string &path, const char *kind, int32_t count,
                     const kiln_io_desc *ios) {
  if (count < 0 || count > kMaxTensors)
    return notAModel(path, "the descriptor claims " + std::to_string(count) + " " + kind + "s");
  if (count > 0 && !ios)
    return notAModel(path, std::string("the descriptor's ") + kind + "s are NULL");
  for (int32_t i = 0; i < count; ++i) {
    const kiln_io_desc &io = ios[i];
    std::string which = std::string(kind) + " " + std::to_string(i);
    if (io.rank < 0 || io.rank > KILN_MAX_RANK)
      return notAModel(path, which + " has rank " + std::to_string(io.rank));
    if (kiln_dtype_size(io.dtype) == 0)
      return notAModel(path, which + " has an unknown dtype (" +
                                 std::to_string(static_cast<int>(io.dtype)) + ")");
    for (int32_t d = 0; d < io.rank; ++d)
      if (io.shape[d] == 0)
        return notAModel(path, which + " has an extent of 0");
  }
  return KILN_OK;
}

} // namespace

std::string formatShape(int32_t rank, const int64_t *shape) {
  std::string text = "[";
  for (int32_t i = 0; i < rank; ++i)
    text += (i ? ", " : "") + (shape[i] < 0 ? std::string("N") : std::to_string(shape[i]));
  return text + "]";
}

std::string describeIO(const kiln_io_desc &io) {
  return std::string(io.name ? io.name : "?") + ": " + kiln_dtype_name(io.dtype) +
         formatShape(io.rank, io.shape);
}

kiln_status ModelLibrary::open(const std::string &path, std::unique_ptr<ModelLibrary> *out) {
  out->reset();
  struct stat info;
  if (::stat(path.c_str(), &info) != 0)
    return kiln_fail(KILN_IO_ERROR, "%s: cannot open the model library: %s", path.c_str(),
                     std::strerror(errno));
  if (!S_ISREG(info.st_mode))
    return kiln_fail(KILN_IO_ERROR, "%s: not a regular file", path.c_str());
  // dlopen searches the library path for a name without a slash; the user meant the file.
  std::string loadPath = path.find('/') == std::string::npos ? "./" + path : path;
  void *handle = ::dlopen(loadPath.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!handle) {
    const char *why = ::dlerror();
    return kiln_fail(KILN_IO_ERROR, "%s: cannot load the library: %s", path.c_str(),
                     why ? why : "unknown dlopen error");
  }
  ::dlerror();
  auto descriptor =
      reinterpret_cast<kiln_model_descriptor_fn>(::dlsym(handle, "kiln_model_descriptor"));
  if (!descriptor)
    return notAModel(path, "it exports no 'kiln_model_descriptor' (was it built by kilnc?)");
  const kiln_model_desc *desc = descriptor();
  if (!desc)
    return notAModel(path, "kiln_model_descriptor() returned NULL");
  if (desc->abi_version != KILN_MODEL_ABI_VERSION)
    return notAModel(path, "it was built for model ABI version " +
                               std::to_string(desc->abi_version) + ", this tool supports " +
                               std::to_string(KILN_MODEL_ABI_VERSION) +
                               " (recompile the model with this kilnc)");
  if (!desc->create || !desc->forward || !desc->destroy)
    return notAModel(path, "the descriptor lacks create, forward or destroy");
  if (kiln_status status = checkIOs(path, "input", desc->num_inputs, desc->inputs))
    return status;
  if (kiln_status status = checkIOs(path, "output", desc->num_outputs, desc->outputs))
    return status;
  auto lastError = reinterpret_cast<const char *(*)(void)>(::dlsym(handle, "kiln_last_error"));
  out->reset(new ModelLibrary(path, desc, lastError));
  return KILN_OK;
}

kiln_status ModelLibrary::adoptError(kiln_status status, const char *call) const {
  if (status == KILN_OK)
    return status;
  // Copied first: kiln_fail replaces the string the model's pointer may point into.
  std::string message = lastError_ ? lastError_() : kiln_last_error();
  std::string model = desc_->name ? desc_->name : path_;
  if (message.empty())
    return kiln_fail(status, "%s: %s failed: %s", model.c_str(), call,
                     kiln_status_message(status));
  return kiln_fail(status, "%s", message.c_str());
}

} // namespace kiln_run
