/* A C99 client of the generated LeNet library. It is compiled with -std=c99 -pedantic -Wall
 * -Wextra -Werror, so the build also checks that lenet.h is strict, warning-free C. */
#include "ForwardC.h"
#include "lenet.h"

kiln_status lenet_forward_from_c(const char *weights_path, float *images, int64_t batch,
                                 float *logits) {
  kiln_options options;
  lenet *model = NULL;
  kiln_tensor data, out;
  int64_t data_shape[4];
  int64_t logits_shape[2];
  kiln_status status;

  kiln_options_init(&options);
  options.weights_path = weights_path;
  options.num_threads = 2;
  status = lenet_create(&options, &model);
  if (status != KILN_OK)
    return status;
  data_shape[0] = batch;
  data_shape[1] = 1;
  data_shape[2] = 28;
  data_shape[3] = 28;
  logits_shape[0] = batch;
  logits_shape[1] = 10;
  data = kiln_tensor_view(images, KILN_F32, 4, data_shape);
  out = kiln_tensor_view(logits, KILN_F32, 2, logits_shape);
  status = lenet_forward(model, &data, &out);
  lenet_destroy(model);
  return status;
}
