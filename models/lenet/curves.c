/* Training curves: CSV in and out, and an SVG plot drawn by hand (see curves.h). */
#include "curves.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

kiln_status lenet_curves_add(lenet_curves *curves, const lenet_curve_point *point) {
  if (curves->count == curves->capacity) {
    size_t capacity = curves->capacity ? 2 * curves->capacity : 64;
    lenet_curve_point *points =
        (lenet_curve_point *)realloc(curves->points, capacity * sizeof *points);
    if (!points)
      return kiln_fail(KILN_OUT_OF_MEMORY, "cannot grow the training curves");
    curves->points = points;
    curves->capacity = capacity;
  }
  curves->points[curves->count++] = *point;
  return KILN_OK;
}

void lenet_curves_free(lenet_curves *curves) {
  if (!curves)
    return;
  free(curves->points);
  memset(curves, 0, sizeof *curves);
}

/* Splits a CSV line (no quoting) into at most `max` fields in place; returns their count. */
static int split_fields(char *line, char **fields, int max) {
  int count = 0;
  line[strcspn(line, "\r\n")] = '\0';
  while (count < max) {
    fields[count++] = line;
    line = strchr(line, ',');
    if (!line)
      break;
    *line++ = '\0';
  }
  return count;
}

/* Parses a number field; 0 when it is not one. */
static int parse_number(const char *text, double *out) {
  char *end = NULL;
  *out = strtod(text, &end);
  return *text && end && !*end;
}

kiln_status lenet_curves_read_csv(const char *path, double max_epoch, lenet_curves *curves) {
  char line[512];
  FILE *in = fopen(path, "r");
  int number = 0;
  kiln_status status = KILN_OK;
  if (!in)
    return errno == ENOENT ? KILN_OK
                           : kiln_fail(KILN_IO_ERROR, "%s: %s", path, strerror(errno));
  while (status == KILN_OK && fgets(line, sizeof line, in)) {
    lenet_curve_point point;
    char *fields[7];
    double step;
    int count;
    ++number;
    if (number == 1 && strncmp(line, "kind,", 5) == 0)
      continue;
    count = split_fields(line, fields, 7);
    memset(&point, 0, sizeof point);
    point.is_epoch = count == 6 && strcmp(fields[0], "epoch") == 0;
    if (count != 6 || (!point.is_epoch && strcmp(fields[0], "batch") != 0) ||
        !parse_number(fields[1], &point.epoch) || !parse_number(fields[2], &step) ||
        !parse_number(fields[3], &point.train_loss) ||
        !(point.is_epoch ? parse_number(fields[4], &point.test_accuracy) : !*fields[4]) ||
        !parse_number(fields[5], &point.seconds)) {
      status = kiln_fail(KILN_CORRUPT_FILE, "%s:%d: not a line of lenet train's curves", path,
                         number);
      break;
    }
    point.step = (int64_t)step;
    if (!point.is_epoch)
      point.test_accuracy = -1.0;
    if (point.epoch <= max_epoch + 1e-9)
      status = lenet_curves_add(curves, &point);
  }
  fclose(in);
  return status;
}

/* The files are composed in memory, then written in one atomic step. */
static FILE *open_buffer(char **buffer, size_t *size) {
  *buffer = NULL;
  *size = 0;
  return open_memstream(buffer, size);
}

/* Closes the stream and writes what it holds to `path` (kiln_file_write_atomic). */
static kiln_status finish_buffer(FILE *out, char **buffer, size_t *size, const char *path) {
  kiln_status status;
  int failed = ferror(out) != 0;
  failed |= fclose(out) != 0; /* sets *buffer and *size */
  if (failed)
    status = kiln_fail(KILN_OUT_OF_MEMORY, "%s: cannot compose the file in memory", path);
  else
    status = kiln_file_write_atomic(path, *buffer, *size);
  free(*buffer);
  return status;
}

