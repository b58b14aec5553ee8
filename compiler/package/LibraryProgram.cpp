// Reads @forward and @train_step into one LibraryProgram: the two kernel programs and the state
// they share by name, so the training step updates the buffers the forward pass reads.
#include "package/LibraryProgram.h"
#include "package/Emitters.h"

#include "kiln/Dialect/NN/NNDialect.h"

#include "llvm/ADT/StringMap.h"

using namespace mlir;

namespace kiln::package {

size_t LibraryProgram::numRequired() const {
  size_t count = 0;
  while (count < state.size() && !state[count].optimizer)
    ++count;
  return count;
}

std::vector<const ModelProgram *> LibraryProgram::programs() const {
  std::vector<const ModelProgram *> all{&forward};
  if (train)
    all.push_back(&train->program);
  if (trainingForward)
    all.push_back(&trainingForward->program);
  return all;
}

namespace {

// The classes of the softmax cross-entropy whose labels the step reads: the logits' extent 1.
int64_t labelClasses(const ModelProgram &program) {
  int64_t classes = 0;
  for (const KernelCall &call : program.kernels)
    kernel::FusedOp(call.op).getBody().walk([&](nn::SoftmaxCrossEntropyOp loss) {
      auto logits = cast<RankedTensorType>(loss->getOperand(0).getType());
      if (logits.getRank() == 2 && !logits.isDynamicDim(1))
        classes = logits.getDimSize(1);
    });
  return classes;
}

// A training-mode function's program: i64 inputs accepted, the batch never run in chunks (batch
// statistics and the loss's mean need all of it), kernels named <model>_<infix><kernel>.
FailureOr<ModelProgram> analyzeTraining(func::FuncOp fn, const LibraryProgram &library, bool gpu,
                                        llvm::StringRef infix, llvm::StringSet<> &usedSymbols) {
  AnalyzeOptions options;
  options.gpu = gpu;
  options.symbolInfix = infix.str();
  options.usedSymbols = &usedSymbols;
  options.training = true;
  return analyzeProgram(fn, library.forward.name, options);
}

// The program's first inputs must be @forward's (f32, the same shapes); they take its names.
LogicalResult adoptForwardInputs(func::FuncOp fn, ModelProgram &p, const ModelProgram &forward) {
  for (size_t i = 0; i < forward.inputs.size(); ++i) {
    if (p.inputs[i].shape != forward.inputs[i].shape || p.inputs[i].element != ElementType::F32)
      return fn.emitError() << "input " << i << " of @" << fn.getSymName() << " has shape "
                            << formatShape(p.inputs[i].shape) << "; @forward's is "
                            << formatShape(forward.inputs[i].shape);
    p.inputs[i].name = forward.inputs[i].name;
  }
  return success();
}

// The index of every state tensor by name.
llvm::StringMap<unsigned> indexState(const LibraryProgram &library) {
  llvm::StringMap<unsigned> stateIndex;
  for (auto [i, parameter] : llvm::enumerate(library.state))
    stateIndex[parameter.name] = static_cast<unsigned>(i);
  return stateIndex;
}

// The state tensors the names in `names` (a kiln.state_updates attribute) update, the k-th
// name's next value being program output first + k. Each must name a state tensor of that
// output's shape, once. The caller has checked the attribute's length against the outputs.
FailureOr<std::vector<unsigned>> stateUpdates(func::FuncOp fn, const ModelProgram &p,
                                              size_t first, ArrayAttr names,
                                              const LibraryProgram &library,
                                              const llvm::StringMap<unsigned> &stateIndex) {
  std::vector<unsigned> updates;
  llvm::StringRef function = fn.getSymName();
  for (auto [k, attr] : llvm::enumerate(names)) {
    auto name = dyn_cast<StringAttr>(attr);
    auto found = name ? stateIndex.find(name.getValue()) : stateIndex.end();
    const IOTensor &next = p.outputs[first + k];
    if (found == stateIndex.end())
      return fn.emitError() << "@" << function << " updates " << attr
                            << ", which is no parameter or buffer it reads";
    if (library.state[found->second].shape != next.shape)
      return fn.emitError() << "@" << function << "'s next value of '" << name.getValue()
                            << "' has shape " << formatShape(next.shape) << "; the tensor's is "
                            << formatShape(library.state[found->second].shape);
    if (llvm::is_contained(updates, found->second))
      return fn.emitError() << "@" << function << " updates '" << name.getValue() << "' twice";
    updates.push_back(found->second);
  }
  return updates;
}

FailureOr<TrainStep> analyzeTrainStep(func::FuncOp step, LibraryProgram &library, bool gpu,
                                      llvm::StringSet<> &usedSymbols) {
  const ModelProgram &forward = library.forward;
  FailureOr<ModelProgram> program = analyzeTraining(step, library, gpu, "train_", usedSymbols);
  if (failed(program))
    return failure();
  TrainStep train;
  train.program = std::move(*program);
  ModelProgram &p = train.program;

  // Inputs: @forward's, the labels, the hyperparameters.
  size_t numInputs = p.inputs.size();
  if (numInputs != forward.inputs.size() + 2)
    return step.emitError() << "@train_step takes " << numInputs << " inputs; expected "
                            << forward.inputs.size() << " (those of @forward), the labels and "
                            << "the hyperparameters";
  train.numDataInputs = static_cast<unsigned>(forward.inputs.size());
  if (failed(adoptForwardInputs(step, p, forward)))
    return failure();
  IOTensor &labels = p.inputs[numInputs - 2], &hyper = p.inputs[numInputs - 1];
  if (labels.element != ElementType::I64 || labels.shape.size() != 1)
    return step.emitError() << "the labels of @train_step must be i64 [N] class indices, got "
                            << (labels.element == ElementType::I64 ? "i64 " : "f32 ")
                            << formatShape(labels.shape) << "; the library supports no others";
  if (hyper.element != ElementType::F32 || hyper.shape != std::vector<int64_t>{8})
    return step.emitError() << "the hyperparameters of @train_step must be f32 [8]";
  labels.name = "labels";
  hyper.name = "hyper";

  // The state: parameters by name, shared with @forward; optimizer buffers only here.
  llvm::StringMap<unsigned> stateIndex = indexState(library);
  std::vector<Parameter> optimizerState;
  std::vector<int> optimizerOf(p.parameters.size(), -1);
  for (auto [i, parameter] : llvm::enumerate(p.parameters)) {
    auto found = stateIndex.find(parameter.name);
    if (found != stateIndex.end()) {
      if (library.state[found->second].shape != parameter.shape)
        return step.emitError() << "parameter '" << parameter.name << "' has shape "
                                << formatShape(parameter.shape) << " in @train_step but "
                                << formatShape(library.state[found->second].shape)
                                << " in @forward";
      continue;
    }
    Parameter copy = parameter;
    if (llvm::StringRef(parameter.name).starts_with("optimizer.")) {
      copy.optimizer = true;
      copy.init = ParameterInit{false, 0.0f};
      optimizerOf[i] = static_cast<int>(optimizerState.size());
      optimizerState.push_back(std::move(copy));
      continue;
    }
    copy.stream = library.state.size(); // the next stream after @forward's parameters
    stateIndex[copy.name] = static_cast<unsigned>(library.state.size());
    library.state.push_back(std::move(copy));
  }
  for (auto [i, parameter] : llvm::enumerate(p.parameters)) {
    if (optimizerOf[i] < 0)
      continue;
    stateIndex[parameter.name] = static_cast<unsigned>(library.state.size());
    library.state.push_back(optimizerState[optimizerOf[i]]);
  }
  for (const Parameter &parameter : p.parameters)
    train.parameterState.push_back(stateIndex.lookup(parameter.name));

  // Outputs: the loss, then one per name in kiln.state_updates.
  auto names = step->getAttrOfType<ArrayAttr>("kiln.state_updates");
  if (!names || names.size() + 1 != p.outputs.size())
    return step.emitError() << "@train_step must return the loss and the next value of each "
                               "state tensor named in its kiln.state_updates attribute";
  if (!p.outputs[0].shape.empty())
    return step.emitError() << "the loss @train_step returns must be a scalar, got "
                            << formatShape(p.outputs[0].shape);
  FailureOr<std::vector<unsigned>> updates =
      stateUpdates(step, p, /*first=*/1, names, library, stateIndex);
  if (failed(updates))
    return failure();
  train.updateState = std::move(*updates);
  train.classes = labelClasses(p);
  train.optimizer = "sgd";
  for (const KernelCall &call : p.kernels)
    kernel::FusedOp(call.op).getBody().walk([&](nn::AdamStepOp) { train.optimizer = "adam"; });
  return train;
}

FailureOr<TrainingForward> analyzeTrainingForward(func::FuncOp fn, const LibraryProgram &library,
                                                  bool gpu, llvm::StringSet<> &usedSymbols) {
  const ModelProgram &forward = library.forward;
  FailureOr<ModelProgram> program =
      analyzeTraining(fn, library, gpu, "train_forward_", usedSymbols);
  if (failed(program))
    return failure();
  TrainingForward result;
  result.program = std::move(*program);
  ModelProgram &p = result.program;
  result.numOutputs = static_cast<unsigned>(forward.outputs.size());
  if (p.inputs.size() != forward.inputs.size() || p.outputs.size() < result.numOutputs)
    return fn.emitError() << "@forward_train must take @forward's inputs and return its results "
                             "first";
  if (failed(adoptForwardInputs(fn, p, forward)))
    return failure();
  for (size_t i = 0; i < result.numOutputs; ++i) {
    if (p.outputs[i].shape != forward.outputs[i].shape)
      return fn.emitError() << "result " << i << " of @forward_train has shape "
                            << formatShape(p.outputs[i].shape) << "; @forward's is "
                            << formatShape(forward.outputs[i].shape);
    p.outputs[i].name = forward.outputs[i].name;
  }
  llvm::StringMap<unsigned> stateIndex = indexState(library);
  for (const Parameter &parameter : p.parameters) {
    auto found = stateIndex.find(parameter.name);
    if (found == stateIndex.end() || library.state[found->second].shape != parameter.shape)
      return fn.emitError() << "@forward_train reads '" << parameter.name
                            << "', which is no state tensor of that shape";
    result.parameterState.push_back(found->second);
  }
  auto names = fn->getAttrOfType<ArrayAttr>("kiln.state_updates");
  if (!names || names.size() + result.numOutputs != p.outputs.size())
    return fn.emitError() << "@forward_train must return @forward's results and then the next "
                             "value of each state tensor named in its kiln.state_updates";
  FailureOr<std::vector<unsigned>> updates =
      stateUpdates(fn, p, result.numOutputs, names, library, stateIndex);
  if (failed(updates))
    return failure();
  result.updateState = std::move(*updates);
  return result;
}

// What determines a kernel's code: its inputs' types, its ops and its schedule, printed without
// its name and layers (ResNet-50's sixteen bottleneck blocks have four kinds of kernel).
std::string kernelKey(kernel::FusedOp kernel) {
  StringAttr name = kernel.getNameAttr();
  ArrayAttr layers = kernel.getLayersAttr();
  // The buffer plan's attributes (kiln.slot, ...) say where the result goes, not what it is.
  DictionaryAttr discardable = kernel->getDiscardableAttrDictionary();
  kernel.setName("kernel");
  kernel.setLayersAttr(ArrayAttr::get(kernel.getContext(), {}));
  kernel->setDiscardableAttrs(DictionaryAttr::get(kernel.getContext(), {}));
  std::string key;
  llvm::raw_string_ostream os(key);
  kernel->print(os, OpPrintingFlags().useLocalScope());
  kernel.setNameAttr(name);
  kernel.setLayersAttr(layers);
  kernel->setDiscardableAttrs(discardable);
  return key;
}

// Kernels whose code would be the same share the first one's symbol: one is compiled and
// linked, all call it.
void shareIdenticalKernels(LibraryProgram &library) {
  llvm::StringMap<std::string> symbolOf;
  for (ModelProgram *program : {&library.forward, library.train ? &library.train->program : nullptr,
                                library.trainingForward ? &library.trainingForward->program
                                                        : nullptr}) {
    if (!program)
      continue;
    for (std::vector<KernelCall> *calls : {&program->prepare, &program->kernels})
      for (KernelCall &call : *calls) {
        auto [it, inserted] = symbolOf.try_emplace(kernelKey(call.op), call.symbol);
        if (!inserted)
          call.symbol = it->second;
      }
  }
}

} // namespace

FailureOr<LibraryProgram> analyzeLibrary(ModuleOp module, llvm::StringRef modelName, bool gpu) {
  auto forward = module.lookupSymbol<func::FuncOp>("forward");
  if (!forward || forward.isExternal())
    return module.emitError() << "the model has no @forward function to compile";
  llvm::StringSet<> usedSymbols = apiSymbols(modelName);
  AnalyzeOptions options;
  options.gpu = gpu;
  options.usedSymbols = &usedSymbols;
  FailureOr<ModelProgram> program = analyzeProgram(forward, modelName, options);
  if (failed(program))
    return failure();
  LibraryProgram library;
  library.forward = std::move(*program);
  library.state = library.forward.parameters;
  if (auto step = module.lookupSymbol<func::FuncOp>("train_step")) {
    FailureOr<TrainStep> train = analyzeTrainStep(step, library, gpu, usedSymbols);
    if (failed(train))
      return failure();
    library.train = std::move(*train);
  }
  if (auto fn = module.lookupSymbol<func::FuncOp>("forward_train")) {
    FailureOr<TrainingForward> trainingForward =
        analyzeTrainingForward(fn, library, gpu, usedSymbols);
    if (failed(trainingForward))
      return failure();
    library.trainingForward = std::move(*trainingForward);
    if (!library.train)
      return fn.emitError() << "@forward_train needs a @train_step (the library's training API)";
    // One limit for both training-mode entry points (<MODEL>_TRAIN_MAX_BATCH).
    int64_t &step = library.train->program.maxBatch;
    int64_t &pass = library.trainingForward->program.maxBatch;
    step = pass = std::min(step, pass);
  }
  shareIdenticalKernels(library);
  return library;
}

} // namespace kiln::package
