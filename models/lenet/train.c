/* `lenet train`: trains the compiled LeNet on an IDX training split with the library's training
 * step: a seeded shuffle per epoch, a live progress line, the test accuracy after each epoch, an
 * atomic checkpoint after each epoch (resumable), and the curves as CSV and SVG. */
#include "app.h"
#include "curves.h"
#include "model.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char kCommand[] = "train";
static const char kSummary[] =
    "Trains LeNet on the training split in DIR (train-images-idx3-ubyte[.gz], train-labels-...)\n"
    "and reports the accuracy on its test split (t10k-*) after every epoch, when the checkpoint\n"
    "(weights, optimizer state and step count) is written to --out. The optimizer is the one\n"
    "the library was compiled with (kilnc --optimizer; this one: " LENET_OPTIMIZER "). --seed seeds\n"
    "the shuffling; the initial weights are the library's (kilnc --seed) or --resume's.";

typedef struct train_config {
  const char *data_dir, *out, *resume, *csv, *plot, *schedule;
  int64_t epochs, batch, seed, threads, limit, test_limit, log_every, stop_after;
  double lr, momentum, weight_decay;
  int cosine; /* --schedule cosine, parsed once */
} train_config;

/* The learning rate of step `step` (0-based) of `total`: constant, or cosine annealing from lr
 * to 0 over the whole run (SGDR without restarts, PyTorch's CosineAnnealingLR per step). A
 * function of the step count alone, so a resumed run continues the same curve. */
static float learning_rate_at(const train_config *config, int64_t step, int64_t total) {
  const double pi = 3.14159265358979323846;
  if (!config->cosine || total <= 0)
    return (float)config->lr;
  return (float)(config->lr * 0.5 * (1.0 + cos(pi * (double)step / (double)total)));
}

