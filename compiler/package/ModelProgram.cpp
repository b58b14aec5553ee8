// Reads @forward (after kiln-form-kernels) into the ModelProgram the driver is generated from,
// and plans the activation buffers.
#include "package/ModelProgram.h"
#include "package/InitialWeights.h"

#include "driver/Summary.h"

#include "kiln/Dialect/NN/NNDialect.h"
#include "mlir/IR/BuiltinOps.h"

#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/DenseSet.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/StringSet.h"

#include <algorithm>
#include <climits>

using namespace mlir;

namespace kiln::package {

namespace {

bool isCKeyword(llvm::StringRef word) {
  static const llvm::StringSet<> keywords = {
      "auto",     "break",    "case",     "char",   "const",    "continue", "default",
      "do",       "double",   "else",     "enum",   "extern",   "float",    "for",
      "goto",     "if",       "inline",   "int",    "long",     "register", "restrict",
      "return",   "short",    "signed",   "sizeof", "static",   "struct",   "switch",
      "typedef",  "union",    "unsigned", "void",   "volatile", "while",    "bool",
      "true",     "false",    "class",    "delete", "new",      "operator", "private",
      "public",   "template", "this",     "throw",  "try",      "virtual",  "namespace",
      "using"};
  // Identifiers of the generated driver that a model, input or output name would shadow.
  static const llvm::StringSet<> driverNames = {
      "model",       "batch",    "error",    "failed",          "status",
      "count",       "describe", "allocate", "release_device",  "prepare_activations",
      "parameters",  "slots",    "activations", "load_weights", "initialize_weights",
      "descriptor",  "input_descs", "output_descs", "memset",   "memcpy",
      "free",        "calloc",   "posix_memalign", "labels",  "optimizer",
      "loss",        "defaults", "value",    "index",           "state"};
  return keywords.contains(word) || driverNames.contains(word) || word.starts_with("generic_");
}

// The first name a location carries (NameLoc, possibly inside a FusedLoc or CallSiteLoc).
std::string nameFromLoc(Location loc) {
  if (auto named = dyn_cast<NameLoc>(loc))
    return named.getName().str();
  if (auto fused = dyn_cast<FusedLoc>(loc))
    for (Location inner : fused.getLocations()) {
      std::string name = nameFromLoc(inner);
      if (!name.empty())
        return name;
    }
  if (auto callSite = dyn_cast<CallSiteLoc>(loc))
    return nameFromLoc(callSite.getCallee());
  return "";
}

// The shape with the dynamic batch as kBatch; fails unless only dimension 0 is dynamic and the
// elements are f32 (or, where `element` is given, i64, which it then receives).
FailureOr<std::vector<int64_t>> apiShape(Type type, Location loc, llvm::StringRef what,
                                         ElementType *element = nullptr) {
  auto tensor = dyn_cast<RankedTensorType>(type);
  bool isI64 = tensor && tensor.getElementType().isSignlessInteger(64);
  if (!tensor || !(tensor.getElementType().isF32() || (element && isI64)))
    return emitError(loc) << what << " has type " << type << "; the library supports ranked f32 "
                          << (element ? "(and i64 label) " : "") << "tensors only";
  if (element)
    *element = isI64 ? ElementType::I64 : ElementType::F32;
  std::vector<int64_t> shape = tensor.getShape().vec();
  for (auto [i, extent] : llvm::enumerate(shape)) {
    if (ShapedType::isDynamic(extent)) {
      if (i != 0)
        return emitError(loc) << what << " has type " << type
                              << "; only the batch (dimension 0) may be dynamic";
      extent = kBatch;
    } else if (extent > INT32_MAX) {
      return emitError(loc) << what << " has type " << type << "; extent " << extent
                            << " does not fit a 32-bit index";
    }
  }
  return shape;
}

// The symbol of a kernel: <model>_<infix><name>, unless that collides with the API
// (<model>_create, ...), the library's other objects (<model>_driver.o, ...), another kernel
// or the symbols Halide adds per kernel (<symbol>_argv, <symbol>_metadata): then a "_kernel"
// suffix (and a number) is added.
std::string kernelSymbol(llvm::StringRef model, llvm::StringRef infix, llvm::StringRef name,
                         llvm::StringSet<> &used) {
  std::string base = model.str() + "_" + infix.str() + cIdentifier(name);
  llvm::StringRef view(base);
  if (used.contains(base) || view.ends_with("_argv") || view.ends_with("_metadata"))
    base += "_kernel";
  std::string symbol = base;
  for (int suffix = 1; used.contains(symbol); ++suffix)
    symbol = base + std::to_string(suffix);
  used.insert(symbol);
  return symbol;
}

// The outputs of @forward that the model's loss reads as the logits of its softmax
// cross-entropy: they are named "logits", as the loss op names that operand.
llvm::DenseSet<unsigned> logitsOutputs(func::FuncOp forward) {
  llvm::DenseSet<unsigned> outputs;
  auto module = forward->getParentOfType<ModuleOp>();
  if (!module)
    return outputs;
  module.walk([&](func::CallOp call) {
    if (call.getCallee() != forward.getSymName())
      return;
    for (OpResult result : call->getResults())
      for (OpOperand &use : result.getUses()) {
        // The loss may sit in a kernel of its own (the pipeline lowers @loss too).
        OpOperand *reader = &use;
        if (auto kernel = dyn_cast<kernel::FusedOp>(use.getOwner())) {
          Value arg = kernel.getBody().getArgument(use.getOperandNumber());
          for (OpOperand &inner : arg.getUses())
            if (isa<nn::SoftmaxCrossEntropyOp>(inner.getOwner()))
              reader = &inner;
        }
        if (isa<nn::SoftmaxCrossEntropyOp>(reader->getOwner()) && reader->getOperandNumber() == 0)
          outputs.insert(result.getResultNumber());
      }
  });
  return outputs;
}

// Makes names unique C identifiers ("x", "x_1", ...).
void uniquify(std::vector<IOTensor> &tensors, llvm::StringSet<> &used) {
  for (IOTensor &tensor : tensors) {
    std::string name = tensor.name;
    for (int suffix = 1; !used.insert(name).second; ++suffix)
      name = tensor.name + "_" + std::to_string(suffix);
    tensor.name = name;
  }
}

} // namespace

llvm::StringSet<> apiSymbols(llvm::StringRef model) {
  llvm::StringSet<> symbols;
  for (llvm::StringRef suffix : {"create", "forward", "save", "destroy", "descriptor",
                                 "halide_runtime", "driver", "export", "train_step",
                                 "step_count", "set_training", "is_training"})
    symbols.insert(model.str() + "_" + suffix.str());
  return symbols;
}

std::string cIdentifier(llvm::StringRef name) {
  std::string out;
  for (char c : name)
    out += std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
  if (out.empty() || std::isdigit(static_cast<unsigned char>(out[0])))
    out = "t_" + out;
  if (isCKeyword(out))
    out += "_";
  return out;
}

int64_t elementsPerSample(const std::vector<int64_t> &shape) {
  int64_t product = 1;
  for (int64_t extent : shape)
    if (extent != kBatch && __builtin_mul_overflow(product, extent, &product))
      return -1;
  return product;
}

const std::vector<int64_t> &ModelProgram::shapeOf(ValueRef ref) const {
  switch (ref.kind) {
  case ValueRef::Kind::Input:
    return inputs[ref.index].shape;
  case ValueRef::Kind::Parameter:
    return parameters[ref.index].shape;
  case ValueRef::Kind::Activation:
    return activations[ref.index].shape;
  case ValueRef::Kind::Derived:
    return derived[ref.index].shape;
  case ValueRef::Kind::Output:
    break;
  }
  return outputs[ref.index].shape;
}

std::vector<const KernelCall *> ModelProgram::allKernels() const {
  std::vector<const KernelCall *> all;
  for (const KernelCall &call : prepare)
    all.push_back(&call);
  for (const KernelCall &call : kernels)
    all.push_back(&call);
  return all;
}

FailureOr<ModelProgram> analyzeProgram(func::FuncOp forward, llvm::StringRef modelName,
                                       const AnalyzeOptions &options) {
  bool gpu = options.gpu;
  if (forward.isExternal() || !forward.getBody().hasOneBlock())
    return forward.emitError() << "@" << forward.getSymName()
                               << " must have a body of one block to be packaged";
  llvm::StringSet<> localSymbols = apiSymbols(modelName);
  llvm::StringSet<> &usedSymbols = options.usedSymbols ? *options.usedSymbols : localSymbols;
  ModelProgram program;
  program.name = modelName.str();
  llvm::DenseMap<Value, ValueRef> values;

  for (BlockArgument arg : forward.getArguments()) {
    std::string name = nameFromLoc(arg.getLoc());
    if (name.empty())
      name = forward.getNumArguments() == 1 ? std::string("input")
                                            : "input" + std::to_string(arg.getArgNumber());
    ElementType element = ElementType::F32;
    FailureOr<std::vector<int64_t>> shape =
        apiShape(arg.getType(), arg.getLoc(), "input '" + name + "'",
                 options.training ? &element : nullptr);
    if (failed(shape))
      return failure();
    if (!shape->empty() && (*shape)[0] == kBatch)
      program.dynamicBatch = true;
    values[arg] = {ValueRef::Kind::Input, static_cast<unsigned>(program.inputs.size())};
    program.inputs.push_back({cIdentifier(name), *shape, element});
  }

  auto returnOp = cast<func::ReturnOp>(forward.getBody().front().getTerminator());
  llvm::DenseMap<Value, unsigned> writtenOutput; // kernel results written into an output
  llvm::DenseSet<unsigned> logits = logitsOutputs(forward);
  for (auto [i, value] : llvm::enumerate(returnOp.getOperands())) {
    Operation *def = value.getDefiningOp();
    // The layer that computes it, or the input it returns.
    std::string name = logits.contains(i) ? "logits" : nameFromLoc(value.getLoc());
    // A fused kernel's result is its last layer's (conv1+conv1.tanh+pool1 computes pool1).
    if (auto fused = dyn_cast_or_null<kernel::FusedOp>(def); fused && !logits.contains(i) &&
                                                             !fused.getLayers().empty())
      name = cast<StringAttr>(fused.getLayers()[fused.getLayers().size() - 1]).str();
    if (name.empty())
      name = returnOp.getNumOperands() == 1 ? "output" : "output" + std::to_string(i);
    FailureOr<std::vector<int64_t>> shape =
        apiShape(value.getType(), returnOp.getLoc(), "output '" + name + "'");
    if (failed(shape))
      return failure();
    if (!shape->empty() && (*shape)[0] == kBatch && !program.dynamicBatch)
      return returnOp.emitError() << "output '" << name
                                  << "' has a dynamic batch but no input has one";
    program.outputs.push_back({cIdentifier(name), *shape});
    if (isa_and_nonnull<kernel::FusedOp>(def) && !writtenOutput.count(value))
      writtenOutput[value] = static_cast<unsigned>(i);
    else
      program.copies.push_back({static_cast<unsigned>(i), {ValueRef::Kind::Input, 0}});
  }
  llvm::StringSet<> usedNames;
  uniquify(program.inputs, usedNames);
  uniquify(program.outputs, usedNames);

  llvm::StringMap<unsigned> parameterIndex;
  for (Operation &op : forward.getBody().front().without_terminator()) {
    if (auto parameter = dyn_cast<nn::ParameterOp>(op)) {
      FailureOr<std::vector<int64_t>> shape = apiShape(
          parameter.getType(), parameter.getLoc(), "parameter '" + parameter.getName().str() + "'");
      if (failed(shape))
        return failure();
      if (llvm::is_contained(*shape, kBatch))
        return parameter.emitError() << "parameter '" << parameter.getName()
                                     << "' must have a static shape";
      unsigned next = static_cast<unsigned>(program.parameters.size());
      auto [it, inserted] = parameterIndex.try_emplace(parameter.getName(), next);
      if (inserted) {
        Parameter p;
        p.name = parameter.getName().str();
        p.shape = *shape;
        p.buffer = parameter.getBuffer();
        p.init = defaultInit(parameter);
        p.stream = program.parameters.size();
        program.parameters.push_back(std::move(p));
      } else if (program.parameters[it->second].shape != *shape) {
        return parameter.emitError() << "parameter '" << parameter.getName()
                                     << "' is declared twice with different shapes";
      }
      values[parameter.getResult()] = {ValueRef::Kind::Parameter, it->second};
      continue;
    }
    if (nn::isView(&op) && op.getNumOperands() == 1 && op.getNumResults() == 1) {
      // kiln-fold-views: the operand's buffer under another shape.
      ValueRef source = values.lookup(op.getOperand(0));
      if (!values.count(op.getOperand(0)) || source.kind != ValueRef::Kind::Activation)
        return op.emitError() << "'" << op.getName()
                              << "' views a value no kernel computes; the library can only "
                                 "view kernel results";
      FailureOr<std::vector<int64_t>> shape =
          apiShape(op.getResult(0).getType(), op.getLoc(), "the view");
      if (failed(shape))
        return failure();
      if (!program.activations[source.index].layout.empty())
        return op.emitError() << "'" << op.getName()
                              << "' views a value stored in a layout of its own";
      Activation view{*shape, program.activations[source.index].slot,
                      static_cast<int>(source.index), {}};
      values[op.getResult(0)] = {ValueRef::Kind::Activation,
                                 static_cast<unsigned>(program.activations.size())};
      program.activations.push_back(view);
      continue;
    }
    auto fused = dyn_cast<kernel::FusedOp>(op);
    if (!fused)
      return op.emitError() << "'" << op.getName()
                            << "' is outside any kernel; the library can only call kernels "
                               "(run kiln-form-kernels first)";
    if (fused->getNumResults() != 1)
      return fused.emitOpError() << "has " << fused->getNumResults()
                                 << " results; the library supports kernels with one output";
    KernelCall call;
    call.op = fused;
    call.name = fused.getName().str();
    call.symbol = kernelSymbol(program.name, options.symbolInfix, call.name, usedSymbols);
    for (Attribute layer : fused.getLayers())
      call.layers += (call.layers.empty() ? "" : "+") + cast<StringAttr>(layer).str();
    fused.getBody().walk([&](Operation *inner) {
      if (nn::isFusionAnchor(inner))
        call.flops += static_cast<double>(flopsPerImage(
            inner, cast<RankedTensorType>(inner->getResult(0).getType()).getShape()));
    });
    for (Value operand : fused.getInputs())
      call.operands.push_back(values.lookup(operand));
    Value result = fused->getResult(0);
    auto output = writtenOutput.find(result);
    // kiln-plan-buffers marked it: computed from parameters alone, kept between calls.
    if (fused->hasAttr("kiln.derived") && output == writtenOutput.end()) {
      FailureOr<std::vector<int64_t>> shape =
          apiShape(result.getType(), fused.getLoc(), "the result of kernel '" + call.name + "'");
      if (failed(shape))
        return failure();
      call.result = {ValueRef::Kind::Derived, static_cast<unsigned>(program.derived.size())};
      program.derived.push_back({*shape, fused.getSchedule().getLayout().vec()});
      values[result] = call.result;
      program.prepare.push_back(std::move(call));
      continue;
    }
    if (output != writtenOutput.end()) {
      if (!fused.getSchedule().getLayout().empty())
        return fused.emitOpError() << "writes a model output in a layout of its own; outputs are "
                                      "stored in the tensor's order";
      call.result = {ValueRef::Kind::Output, output->second};
    } else {
      FailureOr<std::vector<int64_t>> shape =
          apiShape(result.getType(), fused.getLoc(), "the result of kernel '" + call.name + "'");
      if (failed(shape))
        return failure();
      if (!shape->empty() && (*shape)[0] == kBatch && !program.dynamicBatch)
        return fused.emitOpError() << "has a dynamic batch but no input has one";
      call.result = {ValueRef::Kind::Activation, static_cast<unsigned>(program.activations.size())};
      std::vector<int64_t> layout = fused.getSchedule().getLayout().vec();
      if (!layout.empty() && !shape->empty() && (*shape)[0] == kBatch && layout[0] != 0)
        return fused.emitOpError() << "stores its batched result with the batch not outermost; "
                                      "the library runs the batch in chunks";
      auto slot = fused->getAttrOfType<IntegerAttr>("kiln.slot");
      if (!slot)
        return fused.emitOpError() << "has no buffer (kiln.slot): run kiln-plan-buffers";
      program.activations.push_back(
          {*shape, static_cast<unsigned>(slot.getInt()), -1, layout});
    }
    values[result] = call.result;
    program.kernels.push_back(std::move(call));
  }
  for (OutputCopy &copy : program.copies)
    copy.source = values.lookup(returnOp.getOperand(copy.output));

  // Halide (without large_buffers) indexes with int32 and limits a buffer to 2^31 - 1 bytes.
  constexpr int64_t kMaxBytes = INT32_MAX;
  program.maxBatch = INT32_MAX;
  auto limit = [&](const std::vector<int64_t> &shape, Location loc,
                   llvm::StringRef what) -> LogicalResult {
    int64_t elements = elementsPerSample(shape);
    if (elements < 0 || elements > kMaxBytes / 4)
      return emitError(loc) << what << " has "
                            << (elements < 0 ? "too many" : std::to_string(elements))
                            << " elements per sample; the library supports at most "
                            << kMaxBytes / 4;
    if (!shape.empty() && shape[0] == kBatch && elements > 0)
      program.maxBatch = std::min(program.maxBatch, kMaxBytes / (4 * elements));
    return success();
  };
  for (const IOTensor &t : program.inputs)
    if (failed(limit(t.shape, forward.getLoc(), "input '" + t.name + "'")))
      return failure();
  for (const IOTensor &t : program.outputs)
    if (failed(limit(t.shape, returnOp.getLoc(), "output '" + t.name + "'")))
      return failure();
  for (const Parameter &p : program.parameters)
    if (failed(limit(p.shape, forward.getLoc(), "parameter '" + p.name + "'")))
      return failure();
  for (KernelCall &call : program.kernels)
    if (call.result.kind == ValueRef::Kind::Activation &&
        failed(limit(program.activations[call.result.index].shape, call.op.getLoc(),
                     "the result of kernel '" + call.name + "'")))
      return failure();

  // The buffers kiln-plan-buffers planned.
  auto elements = forward->getAttrOfType<DenseI64ArrayAttr>("kiln.slot_elements");
  auto batched = forward->getAttrOfType<DenseI64ArrayAttr>("kiln.slot_batched");
  // A function without kernels (it returns its inputs) has no buffers and no plan.
  bool noPlanNeeded = program.kernels.empty() && program.prepare.empty();
  if ((!elements || !batched) && noPlanNeeded)
    elements = batched = DenseI64ArrayAttr::get(forward.getContext(), {});
  if (!elements || !batched || elements.size() != batched.size())
    return forward.emitError() << "@" << forward.getSymName()
                               << " has no buffer plan (kiln.slot_elements): run kiln-plan-buffers";
  for (auto [count, scaled] : llvm::zip(elements.asArrayRef(), batched.asArrayRef()))
    program.slots.push_back(Slot{scaled != 0, count});
  for (const Activation &activation : program.activations)
    if (activation.slot >= program.slots.size())
      return forward.emitError() << "a kernel's buffer (kiln.slot = " << activation.slot
                                 << ") is not in @" << forward.getSymName() << "'s plan";
  // kiln-plan-buffers decided whether the batch runs in chunks, and of how many samples.
  if (auto chunk = forward->getAttrOfType<IntegerAttr>("kiln.chunk");
      chunk && program.dynamicBatch && !gpu && !options.training)
    program.chunkBatch = std::min<int64_t>(chunk.getInt(), program.maxBatch);
  return program;
}

} // namespace kiln::package
