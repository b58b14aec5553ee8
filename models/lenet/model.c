/* The compiled model's shape and the forward pass over a dataset (see model.h). */
#include "model.h"

#include "app.h"

kiln_status lenet_read_model_shape(lenet_model_shape *out) {
  const kiln_model_desc *desc = lenet_descriptor();
  const kiln_io_desc *in = desc->inputs, *logits = desc->outputs;
  if (desc->num_inputs != 1 || desc->num_outputs != 1 || in->rank != 4 || in->shape[1] != 1 ||
      logits->rank != 2 || logits->shape[1] < 1 || logits->shape[1] > 4096)
    return kiln_fail(KILN_INTERNAL_ERROR, "the compiled model is not an image classifier "
                     "f32[N, 1, H, W] -> f32[N, classes]; was models/lenet.kiln changed?");
  out->rows = in->shape[2];
  out->columns = in->shape[3];
  out->classes = (int32_t)logits->shape[1];
  return KILN_OK;
}

kiln_status lenet_evaluate(lenet *model, const lenet_dataset *data, int64_t batch,
                           const lenet_model_shape *shape, lenet_confusion *confusion,
                           double *seconds, int64_t *calls) {
  kiln_tensor logits;
  int64_t logits_shape[2], first;
  kiln_status status;
  logits_shape[0] = batch;
  logits_shape[1] = shape->classes;
  *seconds = 0;
  *calls = 0;
  status = kiln_tensor_alloc(KILN_F32, 2, logits_shape, &logits);
  if (status)
    return status;
  for (first = 0; first < data->count && !status; first += batch) {
    int64_t count = data->count - first < batch ? data->count - first : batch;
    kiln_tensor images = lenet_dataset_images(data, first, count);
    kiln_tensor batch_logits;
    double start;
    logits_shape[0] = count;
    batch_logits = kiln_tensor_view(logits.data, KILN_F32, 2, logits_shape);
    start = lenet_now_seconds();
    status = lenet_forward(model, &images, &batch_logits);
    *seconds += lenet_now_seconds() - start;
    *calls += 1;
    if (!status)
      status = lenet_confusion_add(confusion, (const float *)logits.data,
                                   lenet_dataset_labels(data, first), count, first);
  }
  kiln_tensor_free(&logits);
  return status;
}