/* SplitMix64: the shuffle's generator. */
static uint64_t next_random(uint64_t *state) {
  uint64_t z = (*state += 0x9E3779B97F4A7C15ULL);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

/* The order of epoch `epoch`'s samples (Fisher-Yates) from a generator seeded by the seed and
 * the epoch alone, so a resumed run sees the batches an uninterrupted one would. */
static void shuffle(int64_t *order, int64_t count, uint64_t seed, int64_t epoch) {
  uint64_t state = seed ^ ((uint64_t)epoch * 0xD1B54A32D192ED03ULL);
  int64_t i;
  next_random(&state);
  for (i = 0; i < count; ++i)
    order[i] = i;
  for (i = count - 1; i > 0; --i) {
    int64_t j = (int64_t)(next_random(&state) % (uint64_t)(i + 1)), swap = order[i];
    order[i] = order[j];
    order[j] = swap;
  }
}

/* Copies the samples order[first .. first + count) into the batch buffers. */
static void gather(const lenet_dataset *data, const int64_t *order, int64_t first, int64_t count,
                   float *images, uint8_t *labels) {
  int64_t pixels = data->images.shape[2] * data->images.shape[3], i;
  for (i = 0; i < count; ++i) {
    int64_t sample = order[first + i];
    memcpy(images + i * pixels, (const float *)data->images.data + sample * pixels,
           (size_t)pixels * sizeof(float));
    labels[i] = ((const uint8_t *)data->labels.data)[sample];
  }
}

/* "1:05" or "1:02:05". */
static const char *format_duration(double seconds, char *text, size_t size) {
  long total = seconds > 0 && seconds < 1e7 ? (long)(seconds + 0.5) : 0;
  if (total >= 3600)
    snprintf(text, size, "%ld:%02ld:%02ld", total / 3600, total / 60 % 60, total % 60);
  else
    snprintf(text, size, "%ld:%02ld", total / 60, total % 60);
  return text;
}

/* The test split's accuracy in percent. */
static kiln_status test_accuracy(lenet *model, const lenet_dataset *test,
                                 const lenet_model_shape *shape, double *accuracy) {
  lenet_confusion confusion = {0, NULL};
  double seconds;
  int64_t calls;
  kiln_status status = lenet_confusion_init(&confusion, shape->classes);
  int64_t batch = LENET_MAX_BATCH < 256 ? LENET_MAX_BATCH : 256;
  if (!status)
    status = lenet_evaluate(model, test, batch, shape, &confusion, &seconds, &calls);
  if (!status)
    *accuracy = 100.0 * (double)lenet_confusion_correct(&confusion) /
                (double)lenet_confusion_total(&confusion);
  lenet_confusion_free(&confusion);
  return status;
}

/* Writes the curves (CSV and plot) where asked. */
static kiln_status write_curves(const train_config *config, const lenet_curves *curves) {
  kiln_status status = KILN_OK;
  char title[256];
  if (config->csv)
    status = lenet_curves_write_csv(config->csv, curves);
  snprintf(title, sizeof title, "LeNet on %s: %s, lr %g (%s), batch %lld", config->data_dir,
           LENET_OPTIMIZER, config->lr, config->schedule, (long long)config->batch);
  if (!status && config->plot)
    status = lenet_curves_write_svg(config->plot, curves, title);
  return status;
}

/* The training loop's state across epochs. */
typedef struct run_state {
  lenet *model;
  const lenet_dataset *train, *test;
  lenet_model_shape shape;
  kiln_optimizer_params params;
  lenet_curves curves;
  int64_t batches, steps, last_saved_epoch;
  double seconds; /* training time so far (earlier runs included, from the curves) */
  double accuracy;
} run_state;

/* Says where the last good checkpoint is, after training diverged; returns the exit code. */
static int report_last_checkpoint(const train_config *config, const run_state *run) {
  if (run->last_saved_epoch > 0)
    fprintf(stderr, "The last good checkpoint, %s, holds epoch %lld.\n", config->out,
            (long long)run->last_saved_epoch);
  else if (config->resume && strcmp(config->resume, config->out) == 0)
    fprintf(stderr, "No epoch completed in this run: %s is unchanged (the checkpoint training "
            "resumed from).\n", config->out);
  else if (config->resume)
    fprintf(stderr, "No epoch completed in this run: %s was not written; the last good "
            "checkpoint is %s.\n", config->out, config->resume);
  else
    fprintf(stderr, "No epoch completed, so no checkpoint was written.\n");
  return 1;
}

/* Reports a non-finite loss and where the last good checkpoint is; returns the exit code. */
static int report_numeric_error(const train_config *config, const run_state *run, int64_t epoch,
                                int64_t batch, float loss) {
  const char *value = isnan(loss) ? "NaN" : loss > 0 ? "+inf" : "-inf";
  fprintf(stderr, "\nlenet %s: error: the loss is %s at epoch %lld, batch %lld of %lld (step "
          "%lld); training stopped (a smaller --lr may help). ", kCommand, value,
          (long long)epoch, (long long)batch, (long long)run->batches,
          (long long)run->steps + 1);
  return report_last_checkpoint(config, run);
}

/* The last step of an epoch can overflow the weights while its loss (computed before the
 * update) is finite: the test set's logits are then not finite, or lenet_save refuses the
 * state, and the epoch's checkpoint is not written. */
static int report_diverged_weights(const train_config *config, const run_state *run,
                                   int64_t epoch) {
  fprintf(stderr, "lenet %s: error: the model has diverged at the end of epoch %lld (%s); "
          "training stopped (a smaller --lr may help). ", kCommand, (long long)epoch,
          kiln_last_error());
  return report_last_checkpoint(config, run);
}

/* Trains one epoch, then tests, saves the checkpoint and writes the curves. On a non-finite loss
 * the message is printed and *exit_code set; the checkpoint is left as it was. */
static kiln_status train_epoch(const train_config *config, run_state *run, int64_t epoch,
                               int64_t *order, kiln_tensor *images, uint8_t *labels,
                               int *exit_code) {
  double start = lenet_now_seconds(), last_print = start, epoch_loss = 0, window_loss = 0;
  int interactive = isatty(fileno(stderr));
  int64_t b, window = 0, done = 0;
  char eta[32];
  shuffle(order, run->train->count, (uint64_t)config->seed, epoch);
  for (b = 0; b < run->batches; ++b) {
    int64_t first = b * config->batch;
    int64_t count = run->train->count - first < config->batch ? run->train->count - first
                                                               : config->batch;
    int64_t image_shape[4], label_shape[1] = {count};
    kiln_tensor x, y;
    float loss = 0;
    kiln_status status;
    double now;
    memcpy(image_shape, images->shape, sizeof image_shape);
    image_shape[0] = count;
    x = kiln_tensor_view(images->data, KILN_F32, 4, image_shape);
    y = kiln_tensor_view(labels, KILN_U8, 1, label_shape);
    gather(run->train, order, first, count, (float *)images->data, labels);
    run->params.learning_rate =
        learning_rate_at(config, run->steps, config->epochs * run->batches);
    status = lenet_train_step(run->model, &x, &y, &run->params, &loss);
    if (status == KILN_NUMERIC_ERROR) {
      *exit_code = report_numeric_error(config, run, epoch, b + 1, loss);
      return status;
    }
    if (status)
      return status;
    run->steps += 1;
    done += count;
    epoch_loss += loss;
    window_loss += loss;
    window += 1;
    now = lenet_now_seconds();
    if (config->log_every > 0 && window == config->log_every) {
      lenet_curve_point point = {0, (double)(epoch - 1) + (double)(b + 1) / (double)run->batches,
                                 run->steps, window_loss / (double)window, -1.0,
                                 run->seconds + now - start};
      status = lenet_curves_add(&run->curves, &point);
      if (status)
        return status;
      window = 0;
      window_loss = 0;
    }
    /* On a terminal the line is redrawn 4 times a second; into a file or pipe (a log) a line
     * every 10 s and at the epoch's end, not thousands of carriage returns. */
    if (now - last_print >= (interactive ? 0.25 : 10.0) || b + 1 == run->batches) {
      double rate = (double)done / (now - start > 1e-9 ? now - start : 1e-9);
      double left = (double)(config->epochs - epoch) * (double)run->train->count +
                    (double)(run->train->count - done);
      fprintf(stderr, "%sepoch %lld/%lld  batch %lld/%lld  loss %.4f  %.0f img/s  ETA %s%s",
              interactive ? "\r" : "", (long long)epoch, (long long)config->epochs, (long long)(b + 1),
              (long long)run->batches, epoch_loss / (double)(b + 1), rate,
              format_duration(left / rate, eta, sizeof eta), interactive ? "   " : "\n");
      fflush(stderr);
      last_print = now;
    }
  }
  if (interactive)
    fprintf(stderr, "\n");
  run->seconds += lenet_now_seconds() - start;
  {
    kiln_status status = test_accuracy(run->model, run->test, &run->shape, &run->accuracy);
    lenet_curve_point point = {1, (double)epoch, run->steps, epoch_loss / (double)run->batches,
                               run->accuracy, run->seconds};
    if (!status)
      status = lenet_curves_add(&run->curves, &point);
    if (!status)
      status = lenet_save(run->model, config->out);
    /* From test_accuracy (non-finite logits) or lenet_save (non-finite weights). */
    if (status == KILN_NUMERIC_ERROR) {
      *exit_code = report_diverged_weights(config, run, epoch);
      return status;
    }
    if (!status)
      run->last_saved_epoch = epoch;
    if (!status)
      status = write_curves(config, &run->curves);
    if (status)
      return status;
    printf("epoch %lld/%lld: train loss %.4f, test accuracy %.2f%%, %.0f images/s, checkpoint "
           "%s\n", (long long)epoch, (long long)config->epochs, point.train_loss, run->accuracy,
           (double)run->train->count / (lenet_now_seconds() - start), config->out);
    fflush(stdout);
  }
  return KILN_OK;
}

int lenet_train_main(int argc, char **argv) {
  train_config config = {NULL, NULL, NULL, NULL, NULL, "cosine", 10, 64, 0, 0, 0, 0, 0, 0, -1.0,
                         0.9, 0.0, 0};
  const lenet_flag flags[] = {
      {"data", LENET_FLAG_STRING, &config.data_dir, 0, 0, 1, "DIR",
       "the directory holding train-* and t10k-*-ubyte[.gz] (Fashion-MNIST or MNIST)", 0, 0},
      {"out", LENET_FLAG_STRING, &config.out, 0, 0, 1, "FILE",
       "the checkpoint (safetensors) written after every epoch", 0, 0},
      {"epochs", LENET_FLAG_INT, &config.epochs, 1, 100000, 0, "N",
       "epochs in all, those of --resume's checkpoint included (10)", 0, 0},
      {"batch", LENET_FLAG_INT, &config.batch, 1, LENET_TRAIN_MAX_BATCH, 0, "N",
       "images per step (64)", 0, 0},
      {"lr", LENET_FLAG_REAL, &config.lr, 0, 0, 0, "LR",
       "learning rate (0.05 for sgd, 0.001 for adam)", 0.0, 3.4e38},
      {"schedule", LENET_FLAG_STRING, &config.schedule, 0, 0, 0, "S",
       "the learning rate over the run: cosine (from --lr down to 0) or constant (cosine)", 0,
       0},
      {"momentum", LENET_FLAG_REAL, &config.momentum, 0, 0, 0, "M", "SGD's momentum (0.9)", 0.0,
       1.0},
      {"weight-decay", LENET_FLAG_REAL, &config.weight_decay, 0, 0, 0, "W",
       "L2 weight decay (0)", 0.0, 1e6},
      {"seed", LENET_FLAG_INT, &config.seed, 0, INT64_MAX, 0, "S", "seed of the shuffling (0)",
       0, 0},
      {"resume", LENET_FLAG_STRING, &config.resume, 0, 0, 0, "FILE",
       "continue from a checkpoint: weights, optimizer state, step count", 0, 0},
      {"threads", LENET_FLAG_INT, &config.threads, 0, 4096, 0, "N",
       "kernel threads (0: $KILN_NUM_THREADS or all processors)", 0, 0},
      {"limit", LENET_FLAG_INT, &config.limit, 0, INT64_MAX, 0, "N",
       "the first N training images only (0: all)", 0, 0},
      {"test-limit", LENET_FLAG_INT, &config.test_limit, 0, INT64_MAX, 0, "N",
       "the first N test images only (0: all)", 0, 0},
      {"csv", LENET_FLAG_STRING, &config.csv, 0, 0, 0, "FILE",
       "train loss and test accuracy per epoch as CSV", 0, 0},
      {"plot", LENET_FLAG_STRING, &config.plot, 0, 0, 0, "FILE", "the same curves as an SVG plot",
       0, 0},
      {"stop-after", LENET_FLAG_INT, &config.stop_after, 0, 100000, 0, "E",
       "stop after epoch E, as an interrupted run would (continue with --resume; 0: --epochs)",
       0, 0},
      {"log-every", LENET_FLAG_INT, &config.log_every, 0, INT64_MAX, 0, "N",
       "also record the mean loss of every N batches (0: per epoch only)", 0, 0},
  };
  lenet_dataset train = {{0}, {0}, 0}, test = {{0}, {0}, 0};
  run_state run;
  kiln_options options;
  kiln_tensor images = {0};
  uint8_t *labels = NULL;
  int64_t *order = NULL, epoch, start_epoch = 0, last_epoch;
  int32_t threads;
  kiln_status status;
  int exit_code = 0;
  int parsed = lenet_parse_flags(kCommand, kSummary, argc, argv, flags,
                                 (int)(sizeof flags / sizeof flags[0]));
  if (parsed)
    return parsed == 2 ? 0 : 1;
  config.cosine = strcmp(config.schedule, "cosine") == 0;
  if (!config.cosine && strcmp(config.schedule, "constant") != 0) {
    fprintf(stderr, "lenet %s: error: --schedule %s: expected cosine or constant (see lenet "
            "train --help)\n", kCommand, config.schedule);
    return 1;
  }
  if (config.lr < 0)
    config.lr = strcmp(LENET_OPTIMIZER, "adam") == 0 ? 0.001 : 0.05;

  memset(&run, 0, sizeof run);
  kiln_optimizer_params_init(&run.params);
  run.params.learning_rate = (float)config.lr;
  run.params.momentum = (float)config.momentum;
  run.params.weight_decay = (float)config.weight_decay;
  status = lenet_check_output_path("out", config.out);
  if (!status && config.csv)
    status = lenet_check_output_path("csv", config.csv);
  if (!status && config.plot)
    status = lenet_check_output_path("plot", config.plot);
  if (!status)
    status = lenet_read_model_shape(&run.shape);
  kiln_options_init(&options);
  options.weights_path = config.resume;
  options.num_threads = (int32_t)config.threads;
  if (!status)
    status = lenet_create(&options, &run.model);
  if (!status)
    status = lenet_step_count(run.model, &run.steps);
  if (!status)
    status = lenet_dataset_load(config.data_dir, "train", run.shape.rows, run.shape.columns,
                                config.limit, &train);
  if (!status)
    status = lenet_dataset_load(config.data_dir, "t10k", run.shape.rows, run.shape.columns,
                                config.test_limit, &test);
  if (!status && (train.count == 0 || test.count == 0))
    status = kiln_fail(KILN_CORRUPT_FILE, "%s: the %s split holds no images", config.data_dir,
                       train.count == 0 ? "train" : "t10k");
  if (status)
    goto done;
  run.train = &train;
  run.test = &test;
  run.batches = (train.count + config.batch - 1) / config.batch;
  /* A checkpoint is written after whole epochs: its step count says how many. */
  start_epoch = run.steps / run.batches;
  if (run.steps % run.batches != 0)
    fprintf(stderr, "lenet %s: warning: %s holds %lld steps, not a whole number of epochs of %lld "
            "batches (another --batch or --limit?); continuing after epoch %lld\n", kCommand,
            config.resume, (long long)run.steps, (long long)run.batches, (long long)start_epoch);
  run.last_saved_epoch = 0;
  if (config.resume && config.csv)
    status = lenet_curves_read_csv(config.csv, (double)start_epoch, &run.curves);
  if (run.curves.count > 0)
    run.seconds = run.curves.points[run.curves.count - 1].seconds;
  if (!status) {
    int64_t batch_shape[4];
    batch_shape[0] = config.batch;
    batch_shape[1] = 1;
    batch_shape[2] = run.shape.rows;
    batch_shape[3] = run.shape.columns;
    status = kiln_tensor_alloc(KILN_F32, 4, batch_shape, &images);
  }
  if (!status) {
    labels = (uint8_t *)malloc((size_t)config.batch);
    order = (int64_t *)malloc((size_t)train.count * sizeof *order);
    if (!labels || !order)
      status = kiln_fail(KILN_OUT_OF_MEMORY, "cannot allocate the batch buffers");
  }
  if (status)
    goto done;

  printf("lenet train: %lld images of %s/train, %lld of t10k; %s (lr %g %s",
         (long long)train.count, config.data_dir, (long long)test.count, LENET_OPTIMIZER,
         config.lr, config.schedule);
  if (strcmp(LENET_OPTIMIZER, "sgd") == 0)
    printf(", momentum %g", config.momentum);
  threads = kiln_resolve_num_threads(options.num_threads);
  printf(", weight decay %g), batch %lld, seed %lld, %d thread%s", config.weight_decay,
         (long long)config.batch, (long long)config.seed, (int)threads, threads == 1 ? "" : "s");
  if (config.resume)
    printf("; resuming %s after epoch %lld (step %lld)", config.resume, (long long)start_epoch,
           (long long)run.steps);
  printf("\n");
  fflush(stdout);
  if (start_epoch >= config.epochs)
    printf("lenet train: the checkpoint already holds %lld epochs (--epochs %lld): nothing to "
           "do\n", (long long)start_epoch, (long long)config.epochs);
  last_epoch = config.stop_after > 0 && config.stop_after < config.epochs ? config.stop_after
                                                                          : config.epochs;
  for (epoch = start_epoch + 1; epoch <= last_epoch && !status && !exit_code; ++epoch)
    status = train_epoch(&config, &run, epoch, order, &images, labels, &exit_code);
  if (exit_code) {
    /* The curves so far are still worth having; the checkpoint is left as it was. */
    write_curves(&config, &run.curves);
    status = KILN_OK;
  } else if (!status && start_epoch < last_epoch) {
    printf("lenet train: %lld epochs, test accuracy %.2f%%, %.1f s training; checkpoint %s\n",
           (long long)last_epoch, run.accuracy, run.seconds, config.out);
    if (last_epoch < config.epochs)
      printf("lenet train: stopped after epoch %lld of %lld (--stop-after); continue with "
             "--resume %s\n", (long long)last_epoch, (long long)config.epochs, config.out);
  }

done:
  if (status)
    exit_code = lenet_report_failure(kCommand, status);
  free(order);
  free(labels);
  kiln_tensor_free(&images);
  lenet_curves_free(&run.curves);
  lenet_dataset_free(&train);
  lenet_dataset_free(&test);
  lenet_destroy(run.model);
  return exit_code;
}
