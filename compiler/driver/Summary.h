// `kilnc --summary`: per layer the output shape, parameter count and FLOPs, and the totals.
#ifndef KILN_DRIVER_SUMMARY_H
#define KILN_DRIVER_SUMMARY_H

#include "mlir/IR/BuiltinOps.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

namespace kiln {

struct LayerSummary {
  std::string name;              // the layer's name in the model file (or the op's name)
  std::string op;                // the nn op, without the dialect prefix
  std::vector<int64_t> shape;    // output shape; ShapedType::kDynamic for the batch
  int64_t parameters = 0;        // trainable elements first used by this layer
  int64_t buffers = 0;           // non-trainable elements (batch-norm statistics)
  int64_t flops = 0;             // per image, see summarizeModel
};

// What a compiled @forward holds in memory (f32 bytes), from the kernel pipeline's buffer plan
// (kiln-plan-buffers) for the host.
struct MemorySummary {
  int64_t weights = 0;          // parameters and batch-norm statistics
  int64_t derived = 0;          // tensors computed from them (folded batch norm, relaid weights)
  int64_t fixedActivations = 0; // buffers that do not scale with the batch
  int64_t activationsPerSample = 0;
  int64_t chunk = 0;            // samples run at once (0: the whole batch)
  // Activation buffers for a batch of `batch` samples.
  int64_t activations(int64_t batch) const {
    return fixedActivations + activationsPerSample * (chunk > 0 ? std::min(batch, chunk) : batch);
  }
};

struct ModelSummary {
  std::string model;
  std::vector<std::pair<std::string, std::vector<int64_t>>> inputs;
  std::vector<LayerSummary> layers;
  int64_t parameters = 0;
  int64_t buffers = 0;
  int64_t flops = 0;
  MemorySummary memory;
};

// Summarizes @forward of a shape-inferred nn module, and its memory once compiled for the host
// (the kernel pipeline runs on a copy). FLOPs are per image (batch 1): 2 per
// multiply-accumulate for convolution and dense layers (bias adds not counted, as in the usual
// published figures), one per window element and output for pooling, 2 per element for batch
// norm (a scale and a shift once folded), one per element for activations, adds and flatten's 0.
// Fails with a diagnostic when there is no @forward or a shape is not inferred.
mlir::FailureOr<ModelSummary> summarizeModel(mlir::ModuleOp module);

// One op's FLOPs per image by the rules above; `outShape` is its result's shape.
int64_t flopsPerImage(mlir::Operation *op, llvm::ArrayRef<int64_t> outShape);

void printSummary(const ModelSummary &summary, llvm::raw_ostream &os);

} // namespace kiln

#endif // KILN_DRIVER_SUMMARY_H
