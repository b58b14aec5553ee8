// The reference interpreter of the nn dialect: walks a function op by op, evaluating each nn op
// with the reference implementation and checking every tensor against the IR's type.
#include "reference/Interpreter.h"
#include "reference/Gradients.h"

#include "kiln/Dialect/NN/NNDialect.h"
#include "mlir/IR/SymbolTable.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/TypeSwitch.h"

#include <cmath>
#include <cstdio>
#include <string>

using namespace mlir;

namespace kiln::reference {
namespace {

// Calls nest at most this deep; a deeper chain is taken to be recursion.
constexpr int kMaxCallDepth = 64;

using Environment = llvm::DenseMap<Value, Tensor>;
using ResultCallback = llvm::function_ref<void(Operation *, const Tensor &)>;

std::string shapeString(llvm::ArrayRef<int64_t> shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i)
    s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

// Whether t is valid and has the rank of `type` and its extent wherever that is static.
bool fitsType(const Tensor &t, Type type) {
  auto shaped = dyn_cast<ShapedType>(type);
  if (!shaped || !t.valid())
    return false;
  if (!shaped.hasRank())
    return true;
  if (shaped.getRank() != static_cast<int64_t>(t.shape.size()))
    return false;
  for (int64_t i = 0; i < shaped.getRank(); ++i)
    if (!shaped.isDynamicDim(i) && shaped.getDimSize(i) != t.shape[i])
      return false;
  return true;
}

// A double as printf's %g writes it: "2", "2.5", "nan".
std::string numberString(double value) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%g", value);
  return buffer;
}

std::vector<int64_t> toVector(llvm::ArrayRef<int64_t> values) {
  return std::vector<int64_t>(values.begin(), values.end());
}

// Operands are looked up only after the interpreter has checked they are in the environment.
const Tensor &valueOf(const Environment &env, Value value) { return env.find(value)->second; }

const Tensor *optionalValueOf(const Environment &env, Value value) {
  return value ? &valueOf(env, value) : nullptr;
}

//===----------------------------------------------------------------------===//
// One function per op. Each returns the reference's result (Tensor{} when the operands do not
// fit, which the caller reports) or fails after emitting its own diagnostic.
//===----------------------------------------------------------------------===//

FailureOr<Tensor> evaluate(nn::ParameterOp op, const Environment &, const ParameterMap &params) {
  auto it = params.find(op.getName().str());
  if (it == params.end())
    return op.emitError() << "no value given for parameter '" << op.getName() << "'";
  if (!fitsType(it->second, op.getType()))
    return op.emitError() << "parameter '" << op.getName() << "' has shape "
                          << shapeString(it->second.shape) << " but its type is " << op.getType();
  return it->second;
}

template <typename ConvLikeOp>
ConvParams convParams(ConvLikeOp op) {
  ConvParams p;
  p.strides = toVector(op.getStrides());
  p.padding = toVector(op.getPadding());
  p.dilations = toVector(op.getDilations());
  p.groups = op.getGroupsAttr().getInt();
  return p;
}

FailureOr<Tensor> evaluate(nn::ConvOp op, const Environment &env, const ParameterMap &) {
  return conv(valueOf(env, op.getInput()), valueOf(env, op.getWeight()),
              optionalValueOf(env, op.getBias()), convParams(op));
}

template <typename PoolOp>
PoolParams poolParams(PoolOp op) {
  PoolParams p;
  p.kernel = toVector(op.getKernelSize());
  p.strides = toVector(op.getStrides());
  p.padding = toVector(op.getPadding());
  p.ceilMode = op.getCeilMode();
  return p;
}

FailureOr<Tensor> evaluate(nn::MaxPoolOp op, const Environment &env, const ParameterMap &) {
  return maxPool(valueOf(env, op.getInput()), poolParams(op));
}

FailureOr<Tensor> evaluate(nn::AvgPoolOp op, const Environment &env, const ParameterMap &) {
  PoolParams p = poolParams(op);
  p.countIncludePad = op.getCountIncludePad();
  return avgPool(valueOf(env, op.getInput()), p);
}

FailureOr<Tensor> evaluate(nn::GlobalAvgPoolOp op, const Environment &env, const ParameterMap &) {
  return globalAvgPool(valueOf(env, op.getInput()));
}

FailureOr<Tensor> evaluate(nn::GlobalMaxPoolOp op, const Environment &env, const ParameterMap &) {
  return globalMaxPool(valueOf(env, op.getInput()));
}

FailureOr<Tensor> evaluate(nn::BatchNormOp op, const Environment &env, const ParameterMap &) {
  // The forward pass of inference: running statistics, no update (momentum is unused).
  return batchNormInference(valueOf(env, op.getInput()), valueOf(env, op.getWeight()),
                            valueOf(env, op.getBias()), valueOf(env, op.getRunningMean()),
                            valueOf(env, op.getRunningVar()), op.getEpsilon().convertToDouble());
}

FailureOr<Tensor> evaluate(nn::DenseOp op, const Environment &env, const ParameterMap &) {
  return dense(valueOf(env, op.getInput()), valueOf(env, op.getWeight()),
               optionalValueOf(env, op.getBias()));
}

FailureOr<Tensor> evaluate(nn::FoldBatchNormWeightOp op, const Environment &env,
                           const ParameterMap &) {
  return foldBatchNormWeight(valueOf(env, op.getWeight()), valueOf(env, op.getBnWeight()),
                             valueOf(env, op.getRunningVar()), op.getEpsilon().convertToDouble());
}

FailureOr<Tensor> evaluate(nn::FoldBatchNormBiasOp op, const Environment &env,
                           const ParameterMap &) {
  return foldBatchNormBias(valueOf(env, op.getBnWeight()), valueOf(env, op.getBnBias()),
                           valueOf(env, op.getRunningMean()), valueOf(env, op.getRunningVar()),
                           optionalValueOf(env, op.getBias()), op.getEpsilon().convertToDouble());
}

FailureOr<Tensor> evaluate(nn::AddOp op, const Environment &env, const ParameterMap &) {
  return add(valueOf(env, op.getLhs()), valueOf(env, op.getRhs()));
}

FailureOr<Tensor> evaluate(nn::ReluOp op, const Environment &env, const ParameterMap &) {
  return relu(valueOf(env, op.getInput()));
}

FailureOr<Tensor> evaluate(nn::TanhOp op, const Environment &env, const ParameterMap &) {
  return reference::tanh(valueOf(env, op.getInput()));
}

FailureOr<Tensor> evaluate(nn::SigmoidOp op, const Environment &env, const ParameterMap &) {
  return sigmoid(valueOf(env, op.getInput()));
}

FailureOr<Tensor> evaluate(nn::BroadcastAddOp op, const Environment &env, const ParameterMap &) {
  return broadcastBinary(BinaryOp::Add, valueOf(env, op.getLhs()), valueOf(env, op.getRhs()));
}

FailureOr<Tensor> evaluate(nn::BroadcastSubOp op, const Environment &env, const ParameterMap &) {
  return broadcastBinary(BinaryOp::Sub, valueOf(env, op.getLhs()), valueOf(env, op.getRhs()));
}

FailureOr<Tensor> evaluate(nn::BroadcastMulOp op, const Environment &env, const ParameterMap &) {
  return broadcastBinary(BinaryOp::Mul, valueOf(env, op.getLhs()), valueOf(env, op.getRhs()));
}

FailureOr<Tensor> evaluate(nn::BroadcastDivOp op, const Environment &env, const ParameterMap &) {
  return broadcastBinary(BinaryOp::Div, valueOf(env, op.getLhs()), valueOf(env, op.getRhs()));
}

FailureOr<Tensor> evaluate(nn::BroadcastMaxOp op, const Environment &env, const ParameterMap &) {
  return broadcastBinary(BinaryOp::Max, valueOf(env, op.getLhs()), valueOf(env, op.getRhs()));
}

FailureOr<Tensor> evaluate(nn::BroadcastMinOp op, const Environment &env, const ParameterMap &) {
  return broadcastBinary(BinaryOp::Min, valueOf(env, op.getLhs()), valueOf(env, op.getRhs()));
}

FailureOr<Tensor> evaluate(nn::TransposeOp op, const Environment &env, const ParameterMap &) {
  return transpose(valueOf(env, op.getInput()), op.getPerm().vec());
}

FailureOr<Tensor> evaluate(nn::PadOp op, const Environment &env, const ParameterMap &) {
  return pad(valueOf(env, op.getInput()), op.getPads().vec(), op.getValue().convertToFloat());
}

FailureOr<Tensor> evaluate(nn::ConcatOp op, const Environment &env, const ParameterMap &) {
  std::vector<Tensor> inputs;
  for (Value v : op.getInputs())
    inputs.push_back(valueOf(env, v));
  return concat(inputs, static_cast<int64_t>(op.getAxis()));
}

FailureOr<Tensor> evaluate(nn::LeakyReluOp op, const Environment &env, const ParameterMap &) {
  return leakyRelu(valueOf(env, op.getInput()), op.getAlpha().convertToFloat());
}

FailureOr<Tensor> evaluate(nn::ClipOp op, const Environment &env, const ParameterMap &) {
  return clip(valueOf(env, op.getInput()), op.getMin().convertToFloat(),
              op.getMax().convertToFloat());
}

FailureOr<Tensor> evaluate(nn::FlattenOp op, const Environment &env, const ParameterMap &) {
  return flatten(valueOf(env, op.getInput()));
}

FailureOr<Tensor> evaluate(nn::SoftmaxOp op, const Environment &env, const ParameterMap &) {
  return softmax(valueOf(env, op.getInput()), op.getAxisAttr().getInt());
}

FailureOr<Tensor> evaluate(nn::LogSoftmaxOp op, const Environment &env, const ParameterMap &) {
  return logSoftmax(valueOf(env, op.getInput()), op.getAxisAttr().getInt());
}

// The labels operand as integers: integral doubles in [0, classes), checked at `op`.
FailureOr<std::vector<int64_t>> labelsOf(Operation *op, const Tensor &labelValues,
                                         int64_t classes) {
  std::vector<int64_t> labels;
  for (size_t i = 0; i < labelValues.data.size(); ++i) {
    double label = labelValues.data[i];
    // Written so that NaN fails too; the bound check comes before the cast.
    if (!(label >= 0.0 && label < static_cast<double>(classes) && std::floor(label) == label))
      return op->emitOpError() << "expects every label to be an integer in [0, " << classes
                               << "), got " << numberString(label) << " at index " << i;
    labels.push_back(static_cast<int64_t>(label));
  }
  return labels;
}

FailureOr<Tensor> evaluate(nn::SoftmaxCrossEntropyOp op, const Environment &env,
                           const ParameterMap &) {
  const Tensor &logits = valueOf(env, op.getLogits());
  const Tensor &labelValues = valueOf(env, op.getLabels());
  if (logits.shape.size() != 2 || !labelValues.valid())
    return Tensor{}; // reported by the caller with the operand shapes
  FailureOr<std::vector<int64_t>> labels = labelsOf(op, labelValues, logits.shape[1]);
  if (failed(labels))
    return failure();
  double loss = softmaxCrossEntropy(logits, *labels);
  if (std::isnan(loss))
    return Tensor{};
  Tensor result;
  result.data = {loss}; // a scalar: shape {}
  return result;
}

//===----------------------------------------------------------------------===//
// Training ops (Gradients.h)
//===----------------------------------------------------------------------===//

// The concrete shape of op's result: its type's static extents, and for each dynamic one the
// extent `known` gives (-1: unknown). At most one extent may stay unknown; it is solved from
// `numel` when that is given (≥ 0).
FailureOr<std::vector<int64_t>> resultShape(Operation *op, llvm::ArrayRef<int64_t> known,
                                            int64_t numel = -1) {
  auto type = dyn_cast<RankedTensorType>(op->getResult(0).getType());
  if (!type)
    return op->emitOpError() << "needs a ranked result type to be evaluated";
  std::vector<int64_t> shape = toVector(type.getShape());
  int64_t unknown = -1, product = 1;
  for (int64_t i = 0; i < type.getRank(); ++i) {
    if (type.isDynamicDim(i))
      shape[i] = i < static_cast<int64_t>(known.size()) ? known[i] : -1;
    if (shape[i] >= 0) {
      product *= shape[i];
    } else if (unknown >= 0 || numel < 0) {
      return op->emitOpError() << "cannot infer dimension " << i << " of its result type " << type
                               << " from its operands";
    } else {
      unknown = i;
    }
  }
  if (unknown >= 0) {
    // Left at -1 when nothing fits: the reference then rejects the shape, and the caller reports.
    if (product != 0 && numel % product == 0)
      shape[unknown] = numel / product;
  }
  return shape;
}

// Extent `i` of t, or -1 if it has no such dimension.
int64_t extent(const Tensor &t, size_t i) { return i < t.shape.size() ? t.shape[i] : -1; }

std::vector<double> hyperOf(const Environment &env, Value hyper) {
  return valueOf(env, hyper).data;
}

FailureOr<Tensor> evaluate(nn::ConvBackwardDataOp op, const Environment &env,
                           const ParameterMap &) {
  const Tensor &dy = valueOf(env, op.getOutputGrad()), &w = valueOf(env, op.getWeight());
  ConvParams p = convParams(op);
  auto shape = resultShape(op, {extent(dy, 0), extent(w, 1) * p.groups});
  if (failed(shape))
    return failure();
  return convBackwardData(dy, w, p, *shape);
}

FailureOr<Tensor> evaluate(nn::ConvBackwardFilterOp op, const Environment &env,
                           const ParameterMap &) {
  const Tensor &x = valueOf(env, op.getInput()), &dy = valueOf(env, op.getOutputGrad());
  ConvParams p = convParams(op);
  auto shape = resultShape(op, {extent(dy, 1), p.groups > 0 ? extent(x, 1) / p.groups : -1});
  if (failed(shape))
    return failure();
  return convBackwardFilter(x, dy, p, *shape);
}

FailureOr<Tensor> evaluate(nn::ReduceToChannelOp op, const Environment &env, const ParameterMap &) {
  return reduceToChannel(valueOf(env, op.getInput()));
}

FailureOr<Tensor> evaluate(nn::MaxPoolBackwardOp op, const Environment &env, const ParameterMap &) {
  return maxPoolBackward(valueOf(env, op.getInput()), valueOf(env, op.getOutputGrad()),
                         poolParams(op));
}

FailureOr<Tensor> evaluate(nn::AvgPoolBackwardOp op, const Environment &env, const ParameterMap &) {
  const Tensor &dy = valueOf(env, op.getOutputGrad());
  PoolParams p = poolParams(op);
  p.countIncludePad = op.getCountIncludePad();
  auto shape = resultShape(op, {extent(dy, 0), extent(dy, 1)});
  if (failed(shape))
    return failure();
  return avgPoolBackward(dy, p, *shape);
}

FailureOr<Tensor> evaluate(nn::GlobalAvgPoolBackwardOp op, const Environment &env,
                           const ParameterMap &) {
  const Tensor &dy = valueOf(env, op.getOutputGrad());
  auto shape = resultShape(op, {extent(dy, 0), extent(dy, 1)});
  if (failed(shape))
    return failure();
  return globalAvgPoolBackward(dy, *shape);
}

FailureOr<Tensor> evaluate(nn::GlobalMaxPoolBackwardOp op, const Environment &env,
                           const ParameterMap &) {
  return globalMaxPoolBackward(valueOf(env, op.getInput()), valueOf(env, op.getOutputGrad()));
}

FailureOr<Tensor> evaluate(nn::BatchNormTrainOp op, const Environment &env, const ParameterMap &) {
  return batchNormTrain(valueOf(env, op.getInput()), valueOf(env, op.getWeight()),
                        valueOf(env, op.getBias()), op.getEpsilon().convertToDouble());
}

FailureOr<Tensor> evaluate(nn::BatchNormTrainBackwardDataOp op, const Environment &env,
                           const ParameterMap &) {
  return batchNormTrainBackwardData(valueOf(env, op.getInput()), valueOf(env, op.getOutputGrad()),
                                    valueOf(env, op.getWeight()),
                                    op.getEpsilon().convertToDouble());
}

FailureOr<Tensor> evaluate(nn::BatchNormTrainBackwardWeightOp op, const Environment &env,
                           const ParameterMap &) {
  return batchNormTrainBackwardWeight(valueOf(env, op.getInput()), valueOf(env, op.getOutputGrad()),
                                      op.getEpsilon().convertToDouble());
}

FailureOr<Tensor> evaluate(nn::ChannelMeanOp op, const Environment &env, const ParameterMap &) {
  return channelMean(valueOf(env, op.getInput()));
}

FailureOr<Tensor> evaluate(nn::ChannelVarOp op, const Environment &env, const ParameterMap &) {
  return channelVar(valueOf(env, op.getInput()), op.getUnbiased());
}

FailureOr<Tensor> evaluate(nn::RunningUpdateOp op, const Environment &env, const ParameterMap &) {
  return runningUpdate(valueOf(env, op.getRunning()), valueOf(env, op.getBatch()),
                       op.getMomentum().convertToDouble());
}

FailureOr<Tensor> evaluate(nn::DenseBackwardDataOp op, const Environment &env,
                           const ParameterMap &) {
  return denseBackwardData(valueOf(env, op.getOutputGrad()), valueOf(env, op.getWeight()));
}

FailureOr<Tensor> evaluate(nn::DenseBackwardWeightOp op, const Environment &env,
                           const ParameterMap &) {
  return denseBackwardWeight(valueOf(env, op.getInput()), valueOf(env, op.getOutputGrad()));
}

FailureOr<Tensor> evaluate(nn::ReluBackwardOp op, const Environment &env, const ParameterMap &) {
  return reluBackward(valueOf(env, op.getValue()), valueOf(env, op.getOutputGrad()));
}

FailureOr<Tensor> evaluate(nn::TanhBackwardOp op, const Environment &env, const ParameterMap &) {
  return tanhBackward(valueOf(env, op.getValue()), valueOf(env, op.getOutputGrad()));
}

FailureOr<Tensor> evaluate(nn::SigmoidBackwardOp op, const Environment &env, const ParameterMap &) {
  return sigmoidBackward(valueOf(env, op.getValue()), valueOf(env, op.getOutputGrad()));
}

FailureOr<Tensor> evaluate(nn::SumLikeOp op, const Environment &env, const ParameterMap &) {
  return sumLike(valueOf(env, op.getInput()), valueOf(env, op.getLike()).shape,
                 op.getScale().convertToFloat());
}

FailureOr<Tensor> evaluate(nn::LeakyReluBackwardOp op, const Environment &env,
                           const ParameterMap &) {
  return leakyReluBackward(valueOf(env, op.getValue()), valueOf(env, op.getOutputGrad()),
                           op.getAlpha().convertToFloat());
}

FailureOr<Tensor> evaluate(nn::ClipBackwardOp op, const Environment &env, const ParameterMap &) {
  return clipBackward(valueOf(env, op.getValue()), valueOf(env, op.getOutputGrad()),
                      op.getMin().convertToFloat(), op.getMax().convertToFloat());
}

FailureOr<Tensor> evaluate(nn::ReshapeOp op, const Environment &env, const ParameterMap &) {
  // The batch extent carries over (flatten's gradient); one other dynamic extent is solved.
  const Tensor &x = valueOf(env, op.getInput());
  auto shape = resultShape(op, {extent(x, 0)}, x.numel());
  if (failed(shape))
    return failure();
  return reshape(x, *shape);
}

FailureOr<Tensor> evaluate(nn::SoftmaxBackwardOp op, const Environment &env, const ParameterMap &) {
  return softmaxBackward(valueOf(env, op.getOutput()), valueOf(env, op.getOutputGrad()),
                         op.getAxisAttr().getInt());
}

FailureOr<Tensor> evaluate(nn::LogSoftmaxBackwardOp op, const Environment &env,
                           const ParameterMap &) {
  return logSoftmaxBackward(valueOf(env, op.getOutput()), valueOf(env, op.getOutputGrad()),
                            op.getAxisAttr().getInt());
}

FailureOr<Tensor> evaluate(nn::SoftmaxCrossEntropyBackwardOp op, const Environment &env,
                           const ParameterMap &) {
  const Tensor &logits = valueOf(env, op.getLogits());
  const Tensor &labelValues = valueOf(env, op.getLabels());
  if (logits.shape.size() != 2 || !labelValues.valid())
    return Tensor{}; // reported by the caller with the operand shapes
  FailureOr<std::vector<int64_t>> labels = labelsOf(op, labelValues, logits.shape[1]);
  if (failed(labels))
    return failure();
  return softmaxCrossEntropyBackward(logits, *labels);
}

FailureOr<Tensor> evaluate(nn::MomentumUpdateOp op, const Environment &env, const ParameterMap &) {
  return momentumUpdate(valueOf(env, op.getVelocity()), valueOf(env, op.getGrad()),
                        valueOf(env, op.getParam()), hyperOf(env, op.getHyper()));
}

FailureOr<Tensor> evaluate(nn::SgdStepOp op, const Environment &env, const ParameterMap &) {
  return sgdStep(valueOf(env, op.getParam()), valueOf(env, op.getVelocity()),
                 hyperOf(env, op.getHyper()));
}

FailureOr<Tensor> evaluate(nn::AdamMomentOp op, const Environment &env, const ParameterMap &) {
  return adamMoment(valueOf(env, op.getMoment()), valueOf(env, op.getGrad()),
                    valueOf(env, op.getParam()), hyperOf(env, op.getHyper()), op.getSecond());
}

FailureOr<Tensor> evaluate(nn::AdamStepOp op, const Environment &env, const ParameterMap &) {
  return adamStep(valueOf(env, op.getParam()), valueOf(env, op.getFirstMoment()),
                  valueOf(env, op.getSecondMoment()), hyperOf(env, op.getHyper()));
}

//===----------------------------------------------------------------------===//
// The walk over a function
//===----------------------------------------------------------------------===//

class Interpreter {
public:
  Interpreter(const ParameterMap &params, ResultCallback onResult)
      : params(params), onResult(onResult) {}

