/* The training curves of `lenet train`: train loss (per epoch, and optionally every N batches)
 * and test accuracy (per epoch), kept in memory, written as CSV and drawn as an SVG plot, and
 * read back from an earlier run's CSV when training resumes. */
#ifndef KILN_MODELS_LENET_CURVES_H
#define KILN_MODELS_LENET_CURVES_H

#include "kiln/runtime.h"

#include <stddef.h>
#include <stdint.h>

typedef struct lenet_curve_point {
  int is_epoch;         /* 1: the end of an epoch; 0: the mean loss of the last N batches */
  double epoch;         /* position in epochs: 2.5 is half-way through the third epoch */
  int64_t step;         /* training steps taken */
  double train_loss;    /* mean over the epoch (or the last N batches) */
  double test_accuracy; /* percent, after the epoch; < 0 for a batch point */
  double seconds;       /* training time since the run (or the first run) started */
} lenet_curve_point;

typedef struct lenet_curves {
  lenet_curve_point *points;
  size_t count, capacity;
} lenet_curves;

kiln_status lenet_curves_add(lenet_curves *curves, const lenet_curve_point *point);
void lenet_curves_free(lenet_curves *curves); /* NULL ok; clears it */

/* Reads a CSV lenet_curves_write_csv wrote, keeping the points up to `max_epoch` (a resumed run
 * keeps the curves of the epochs its checkpoint holds). A missing file gives no points; a
 * malformed one KILN_CORRUPT_FILE with the line. */
kiln_status lenet_curves_read_csv(const char *path, double max_epoch, lenet_curves *curves);

/* Writes the points as CSV (kind,epoch,step,train_loss,test_accuracy,seconds), atomically. */
kiln_status lenet_curves_write_csv(const char *path, const lenet_curves *curves);

/* Draws train loss and test accuracy against epochs, side by side, as an SVG file (atomically);
 * `title` goes above the plots. */
kiln_status lenet_curves_write_svg(const char *path, const lenet_curves *curves,
                                   const char *title);

#endif /* KILN_MODELS_LENET_CURVES_H */
