// kiln-autodiff: builds @train_step from @loss (which calls @forward): the forward pass in
// training mode, the loss, the backward pass from each op's Differentiable interface, and the
// optimizer's update of every trained parameter; and, for models with batch norm,
// @forward_train, the forward pass alone in training mode.
#include "passes/Passes.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "mlir/Transforms/RegionUtils.h"

namespace kiln {
#define GEN_PASS_DEF_AUTODIFF
#include "passes/Passes.h.inc"
} // namespace kiln

using namespace mlir;
namespace nn = kiln::nn;

namespace {

// A state tensor of the model and the value that replaces it after a step.
struct StateUpdate {
  std::string name;
  Value next;
};

struct AutodiffPass : kiln::impl::AutodiffBase<AutodiffPass> {
  using AutodiffBase::AutodiffBase;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    if (optimizer != "sgd" && optimizer != "adam") {
      module.emitError() << "unknown optimizer '" << optimizer << "'; expected sgd or adam";
      return signalPassFailure();
    }
    auto loss = module.lookupSymbol<func::FuncOp>("loss");
    if (!loss || loss.isExternal()) {
      module.emitError() << "the model declares no loss to train with; add a loss declaration "
                            "(e.g. `loss SoftmaxCrossEntropy`)";
      return signalPassFailure();
    }
    if (module.lookupSymbol("train_step")) {
      module.emitError() << "the module already has a @train_step";
      return signalPassFailure();
    }
    if (failed(buildTrainStep(module, loss)) || failed(buildTrainingForward(module)))
      return signalPassFailure();
  }

  // @forward_train: @forward in training mode, what a library's forward runs after
  // <model>_set_training(model, 1) (PyTorch's model.train()). It returns @forward's results,
  // then the next running statistics, named in `kiln.state_updates`. Built only when the modes
  // differ, i.e. @forward has batch norm; otherwise @forward serves both.
  LogicalResult buildTrainingForward(ModuleOp module) {
    auto forward = module.lookupSymbol<func::FuncOp>("forward");
    if (!forward || forward.isExternal())
      return success();
    bool hasNorm = false;
    forward.walk([&](nn::BatchNormOp) { hasNorm = true; });
    if (!hasNorm)
      return success();
    if (module.lookupSymbol("forward_train"))
      return module.emitError() << "the module already has a @forward_train";
    OpBuilder b(&getContext());
    b.setInsertionPointAfter(forward);
    auto fn = cast<func::FuncOp>(b.clone(*forward));
    fn.setSymName("forward_train");
    SmallVector<StateUpdate> updates;
    if (failed(switchToTrainingMode(b, fn, updates)))
      return failure();
    auto ret = cast<func::ReturnOp>(fn.getBody().front().getTerminator());
    SmallVector<Value> results(ret.getOperands());
    SmallVector<Attribute> names;
    for (const StateUpdate &u : updates) {
      results.push_back(u.next);
      names.push_back(b.getStringAttr(u.name));
    }
    b.setInsertionPoint(ret);
    b.create<func::ReturnOp>(ret.getLoc(), results);
    ret.erase();
    fn.setType(FunctionType::get(&getContext(), fn.getArgumentTypes(),
                                 ValueRange(results).getTypes()));
    fn->setAttr("kiln.state_updates", b.getArrayAttr(names));
    eraseDeadOps(fn);
    return success();
  }

