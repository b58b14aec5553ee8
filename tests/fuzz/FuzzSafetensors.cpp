// libFuzzer target: the runtime's safetensors reader (kiln_weights_load), then every tensor it
// accepted read back (kiln_weights_get) and copied into a tensor of its own shape
// (kiln_weights_copy_to), as a model's _create does. Any input must give a status, never a
// crash, a hang, an out-of-bounds access or a leak.
#include "MemoryFile.h"

#include "kiln/runtime.h"

#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static kiln::fuzz::MemoryFile file;
  const std::string &path = file.write(data, size);
  kiln_weights *weights = nullptr;
  if (kiln_weights_load(path.c_str(), &weights) != KILN_OK)
    return 0;
  std::vector<unsigned char> destination;
  for (size_t i = 0; i < kiln_weights_count(weights); ++i) {
    const char *name = kiln_weights_name(weights, i);
    kiln_tensor tensor;
    if (!name || kiln_weights_get(weights, name, &tensor) != KILN_OK)
      __builtin_trap(); // a listed tensor must be gettable
    int64_t bytes = static_cast<int64_t>(kiln_tensor_numel(&tensor)) *
                    static_cast<int64_t>(kiln_dtype_size(tensor.dtype));
    if (bytes > (int64_t(1) << 24))
      continue; // the file holds the bytes already; a 16 MiB copy proves nothing more
    destination.assign(static_cast<size_t>(bytes) + 1, 0);
    kiln_tensor copy = kiln_tensor_view(destination.data(), tensor.dtype, tensor.rank,
                                        tensor.shape);
    (void)kiln_weights_copy_to(weights, name, &copy);
  }
  kiln_weights_free(weights);
  return 0;
}
