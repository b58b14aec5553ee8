/* Loading an IDX split into float images for the model (see data.h). */
#include "data.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>

kiln_status lenet_dataset_load(const char *dir, const char *split, int64_t rows, int64_t columns,
                               int64_t limit, lenet_dataset *out) {
  kiln_tensor raw_images, raw_labels;
  kiln_status status;
  struct stat info;
  int64_t count, shape[4], i, pixels;
  const uint8_t *source;
  float *target;

  memset(out, 0, sizeof *out);
  /* Said up front: kiln_mnist_load would only name the first file it cannot find. */
  if (stat(dir, &info) != 0)
    return kiln_fail(KILN_IO_ERROR, "%s: cannot open the data directory: %s", dir,
                     strerror(errno));
  if (!S_ISDIR(info.st_mode))
    return kiln_fail(KILN_IO_ERROR, "%s: not a directory (--data names the directory holding "
                     "%s-images-idx3-ubyte[.gz] and %s-labels-idx1-ubyte[.gz])", dir, split, split);
  status = kiln_mnist_load(dir, split, &raw_images, &raw_labels);
  if (status)
    return status;
  if (raw_images.shape[1] != rows || raw_images.shape[2] != columns) {
    status = kiln_fail(KILN_SHAPE_MISMATCH, "%s/%s-images-idx3-ubyte: images are %lldx%lld, "
                       "the model takes %lldx%lld", dir, split, (long long)raw_images.shape[1],
                       (long long)raw_images.shape[2], (long long)rows, (long long)columns);
    goto done;
  }
  count = raw_images.shape[0];
  if (limit > 0 && limit < count)
    count = limit;
  shape[0] = count;
  shape[1] = 1;
  shape[2] = rows;
  shape[3] = columns;
  status = kiln_tensor_alloc(KILN_F32, 4, shape, &out->images);
  if (!status)
    status = kiln_tensor_alloc(KILN_U8, 1, shape, &out->labels);
  if (status)
    goto done;
  pixels = count * rows * columns;
  source = (const uint8_t *)raw_images.data;
  target = (float *)out->images.data;
  for (i = 0; i < pixels; ++i)
    target[i] = (float)source[i] * (1.0f / 255.0f);
  memcpy(out->labels.data, raw_labels.data, (size_t)count);
  out->count = count;

done:
  kiln_tensor_free(&raw_images);
  kiln_tensor_free(&raw_labels);
  if (status)
    lenet_dataset_free(out);
  return status;
}

void lenet_dataset_free(lenet_dataset *dataset) {
  if (!dataset)
    return;
  kiln_tensor_free(&dataset->images);
  kiln_tensor_free(&dataset->labels);
  dataset->count = 0;
}

kiln_tensor lenet_dataset_images(const lenet_dataset *dataset, int64_t first, int64_t count) {
  int64_t shape[4];
  int64_t per_image = dataset->images.shape[2] * dataset->images.shape[3];
  memcpy(shape, dataset->images.shape, sizeof shape);
  shape[0] = count;
  return kiln_tensor_view((float *)dataset->images.data + first * per_image, KILN_F32, 4, shape);
}

const uint8_t *lenet_dataset_labels(const lenet_dataset *dataset, int64_t first) {
  return (const uint8_t *)dataset->labels.data + first;
}
