/* Shared plumbing of the lenet app's subcommands: command-line flags, error reporting and the
 * clock. Each subcommand (eval.c, train.c) is one `int lenet_<name>_main(argc, argv)`. */
#ifndef KILN_MODELS_LENET_APP_H
#define KILN_MODELS_LENET_APP_H

#include "kiln/runtime.h"

#include <stdint.h>

/* The subcommands; argv[0] is the subcommand's name. They return the process's exit code. */
int lenet_eval_main(int argc, char **argv);
int lenet_train_main(int argc, char **argv);

typedef enum lenet_flag_kind { LENET_FLAG_STRING, LENET_FLAG_INT, LENET_FLAG_REAL } lenet_flag_kind;

/* One --name VALUE (or --name=VALUE) option of a subcommand. */
typedef struct lenet_flag {
  const char *name;      /* without the dashes: "data" */
  lenet_flag_kind kind;
  void *target;          /* const char ** for strings, int64_t * for integers, double * */
  int64_t min, max;      /* the accepted range of an integer */
  int required;
  const char *value_name; /* in the usage: "DIR" */
  const char *help;       /* "the directory holding t10k-*-ubyte[.gz]" */
  double real_min, real_max; /* the accepted range of a real (finite values only) */
} lenet_flag;

/* Parses argv[1..argc) into the flags. Returns 0 on success, 1 after printing an error (unknown
 * option, missing or malformed value, missing required flag) and 2 after printing the usage for
 * --help. `command` is "eval"; `summary` a line describing it. */
int lenet_parse_flags(const char *command, const char *summary, int argc, char **argv,
                      const lenet_flag *flags, int count);

/* Prints "lenet <command>: error: <kiln_last_error()>" (or the status's fixed message when there
 * is none) to stderr and returns 1, the exit code of a failure. */
int lenet_report_failure(const char *command, kiln_status status);

/* Fails (with the flag's name in the message) unless `path` names a file that can be created:
 * not a directory, in an existing directory this process may write in. Checked before work
 * whose result would otherwise be lost at the end. */
kiln_status lenet_check_output_path(const char *flag, const char *path);

/* Seconds on a monotonic clock. */
double lenet_now_seconds(void);

#endif /* KILN_MODELS_LENET_APP_H */
