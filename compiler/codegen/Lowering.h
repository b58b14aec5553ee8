// Internal to code generation: the Halide algorithm and schedule of each nn op, and the helpers
// the per-family lowering files (OpLowering.cpp for the forward ops, *GradLowering.cpp,
// NormLowering.cpp, LossLowering.cpp, UpdateLowering.cpp for training) share.
#ifndef KILN_CODEGEN_LOWERING_H
#define KILN_CODEGEN_LOWERING_H

#include "codegen/Codegen.h"

#include "kiln/Dialect/NN/NNDialect.h"

#include <functional>
#include <optional>

namespace kiln::codegen {

// A tensor as a Halide Func. Halide's dimension 0 is the innermost (the tensor's last), so
// Funcs take their arguments in reverse tensor order; `at` hides that. A 0-d tensor (the loss)
// is a Func of no arguments.
struct TensorFunc {
  Halide::Func func;
  std::vector<int64_t> shape; // tensor order; mlir::ShapedType::kDynamic for the batch

  int64_t rank() const { return static_cast<int64_t>(shape.size()); }
  // The element at a tensor-order index.
  Halide::Expr at(const std::vector<Halide::Expr> &index) const;
};

// What a lowering knows about the kernel it is part of.
struct LoweringContext {
  std::string name;   // a unique, identifier-safe prefix for the op's Funcs
  Halide::Expr batch; // the run-time batch extent; undefined when no operand has a dynamic batch
  bool gpu = false;   // the kernel is for a GPU target (an algorithm may depend on it)
  // The kernel's schedule (#kernel.schedule): the anchor's tile, layouts.
  kernel::ScheduleAttr schedule;

