/* Compiled as strict C99 with -Wall -Wextra -Werror -pedantic: the build fails if kiln/runtime.h
 * stops being plain C. The function also checks, from C, that the C ABI links and works. */
#include "kiln/runtime.h"

int kiln_c99_check(void);

int kiln_c99_check(void) {
  kiln_options options;
  kiln_tensor tensor;
  kiln_model_descriptor_fn descriptor = 0;
  int64_t shape[2] = {2, 3};
  int result = 0;
  kiln_options_init(&options);
  if (options.weights_path != NULL || options.num_threads != 0 || options.device != 0)
    result |= 1;
  if (kiln_tensor_alloc(KILN_F32, 2, shape, &tensor) != KILN_OK)
    return result | 2;
  if (kiln_tensor_numel(&tensor) != 6 || ((float *)tensor.data)[5] != 0.0f)
    result |= 4;
  if (kiln_tensor_check(&tensor, "c99", KILN_F32, 2, shape) != KILN_OK)
    result |= 8;
  kiln_tensor_free(&tensor);
  if (tensor.data != NULL || descriptor != NULL)
    result |= 16;
  if (kiln_fail(KILN_NUMERIC_ERROR, "from C: %d", 99) != KILN_NUMERIC_ERROR)
    result |= 32;
  return result;
}
