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

FailureOr<TrainStep> analyzeTrainStep(func::FuncOp step, LibraryProgram &library, bool gpu,
                                      llvm::StringSet<> &usedSymbols) {
  const ModelProgram &forward = library.forward;
  AnalyzeOptions options;
  options.gpu = gpu;
  options.symbolInfix = "train_";
  options.usedSymbols = &usedSymbols;
  options.training = true;
  FailureOr<ModelProgram> program = analyzeProgram(step, forward.name, options);
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
  for (unsigned i = 0; i < train.numDataInputs; ++i) {
    if (p.inputs[i].shape != forward.inputs[i].shape ||
        p.inputs[i].element != ElementType::F32)
      return step.emitError() << "input " << i << " of @train_step has shape "
                              << formatShape(p.inputs[i].shape) << "; @forward's is "
                              << formatShape(forward.inputs[i].shape);
    p.inputs[i].name = forward.inputs[i].name;
  }
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
  llvm::StringMap<unsigned> stateIndex;
  for (auto [i, parameter] : llvm::enumerate(library.state))
    stateIndex[parameter.name] = static_cast<unsigned>(i);
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
  for (auto [k, attr] : llvm::enumerate(names)) {
    auto name = dyn_cast<StringAttr>(attr);
    auto found = name ? stateIndex.find(name.getValue()) : stateIndex.end();
    if (found == stateIndex.end())
      return step.emitError() << "@train_step updates " << attr
                              << ", which is no parameter or buffer it reads";
    if (library.state[found->second].shape != p.outputs[k + 1].shape)
      return step.emitError() << "@train_step's next value of '" << name.getValue()
                              << "' has shape " << formatShape(p.outputs[k + 1].shape)
                              << "; the tensor's is "
                              << formatShape(library.state[found->second].shape);
    if (llvm::is_contained(train.updateState, found->second))
      return step.emitError() << "@train_step updates '" << name.getValue() << "' twice";
    train.updateState.push_back(found->second);
  }
  train.classes = labelClasses(p);
  train.optimizer = "sgd";
  for (const KernelCall &call : p.kernels)
    kernel::FusedOp(call.op).getBody().walk([&](nn::AdamStepOp) { train.optimizer = "adam"; });
  return train;
}

FailureOr<TrainingForward> analyzeTrainingForward(func::FuncOp fn, const LibraryProgram &library,
                                                  bool gpu, llvm::StringSet<> &usedSymbols) {
  const ModelProgram &forward = library.forward;
  AnalyzeOptions options;
  options.gpu = gpu;
  options.symbolInfix = "train_forward_";
  options.usedSymbols = &usedSymbols;
  options.training = true; // batch statistics: the batch runs whole
  FailureOr<ModelProgram> program = analyzeProgram(fn, forward.name, options);
  if (failed(program))
    return failure();
  TrainingForward result;
  result.program = std::move(*program);
  ModelProgram &p = result.program;
  result.numOutputs = static_cast<unsigned>(forward.outputs.size());
  if (p.inputs.size() != forward.inputs.size() || p.outputs.size() < result.numOutputs)
    return fn.emitError() << "@forward_train must take @forward's inputs and return its results "
                             "first";
  for (size_t i = 0; i < p.inputs.size(); ++i) {
    if (p.inputs[i].shape != forward.inputs[i].shape)
      return fn.emitError() << "input " << i << " of @forward_train has shape "
                            << formatShape(p.inputs[i].shape) << "; @forward's is "
                            << formatShape(forward.inputs[i].shape);
    p.inputs[i].name = forward.inputs[i].name;
  }
  for (size_t i = 0; i < result.numOutputs; ++i) {
    if (p.outputs[i].shape != forward.outputs[i].shape)
      return fn.emitError() << "result " << i << " of @forward_train has shape "
                            << formatShape(p.outputs[i].shape) << "; @forward's is "
                            << formatShape(forward.outputs[i].shape);
    p.outputs[i].name = forward.outputs[i].name;
  }
  llvm::StringMap<unsigned> stateIndex;
  for (auto [i, parameter] : llvm::enumerate(library.state))
    stateIndex[parameter.name] = static_cast<unsigned>(i);
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
  for (auto [k, attr] : llvm::enumerate(names)) {
    auto name = dyn_cast<StringAttr>(attr);
    auto found = name ? stateIndex.find(name.getValue()) : stateIndex.end();
    const IOTensor &next = p.outputs[result.numOutputs + k];
    if (found == stateIndex.end() || library.state[found->second].shape != next.shape ||
        llvm::is_contained(result.updateState, found->second))
      return fn.emitError() << "@forward_train's update of " << attr
                            << " names no state tensor of its shape, or one updated twice";
    result.updateState.push_back(found->second);
  }
  return result;
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
  return library;
}

} // namespace kiln::package