  FailureOr<std::vector<Tensor>> run(func::FuncOp fn, llvm::ArrayRef<Tensor> inputs, int depth);

private:
  FailureOr<Tensor> evaluateNN(Operation *op, const Environment &env);
  LogicalResult evaluateCall(func::CallOp call, Environment &env, int depth);

  const ParameterMap &params;
  ResultCallback onResult;
};

FailureOr<Tensor> Interpreter::evaluateNN(Operation *op, const Environment &env) {
  return llvm::TypeSwitch<Operation *, FailureOr<Tensor>>(op)
      .Case<nn::ParameterOp, nn::ConvOp, nn::MaxPoolOp, nn::AvgPoolOp, nn::GlobalAvgPoolOp,
            nn::GlobalMaxPoolOp, nn::BatchNormOp, nn::DenseOp, nn::AddOp, nn::ReluOp, nn::TanhOp,
            nn::SigmoidOp, nn::LeakyReluOp, nn::ClipOp, nn::BroadcastAddOp, nn::BroadcastSubOp,
            nn::BroadcastMulOp, nn::BroadcastDivOp, nn::BroadcastMaxOp, nn::BroadcastMinOp,
            nn::TransposeOp, nn::PadOp, nn::ConcatOp, nn::FlattenOp, nn::SoftmaxOp, nn::LogSoftmaxOp,
            nn::SoftmaxCrossEntropyOp, nn::FoldBatchNormWeightOp, nn::FoldBatchNormBiasOp>([&](auto concrete) -> FailureOr<Tensor> {
        return evaluate(concrete, env, params);
      })
      .Case<nn::ConvBackwardDataOp, nn::ConvBackwardFilterOp, nn::ReduceToChannelOp,
            nn::MaxPoolBackwardOp, nn::AvgPoolBackwardOp, nn::GlobalAvgPoolBackwardOp,
            nn::GlobalMaxPoolBackwardOp, nn::BatchNormTrainOp, nn::BatchNormTrainBackwardDataOp,
            nn::BatchNormTrainBackwardWeightOp, nn::ChannelMeanOp, nn::ChannelVarOp,
            nn::RunningUpdateOp, nn::DenseBackwardDataOp, nn::DenseBackwardWeightOp,
            nn::ReluBackwardOp, nn::TanhBackwardOp, nn::SigmoidBackwardOp,
            nn::LeakyReluBackwardOp, nn::ClipBackwardOp, nn::SumLikeOp, nn::ReshapeOp,
            nn::SoftmaxBackwardOp, nn::LogSoftmaxBackwardOp, nn::SoftmaxCrossEntropyBackwardOp,
            nn::MomentumUpdateOp, nn::SgdStepOp, nn::AdamMomentOp, nn::AdamStepOp>(
          [&](auto concrete) -> FailureOr<Tensor> { return evaluate(concrete, env, params); })
      .Default([](Operation *other) -> FailureOr<Tensor> {
        return other->emitOpError() << "is not supported by the reference interpreter";
      });
}

LogicalResult Interpreter::evaluateCall(func::CallOp call, Environment &env, int depth) {
  auto callee = SymbolTable::lookupNearestSymbolFrom<func::FuncOp>(call, call.getCalleeAttr());
  if (!callee)
    return call.emitOpError() << "calls '" << call.getCallee()
                              << "', which is not a func.func the interpreter can find";
  std::vector<Tensor> arguments;
  for (Value operand : call.getOperands())
    arguments.push_back(valueOf(env, operand));
  FailureOr<std::vector<Tensor>> results = run(callee, arguments, depth + 1);
  if (failed(results))
    return failure(); // reported inside the callee
  if (results->size() != call.getNumResults())
    return call.emitOpError() << "expects " << call.getNumResults() << " results from '"
                              << call.getCallee() << "', got " << results->size();
  for (auto [value, tensor] : llvm::zip(call.getResults(), *results)) {
    if (!fitsType(tensor, value.getType()))
      return call.emitOpError() << "got a result of shape " << shapeString(tensor.shape)
                                << " for type " << value.getType();
    env[value] = std::move(tensor);
  }
  return success();
}

FailureOr<std::vector<Tensor>> Interpreter::run(func::FuncOp fn, llvm::ArrayRef<Tensor> inputs,
                                                int depth) {
  if (depth > kMaxCallDepth)
    return fn.emitError() << "calls nest deeper than " << kMaxCallDepth
                          << " while interpreting '" << fn.getSymName() << "'; is it recursive?";
  if (fn.isExternal())
    return fn.emitError() << "function '" << fn.getSymName() << "' has no body to interpret";
  if (!fn.getBody().hasOneBlock())
    return fn.emitError() << "the reference interpreter expects function '" << fn.getSymName()
                          << "' to have one block";
  Block &body = fn.getBody().front();
  if (inputs.size() != body.getNumArguments())
    return fn.emitError() << "function '" << fn.getSymName() << "' expects "
                          << body.getNumArguments() << " inputs, got " << inputs.size();

  Environment env;
  for (auto [index, argument] : llvm::enumerate(body.getArguments())) {
    if (!fitsType(inputs[index], argument.getType()))
      return fn.emitError() << "input #" << index << " of '" << fn.getSymName() << "' has shape "
                            << shapeString(inputs[index].shape) << " (" << inputs[index].data.size()
                            << " values) but its type is " << argument.getType();
    env[argument] = inputs[index];
  }

  for (Operation &op : body) {
    for (Value operand : op.getOperands())
      if (!env.count(operand))
        return op.emitOpError() << "uses a value the reference interpreter has not computed";
    if (auto ret = dyn_cast<func::ReturnOp>(op)) {
      std::vector<Tensor> results;
      for (Value operand : ret.getOperands())
        results.push_back(valueOf(env, operand));
      return results;
    }
    if (auto call = dyn_cast<func::CallOp>(op)) {
      if (failed(evaluateCall(call, env, depth)))
        return failure();
      continue;
    }
    if (op.getNumResults() != 1 || !op.getRegions().empty())
      return op.emitOpError() << "is not supported by the reference interpreter";
    FailureOr<Tensor> result = evaluateNN(&op, env);
    if (failed(result))
      return failure();
    if (!result->valid()) {
      InFlightDiagnostic diag = op.emitOpError()
                                << "cannot be evaluated by the reference on operands of shape";
      for (Value operand : op.getOperands())
        diag << " " << shapeString(valueOf(env, operand).shape);
      return diag;
    }
    if (!fitsType(*result, op.getResult(0).getType()))
      return op.emitOpError() << "computed a result of shape " << shapeString(result->shape)
                              << " but its type is " << op.getResult(0).getType();
    if (onResult)
      onResult(&op, *result);
    env[op.getResult(0)] = std::move(*result);
  }
  return fn.emitError() << "function '" << fn.getSymName() << "' ends without func.return";
}

} // namespace

