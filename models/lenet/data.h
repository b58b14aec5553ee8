/* The lenet app's data: an IDX split (Fashion-MNIST or MNIST) loaded as float images in [0, 1]
 * shaped for the model (NCHW, one channel) and u8 labels, with batch views into it. */
#ifndef KILN_MODELS_LENET_DATA_H
#define KILN_MODELS_LENET_DATA_H

#include "kiln/runtime.h"

#include <stdint.h>

typedef struct lenet_dataset {
  kiln_tensor images; /* f32 [count, 1, rows, columns], pixel / 255 */
  kiln_tensor labels; /* u8 [count], each in [0, 9] */
  int64_t count;
} lenet_dataset;

/* Loads <dir>/<split>-images-idx3-ubyte[.gz] and the labels (kiln_mnist_load), keeping the first
 * `limit` images (all when limit <= 0 or larger than the split). Fails with the runtime's
 * message for a missing or corrupt file, KILN_IO_ERROR for a missing directory and
 * KILN_SHAPE_MISMATCH when the images are not rows x columns. On failure *out is empty. */
kiln_status lenet_dataset_load(const char *dir, const char *split, int64_t rows, int64_t columns,
                               int64_t limit, lenet_dataset *out);

void lenet_dataset_free(lenet_dataset *dataset); /* NULL ok; clears it */

/* Views of `count` consecutive images / labels from `first` (within the dataset). */
kiln_tensor lenet_dataset_images(const lenet_dataset *dataset, int64_t first, int64_t count);
const uint8_t *lenet_dataset_labels(const lenet_dataset *dataset, int64_t first);

#endif /* KILN_MODELS_LENET_DATA_H */
