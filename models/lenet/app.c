/* Command-line flags, error reporting and timing shared by the lenet app's subcommands. */
#include "app.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static void print_usage(FILE *out, const char *command, const char *summary,
                        const lenet_flag *flags, int count) {
  int i;
  fprintf(out, "usage: lenet %s", command);
  for (i = 0; i < count; ++i)
    fprintf(out, flags[i].required ? " --%s %s" : " [--%s %s]", flags[i].name,
            flags[i].value_name);
  fprintf(out, "\n\n%s\n\n", summary);
  for (i = 0; i < count; ++i)
    fprintf(out, "  --%-12s %-5s %s\n", flags[i].name, flags[i].value_name, flags[i].help);
}

static int flag_error(const char *command, const char *format, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* Prints a usage error and returns 1. */
static int flag_error(const char *command, const char *format, ...) {
  va_list args;
  fprintf(stderr, "lenet %s: error: ", command);
  va_start(args, format);
  vfprintf(stderr, format, args);
  va_end(args);
  fprintf(stderr, " (see lenet %s --help)\n", command);
  return 1;
}

int lenet_parse_flags(const char *command, const char *summary, int argc, char **argv,
                      const lenet_flag *flags, int count) {
  int seen[32] = {0};
  int i, f;
  if (count > 32)
    return flag_error(command, "%d flags, more than the parser's 32", count);
  for (i = 1; i < argc; ++i) {
    const char *arg = argv[i], *name, *value = NULL, *eq;
    size_t length;
    if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
      print_usage(stdout, command, summary, flags, count);
      return 2;
    }
    if (strncmp(arg, "--", 2) != 0)
      return flag_error(command, "unexpected argument '%s'", arg);
    name = arg + 2;
    eq = strchr(name, '=');
    length = eq ? (size_t)(eq - name) : strlen(name);
    for (f = 0; f < count; ++f)
      if (strlen(flags[f].name) == length && strncmp(flags[f].name, name, length) == 0)
        break;
    if (f == count)
      return flag_error(command, "unknown option '%s'", arg);
    if (eq)
      value = eq + 1;
    else if (i + 1 < argc)
      value = argv[++i];
    else
      return flag_error(command, "--%s needs a value", flags[f].name);
    if (flags[f].kind == LENET_FLAG_STRING) {
      if (!*value)
        return flag_error(command, "--%s needs a non-empty value", flags[f].name);
      *(const char **)flags[f].target = value;
    } else if (flags[f].kind == LENET_FLAG_REAL) {
      char *end = NULL;
      double number;
      errno = 0;
      number = strtod(value, &end);
      if (!*value || *end || errno == ERANGE || !(number >= flags[f].real_min) ||
          !(number <= flags[f].real_max))
        return flag_error(command, "--%s %s: expected a number in [%g, %g]", flags[f].name, value,
                          flags[f].real_min, flags[f].real_max);
      *(double *)flags[f].target = number;
    } else {
      char *end = NULL;
      long long number;
      errno = 0;
      number = strtoll(value, &end, 10);
      if (!*value || *end || errno == ERANGE || number < flags[f].min || number > flags[f].max) {
        return flag_error(command, "--%s %s: expected an integer in [%lld, %lld]", flags[f].name,
                          value, (long long)flags[f].min, (long long)flags[f].max);
      }
      *(int64_t *)flags[f].target = number;
    }
    seen[f] = 1;
  }
  for (f = 0; f < count; ++f)
    if (flags[f].required && !seen[f])
      return flag_error(command, "missing --%s %s: %s", flags[f].name,
                        flags[f].value_name, flags[f].help);
  return 0;
}

int lenet_report_failure(const char *command, kiln_status status) {
  const char *message = kiln_last_error();
  fprintf(stderr, "lenet %s: error: %s\n", command,
          message && *message ? message : kiln_status_message(status));
  return 1;
}

double lenet_now_seconds(void) {
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return (double)now.tv_sec + (double)now.tv_nsec * 1e-9;
}

kiln_status lenet_check_output_path(const char *flag, const char *path) {
  struct stat info;
  const char *slash = strrchr(path, '/');
  char directory[4096];
  if (*path == '\0' || (slash && slash[1] == '\0'))
    return kiln_fail(KILN_INVALID_ARGUMENT, "--%s '%s': expected a file name", flag, path);
  if (stat(path, &info) == 0 && S_ISDIR(info.st_mode))
    return kiln_fail(KILN_INVALID_ARGUMENT, "--%s %s: is a directory", flag, path);
  /* Files are replaced by a rename, which would replace a device node or a FIFO itself (as root,
   * --out /dev/null replaced /dev/null): only a regular file is, checked before training. */
  if (stat(path, &info) == 0 && !S_ISREG(info.st_mode))
    return kiln_fail(KILN_INVALID_ARGUMENT,
                     "--%s %s: exists and is not a regular file (a device, FIFO or socket); "
                     "name a regular file to replace or a new one", flag, path);
  if (!slash)
    snprintf(directory, sizeof directory, ".");
  else if (slash == path)
    snprintf(directory, sizeof directory, "/");
  else
    snprintf(directory, sizeof directory, "%.*s", (int)(slash - path), path);
  if (stat(directory, &info) != 0)
    return kiln_fail(KILN_IO_ERROR, "--%s %s: directory %s: %s", flag, path, directory,
                     strerror(errno));
  if (!S_ISDIR(info.st_mode))
    return kiln_fail(KILN_IO_ERROR, "--%s %s: %s is not a directory", flag, path, directory);
  if (access(directory, W_OK | X_OK) != 0)
    return kiln_fail(KILN_IO_ERROR, "--%s %s: cannot write in %s: %s", flag, path, directory,
                     strerror(errno));
  return KILN_OK;
}