FailureOr<std::vector<Tensor>> runFunction(func::FuncOp fn, llvm::ArrayRef<Tensor> inputs,
                                           const ParameterMap &params,
                                           ResultCallback onResult) {
  if (!fn)
    return failure();
  return Interpreter(params, onResult).run(fn, inputs, /*depth=*/0);
}

FailureOr<double> runTrainStep(func::FuncOp trainStep, llvm::ArrayRef<Tensor> inputs,
                               llvm::ArrayRef<double> hyper, ParameterMap &state,
                               ResultCallback onResult) {
  if (!trainStep)
    return failure();
  auto names = trainStep->getAttrOfType<ArrayAttr>("kiln.state_updates");
  if (!names || llvm::any_of(names, [](Attribute a) { return !isa<StringAttr>(a); }))
    return trainStep.emitError() << "'" << trainStep.getSymName()
                                 << "' has no kiln.state_updates list of state names";
  // Optimizer buffers start at zero, as PyTorch's do; only a copy of the state gets them.
  ParameterMap current = state;
  trainStep.walk([&](nn::ParameterOp p) {
    auto type = dyn_cast<RankedTensorType>(p.getType());
    if (p.getBuffer() && p.getName().starts_with("optimizer.") && type && type.hasStaticShape() &&
        !current.count(p.getName().str()))
      current[p.getName().str()] =
          Tensor{toVector(type.getShape()), std::vector<double>(type.getNumElements(), 0.0)};
  });
  std::vector<Tensor> arguments(inputs.begin(), inputs.end());
  arguments.push_back(Tensor{{static_cast<int64_t>(hyper.size())}, hyper.vec()});
  FailureOr<std::vector<Tensor>> results = runFunction(trainStep, arguments, current, onResult);
  if (failed(results))
    return failure();
  if (results->size() != names.size() + 1 || (*results)[0].data.size() != 1)
    return trainStep.emitError() << "'" << trainStep.getSymName() << "' returns " << results->size()
                                 << " values; expected the loss and " << names.size()
                                 << " state updates";
  for (auto [name, next] : llvm::zip(names, llvm::drop_begin(*results)))
    state[cast<StringAttr>(name).str()] = std::move(next);
  return (*results)[0].data[0];
}

} // namespace kiln::reference