  // The extent of tensor dimension `dim` of `t`: its static extent, or the batch.
  Halide::Expr extent(const TensorFunc &t, int64_t dim) const;
};

// Whether a storage order is channels-innermost 4-D ([0, 2, 3, 1]: NHWC of an NCHW tensor).
inline bool isChannelsLast(llvm::ArrayRef<int64_t> layout) {
  return layout == llvm::ArrayRef<int64_t>({0, 2, 3, 1});
}

// Vars named after the tensor dimensions they index (n, c, z, y, x), in tensor order.
std::vector<Halide::Var> tensorVars(int64_t rank);
// The same in Halide's (reversed) order, for Func definitions.
std::vector<Halide::Var> halideOrder(const std::vector<Halide::Var> &vars);
std::vector<Halide::Expr> asExprs(const std::vector<Halide::Var> &vars);
// The op's (single) result shape, tensor order.
std::vector<int64_t> resultShape(mlir::Operation *op);

// The input with `value` outside [0, extent) in each spatial dimension that is padded (every
// spatial dimension when `always`: a ceil-mode pooling window may overhang the input).
Halide::Func padSpatial(const TensorFunc &input, llvm::ArrayRef<int64_t> padding,
                        Halide::Expr value, bool always = false);

// Average pooling's divisor for the window at output position `out` (spatial indices, tensor
// order) over an input of spatial extents `inputSpatial`: PyTorch's rule, the window clipped to
// the padded input (countIncludePad) or to the input itself.
Halide::Expr avgPoolDivisor(const std::vector<Halide::Expr> &out,
                            llvm::ArrayRef<int64_t> inputSpatial, llvm::ArrayRef<int64_t> kernel,
                            llvm::ArrayRef<int64_t> strides, llvm::ArrayRef<int64_t> padding,
                            bool countIncludePad);

// A fusion anchor's accumulation: the Func that sums into its output tile (pure definition =
// the bias, update = the reduction), its reduction variables innermost first, its output shape
// and tile (from the kernel's schedule).
struct AnchorInfo {
  Halide::Func accumulator;
  std::vector<Halide::RVar> reduction;
  std::vector<int64_t> shape;
  std::vector<int64_t> tile;
  // Channels innermost (kiln-choose-layouts relaid the weight so): the vector width and the
  // tile loop order of the schedule.
  bool channelsInner = false;
  int vectorWidth = 0;
  std::string order;
  // The input with its zero padding (a boundary condition), when the conv pads: a channels-
  // inner schedule stages the rows a row of output reads.
  Halide::Func paddedInput;
  // Channels that do not fill the vectors: the weight and bias padded with zero channels to
  // paddedChannels (undefined Funcs otherwise), computed once per call.
  Halide::Func weightPadded, biasPadded;
  int64_t paddedChannels = 0;
  int64_t inputChannels = 0; // per group
  // The weight as the conv reads it (the kernel's input, or weightPadded): a co_outer schedule
  // stages it per block of input channels.
  Halide::Func weight;
};

// Whether operand `value` (a region argument) of the kernel is stored in `layout`.
bool operandLayoutIs(mlir::Value value, kernel::ScheduleAttr schedule,
                     llvm::ArrayRef<int64_t> layout);

// An op lowered to Halide: its result Func, and the schedule to apply when `output` (a copy of
// the result with the kernel's output buffer) is the kernel's output. For an anchor, the
// output may be its epilogue (pure Funcs of the anchor's result, inlined into the output's
// tiles); `anchor` describes its accumulation for kernels that compute it inside a consumer
// (a fused pooling).
struct LoweredOp {
  TensorFunc result;
  std::function<void(Halide::Func output, const TargetSpec &target)> schedule;
  std::optional<AnchorInfo> anchor;
};

// The Halide algorithm of one nn op over its operands' Funcs. Emits an error at the op when the
// op has no code generation.
mlir::FailureOr<LoweredOp> lowerOp(mlir::Operation *op, const std::vector<TensorFunc> &operands,
                                   const LoweringContext &context);

// The training ops, one function each, defined in the file of their family.
using Operands = std::vector<TensorFunc>;
#define KILN_DECLARE_LOWERING(OP)                                                               \
  mlir::FailureOr<LoweredOp> lower(nn::OP op, const Operands &in, const LoweringContext &ctx);
// ConvGradLowering.cpp
KILN_DECLARE_LOWERING(ConvBackwardDataOp)
KILN_DECLARE_LOWERING(ConvBackwardFilterOp)
// DenseGradLowering.cpp
KILN_DECLARE_LOWERING(DenseBackwardDataOp)
KILN_DECLARE_LOWERING(DenseBackwardWeightOp)
// PoolGradLowering.cpp
KILN_DECLARE_LOWERING(MaxPoolBackwardOp)
KILN_DECLARE_LOWERING(AvgPoolBackwardOp)
KILN_DECLARE_LOWERING(GlobalAvgPoolBackwardOp)
KILN_DECLARE_LOWERING(GlobalMaxPoolBackwardOp)
// NormLowering.cpp
KILN_DECLARE_LOWERING(ReduceToChannelOp)
KILN_DECLARE_LOWERING(ChannelMeanOp)
KILN_DECLARE_LOWERING(ChannelVarOp)
KILN_DECLARE_LOWERING(RunningUpdateOp)
KILN_DECLARE_LOWERING(BatchNormTrainOp)
KILN_DECLARE_LOWERING(BatchNormTrainBackwardDataOp)
KILN_DECLARE_LOWERING(BatchNormTrainBackwardWeightOp)
KILN_DECLARE_LOWERING(FoldBatchNormWeightOp)
KILN_DECLARE_LOWERING(FoldBatchNormBiasOp)
// LossLowering.cpp
KILN_DECLARE_LOWERING(SoftmaxCrossEntropyOp)
KILN_DECLARE_LOWERING(SoftmaxCrossEntropyBackwardOp)
KILN_DECLARE_LOWERING(SoftmaxBackwardOp)
KILN_DECLARE_LOWERING(LogSoftmaxBackwardOp)
// UpdateLowering.cpp
KILN_DECLARE_LOWERING(ReluBackwardOp)
KILN_DECLARE_LOWERING(TanhBackwardOp)
KILN_DECLARE_LOWERING(SigmoidBackwardOp)
KILN_DECLARE_LOWERING(LeakyReluBackwardOp)
KILN_DECLARE_LOWERING(ClipBackwardOp)
KILN_DECLARE_LOWERING(SumLikeOp)
KILN_DECLARE_LOWERING(ReshapeOp)
KILN_DECLARE_LOWERING(MomentumUpdateOp)
KILN_DECLARE_LOWERING(SgdStepOp)
KILN_DECLARE_LOWERING(AdamMomentOp)
KILN_DECLARE_LOWERING(AdamStepOp)
#undef KILN_DECLARE_LOWERING

} // namespace kiln::codegen

#endif // KILN_CODEGEN_LOWERING_H