  LogicalResult buildTrainStep(ModuleOp module, func::FuncOp loss) {
    MLIRContext *ctx = &getContext();
    OpBuilder b(ctx);
    b.setInsertionPointToEnd(module.getBody());
    auto hyperType = RankedTensorType::get({8}, Float32Type::get(ctx));
    SmallVector<Type> argTypes(loss.getArgumentTypes());
    argTypes.push_back(hyperType);
    auto step = b.create<func::FuncOp>(loss.getLoc(), "train_step",
                                       FunctionType::get(ctx, argTypes, {}));
    Block *body = step.addEntryBlock();
    b.setInsertionPointToStart(body);

    // The loss function with @forward inlined.
    IRMapping map;
    for (auto [from, to] : llvm::zip(loss.getArguments(), body->getArguments()))
      map.map(from, to);
    Value lossValue;
    for (Operation &op : loss.getBody().front()) {
      if (auto call = dyn_cast<func::CallOp>(op)) {
        auto callee = module.lookupSymbol<func::FuncOp>(call.getCallee());
        if (!callee || callee.isExternal())
          return call.emitOpError() << "calls a function the training step cannot inline";
        IRMapping inner;
        for (auto [from, to] : llvm::zip(callee.getArguments(), call.getOperands()))
          inner.map(from, map.lookup(to));
        for (Operation &calleeOp : callee.getBody().front()) {
          if (auto ret = dyn_cast<func::ReturnOp>(calleeOp)) {
            for (auto [result, value] : llvm::zip(call.getResults(), ret.getOperands()))
              map.map(result, inner.lookup(value));
            break;
          }
          b.clone(calleeOp, inner);
        }
        continue;
      }
      if (auto ret = dyn_cast<func::ReturnOp>(op)) {
        if (ret.getNumOperands() != 1)
          return ret.emitOpError() << "expects @loss to return one value, the loss";
        lossValue = map.lookup(ret.getOperand(0));
        break;
      }
      b.clone(op, map);
    }
    if (!lossValue || !lossValue.getDefiningOp<nn::Differentiable>())
      return loss.emitError() << "the loss must be computed by a differentiable nn op";

    SmallVector<StateUpdate> updates;
    if (failed(switchToTrainingMode(b, step, updates)))
      return failure();
    llvm::DenseMap<Value, Value> grads;
    if (failed(differentiate(b, step, lossValue, grads)))
      return failure();
    if (failed(addOptimizer(b, step, body->getArguments().back(), grads, updates)))
      return failure();

    SmallVector<Value> results{lossValue};
    SmallVector<Attribute> names;
    for (const StateUpdate &u : updates) {
      results.push_back(u.next);
      names.push_back(b.getStringAttr(u.name));
    }
    b.create<func::ReturnOp>(loss.getLoc(), results);
    step.setType(FunctionType::get(ctx, argTypes, ValueRange(results).getTypes()));
    step->setAttr("kiln.state_updates", b.getArrayAttr(names));
    eraseDeadOps(step);
    return success();
  }

  // Batch norm uses the batch's statistics and updates its running ones (PyTorch's rules:
  // unbiased variance in the running update).
  LogicalResult switchToTrainingMode(OpBuilder &b, func::FuncOp step,
                                     SmallVectorImpl<StateUpdate> &updates) {
    SmallVector<nn::BatchNormOp> norms;
    step.walk([&](nn::BatchNormOp bn) { norms.push_back(bn); });
    for (nn::BatchNormOp bn : norms) {
      auto mean = bn.getRunningMean().getDefiningOp<nn::ParameterOp>();
      auto var = bn.getRunningVar().getDefiningOp<nn::ParameterOp>();
      if (!mean || !var)
        return bn.emitOpError() << "needs its running statistics to be parameters to train";
      b.setInsertionPoint(bn);
      Location loc = bn.getLoc();
      auto train = b.create<nn::BatchNormTrainOp>(loc, bn.getType(), bn.getInput(),
                                                  bn.getWeight(), bn.getBias(),
                                                  bn.getEpsilonAttr());
      Type stat = bn.getRunningMean().getType();
      Value batchMean = b.create<nn::ChannelMeanOp>(loc, stat, bn.getInput());
      Value batchVar = b.create<nn::ChannelVarOp>(loc, stat, bn.getInput(), b.getBoolAttr(true));
      updates.push_back({mean.getName().str(),
                         b.create<nn::RunningUpdateOp>(loc, stat, bn.getRunningMean(), batchMean,
                                                       bn.getMomentumAttr())});
      updates.push_back({var.getName().str(),
                         b.create<nn::RunningUpdateOp>(loc, stat, bn.getRunningVar(), batchVar,
                                                       bn.getMomentumAttr())});
      bn.replaceAllUsesWith(train.getOutput());
      bn.erase();
    }
    return success();
  }

