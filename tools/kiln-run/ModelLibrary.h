// A compiled model's shared library opened with dlopen and checked through the descriptor every
// Kiln model exports (`kiln_model_descriptor`, see kiln/runtime.h), so kiln-run needs no header.
#ifndef KILN_TOOLS_KILN_RUN_MODELLIBRARY_H
#define KILN_TOOLS_KILN_RUN_MODELLIBRARY_H

#include "kiln/runtime.h"

#include <memory>
#include <string>

namespace kiln_run {

class ModelLibrary {
public:
  // Loads `path` (a file path; "liblenet.so" means ./liblenet.so) and validates its descriptor:
  // the ABI version first, then counts, ranks, dtypes and entry points. Fails with KILN_IO_ERROR
  // for a missing or unloadable file and KILN_INVALID_ARGUMENT for a library that is not a Kiln
  // model or was built for another ABI version.
  static kiln_status open(const std::string &path, std::unique_ptr<ModelLibrary> *out_library);

  // The library is never dlclose'd: kernel thread pools inside it may outlive the model objects,
  // and unmapping their code under them would crash at exit.
  ~ModelLibrary() = default;

  const kiln_model_desc &desc() const { return *desc_; }
  const std::string &path() const { return path_; }

  // After a call into the model returned `status`: makes the model's own message (from its
  // runtime's kiln_last_error, which is ours unless the library carries a private runtime) the
  // message of kiln_last_error() here, naming `call` when the model left none. Returns status.
  kiln_status adoptError(kiln_status status, const char *call) const;

private:
  ModelLibrary(std::string path, const kiln_model_desc *desc, const char *(*lastError)(void))
      : path_(std::move(path)), desc_(desc), lastError_(lastError) {}

  std::string path_;
  const kiln_model_desc *desc_;
  const char *(*lastError_)(void); // the library's kiln_last_error; NULL when it has none
};

// An instance of a model, destroyed with the library's destroy entry point.
class ModelInstance {
public:
  ModelInstance(const kiln_model_desc &desc, void *model) : desc_(desc), model_(model) {}
  ModelInstance(const ModelInstance &) = delete;
  ModelInstance &operator=(const ModelInstance &) = delete;
  ~ModelInstance() {
    if (model_)
      desc_.destroy(model_);
  }
  void *get() const { return model_; }

private:
  const kiln_model_desc &desc_;
  void *model_;
};

// "data: f32[N, 1, 28, 28]" (N for a dynamic extent), for messages.
std::string describeIO(const kiln_io_desc &io);
// "[2, 1, 28, 28]".
std::string formatShape(int32_t rank, const int64_t *shape);

} // namespace kiln_run

#endif // KILN_TOOLS_KILN_RUN_MODELLIBRARY_H
