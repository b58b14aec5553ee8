/* lenet: the LeNet-5 app on Fashion-MNIST, built on the library kilnc generates from
 * models/lenet.kiln. Dispatches to one subcommand per file (train.c, eval.c). */
#include "app.h"

#include <stdio.h>
#include <string.h>

typedef struct lenet_command {
  const char *name;
  int (*run)(int argc, char **argv);
  const char *summary;
} lenet_command;

static const lenet_command kCommands[] = {
    {"train", lenet_train_main, "trains on the training split: curves, checkpoints, resume"},
    {"eval", lenet_eval_main, "accuracy, confusion matrix and throughput on the test split"},
};

static void print_usage(FILE *out) {
  size_t i;
  fprintf(out, "usage: lenet COMMAND [options]   (lenet COMMAND --help for its options)\n\n");
  for (i = 0; i < sizeof kCommands / sizeof kCommands[0]; ++i)
    fprintf(out, "  %-8s %s\n", kCommands[i].name, kCommands[i].summary);
}

int main(int argc, char **argv) {
  size_t i;
  if (argc < 2) {
    print_usage(stderr);
    return 1;
  }
  if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
      strcmp(argv[1], "help") == 0) {
    print_usage(stdout);
    return 0;
  }
  for (i = 0; i < sizeof kCommands / sizeof kCommands[0]; ++i)
    if (strcmp(argv[1], kCommands[i].name) == 0)
      return kCommands[i].run(argc - 1, argv + 1);
  fprintf(stderr, "lenet: error: unknown command '%s'\n", argv[1]);
  print_usage(stderr);
  return 1;
}
