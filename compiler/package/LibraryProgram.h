// A model's library as a whole: @forward, the training step when the model has a loss, and the
// state they share (parameters, batch-norm statistics, optimizer buffers).
#ifndef KILN_PACKAGE_LIBRARYPROGRAM_H
#define KILN_PACKAGE_LIBRARYPROGRAM_H

#include "package/ModelProgram.h"

#include "mlir/IR/BuiltinOps.h"

#include <optional>

namespace kiln::package {

// @train_step (built by kiln-autodiff, after kiln-form-kernels) for the driver.
struct TrainStep {
  // Inputs: @forward's, then the labels (i64 [N]), then the hyperparameters (f32 [8]). Outputs:
  // the loss (f32 []), then the next value of each state tensor that a step updates.
  ModelProgram program;
  unsigned numDataInputs = 0;
  std::vector<unsigned> parameterState; // program.parameters[i] is state[parameterState[i]]
  std::vector<unsigned> updateState;    // program.outputs[1 + k] is the next state[updateState[k]]
  int64_t classes = 0; // labels must lie in [0, classes); 0 when no op says (not checked)
  std::string optimizer; // sgd or adam: what its update ops are
};

// @forward_train (models with batch norm): the forward pass a library switched to training mode
// runs, on the whole batch, committing the next running statistics.
struct TrainingForward {
  // Inputs and the first numOutputs outputs: @forward's. Then the next value of each state
  // tensor the pass updates.
  ModelProgram program;
  unsigned numOutputs = 0;
  std::vector<unsigned> parameterState; // program.parameters[i] is state[parameterState[i]]
  std::vector<unsigned> updateState; // program.outputs[numOutputs + k] is next state[updateState[k]]
};

struct LibraryProgram {
  ModelProgram forward;
  // Every tensor the model owns: forward.parameters first (same indices), then parameters only
  // the training step reads, then optimizer buffers (Parameter::optimizer). The first
  // numRequired() are what a weights file must hold.
  std::vector<Parameter> state;
  std::optional<TrainStep> train;
  std::optional<TrainingForward> trainingForward;

  size_t numRequired() const;
  // @forward's program, then @train_step's and @forward_train's where they exist: every kernel
  // the library links.
  std::vector<const ModelProgram *> programs() const;
};

// Analyzes @forward and, when present, @train_step and @forward_train (all after
// kiln-form-kernels); kernels that would compile to the same code share one symbol. Emits a
// diagnostic and fails on what the library cannot express (labels other than i64 class
// indices, a state update that names no parameter, ...).
mlir::FailureOr<LibraryProgram> analyzeLibrary(mlir::ModuleOp module, llvm::StringRef modelName,
                                               bool gpu);

} // namespace kiln::package

#endif // KILN_PACKAGE_LIBRARYPROGRAM_H
