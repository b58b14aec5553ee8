// kilnc --check: generated kernels (JIT-compiled from the same Halide pipelines the library is
// built from) against the reference interpreter, layer by layer.
#include "driver/Check.h"

#include "codegen/Codegen.h"
#include "codegen/HostTarget.h"
#include "driver/Pipeline.h"
#include "passes/Passes.h"
#include "reference/Interpreter.h"

#include "mlir/IR/IRMapping.h"
#include "mlir/Pass/PassManager.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/MathExtras.h"

#include <cmath>
#include <random>

using namespace mlir;

namespace kiln {
namespace {

using reference::Tensor;

std::vector<int64_t> concreteShape(Type type, int64_t batch) {
  std::vector<int64_t> shape = cast<RankedTensorType>(type).getShape().vec();
  for (int64_t &d : shape)
    if (d == ShapedType::kDynamic)
      d = batch;
  return shape;
}

// The interpreter keeps every tensor of the unfused function (doubles) while the check runs;
// more than this is refused before anything is allocated.
constexpr int64_t kCheckMemoryLimit = int64_t(2) << 30;

// Whether the unfused function's tensors fit kCheckMemoryLimit at `batch`: the element counts
// are multiplied in 64 bits with overflow checks (a layer of 2^31 channels, an input of
// 10^8 × 10^8 pixels).
LogicalResult checkMemory(func::FuncOp function, int64_t batch) {
  int64_t total = 0;
  auto add = [&](Value value) -> LogicalResult {
    auto type = dyn_cast<RankedTensorType>(value.getType());
    if (!type)
      return success();
    int64_t elements = 1;
    bool overflow = false;
    for (int64_t d : concreteShape(type, batch))
      overflow |= llvm::MulOverflow(elements, d, elements);
    int64_t bytes = 0;
    overflow = overflow || llvm::MulOverflow(elements, int64_t(sizeof(double)), bytes) ||
               llvm::AddOverflow(total, bytes, total);
    if (overflow || total > kCheckMemoryLimit)
      return emitError(value.getLoc())
             << "--check at batch " << batch << ": the reference interpreter's tensors would need "
             << (overflow ? std::string("more than 2^63 bytes")
                          : std::to_string(total >> 20) + " MiB")
             << " (this one " << type << "), more than its limit of "
             << (kCheckMemoryLimit >> 30) << " GiB; check a smaller model or --check-batch";
    return success();
  };
  for (BlockArgument arg : function.getArguments())
    if (failed(add(arg)))
      return failure();
  WalkResult walk = function.walk([&](Operation *op) {
    for (Value result : op->getResults())
      if (failed(add(result)))
        return WalkResult::interrupt();
    return WalkResult::advance();
  });
  return failure(walk.wasInterrupted());
}

Tensor uniformTensor(std::vector<int64_t> shape, double lo, double hi, std::mt19937_64 &rng) {
  std::uniform_real_distribution<double> dist(lo, hi);
  Tensor t{std::move(shape), {}};
  t.data.resize(t.numel());
  for (double &v : t.data)
    v = static_cast<float>(dist(rng)); // representable in f32: both sides see the same value
  return t;
}

// Whether every use of the parameter needs positive values: a batch norm's running variance
// (whatever its name: ONNX's are the exporter's) or a divisor, which near 0 would make the
// comparison one of huge values.
bool needsPositive(nn::ParameterOp param) {
  Value value = param.getResult();
  return !value.use_empty() && llvm::all_of(value.getUses(), [](OpOperand &use) {
    if (auto bn = dyn_cast<nn::BatchNormOp>(use.getOwner()))
      return use.get() == bn.getRunningVar();
    auto div = dyn_cast<nn::BroadcastDivOp>(use.getOwner());
    return div && use.get() == div.getRhs();
  });
}

// Random weights of the scale PyTorch's initialization gives; batch-norm statistics and divisors
// kept in a range where normalization and division are well conditioned.
Tensor randomParameter(nn::ParameterOp param, std::mt19937_64 &rng) {
  auto type = cast<RankedTensorType>(param.getType());
  std::vector<int64_t> shape = type.getShape().vec();
  StringRef name = param.getName();
  if (needsPositive(param) || name.ends_with("running_var") ||
      (name.ends_with(".weight") && shape.size() == 1))
    return uniformTensor(shape, 0.5, 1.5, rng);
  if (shape.size() == 1)
    return uniformTensor(shape, -0.5, 0.5, rng);
  double fanIn = static_cast<double>(type.getNumElements()) / static_cast<double>(shape[0]);
  double bound = 1.0 / std::sqrt(fanIn);
  return uniformTensor(shape, -bound, bound, rng);
}

// A Halide buffer of `shape` stored in `layout` (tensor dimensions outermost first; empty: the
// tensor's own order), as the library would hold it.
Halide::Buffer<float> layoutBuffer(const std::vector<int64_t> &shape, ArrayRef<int64_t> layout) {
  int rank = static_cast<int>(shape.size());
  std::vector<int> sizes(shape.rbegin(), shape.rend()), storage; // Halide order, innermost first
  for (int k = rank - 1; k >= 0; --k)
    storage.push_back(rank - 1 - static_cast<int>(layout.empty() ? k : layout[k]));
  return Halide::Buffer<float>(sizes, storage);
}

// Copies between a row-major tensor and a buffer of any storage order, element by element.
void copyTensor(const Tensor &t, Halide::Buffer<float> &b, bool toBuffer) {
  int rank = static_cast<int>(t.shape.size());
  std::vector<int> index(rank, 0); // Halide order
  for (size_t flat = 0; flat < t.data.size(); ++flat) {
    size_t rest = flat;
    for (int h = 0; h < rank; ++h) { // Halide dim h is tensor dim rank-1-h, the innermost first
      index[h] = static_cast<int>(rest % t.shape[rank - 1 - h]);
      rest /= t.shape[rank - 1 - h];
    }
    float &element = b(index.data());
    if (toBuffer)
      element = static_cast<float>(t.data[flat]);
    else
      const_cast<Tensor &>(t).data[flat] = element;
  }
}

// Runs one kernel on the host with Halide's JIT, its operands and result in its layouts.
LogicalResult runKernel(kernel::FusedOp kernel, const codegen::TargetSpec &target,
                        const std::vector<const Tensor *> &inputs, int64_t batch, Tensor &out) {
  FailureOr<codegen::KernelPipeline> pipeline = codegen::buildKernel(kernel, target);
  if (failed(pipeline))
    return failure();
  kernel::ScheduleAttr schedule = kernel.getSchedule();
  std::vector<Halide::Buffer<float>> buffers;
  for (auto [i, t] : llvm::enumerate(inputs)) {
    ArrayRef<int64_t> layout;
    if (!schedule.getInputLayouts().empty())
      layout = schedule.getInputLayouts()[i].asArrayRef();
    Halide::Buffer<float> b = layoutBuffer(t->shape, layout);
    copyTensor(*t, b, /*toBuffer=*/true);
    pipeline->inputs[i].set(b);
    buffers.push_back(b);
  }
  out.shape = concreteShape(kernel.getResult(0).getType(), batch);
  out.data.assign(static_cast<size_t>(out.numel()), 0.0);
  Halide::Buffer<float> result = layoutBuffer(out.shape, schedule.getLayout());
  try {
    pipeline->output.realize(result, target.halide);
  } catch (const Halide::Error &error) {
    return kernel.emitOpError() << "failed when run: " << error.what();
  }
  copyTensor(out, result, /*toBuffer=*/false);
  return success();
}

} // namespace

// The attribute that ties each nn op of @forward to the kernel that computes its result after
// fusion (passes carry discardable attributes along when they clone or replace ops).
constexpr llvm::StringLiteral kCheckId = "kiln.check_id";

LogicalResult checkModel(ModuleOp module, const CheckOptions &options, llvm::raw_ostream &os) {
  auto forward = module.lookupSymbol<func::FuncOp>("forward");
  if (!forward || forward.isExternal())
    return module.emitError() << "the model has no @forward function to check";
  FailureOr<codegen::TargetSpec> target = codegen::parseTarget(options.target, module.getLoc());
  if (failed(target))
    return failure();
  // Kernels run here: a CPU target this machine can execute (host, or e.g. x86-64-avx2 on an
  // AVX-512 machine, to check the narrower schedules).
  if (target->gpu)
    return emitError(module.getLoc()) << "--check runs kernels on this machine's CPU, not on a GPU; "
                                 "use --target=host";
  Halide::Target host = codegen::resolveHostTarget();
  codegen::CpuFeatures cpu = codegen::hostCpuFeatures();
  std::string missing;
  for (const std::string &feature : codegen::requiredCpuFeatures(target->halide))
    if (!cpu.contains(feature))
      missing += (missing.empty() ? "" : ", ") + feature;
  if (target->halide.arch != host.arch || target->halide.bits != host.bits || !missing.empty())
    return emitError(module.getLoc()) << "--check runs kernels on this machine, which cannot run target "
                              << options.target
                              << (missing.empty() ? std::string(" (another architecture)")
                                                  : " (it lacks " + missing + ")");

  OwningOpRef<ModuleOp> reference = module.clone();
  auto unfused = reference->lookupSymbol<func::FuncOp>("forward");
  int64_t nextId = 0;
  unfused.walk([&](Operation *op) {
    if (isa<nn::NNDialect>(op->getDialect()) && !isa<nn::ParameterOp>(op))
      op->setAttr(kCheckId, IntegerAttr::get(IntegerType::get(op->getContext(), 64), nextId++));
  });

  if (options.batch < 1)
    return emitError(module.getLoc()) << "--check-batch must be at least 1, got " << options.batch;
  // Written so that NaN fails too.
  if (!(options.atol >= 0 && options.atol <= 1e30))
    return emitError(module.getLoc()) << "--check-atol must be a number from 0 to 1e30, got "
                                      << options.atol;
  if (!(options.rtol >= 0 && options.rtol <= 1e30))
    return emitError(module.getLoc()) << "--check-rtol must be a number from 0 to 1e30, got "
                                      << options.rtol;
  if (failed(checkMemory(unfused, options.batch)))
    return failure();

  std::mt19937_64 rng(options.seed);
  std::vector<Tensor> inputs;
  for (BlockArgument arg : unfused.getArguments())
    inputs.push_back(uniformTensor(concreteShape(arg.getType(), options.batch), -1, 1, rng));
  reference::ParameterMap params;
  unfused.walk([&](nn::ParameterOp p) { params[p.getName().str()] = randomParameter(p, rng); });

  // The interpreter's result of every op of the unfused function, by check id.
  std::map<int64_t, Tensor> expected;
  FailureOr<std::vector<Tensor>> outputs = reference::runFunction(
      unfused, inputs, params, [&](Operation *op, const Tensor &t) {
        if (auto id = op->getAttrOfType<IntegerAttr>(kCheckId))
          expected[id.getInt()] = t;
      });
  if (failed(outputs))
    return failure();

  // The same function as the library computes it: the pipeline's kernels, fused.
  OwningOpRef<ModuleOp> kernels = reference->clone();
  PipelineOptions pipeline;
  pipeline.setKernelTarget(*target); // a CPU target: GPUs were refused above
  PassManager pm(module.getContext());
  buildPipeline(pm, pipeline);
  if (failed(pm.run(*kernels)))
    return failure();
  auto program = kernels->lookupSymbol<func::FuncOp>("forward");

  llvm::DenseMap<Value, Tensor> values;
  for (auto [arg, t] : llvm::zip(program.getArguments(), inputs))
    values[arg] = t;
  os << llvm::left_justify("anchor", 16) << llvm::right_justify("max|ref|", 12) << " "
     << llvm::right_justify("max|diff|", 12) << " " << llvm::right_justify("worst", 8)
     << "      kernel (its layers)\n";
  bool ok = true;
  size_t checked = 0;
  for (Operation &op : program.getBody().front()) {
    if (auto param = dyn_cast<nn::ParameterOp>(op)) {
      values[param.getResult()] = params.at(param.getName().str());
      continue;
    }
    if (nn::isView(&op)) { // kiln-fold-views: the same elements, another shape
      Tensor view = values[op.getOperand(0)];
      view.shape = concreteShape(op.getResult(0).getType(), options.batch);
      values[op.getResult(0)] = std::move(view);
      continue;
    }
    auto kernel = dyn_cast<kernel::FusedOp>(op);
    if (!kernel)
      continue;
    std::vector<const Tensor *> kernelInputs;
    for (Value v : kernel.getInputs())
      kernelInputs.push_back(&values[v]);
    Tensor out;
    if (failed(runKernel(kernel, *target, kernelInputs, options.batch, out)))
      return failure();
    auto yield = cast<kernel::YieldOp>(kernel.getBody().front().getTerminator());
    Operation *last = yield.getValues()[0].getDefiningOp();
    auto id = last ? last->getAttrOfType<IntegerAttr>(kCheckId) : IntegerAttr();
    values[kernel.getResult(0)] = std::move(out);
    if (!id) // a derived tensor (batch norm folded into weights): checked through its users
      continue;
    const Tensor &ref = expected[id.getInt()];
    const Tensor &got = values[kernel.getResult(0)];
    if (ref.shape != got.shape)
      return kernel.emitOpError() << "does not line up with the interpreter's result";
    // Per element: |out − ref| ≤ atol + rtol·|ref|. "worst" is the largest |out − ref| over
    // its element's bound: at most 1 passes.
    double scale = 0, diff = 0, worst = 0;
    size_t worstAt = 0;
    for (size_t i = 0; i < ref.data.size(); ++i) {
      scale = std::max(scale, std::abs(ref.data[i]));
      double d = std::abs(got.data[i] - ref.data[i]);
      if (std::isnan(d))
        d = INFINITY;
      diff = std::max(diff, d);
      // A non-finite reference passes only where the kernel gives the same value.
      double ratio = std::isfinite(ref.data[i])
                         ? d / (options.atol + options.rtol * std::abs(ref.data[i]))
                         : (got.data[i] == ref.data[i] ? 0.0 : INFINITY);
      if (std::isnan(ratio))
        ratio = INFINITY;
      if (ratio > worst) {
        worst = ratio;
        worstAt = i;
      }
    }
    bool pass = worst <= 1;
    ok &= pass;
    ++checked;
    std::string layers;
    for (Attribute layer : kernel.getLayers())
      layers += (layers.empty() ? "" : "+") + cast<StringAttr>(layer).getValue().str();
    if (layers.empty())
      layers = kernel.getName().str();
    Operation *anchor = last; // the op the kernel is tiled around, else its result's
    for (Operation &inner : kernel.getBody().front().without_terminator())
      if (nn::isFusionAnchor(&inner)) {
        anchor = &inner;
        break;
      }
    os << llvm::format("%-16s%12.4e %12.4e %8.3f  %-4s  %s",
                       anchor->getName().stripDialect().str().c_str(), scale, diff, worst,
                       pass ? "ok" : "FAIL", layers.c_str());
    if (!pass)
      os << llvm::format("  (element %zu: %.7g, the reference %.7g)", worstAt,
                         got.data[worstAt], ref.data[worstAt]);
    os << "\n";
  }
  if (!ok)
    return emitError(module.getLoc()) << "--check: an element of a kernel's output differs from "
                                         "the reference by more than atol + rtol·|ref| (see the "
                                         "table)";
  os << "check passed: " << checked << " kernels, every element within atol " << options.atol
     << " + rtol " << options.rtol << "·|ref| (batch " << options.batch << ", seed "
     << options.seed << ")\n";
  return success();
}

} // namespace kiln
