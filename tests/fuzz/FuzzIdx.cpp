// libFuzzer target: the runtime's IDX reader (kiln_idx_load), plain or gzip'd (zlib decides by
// content). Any input must give a status, never a crash, a hang or an out-of-bounds access.
#include "MemoryFile.h"

#include "kiln/runtime.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static kiln::fuzz::MemoryFile file;
  const std::string &path = file.write(data, size);
  kiln_tensor tensor;
  if (kiln_idx_load(path.c_str(), &tensor) == KILN_OK) {
    // Touch the whole tensor: its size must be what the shape says.
    int64_t bytes = kiln_tensor_numel(&tensor) * static_cast<int64_t>(kiln_dtype_size(tensor.dtype));
    volatile unsigned char sum = 0;
    for (int64_t i = 0; i < bytes; ++i)
      sum = sum + static_cast<const unsigned char *>(tensor.data)[i];
    kiln_tensor_free(&tensor);
  }
  return 0;
}
