// Per-layer shapes, parameter counts and FLOPs of a model's forward function.
#include "driver/Summary.h"

#include "codegen/Codegen.h"
#include "driver/Pipeline.h"
#include "kiln/Dialect/NN/NNDialect.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "llvm/ADT/DenseSet.h"
#include "llvm/ADT/TypeSwitch.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/MathExtras.h"

#include <limits>

using namespace mlir;

namespace kiln {
namespace {

// Counts saturate at INT64_MAX instead of wrapping (a conv of 10^8 channels padded by 5·10^7
// has more FLOPs per image than 64 bits hold); summarizeModel reports a saturated count.
constexpr int64_t kSaturated = std::numeric_limits<int64_t>::max();

int64_t mul(int64_t a, int64_t b) {
  int64_t product;
  return llvm::MulOverflow(a, b, product) ? kSaturated : product;
}

int64_t add(int64_t a, int64_t b) {
  int64_t sum;
  return llvm::AddOverflow(a, b, sum) ? kSaturated : sum;
}

int64_t staticProduct(ArrayRef<int64_t> shape) {
  int64_t n = 1;
  for (int64_t d : shape)
    n = mul(n, d == ShapedType::kDynamic ? 1 : d);
  return n;
}

// FLOPs per image of one op, from its operand and result shapes (see Summary.h).
std::string shapeString(ArrayRef<int64_t> shape) {
  std::string s = "[";
  for (auto [i, d] : llvm::enumerate(shape)) {
    if (i)
      s += ", ";
    s += d == ShapedType::kDynamic ? "N" : std::to_string(d);
  }
  return s + "]";
}

// 431080 → "431,080".
std::string withCommas(int64_t n) {
  std::string digits = std::to_string(n), out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i && (digits.size() - i) % 3 == 0 && digits[i - 1] != '-')
      out += ',';
    out += digits[i];
  }
  return out;
}

std::string layerName(Operation *op) {
  if (auto named = dyn_cast<NameLoc>(op->getLoc()))
    return named.getName().str();
  return op->getName().stripDialect().str();
}

} // namespace

int64_t flopsPerImage(Operation *op, ArrayRef<int64_t> outShape) {
  int64_t outPerImage = outShape.empty() ? 1 : staticProduct(outShape.drop_front());
  auto shapeOf = [](Value v) { return cast<RankedTensorType>(v.getType()).getShape(); };
  return llvm::TypeSwitch<Operation *, int64_t>(op)
      .Case([&](nn::ConvOp conv) {
        // Each output element takes C_in/groups × kernel multiply-accumulates.
        return mul(2, mul(staticProduct(shapeOf(conv.getWeight()).drop_front()), outPerImage));
      })
      .Case([&](nn::DenseOp dense) {
        return mul(2, mul(shapeOf(dense.getWeight())[1], outPerImage));
      })
      .Case<nn::MaxPoolOp, nn::AvgPoolOp>(
          [&](auto pool) { return mul(staticProduct(pool.getKernelSize()), outPerImage); })
      .Case<nn::GlobalAvgPoolOp, nn::GlobalMaxPoolOp>(
          [&](auto pool) { return staticProduct(shapeOf(pool.getInput()).drop_front()); })
      .Case([&](nn::BatchNormOp) { return mul(2, outPerImage); })
      .Case([&](nn::FlattenOp) { return int64_t(0); })
      .Case<nn::SoftmaxOp, nn::LogSoftmaxOp>([&](auto) { return mul(3, outPerImage); })
      .Default([&](Operation *) { return outPerImage; });
}


// The memory of @forward compiled for the host: the buffer plan of a copy run through the
// kernel pipeline.
static LogicalResult summarizeMemory(ModuleOp module, ModelSummary &summary) {
  MemorySummary &memory = summary.memory;
  memory.weights = 4 * (summary.parameters + summary.buffers);
  FailureOr<codegen::TargetSpec> host = codegen::parseTarget("host", module.getLoc());
  if (failed(host))
    return failure();
  OwningOpRef<ModuleOp> compiled = module.clone();
  PipelineOptions options;
  options.setKernelTarget(*host);
  PassManager pm(module.getContext());
  buildPipeline(pm, options);
  if (failed(pm.run(*compiled)))
    return failure();
  auto forward = compiled->lookupSymbol<func::FuncOp>("forward");
  auto elements = forward->getAttrOfType<DenseI64ArrayAttr>("kiln.slot_elements");
  auto batched = forward->getAttrOfType<DenseI64ArrayAttr>("kiln.slot_batched");
  for (auto [count, scaled] : llvm::zip(elements.asArrayRef(), batched.asArrayRef()))
    (scaled ? memory.activationsPerSample : memory.fixedActivations) += 4 * count;
  if (auto chunk = forward->getAttrOfType<IntegerAttr>("kiln.chunk"))
    memory.chunk = chunk.getInt();
  forward.walk([&](kernel::FusedOp kernel) {
    if (kernel->hasAttr("kiln.derived"))
      memory.derived += 4 * cast<RankedTensorType>(kernel->getResult(0).getType()).getNumElements();
  });
  return success();
}

