// The C sources kilnc generates for a model's library: its public header, its driver (the host
// side that owns the weights and calls the kernels) and the .so-only descriptor export.
#ifndef KILN_PACKAGE_EMITTERS_H
#define KILN_PACKAGE_EMITTERS_H

#include "package/LibraryProgram.h"

#include "llvm/ADT/STLFunctionalExtras.h"

#include <map>
#include <string>

namespace kiln::package {

// What the generated files say about where they came from and what they run on.
struct EmitInfo {
  std::string source; // the model file's name
  std::string target; // --target
  std::string halideTarget; // the resolved Halide target string the kernels were compiled for
  std::string cpuFeatures;  // comma-separated CPU features the code needs (checked at create)
  uint64_t seed = 0;  // of the default initial weights
  bool gpu = false;   // kernels run on CUDA: keep device copies, copy outputs back
  // The initial weights came from the model file (an ONNX model's initializers), not from the
  // seed: the library needs a weights file (the <model>.safetensors kilnc wrote).
  bool weightsFromModel = false;
};

// <model>.h: C99 and C++, includes only "kiln/runtime.h".
std::string emitHeader(const LibraryProgram &library, const EmitInfo &info);

// <model>_driver.c: C99, includes the header and HalideRuntime.h.
std::string emitDriver(const LibraryProgram &library, const EmitInfo &info);

// The driver's parts for the training step (TrainEmitter.cpp): its tables and macros, and
// <model>_train_step.
std::string emitTrainTables(const LibraryProgram &library);
std::string emitTrainStep(const LibraryProgram &library, const EmitInfo &info);
// forward_training(), which <model>_forward calls in training mode; "" without @forward_train.
std::string emitTrainingForward(const LibraryProgram &library, const EmitInfo &info);

// C text the driver emitters share: a shape initializer "{-1, 1, 28, 28}" (kBatch as -1), a
// table initializer of rows (C forbids empty arrays: one zero entry), and the rows of the
// activation and slot tables.
std::string shapeInitializer(const std::vector<int64_t> &shape);
std::string tableInitializer(const std::vector<std::string> &rows);
std::string activationRow(const Activation &activation);
// A storage order's initializer: the layout, or 0, 1, ... for the tensor's own order.
std::string orderInitializer(const std::vector<int64_t> &layout, size_t rank);
std::string slotRow(const Slot &slot);

// C the entry points of the driver share: the locals that pass tensor `t` to kernels (its static
// shape, Halide dims and buffer); checks of the caller's tensors against those shapes that set
// `batch` and require batched tensors to agree (messages start with `entry`); one call per
// kernel of `program`, each operand named by `name`, a failure recording the kernel and jumping
// to `done`.
std::string bufferLocals(const IOTensor &t);
// The most samples <model>_forward runs its kernels on at once: kiln-plan-buffers' chunk, or
// the whole batch.
int64_t forwardChunk(const ModelProgram &program);

std::string tensorChecks(const std::vector<const IOTensor *> &tensors, const std::string &entry);
// With `profile` (a C expression of type double *, "model->profile"), each call's wall time is
// added to profile[k] when it is non-NULL.
std::string kernelCalls(const std::vector<KernelCall> &kernels,
                        llvm::function_ref<std::string(ValueRef)> name, const std::string &indent,
                        const std::string &profile = "");

// <model>_export.c: `kiln_model_descriptor`, compiled into the shared library only, so two
// models' static libraries can be linked into one program.
std::string emitDescriptorExport(const ModelProgram &program);

// Replaces every "@KEY@" in text by its value.
std::string substitute(std::string text, const std::map<std::string, std::string> &values);

// A shape as the documentation writes it: "[N, 1, 28, 28]".
std::string formatShape(const std::vector<int64_t> &shape);

} // namespace kiln::package

#endif // KILN_PACKAGE_EMITTERS_H
