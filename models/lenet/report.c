/* Confusion matrix and accuracy report of the lenet app (see report.h). */
#include "report.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Fashion-MNIST's labels 0-9 (Zalando's names). */
static const char *const kFashionClasses[10] = {
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot",
};

kiln_status lenet_confusion_init(lenet_confusion *confusion, int32_t num_classes) {
  memset(confusion, 0, sizeof *confusion);
  if (num_classes < 1 || num_classes > 4096)
    return kiln_fail(KILN_INVALID_ARGUMENT, "a confusion matrix of %d classes", (int)num_classes);
  confusion->counts = (int64_t *)calloc((size_t)num_classes * (size_t)num_classes,
                                        sizeof(int64_t));
  if (!confusion->counts)
    return kiln_fail(KILN_OUT_OF_MEMORY, "a confusion matrix of %d classes", (int)num_classes);
  confusion->num_classes = num_classes;
  return KILN_OK;
}

void lenet_confusion_free(lenet_confusion *confusion) {
  if (!confusion)
    return;
  free(confusion->counts);
  confusion->counts = NULL;
  confusion->num_classes = 0;
}

kiln_status lenet_confusion_add(lenet_confusion *confusion, const float *logits,
                                const uint8_t *labels, int64_t count, int64_t first) {
  const int32_t k = confusion->num_classes;
  int64_t i;
  int32_t c;
  for (i = 0; i < count; ++i) {
    const float *row = logits + i * k;
    int32_t best = 0;
    if (labels[i] >= k)
      return kiln_fail(KILN_INVALID_ARGUMENT, "sample %lld has label %d, but the model has %d "
                       "classes", (long long)(first + i), labels[i], (int)k);
    /* A NaN or infinite logit means the weights have diverged (or were damaged): an accuracy
     * counted over such outputs would be reported as if the model were merely bad. */
    for (c = 0; c < k; ++c)
      if (!isfinite(row[c]))
        return kiln_fail(KILN_NUMERIC_ERROR, "sample %lld: logit %d is %s; the weights have "
                         "diverged", (long long)(first + i), (int)c,
                         isnan(row[c]) ? "NaN" : row[c] > 0 ? "+inf" : "-inf");
    for (c = best + 1; c < k; ++c)
      if (row[c] > row[best])
        best = c;
    confusion->counts[labels[i] * k + best] += 1;
  }
  return KILN_OK;
}

int64_t lenet_confusion_total(const lenet_confusion *confusion) {
  int64_t total = 0, i;
  for (i = 0; i < (int64_t)confusion->num_classes * confusion->num_classes; ++i)
    total += confusion->counts[i];
  return total;
}

int64_t lenet_confusion_correct(const lenet_confusion *confusion) {
  int64_t correct = 0;
  int32_t c;
  for (c = 0; c < confusion->num_classes; ++c)
    correct += confusion->counts[c * confusion->num_classes + c];
  return correct;
}

void lenet_confusion_print(const lenet_confusion *confusion, FILE *out) {
  const int32_t k = confusion->num_classes;
  const int named = k == 10;
  const int64_t total = lenet_confusion_total(confusion);
  const int64_t correct = lenet_confusion_correct(confusion);
  const int label_width = named ? 14 : 5;
  int32_t t, p;

  fprintf(out, "accuracy: %.2f%% (%lld of %lld)\n",
          total ? 100.0 * (double)correct / (double)total : 0.0, (long long)correct,
          (long long)total);
  fprintf(out, "confusion matrix (rows: true class, columns: predicted class):\n");
  fprintf(out, "%*s", label_width, "");
  for (p = 0; p < k; ++p)
    fprintf(out, " %6d", (int)p);
  fprintf(out, "  recall\n");
  for (t = 0; t < k; ++t) {
    int64_t row_total = 0;
    const int64_t *row = confusion->counts + (int64_t)t * k;
    if (named)
      fprintf(out, "%d %-*s", (int)t, label_width - 2, kFashionClasses[t]);
    else
      fprintf(out, "%*d", label_width, (int)t);
    for (p = 0; p < k; ++p) {
      fprintf(out, " %6lld", (long long)row[p]);
      row_total += row[p];
    }
    if (row_total)
      fprintf(out, "  %5.1f%%\n", 100.0 * (double)row[t] / (double)row_total);
    else
      fprintf(out, "      -\n");
  }
}