FailureOr<ModelSummary> summarizeModel(ModuleOp module) {
  auto forward = module.lookupSymbol<func::FuncOp>("forward");
  if (!forward || forward.isExternal())
    return module.emitError() << "the model has no @forward function to summarize";
  ModelSummary summary;
  summary.model = module.getSymName() ? module.getSymName()->str() : "model";
  for (BlockArgument arg : forward.getArguments()) {
    auto type = dyn_cast<RankedTensorType>(arg.getType());
    if (!type)
      return forward.emitError() << "input " << arg.getArgNumber() << " has no inferred shape";
    std::string name = "arg" + std::to_string(arg.getArgNumber());
    if (auto named = dyn_cast<NameLoc>(arg.getLoc()))
      name = named.getName().str();
    summary.inputs.push_back({name, type.getShape().vec()});
  }

  llvm::DenseSet<Value> counted; // a shared parameter counts once, at its first use
  WalkResult walk = forward.walk([&](Operation *op) {
    if (isa<nn::ParameterOp, func::ReturnOp>(op) || op->getNumResults() != 1)
      return WalkResult::advance();
    auto type = dyn_cast<RankedTensorType>(op->getResult(0).getType());
    if (!type) {
      op->emitError() << "has no inferred shape; run kiln-infer-shapes first";
      return WalkResult::interrupt();
    }
    LayerSummary layer;
    layer.name = layerName(op);
    layer.op = op->getName().stripDialect().str();
    layer.shape = type.getShape().vec();
    for (Value operand : op->getOperands()) {
      auto param = operand.getDefiningOp<nn::ParameterOp>();
      if (!param || !counted.insert(operand).second)
        continue;
      int64_t elements = cast<RankedTensorType>(param.getType()).getNumElements();
      (param.getBuffer() ? layer.buffers : layer.parameters) += elements;
    }
    layer.flops = flopsPerImage(op, layer.shape);
    summary.parameters = add(summary.parameters, layer.parameters);
    summary.buffers = add(summary.buffers, layer.buffers);
    summary.flops = add(summary.flops, layer.flops);
    if (layer.flops == kSaturated || summary.flops == kSaturated ||
        summary.parameters == kSaturated) {
      emitError(op->getLoc()) << "layer '" << layer.name
                              << "': the model's FLOPs per image or parameters exceed 2^63 - 1";
      return WalkResult::interrupt();
    }
    summary.layers.push_back(std::move(layer));
    return WalkResult::advance();
  });
  if (walk.wasInterrupted())
    return failure();
  if (failed(summarizeMemory(module, summary)))
    return failure();
  return summary;
}

void printSummary(const ModelSummary &summary, llvm::raw_ostream &os) {
  os << "model " << summary.model << "\n";
  for (const auto &[name, shape] : summary.inputs)
    os << "input " << name << " " << shapeString(shape) << "\n";
  size_t nameWidth = 5, opWidth = 2, shapeWidth = 12;
  for (const LayerSummary &l : summary.layers) {
    nameWidth = std::max(nameWidth, l.name.size());
    opWidth = std::max(opWidth, l.op.size());
    shapeWidth = std::max(shapeWidth, shapeString(l.shape).size());
  }
  auto row = [&](StringRef name, StringRef op, StringRef shape, StringRef params,
                 StringRef flops) {
    os << llvm::left_justify(name, nameWidth) << "  " << llvm::left_justify(op, opWidth) << "  "
       << llvm::left_justify(shape, shapeWidth) << "  " << llvm::right_justify(params, 12) << "  "
       << llvm::right_justify(flops, 16) << "\n";
  };
  row("layer", "op", "output shape", "params", "FLOPs/image");
  for (const LayerSummary &l : summary.layers)
    row(l.name, l.op, shapeString(l.shape), withCommas(l.parameters), withCommas(l.flops));
  row("total", "", "", withCommas(summary.parameters), withCommas(summary.flops));
  os << "parameters: " << withCommas(summary.parameters) << " trainable, "
     << withCommas(summary.buffers) << " in buffers (batch-norm statistics)\n";
  os << "FLOPs per image: " << withCommas(summary.flops) << " ("
     << llvm::format("%.3f", summary.flops / 1e9) << " GFLOPs)\n";
  const MemorySummary &m = summary.memory;
  auto mb = [](int64_t bytes) { return llvm::format("%.2f MB", bytes / 1e6); };
  os << "memory of the compiled forward pass (f32, for this machine):\n"
     << "  weights " << mb(m.weights) << ", derived from them " << mb(m.derived)
     << " (batch norm folded into the layers, weights stored for their kernels)\n"
     << "  activations " << mb(m.activationsPerSample) << " per sample + " << mb(m.fixedActivations)
     << (m.chunk > 0 ? ", batches run " + std::to_string(m.chunk) + " samples at a time"
                     : std::string(", the whole batch at once"))
     << "; the caller's inputs and outputs are not counted\n";
  for (int64_t batch : {int64_t(1), int64_t(8), int64_t(64), int64_t(256)})
    os << "  batch " << llvm::right_justify(std::to_string(batch), 4) << ": activations "
       << mb(m.activations(batch)) << ", in all " << mb(m.weights + m.derived + m.activations(batch))
       << "\n";
}

} // namespace kiln
