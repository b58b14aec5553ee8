/* Classification metrics of the lenet app: a confusion matrix filled from logits and labels, and
 * its report (accuracy, the matrix with Fashion-MNIST's class names, per-class recall). */
#ifndef KILN_MODELS_LENET_REPORT_H
#define KILN_MODELS_LENET_REPORT_H

#include "kiln/runtime.h"

#include <stdint.h>
#include <stdio.h>

typedef struct lenet_confusion {
  int32_t num_classes;
  int64_t *counts; /* [true class][predicted class], num_classes^2 entries */
} lenet_confusion;

kiln_status lenet_confusion_init(lenet_confusion *confusion, int32_t num_classes);
void lenet_confusion_free(lenet_confusion *confusion); /* NULL ok */

/* Adds `count` samples: the prediction is the argmax of each row of `logits` [count,
 * num_classes] (NaN never wins; the first of equal maxima does). Fails with
 * KILN_INVALID_ARGUMENT, naming sample `first + i`, for a label outside the classes. */
kiln_status lenet_confusion_add(lenet_confusion *confusion, const float *logits,
                                const uint8_t *labels, int64_t count, int64_t first);

int64_t lenet_confusion_total(const lenet_confusion *confusion);
int64_t lenet_confusion_correct(const lenet_confusion *confusion);

/* "accuracy: 81.23% (8123 of 10000)" then the matrix, rows the true class, columns the
 * prediction, with the class names of Fashion-MNIST when there are 10 classes. */
void lenet_confusion_print(const lenet_confusion *confusion, FILE *out);

#endif /* KILN_MODELS_LENET_REPORT_H */
