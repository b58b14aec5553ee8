// The fixed C of a model's training step, with @KEY@ markers TrainEmitter.cpp fills in: the
// step count's loading, argument checks, the labels' conversion, the hyperparameters and the
// commit that makes a step's results the model's state.
#include "package/DriverTemplate.h"

namespace kiln::package {

const char *const kDriverTrainHelpers = R"C(
/* The step count from a checkpoint's "optimizer.step" (a scalar, i64 as @MODEL@_save writes it,
 * or i32 / f32); 0 when the file has none (a weights-only file). */
static kiln_status load_step(const kiln_weights *weights, const char *path, int64_t *out_step) {
  kiln_tensor tensor;
  int64_t value = 0;
  *out_step = 0;
  if (kiln_weights_get(weights, "optimizer.step", &tensor) != KILN_OK)
    return KILN_OK;
  if (tensor.rank > 1 || kiln_tensor_numel(&tensor) != 1)
    return kiln_fail(KILN_SHAPE_MISMATCH, "%s: tensor 'optimizer.step' has rank %d and %lld "
                     "elements; expected a scalar (the number of training steps taken)", path,
                     (int)tensor.rank, (long long)kiln_tensor_numel(&tensor));
  if (tensor.dtype == KILN_I64) {
    memcpy(&value, tensor.data, sizeof value);
  } else if (tensor.dtype == KILN_I32) {
    int32_t narrow;
    memcpy(&narrow, tensor.data, sizeof narrow);
    value = narrow;
  } else if (tensor.dtype == KILN_F32) {
    float real;
    memcpy(&real, tensor.data, sizeof real);
    if (!(real >= 0.0f && real < 9.0e15f) || real != floorf(real))
      return kiln_fail(KILN_CORRUPT_FILE, "%s: tensor 'optimizer.step' is %g; expected a whole "
                       "number of steps", path, (double)real);
    value = (int64_t)real;
  } else {
    return kiln_fail(KILN_DTYPE_MISMATCH, "%s: tensor 'optimizer.step' has dtype %s; expected "
                     "i64 (or i32, f32)", path, kiln_dtype_name(tensor.dtype));
  }
  if (value < 0)
    return kiln_fail(KILN_CORRUPT_FILE, "%s: tensor 'optimizer.step' is %lld; expected a count "
                     ">= 0", path, (long long)value);
  *out_step = value;
  return KILN_OK;
}

/* The training step's buffers that do not depend on the batch, and the training-mode forward
 * pass's. */
static kiln_status create_training(@MODEL@ *model) {
  static const int64_t hyper_shape[1] = {8};
  int32_t i;
  kiln_status status;
  for (i = 0; i < NUM_RESULTS; ++i) {
    model->results[i] = allocate_tensor(&model->result_buffers[i], model->result_dims[i],
                                        result_table[i].rank, result_table[i].shape,
                                        result_table[i].elements);
    if (!model->results[i])
      return kiln_fail(KILN_OUT_OF_MEMORY,
                       "@MODEL@_create: cannot allocate the training step's results");
  }
  describe(&model->hyper_buffer, model->hyper_dims, model->hyper, 1, hyper_shape, 1);
  status = set_create(&model->train, train_activation_table, NUM_TRAIN_ACTIVATIONS,
                      train_slot_table, NUM_TRAIN_SLOTS, model->train_slots,
                      model->train_activation_dims, model->train_activation_buffers,
                      "@MODEL@_train_step");
#if TRAIN_FORWARD
  for (i = 0; i < NUM_TF_UPDATES && status == KILN_OK; ++i) {
    const state_info *info = &state_table[tf_update_state[i]];
    model->next_stats[i] = allocate_tensor(&model->next_stats_buffers[i],
                                           model->next_stats_dims[i], info->rank, info->shape,
                                           info->elements);
    if (!model->next_stats[i])
      status = kiln_fail(KILN_OUT_OF_MEMORY,
                         "@MODEL@_create: cannot allocate the training-mode statistics");
  }
  if (status == KILN_OK)
    status = set_create(&model->tf, tf_activation_table, NUM_TF_ACTIVATIONS, tf_slot_table,
                        NUM_TF_SLOTS, model->tf_slots, model->tf_activation_dims,
                        model->tf_activation_buffers, "@MODEL@_forward");
#endif
  return status;
}

/* The activations and the labels' buffer for a step of `batch` samples. */
static kiln_status prepare_train(@MODEL@ *model, int64_t batch) {
  static const int64_t labels_shape[1] = {LABELS_EXTENT};
  int64_t n = LABELS_EXTENT < 0 ? batch : LABELS_EXTENT;
  kiln_status status = set_bind(&model->train, batch);
  if (status != KILN_OK)
    return status;
  if (model->labels_buffer.dimensions == 1 && model->labels_buffer.dim[0].extent != n)
    release_device(&model->labels_buffer);
  if (n > model->labels_capacity) {
    free(model->labels);
    model->labels = (int64_t *)allocate(n * (int64_t)sizeof(int64_t));
    if (!model->labels) {
      model->labels_capacity = 0;
      return kiln_fail(KILN_OUT_OF_MEMORY, "@MODEL@_train_step: cannot allocate %lld labels",
                       (long long)n);
    }
    model->labels_capacity = n;
  }
  describe_typed(&model->labels_buffer, model->labels_dims, model->labels, halide_type_int, 64, 1,
                 labels_shape, n);
  return KILN_OK;
}

/* One class index per sample: i64, or i32 / u8 (converted). */
static kiln_status check_labels(const kiln_tensor *labels, int64_t batch) {
  int64_t expected = LABELS_EXTENT < 0 ? batch : LABELS_EXTENT;
  kiln_dtype dtype = KILN_I64;
  if (labels && (labels->dtype == KILN_I32 || labels->dtype == KILN_U8))
    dtype = labels->dtype;
  if (labels && labels->data && labels->dtype != dtype) {
    if (kiln_dtype_size(labels->dtype) == 0)
      return kiln_fail(KILN_DTYPE_MISMATCH, "@MODEL@_train_step: labels: expected class "
                       "indices of dtype i64 (or i32, u8), got unknown dtype %d",
                       (int)labels->dtype);
    return kiln_fail(KILN_DTYPE_MISMATCH, "@MODEL@_train_step: labels: expected class indices "
                     "of dtype i64 (or i32, u8), got %s", kiln_dtype_name(labels->dtype));
  }
  return kiln_tensor_check(labels, "@MODEL@_train_step: labels", dtype, 1, &expected);
}

/* Copies the labels into the model's i64 buffer, checking each is a class. */
static kiln_status convert_labels(@MODEL@ *model, const kiln_tensor *labels) {
  int64_t i, label;
  for (i = 0; i < labels->shape[0]; ++i) {
    if (labels->dtype == KILN_I64)
      label = ((const int64_t *)labels->data)[i];
    else if (labels->dtype == KILN_I32)
      label = ((const int32_t *)labels->data)[i];
    else
      label = ((const uint8_t *)labels->data)[i];
    if (CLASSES > 0 && (label < 0 || label >= CLASSES))
      return kiln_fail(KILN_INVALID_ARGUMENT, "@MODEL@_train_step: labels[%lld] is %lld; "
                       "expected a class index in [0, %lld)", (long long)i, (long long)label,
                       (long long)CLASSES);
    model->labels[i] = label;
  }
#if GPU
  model->labels_buffer.flags |= halide_buffer_flag_host_dirty;
#endif
  return KILN_OK;
}

static kiln_status check_number(const char *name, float value, float low, int low_open,
                                float high, int high_open) {
  if (!isfinite(value) || value < low || (low_open && value == low) || value > high ||
      (high_open && value == high))
    return kiln_fail(KILN_INVALID_ARGUMENT, "@MODEL@_train_step: optimizer->%s is %g; expected "
                     "a value in %c%g, %g%c", name, (double)value, low_open ? '(' : '[',
                     (double)low, (double)high, high_open ? ')' : ']');
  return KILN_OK;
}

/* The hyperparameters this library's optimizer (@OPTIMIZER@) reads, in PyTorch's ranges. */
static kiln_status check_optimizer(const kiln_optimizer_params *p) {
  kiln_status status = check_number("learning_rate", p->learning_rate, 0.0f, 0, 3.0e38f, 0);
  if (status == KILN_OK)
    status = check_number("weight_decay", p->weight_decay, 0.0f, 0, 3.0e38f, 0);
#if ADAM
  if (status == KILN_OK)
    status = check_number("beta1", p->beta1, 0.0f, 0, 1.0f, 1);
  if (status == KILN_OK)
    status = check_number("beta2", p->beta2, 0.0f, 0, 1.0f, 1);
  if (status == KILN_OK)
    status = check_number("epsilon", p->epsilon, 0.0f, 0, 3.0e38f, 0);
#else
  if (status == KILN_OK)
    status = check_number("momentum", p->momentum, 0.0f, 0, 3.0e38f, 0);
#endif
  return status;
}

/* @train_step's `hyper` for step t = model->step + 1 (Adam's bias corrections need t). */
static void fill_hyper(@MODEL@ *model, const kiln_optimizer_params *p) {
  double t = (double)(model->step + 1);
  model->hyper[0] = p->learning_rate;
  model->hyper[1] = p->momentum;
  model->hyper[2] = p->weight_decay;
  model->hyper[3] = p->beta1;
  model->hyper[4] = p->beta2;
  model->hyper[5] = p->epsilon;
  model->hyper[6] = (float)(1.0 - pow((double)p->beta1, t));
  model->hyper[7] = (float)(1.0 - pow((double)p->beta2, t));
#if GPU
  model->hyper_buffer.flags |= halide_buffer_flag_host_dirty;
#endif
}

/* Makes a computed next value (host and buffer, device copy included) state tensor s's value by
 * swapping: nothing is copied, and the old value becomes the next call's scratch. */
static void swap_into_state(@MODEL@ *model, int32_t s, float **host, halide_buffer_t *buffer) {
  float *old_host = model->state[s];
  halide_buffer_t old_buffer = model->state_buffers[s];
  model->state[s] = *host;
  model->state_buffers[s] = *buffer;
  *host = old_host;
  *buffer = old_buffer;
  model->prepared = 0; /* the derived tensors follow the new state */
}

/* Makes a step's results the state. */
static void commit(@MODEL@ *model) {
  int32_t k;
  for (k = 0; k < NUM_UPDATES; ++k)
    swap_into_state(model, update_state[k], &model->results[1 + k],
                    &model->result_buffers[1 + k]);
  model->step += 1;
}

kiln_status @MODEL@_set_training(@MODEL@ *model, int training) {
  if (!model)
    return kiln_fail(KILN_INVALID_ARGUMENT, "@MODEL@_set_training: model is NULL");
  if (training != 0 && training != 1)
    return kiln_fail(KILN_INVALID_ARGUMENT, "@MODEL@_set_training: training is %d; expected 0 "
                     "(inference mode) or 1 (training mode)", training);
  model->training = training;
  return KILN_OK;
}

int @MODEL@_is_training(const @MODEL@ *model) { return model ? model->training : 0; }

kiln_status @MODEL@_step_count(const @MODEL@ *model, int64_t *out_steps) {
  if (!out_steps)
    return kiln_fail(KILN_INVALID_ARGUMENT, "@MODEL@_step_count: out_steps is NULL");
  *out_steps = 0;
  if (!model)
    return kiln_fail(KILN_INVALID_ARGUMENT, "@MODEL@_step_count: model is NULL");
  *out_steps = model->step;
  return KILN_OK;
}
)C";

} // namespace kiln::package
