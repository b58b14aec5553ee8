// libFuzzer target: kiln-run's .npy reader (readNpy). The first byte picks the dtype the reader
// expects (f32, i64, i32 or u8), the rest is the file. Any input must give a status, never a
// crash, a hang or an out-of-bounds access.
#include "MemoryFile.h"

#include "kiln-run/Npy.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static kiln::fuzz::MemoryFile file;
  if (size == 0)
    return 0;
  static const kiln_dtype kDtypes[] = {KILN_F32, KILN_I64, KILN_I32, KILN_U8};
  kiln_dtype expected = kDtypes[data[0] % 4];
  const std::string &path = file.write(data + 1, size - 1);
  kiln_tensor tensor;
  if (kiln_run::readNpy(path, expected, "input 0 'x'", &tensor) == KILN_OK) {
    int64_t bytes = kiln_tensor_numel(&tensor) * static_cast<int64_t>(kiln_dtype_size(tensor.dtype));
    volatile unsigned char sum = 0;
    for (int64_t i = 0; i < bytes; ++i)
      sum = sum + static_cast<const unsigned char *>(tensor.data)[i];
    kiln_tensor_free(&tensor);
  }
  return 0;
}
