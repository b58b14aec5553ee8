// Builds a kernel.fused region into a Halide pipeline and compiles it ahead of time. Halide
// reports errors by exception; they are caught here, at the one boundary, and become MLIR
// diagnostics at the kernel's location.
#include "codegen/HostTarget.h"
#include "codegen/Lowering.h"
#include "codegen/Schedules.h"

#include "kiln/Dialect/NN/NNDialect.h"

#include "llvm/ADT/StringSwitch.h"

#include <mutex>
#include <optional>

using namespace Halide;
using namespace mlir;

namespace kiln::codegen {

FailureOr<TargetSpec> parseTarget(llvm::StringRef name, Location loc) {
  TargetSpec spec;
  spec.name = name.str();
  Target host = resolveHostTarget();
  if (name == "host") {
    spec.halide = host;
    spec.splitWideFma = hostSplitsWideFma();
  } else if (name == "x86-64-avx2") {
    spec.halide = Target("x86-64-linux-avx-avx2-f16c-fma-sse41");
  } else if (name == "x86-64-avx512") {
    spec.halide = Target("x86-64-linux-avx-avx2-avx512-avx512_skylake-f16c-fma-sse41");
  } else if (name == "x86-64-zen4") {
    // What host resolves to on AMD Zen 4, whose 512-bit FMAs run at half rate.
    spec.halide = Target(
        "x86-64-linux-avx-avx2-avx512-avx512_cannonlake-avx512_skylake-f16c-fma-sse41");
    spec.splitWideFma = true;
  } else if (name == "arm-64-linux") {
    spec.halide = Target("arm-64-linux");
  } else if (name == "host-cuda") {
    // PTX for compute capability 7.0 runs on every GPU since Volta (the driver JITs it).
    spec.halide = host.with_feature(Target::CUDA).with_feature(Target::CUDACapability70);
    spec.gpu = true;
  } else if (Target::validate_target_string(name.str())) {
    spec.halide = Target(name.str());
    spec.gpu = spec.halide.has_gpu_feature();
  } else {
    return emitError(loc) << "unknown target '" << name
                          << "'; expected host, x86-64-avx2, x86-64-avx512, x86-64-zen4, "
                             "arm-64-linux, host-cuda or a Halide target string";
  }
  if (spec.halide.has_feature(Target::AVX512))
    spec.vectorWidth = 16;
  else if (spec.halide.has_feature(Target::AVX2) || spec.halide.has_feature(Target::AVX))
    spec.vectorWidth = 8;
  else
    spec.vectorWidth = 4; // SSE, NEON
  return spec;
}

std::vector<Argument> KernelPipeline::arguments() const {
  return std::vector<Argument>(inputs.begin(), inputs.end());
}

namespace {

// Declares a buffer's static extents and dense strides, in the storage order `layout` (tensor
// dimensions outermost first; empty: the tensor's own order), so Halide can fold the index
// arithmetic; only the batch (dynamic, always stored outermost) is left to run time.
template <typename Param>
void constrainDense(Param &param, llvm::ArrayRef<int64_t> shape, llvm::ArrayRef<int64_t> layout) {
  int64_t rank = static_cast<int64_t>(shape.size());
  std::vector<int64_t> order = layout.vec();
  if (order.empty())
    for (int64_t d = 0; d < rank; ++d)
      order.push_back(d);
  int64_t stride = 1;
  for (int64_t k = rank - 1; k >= 0; --k) { // innermost stored dimension first
    int64_t d = order[k];
    int h = static_cast<int>(rank - 1 - d); // Halide's dimension of tensor dimension d
    param.dim(h).set_stride(static_cast<int>(stride));
    if (shape[d] == ShapedType::kDynamic) {
      param.dim(h).set_min(0);
      break; // only the batch may be dynamic, and it is stored outermost
    }
    param.dim(h).set_bounds(0, static_cast<int>(shape[d]));
    stride *= shape[d];
  }
}

// The Halide type of a tensor's elements: f32 data, integer labels of 8 to 64 bits (signless
// integers are signed, as in the frontends).
std::optional<Halide::Type> halideType(mlir::Type element) {
  if (element.isF32())
    return Float(32);
  auto integer = dyn_cast<IntegerType>(element);
  if (!integer || !llvm::is_contained({8u, 16u, 32u, 64u}, integer.getWidth()))
    return std::nullopt;
  int bits = static_cast<int>(integer.getWidth());
  return integer.isUnsigned() ? UInt(bits) : Int(bits);
}

std::string sanitize(llvm::StringRef name) {
  std::string out;
  for (char c : name)
    out += std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
  return out;
}

// The batch the autoscheduler plans for (its estimates need a number).
constexpr int kBatchEstimate = 8;

// Halide 14's Mullapudi2016 autoscheduler (a plugin of Debian's libhalide14), loaded once, on
// the kernel's pipeline with estimates from its static shapes.
void autoSchedule(KernelPipeline &pipeline, llvm::ArrayRef<int64_t> outputShape,
                  TypeRange inputTypes, const Target &target) {
  static std::once_flag loaded;
  std::call_once(loaded, [] { load_plugin(KILN_HALIDE_PLUGIN_DIR "/libautoschedule_mullapudi2016.so"); });
  for (auto [param, type] : llvm::zip(pipeline.inputs, inputTypes)) {
    Halide::Region estimates;
    for (int64_t extent : llvm::reverse(cast<RankedTensorType>(type).getShape()))
      estimates.push_back(Range(0, extent == ShapedType::kDynamic ? kBatchEstimate
                                                                  : static_cast<int>(extent)));
    param.set_estimates(estimates);
  }
  Halide::Region estimates;
  for (int64_t extent : llvm::reverse(outputShape))
    estimates.push_back(Range(0, extent == ShapedType::kDynamic ? kBatchEstimate
                                                                : static_cast<int>(extent)));
  pipeline.output.set_estimates(estimates);
  // 2 cores, a 32 MiB last-level cache, Mullapudi's default load/compute balance.
  Pipeline(pipeline.output).auto_schedule("Mullapudi2016", target, MachineParams(2, 32 << 20, 40));
}

} // namespace

FailureOr<KernelPipeline> buildKernel(kernel::FusedOp kernel, const TargetSpec &target) {
  Block &body = kernel.getBody().front();
  auto yield = cast<kernel::YieldOp>(body.getTerminator());
  if (yield.getValues().size() != 1)
    return kernel.emitOpError() << "code generation expects one output, got "
                                << yield.getValues().size();
  for (mlir::Type type : kernel->getOperandTypes()) {
    auto tensor = cast<RankedTensorType>(type);
    int64_t dynamic = tensor.getNumDynamicDims();
    if (dynamic > 1 || (dynamic == 1 && !tensor.isDynamicDim(0)))
      return kernel.emitOpError() << "code generation supports a dynamic batch only, got "
                                  << type;
    if (!halideType(tensor.getElementType()))
      return kernel.emitOpError()
             << "code generation supports f32 and 8- to 64-bit integer tensors, got " << type;
  }
  // Halide argument names must be distinct identifiers.
  std::string prefix = sanitize(kernel.getName());
  try {
    KernelPipeline pipeline;
    llvm::DenseMap<Value, TensorFunc> funcs;
    // Reductions over the batch (weight gradients, batch statistics, the loss) take its extent
    // from the first operand whose batch is dynamic; operands agree on it at run time.
    Expr batch;
    for (BlockArgument arg : body.getArguments()) {
      auto type = cast<RankedTensorType>(arg.getType());
      int rank = static_cast<int>(type.getRank());
      ImageParam param(*halideType(type.getElementType()), rank,
                       prefix + "_in" + std::to_string(arg.getArgNumber()));
      llvm::ArrayRef<DenseI64ArrayAttr> inputLayouts = kernel.getSchedule().getInputLayouts();
      constrainDense(param, type.getShape(),
                     inputLayouts.empty() ? llvm::ArrayRef<int64_t>()
                                          : inputLayouts[arg.getArgNumber()].asArrayRef());
      if (!batch.defined() && rank > 0 && type.isDynamicDim(0))
        batch = param.dim(rank - 1).extent();
      pipeline.inputs.push_back(param);
      funcs[arg] = TensorFunc{Func(param), type.getShape().vec()};
    }
    // The kernel's schedule follows its anchor (a convolution or dense layer, whose epilogue
    // is inlined into its output tiles), or the pooling computed around the anchor's rows, or
    // else its last op.
    std::function<void(Func, const TargetSpec &)> schedule;
    std::optional<LoweredOp> anchor;
    TensorFunc result;
    int index = 0;
    for (Operation &op : body.without_terminator()) {
      std::vector<TensorFunc> operands;
      for (Value operand : op.getOperands())
        operands.push_back(funcs.lookup(operand));
      // Func names are unique within the kernel: its name, the op's index and kind.
      LoweringContext context{prefix + "_" + std::to_string(index++) + "_" +
                                  op.getName().stripDialect().str(),
                              batch, target.gpu, kernel.getSchedule()};
      FailureOr<LoweredOp> lowered = lowerOp(&op, operands, context);
      if (failed(lowered))
        return failure();
      funcs[op.getResult(0)] = lowered->result;
      result = lowered->result;
      if (anchor && anchor->anchor && nn::isPooling(&op)) {
        Func pooled = funcs.lookup(op.getOperand(0)).func;
        AnchorInfo info = *anchor->anchor;
        std::vector<int64_t> poolShape = lowered->result.shape;
        std::vector<int64_t> window =
            cast<DenseI64ArrayAttr>(op.getAttr("kernel_size")).asArrayRef().vec();
        schedule = [pooled, info, poolShape, window](Func output, const TargetSpec &t) {
          schedulePooledAnchor(output, pooled, info, poolShape, window, t);
        };
      } else if (!anchor) {
        schedule = lowered->schedule;
        if (nn::isFusionAnchor(&op))
          anchor = *lowered;
        else if (isChannelsLast(kernel.getSchedule().getLayout()) &&
                 (nn::isPooling(&op) || nn::isElementwise(&op))) {
          std::vector<int64_t> shape = lowered->result.shape;
          schedule = [shape](Func output, const TargetSpec &t) {
            scheduleChannelsLast(output, shape, t);
          };
        }
      }
    }
    if (!schedule) {
      // No op: a copy of the input into the kernel's layout (a weight stored for its reader).
      if (body.getNumArguments() != 1 || yield.getValues()[0] != body.getArgument(0))
        return kernel.emitOpError() << "has no ops to generate code for";
      result = funcs.lookup(body.getArgument(0));
      std::vector<int64_t> layout = kernel.getSchedule().getLayout().vec();
      std::vector<int64_t> shape = result.shape;
      schedule = [shape, layout](Func output, const TargetSpec &t) {
        scheduleCopy(output, shape, layout, t);
      };
    }

    std::vector<Var> v = tensorVars(result.rank());
    // Not the bare kernel name: a Func named like a math function ("tanh") clashes in Halide.
    Func output(prefix + "_out");
    output(halideOrder(v)) = result.at(asExprs(v)); // no arguments for a 0-d result (the loss)
    if (!target.autoSchedule)
      schedule(output, target);
    OutputImageParam outputBuffer = output.output_buffer();
    constrainDense(outputBuffer, result.shape, kernel.getSchedule().getLayout());
    pipeline.output = output;
    if (target.autoSchedule)
      autoSchedule(pipeline, result.shape, body.getArgumentTypes(), target.halide);
    return pipeline;
  } catch (const Halide::Error &error) {
    return kernel.emitOpError() << "Halide rejected the kernel: " << error.what();
  }
}

LogicalResult compileKernel(kernel::FusedOp kernel, const TargetSpec &target,
                            const std::string &symbol, const std::string &objectPath,
                            const std::string &dumpDir) {
  FailureOr<KernelPipeline> pipeline = buildKernel(kernel, target);
  if (failed(pipeline))
    return failure();
  Target kernelTarget = target.halide.with_feature(Target::NoRuntime);
  std::vector<Argument> args = pipeline->arguments();
  try {
    pipeline->output.compile_to_object(objectPath, args, symbol, kernelTarget);
    if (!dumpDir.empty()) {
      std::string base = dumpDir + "/" + symbol;
      pipeline->output.compile_to_lowered_stmt(base + ".stmt", args, StmtOutputFormat::Text,
                                               kernelTarget);
      pipeline->output.compile_to_lowered_stmt(base + ".html", args, StmtOutputFormat::HTML,
                                               kernelTarget);
      pipeline->output.compile_to_assembly(base + ".s", args, symbol, kernelTarget);
    }
  } catch (const Halide::Error &error) {
    return kernel.emitOpError() << "Halide could not compile the kernel: " << error.what();
  }
  return success();
}

LogicalResult compileRuntime(const TargetSpec &target, const std::string &objectPath,
                             Location loc) {
  try {
    compile_standalone_runtime(objectPath, target.halide);
  } catch (const Halide::Error &error) {
    return emitError(loc) << "Halide could not compile its runtime for " << target.name << ": "
                          << error.what();
  }
  return success();
}

} // namespace kiln::codegen
