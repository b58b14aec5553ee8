// A function of the model (@forward, or @train_step) after kiln-form-kernels, as the packager
// sees it: inputs, outputs, parameters with their initialization, activation buffers and the
// kernel calls in order.
#ifndef KILN_PACKAGE_MODELPROGRAM_H
#define KILN_PACKAGE_MODELPROGRAM_H

#include "kiln/Dialect/Kernel/KernelDialect.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "llvm/ADT/StringSet.h"

#include <cstdint>
#include <string>
#include <vector>

namespace kiln::package {

// Extents in tensor order; kBatch marks the dynamic batch (always dimension 0).
constexpr int64_t kBatch = -1;


// The element types a program's inputs may have: f32 data, and i64 class labels (@train_step).
enum class ElementType { F32, I64 };

// A model input or output at the C API.
struct IOTensor {
  std::string name;           // a C identifier, unique among inputs and outputs
  std::vector<int64_t> shape; // kBatch for the batch
  ElementType element = ElementType::F32;
};

// How a parameter's initial value is drawn (PyTorch's defaults).
struct ParameterInit {
  bool uniform = false; // U(-value, value) from kiln_fill_uniform, else the constant value
  float value = 0.0f;
};

struct Parameter {
  std::string name;           // state_dict name: conv1.weight
  std::vector<int64_t> shape; // static
  bool buffer = false;        // not trained by gradient (running statistics)
  // Optimizer state (`optimizer.<parameter>.momentum_buffer`, ...): starts at zeros, is optional
  // in a weights file and is not in the initial weights kilnc writes.
  bool optimizer = false;
  ParameterInit init;
  uint64_t stream = 0; // kiln_fill_uniform's stream: the index in program order
};

// Where a kernel operand or result lives.
struct ValueRef {
  enum class Kind { Input, Parameter, Activation, Output, Derived } kind;
  unsigned index;
};

// An intermediate tensor, held in one of the model's reusable buffers (slots).
struct Activation {
  std::vector<int64_t> shape; // kBatch for the batch
  unsigned slot = 0;
  // >= 0: a view (flatten, reshape) of that activation: the same slot and elements, this shape.
  int aliasOf = -1;
  // Storage order, tensor dimensions outermost first (the producing kernel's layout); empty:
  // the tensor's own order.
  std::vector<int64_t> layout;
};

// A tensor computed from parameters alone (batch norm folded into a convolution's weight):
// persistent in the model, recomputed by the program's prepare kernels when the state changes
// (weights loaded or trained), not by every forward pass.
struct DerivedTensor {
  std::vector<int64_t> shape;  // static
  std::vector<int64_t> layout; // storage order, as Activation::layout
};

// A buffer several activations share when their lifetimes do not overlap. Its size is
// `elements` floats, times the batch when `batched`.
struct Slot {
  bool batched = false;
  int64_t elements = 0;
};

struct KernelCall {
  kernel::FusedOp op;
  std::string name;   // kernel.fused's name: conv1
  std::string symbol; // <model>_<name>: the function codegen emits
  std::vector<ValueRef> operands;
  ValueRef result;
  std::string layers;  // the model layers it computes, '+'-separated
  double flops = 0;    // per sample: 2 per multiply-add of its convolutions and dense layers
};

// An output that no kernel writes directly (a returned input or parameter, or a value returned
// twice): copied from `source` after the kernels ran.
struct OutputCopy {
  unsigned output;
  ValueRef source;
};

struct ModelProgram {
  std::string name; // the model's C identifier: lenet
  std::vector<IOTensor> inputs, outputs;
  std::vector<Parameter> parameters;
  std::vector<Activation> activations;
  std::vector<Slot> slots;
  std::vector<KernelCall> kernels;
  std::vector<OutputCopy> copies;
  // Kernels whose operands are parameters or derived tensors, run before `kernels` whenever
  // the state changed; their results are `derived`.
  std::vector<KernelCall> prepare;
  std::vector<DerivedTensor> derived;
  bool dynamicBatch = false; // some input has the dynamic batch
  // The largest batch for which every tensor stays below 2^31 bytes and int32 extents (what
  // Halide's buffers allow without its large_buffers feature).
  int64_t maxBatch = 0;
  // When > 0, the driver runs the kernels over chunks of at most this many samples (the
  // function's kiln.chunk, from kiln-plan-buffers); 0: the whole batch at once (GPU targets, a
  // training function, or a kernel that mixes samples).
  int64_t chunkBatch = 0;

  // The shape of a value, kBatch included.
  const std::vector<int64_t> &shapeOf(ValueRef ref) const;
  // The prepare kernels, then the others: every kernel the program links.
  std::vector<const KernelCall *> allKernels() const;
};

// How analyzeProgram reads a function.
struct AnalyzeOptions {
  bool gpu = false;
  // The kernels' symbols are <model>_<symbolInfix><kernel name>: "" for @forward, "train_" for
  // @train_step. `usedSymbols` holds the symbols taken so far (the API's, other programs'
  // kernels'); each kernel's is added to it, made unique when needed.
  std::string symbolInfix;
  llvm::StringSet<> *usedSymbols = nullptr;
  // @train_step: i64 inputs (labels) are accepted, and the batch never runs in chunks (batch
  // statistics and the loss's mean need all of it).
  bool training = false;

};

// Describes `function` (after kiln-form-kernels) for the generated driver. For CPU targets
// activations share slots and (for @forward) the batch is processed in chunks; on GPUs each
// activation keeps its own buffer, so device copies never alias, and the batch runs whole. Emits
// a diagnostic and fails on what the library cannot express (an op outside a kernel, a dynamic
// extent other than the batch, a kernel with several results, ...).
mlir::FailureOr<ModelProgram> analyzeProgram(mlir::func::FuncOp function,
                                             llvm::StringRef modelName,
                                             const AnalyzeOptions &options);

// The symbols of a model's C API (<model>_create, ...), which no kernel may take.
llvm::StringSet<> apiSymbols(llvm::StringRef modelName);

// A C identifier from an arbitrary name ("fc1.tanh" → "fc1_tanh"; keywords get a '_' suffix).
std::string cIdentifier(llvm::StringRef name);

// Elements per sample of a shape (its product, kBatch excluded); -1 on int64 overflow.
int64_t elementsPerSample(const std::vector<int64_t> &shape);

} // namespace kiln::package

#endif // KILN_PACKAGE_MODELPROGRAM_H
