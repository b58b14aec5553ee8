/* `lenet eval`: runs the compiled LeNet over an IDX test split (t10k) and reports accuracy, the
 * confusion matrix and throughput. */
#include "app.h"
#include "model.h"

#include <stdio.h>

static const char kCommand[] = "eval";
static const char kSummary[] =
    "Evaluates LeNet on the test split (t10k-images-idx3-ubyte[.gz], t10k-labels-idx1-ubyte[.gz])\n"
    "in DIR: accuracy, the confusion matrix and throughput (images/s, forward calls only).";

int lenet_eval_main(int argc, char **argv) {
  const char *data_dir = NULL, *weights = NULL;
  int64_t batch = 256, threads = 0, limit = 0, batches = 0;
  const lenet_flag flags[] = {
      {"data", LENET_FLAG_STRING, &data_dir, 0, 0, 1, "DIR",
       "the directory holding t10k-*-ubyte[.gz] (Fashion-MNIST or MNIST)", 0, 0},
      {"weights", LENET_FLAG_STRING, &weights, 0, 0, 0, "FILE",
       "a safetensors file (default: the model's initial, untrained weights)", 0, 0},
      {"batch", LENET_FLAG_INT, &batch, 1, LENET_MAX_BATCH, 0, "N", "images per call (256)", 0, 0},
      {"threads", LENET_FLAG_INT, &threads, 0, 4096, 0, "N",
       "kernel threads (0: $KILN_NUM_THREADS or all processors)", 0, 0},
      {"limit", LENET_FLAG_INT, &limit, 0, INT64_MAX, 0, "N", "the first N images only (0: all)",
       0, 0},
  };
  lenet_model_shape shape = {0, 0, 0};
  lenet_dataset data = {{0}, {0}, 0};
  lenet_confusion confusion = {0, NULL};
  kiln_options options;
  lenet *model = NULL;
  kiln_status status;
  double seconds = 0;
  int exit_code = 0;
  int parsed = lenet_parse_flags(kCommand, kSummary, argc, argv, flags,
                                 (int)(sizeof flags / sizeof flags[0]));
  if (parsed)
    return parsed == 2 ? 0 : 1;

  status = lenet_read_model_shape(&shape);
  /* The model before the data: a bad weights file is reported without reading 10000 images. */
  kiln_options_init(&options);
  options.weights_path = weights;
  options.num_threads = (int32_t)threads;
  if (!status)
    status = lenet_create(&options, &model);
  if (!status)
    status = lenet_dataset_load(data_dir, "t10k", shape.rows, shape.columns, limit, &data);
  if (!status && data.count == 0)
    status = kiln_fail(KILN_CORRUPT_FILE, "%s: the t10k split holds no images", data_dir);
  if (!status)
    status = lenet_confusion_init(&confusion, shape.classes);
  if (!status)
    status = lenet_evaluate(model, &data, batch, &shape, &confusion, &seconds, &batches);

  if (status) {
    exit_code = lenet_report_failure(kCommand, status);
  } else {
    printf("lenet eval: %lld images of %s/t10k, weights %s\n", (long long)data.count, data_dir,
           weights ? weights : "initial (untrained)");
    lenet_confusion_print(&confusion, stdout);
    int32_t used_threads = kiln_resolve_num_threads(options.num_threads);
    printf("throughput: %.0f images/s (batch %lld, %d thread%s; %.3f s in %lld forward calls)\n",
           seconds > 0 ? (double)data.count / seconds : 0.0, (long long)batch, (int)used_threads,
           used_threads == 1 ? "" : "s", seconds, (long long)batches);
  }
  lenet_destroy(model);
  lenet_confusion_free(&confusion);
  lenet_dataset_free(&data);
  return exit_code;
}