kiln_status lenet_curves_write_csv(const char *path, const lenet_curves *curves) {
  char *buffer;
  size_t size, i;
  FILE *out = open_buffer(&buffer, &size);
  if (!out)
    return kiln_fail(KILN_OUT_OF_MEMORY, "%s: cannot compose the file in memory", path);
  fprintf(out, "kind,epoch,step,train_loss,test_accuracy,seconds\n");
  for (i = 0; i < curves->count; ++i) {
    const lenet_curve_point *p = &curves->points[i];
    fprintf(out, "%s,%.4f,%lld,%.6f,", p->is_epoch ? "epoch" : "batch", p->epoch,
            (long long)p->step, p->train_loss);
    if (p->is_epoch)
      fprintf(out, "%.2f", p->test_accuracy);
    fprintf(out, ",%.3f\n", p->seconds);
  }
  return finish_buffer(out, &buffer, &size, path);
}

/* ---- the plot ------------------------------------------------------------------------------ */

/* A round step (1, 2 or 5 times a power of ten) near range / 5. */
static double nice_step(double range) {
  double raw = range / 5.0, power, fraction;
  if (!(raw > 0))
    return 1.0;
  power = pow(10.0, floor(log10(raw)));
  fraction = raw / power;
  return (fraction < 1.5 ? 1.0 : fraction < 3.5 ? 2.0 : fraction < 7.5 ? 5.0 : 10.0) * power;
}

typedef struct panel {
  double left, top, width, height; /* pixels */
  double x0, x1, y0, y1;           /* data range */
} panel;

static double px(const panel *p, double x) { return p->left + (x - p->x0) / (p->x1 - p->x0) * p->width; }
static double py(const panel *p, double y) { return p->top + (p->y1 - y) / (p->y1 - p->y0) * p->height; }

/* Frame, grid, ticks and labels of a panel. */
static void draw_axes(FILE *out, const panel *p, const char *title, double y_step) {
  double x_step = p->x1 - p->x0 <= 12 ? 1.0 : ceil(nice_step(p->x1 - p->x0)), v;
  fprintf(out, "<text x=\"%.1f\" y=\"%.1f\" class=\"title\">%s</text>\n",
          p->left + p->width / 2, p->top - 10, title);
  for (v = p->y0; v <= p->y1 + 1e-9 * y_step; v += y_step) {
    fprintf(out, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" class=\"grid\"/>\n",
            p->left, py(p, v), p->left + p->width, py(p, v));
    fprintf(out, "<text x=\"%.1f\" y=\"%.1f\" class=\"ylabel\">%g</text>\n", p->left - 6,
            py(p, v) + 4, fabs(v) < 1e-12 ? 0.0 : v);
  }
  for (v = p->x0; v <= p->x1 + 1e-9; v += x_step)
    fprintf(out, "<text x=\"%.1f\" y=\"%.1f\" class=\"xlabel\">%g</text>\n", px(p, v),
            p->top + p->height + 16, v);
  fprintf(out, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" class=\"frame\"/>\n",
          p->left, p->top, p->width, p->height);
  fprintf(out, "<text x=\"%.1f\" y=\"%.1f\" class=\"xlabel\">epoch</text>\n",
          p->left + p->width / 2, p->top + p->height + 34);
}

/* A polyline (and, with `dots`, a circle at each point) through the points of one kind (epoch or
 * batch) of one value (test accuracy or train loss), drawn in CSS class `style`. */
static void draw_line(FILE *out, const panel *p, const lenet_curves *curves, int epochs,
                      int accuracy, const char *style, int dots) {
  size_t i;
  int any = 0;
  for (i = 0; i < curves->count; ++i) {
    const lenet_curve_point *q = &curves->points[i];
    double value = accuracy ? q->test_accuracy : q->train_loss;
    if (q->is_epoch != epochs || !isfinite(value) || (accuracy && value < 0))
      continue;
    if (!any)
      fprintf(out, "<polyline class=\"%s\" points=\"", style);
    fprintf(out, "%s%.1f,%.1f", any ? " " : "", px(p, q->epoch), py(p, value));
    any = 1;
  }
  if (any)
    fprintf(out, "\"/>\n");
  for (i = 0; dots && i < curves->count; ++i) {
    const lenet_curve_point *q = &curves->points[i];
    double value = accuracy ? q->test_accuracy : q->train_loss;
    if (q->is_epoch != epochs || !isfinite(value) || (accuracy && value < 0))
      continue;
    fprintf(out, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" class=\"%s\"/>\n", px(p, q->epoch),
            py(p, value), style);
  }
}