  // Reverse sweep from the loss: each op builds its operands' gradients; a value used several
  // times (the residual connection) sums its gradients.
  LogicalResult differentiate(OpBuilder &b, func::FuncOp step, Value lossValue,
                              llvm::DenseMap<Value, Value> &grads) {
    Block &body = step.getBody().front();
    b.setInsertionPointToEnd(&body);
    SmallVector<Operation *> forward;
    for (Operation &op : body)
      forward.push_back(&op);
    for (Operation *op : llvm::reverse(forward)) {
      bool isRoot = op == lossValue.getDefiningOp();
      if (op->getNumResults() != 1 || (!isRoot && !grads.count(op->getResult(0))))
        continue;
      auto differentiable = dyn_cast<nn::Differentiable>(op);
      if (!differentiable) {
        if (isa<nn::ParameterOp>(op))
          continue;
        return op->emitOpError() << "has no gradient (it does not implement Differentiable)";
      }
      SmallVector<Value> operandGrads;
      Value resultGrad = isRoot ? Value() : grads.lookup(op->getResult(0));
      if (failed(differentiable.buildGradients(b, resultGrad, operandGrads)))
        return failure();
      for (auto [operand, grad] : llvm::zip(op->getOperands(), operandGrads)) {
        if (!grad)
          continue;
        Value &slot = grads[operand];
        slot = slot ? b.create<nn::AddOp>(op->getLoc(), operand.getType(), slot, grad).getResult()
                    : grad;
      }
    }
    return success();
  }

  // One update per trained parameter; the optimizer's buffers are state named
  // "optimizer.<parameter>.<buffer>".
  LogicalResult addOptimizer(OpBuilder &b, func::FuncOp step, Value hyper,
                             llvm::DenseMap<Value, Value> &grads,
                             SmallVectorImpl<StateUpdate> &updates) {
    SmallVector<nn::ParameterOp> params;
    step.walk([&](nn::ParameterOp p) {
      if (!p.getBuffer() && grads.count(p.getResult()))
        params.push_back(p);
    });
    for (nn::ParameterOp p : params) {
      Location loc = p.getLoc();
      Type type = p.getType();
      Value grad = grads.lookup(p.getResult());
      std::string prefix = "optimizer." + p.getName().str();
      auto stateParam = [&](StringRef buffer) -> Value {
        return b.create<nn::ParameterOp>(loc, type, b.getStringAttr(prefix + "." + buffer.str()),
                                         b.getUnitAttr());
      };
      if (optimizer == "sgd") {
        Value velocity = stateParam("momentum_buffer");
        Value nextVelocity =
            b.create<nn::MomentumUpdateOp>(loc, type, velocity, grad, p.getResult(), hyper);
        Value next = b.create<nn::SgdStepOp>(loc, type, p.getResult(), nextVelocity, hyper);
        updates.push_back({p.getName().str(), next});
        updates.push_back({prefix + ".momentum_buffer", nextVelocity});
      } else {
        Value m = stateParam("exp_avg"), v = stateParam("exp_avg_sq");
        Value nextM = b.create<nn::AdamMomentOp>(loc, type, m, grad, p.getResult(), hyper,
                                                 b.getBoolAttr(false));
        Value nextV = b.create<nn::AdamMomentOp>(loc, type, v, grad, p.getResult(), hyper,
                                                 b.getBoolAttr(true));
        Value next = b.create<nn::AdamStepOp>(loc, type, p.getResult(), nextM, nextV, hyper);
        updates.push_back({p.getName().str(), next});
        updates.push_back({prefix + ".exp_avg", nextM});
        updates.push_back({prefix + ".exp_avg_sq", nextV});
      }
    }
    return success();
  }

  // Gradients nobody needs (the input image's) are dropped.
  static void eraseDeadOps(func::FuncOp step) {
    bool changed = true;
    while (changed) {
      changed = false;
      SmallVector<Operation *> dead;
      step.walk([&](Operation *op) {
        if (op->use_empty() && isOpTriviallyDead(op))
          dead.push_back(op);
      });
      for (Operation *op : dead)
        op->erase();
      changed = !dead.empty();
    }
  }
};

} // namespace