/* Writes text with XML's special characters escaped. */
static void write_escaped(FILE *out, const char *text) {
  for (; *text; ++text) {
    if (*text == '&')
      fputs("&amp;", out);
    else if (*text == '<')
      fputs("&lt;", out);
    else if (*text == '>')
      fputs("&gt;", out);
    else
      fputc(*text, out);
  }
}

kiln_status lenet_curves_write_svg(const char *path, const lenet_curves *curves,
                                   const char *title) {
  panel loss = {70, 60, 360, 260, 0, 1, 0, 1}, accuracy = {540, 60, 360, 260, 0, 1, 0, 100};
  double max_loss = 0, min_accuracy = 100, last_accuracy = -1, last_epoch = 0, loss_step;
  char *buffer;
  size_t size, i;
  FILE *out = open_buffer(&buffer, &size);
  int batches = 0;
  if (!out)
    return kiln_fail(KILN_OUT_OF_MEMORY, "%s: cannot compose the file in memory", path);
  for (i = 0; i < curves->count; ++i) {
    const lenet_curve_point *q = &curves->points[i];
    if (isfinite(q->train_loss) && q->train_loss > max_loss)
      max_loss = q->train_loss;
    if (q->epoch > loss.x1)
      loss.x1 = ceil(q->epoch);
    if (q->is_epoch && q->test_accuracy >= 0) {
      if (q->test_accuracy < min_accuracy)
        min_accuracy = q->test_accuracy;
      last_accuracy = q->test_accuracy;
      last_epoch = q->epoch;
    }
    batches |= !q->is_epoch;
  }
  accuracy.x1 = loss.x1;
  loss_step = nice_step(max_loss > 0 ? max_loss : 1.0);
  loss.y1 = loss_step * ceil((max_loss > 0 ? max_loss : 1.0) / loss_step);
  accuracy.y0 = min_accuracy >= 100 ? 90 : 10 * floor(min_accuracy / 10);

  fprintf(out, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"960\" height=\"380\" "
               "viewBox=\"0 0 960 380\" font-family=\"sans-serif\" font-size=\"12\">\n"
               "<style>\n"
               ".title { text-anchor: middle; font-size: 14px; }\n"
               ".xlabel { text-anchor: middle; } .ylabel { text-anchor: end; }\n"
               ".frame { fill: none; stroke: #444; } .grid { stroke: #ddd; }\n"
               ".batch { fill: none; stroke: #9ecae1; stroke-width: 1; }\n"
               ".loss { fill: none; stroke: #08519c; stroke-width: 2; }\n"
               "circle.loss { fill: #08519c; } circle.accuracy { fill: #a63603; }\n"
               ".accuracy { fill: none; stroke: #a63603; stroke-width: 2; }\n"
               "</style>\n<rect width=\"960\" height=\"380\" fill=\"white\"/>\n"
               "<text x=\"480\" y=\"22\" class=\"title\" font-weight=\"bold\">");
  write_escaped(out, title);
  fprintf(out, "</text>\n");
  draw_axes(out, &loss, batches ? "train loss (line: every N batches; dots: epoch mean)"
                                : "train loss (epoch mean)", loss_step);
  draw_axes(out, &accuracy, "test accuracy (%)", nice_step(accuracy.y1 - accuracy.y0));
  if (batches)
    draw_line(out, &loss, curves, 0, 0, "batch", 0);
  draw_line(out, &loss, curves, 1, 0, "loss", 1);
  draw_line(out, &accuracy, curves, 1, 1, "accuracy", 1);
  if (last_accuracy >= 0)
    fprintf(out, "<text x=\"%.1f\" y=\"%.1f\" class=\"ylabel\">%.2f%%</text>\n",
            px(&accuracy, last_epoch) - 4, py(&accuracy, last_accuracy) + 16, last_accuracy);
  fprintf(out, "</svg>\n");
  return finish_buffer(out, &buffer, &size, path);
}
