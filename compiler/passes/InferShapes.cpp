// kiln-infer-shapes: refine every nn op's result type from its operands, across calls too.
#include "passes/Passes.h"

#include "kiln/Dialect/NN/ShapeFormulas.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/SymbolTable.h"
#include "llvm/ADT/DenseSet.h"

namespace kiln {
#define GEN_PASS_DEF_INFERSHAPES
#include "passes/Passes.h.inc"
} // namespace kiln

using namespace mlir;

namespace {

struct InferShapesPass : kiln::impl::InferShapesBase<InferShapesPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    // Entry points (functions no call names) first: every other function is then reached through
    // a call, where its unranked arguments take the types of the call's operands.
    llvm::DenseSet<Operation *> called;
    module.walk([&](func::CallOp call) {
      if (func::FuncOp callee = lookupCallee(call))
        called.insert(callee);
    });
    SmallVector<func::FuncOp> order;
    for (auto func : module.getOps<func::FuncOp>())
      if (!called.contains(func))
        order.push_back(func);
    for (auto func : module.getOps<func::FuncOp>())
      if (called.contains(func))
        order.push_back(func);
    for (func::FuncOp func : order)
      if (failed(inferFunction(func)))
        return signalPassFailure();
  }

private:
  static func::FuncOp lookupCallee(func::CallOp call) {
    return SymbolTable::lookupNearestSymbolFrom<func::FuncOp>(call, call.getCalleeAttr());
  }

  // Infers `func`'s body, then sets its result types from its returns.
  LogicalResult inferFunction(func::FuncOp func) {
    if (done.contains(func))
      return success();
    for (Type type : func.getArgumentTypes())
      if (failed(checkRank(func, type)))
        return failure();
    inProgress.insert(func);
    WalkResult walk = func.walk([&](Operation *op) {
      LogicalResult result = success();
      if (auto call = dyn_cast<func::CallOp>(op))
        result = inferCall(call);
      else if (isa<kiln::nn::ShapeInference>(op))
        result = kiln::nn::refineResultType(op);
      for (Type type : op->getResultTypes())
        if (succeeded(result))
          result = checkRank(op, type);
      return failed(result) ? WalkResult::interrupt() : WalkResult::advance();
    });
    inProgress.erase(func);
    if (walk.wasInterrupted())
      return failure();
    done.insert(func);
    if (func.isExternal())
      return success();

    std::optional<TypeRange> results;
    for (Block &block : func.getBody()) {
      auto ret = block.empty() ? func::ReturnOp() : dyn_cast<func::ReturnOp>(block.back());
      if (!ret)
        continue;
      if (results && *results != ret.getOperandTypes())
        return ret.emitOpError() << "expects the result types of the function's other returns "
                                 << *results << " after shape inference, got "
                                 << ret.getOperandTypes();
      results = ret.getOperandTypes();
    }
    if (results)
      func.setType(FunctionType::get(&getContext(), func.getArgumentTypes(), *results));
    return success();
  }

  // Tensors have at most kiln::shape::kMaxRank dimensions (the runtime's limit).
  static LogicalResult checkRank(Operation *op, Type type) {
    auto ranked = dyn_cast<RankedTensorType>(type);
    if (!ranked || ranked.getRank() <= kiln::shape::kMaxRank)
      return success();
    return op->emitOpError() << "has a tensor of rank " << ranked.getRank() << " (" << ranked
                             << "); a tensor has at most " << kiln::shape::kMaxRank
                             << " dimensions";
  }

  // Infers the callee first (its unranked arguments taking this call's operand types when it has
  // not been inferred yet), then gives the call the callee's result types.
  LogicalResult inferCall(func::CallOp call) {
    func::FuncOp callee = lookupCallee(call);
    if (!callee)
      return success(); // the verifier reports it
    // A network is a DAG; a recursive call's result types would depend on themselves.
    if (inProgress.contains(callee))
      return call.emitOpError() << "expects no recursion, but @" << callee.getSymName()
                                << " is reached again from its own body";
    if (!callee.isExternal() && !done.contains(callee))
      refineArguments(callee, call.getOperandTypes());
    if (failed(inferFunction(callee)))
      return failure();
    if (TypeRange(callee.getArgumentTypes()) != call.getOperandTypes())
      return call.emitOpError() << "expects operands of @" << callee.getSymName()
                                << "'s argument types " << callee.getArgumentTypes()
                                << " after shape inference, got " << call.getOperandTypes()
                                << " (functions are not specialized per call)";
    for (auto [result, type] : llvm::zip(call.getResults(), callee.getResultTypes()))
      result.setType(type);
    return success();
  }

  static void refineArguments(func::FuncOp callee, TypeRange operandTypes) {
    Block &entry = callee.getBody().front();
    if (entry.getNumArguments() != operandTypes.size())
      return; // the verifier reports it
    bool changed = false;
    for (auto [arg, type] : llvm::zip(entry.getArguments(), operandTypes)) {
      auto unranked = dyn_cast<UnrankedTensorType>(arg.getType());
      auto ranked = dyn_cast<RankedTensorType>(type);
      if (unranked && ranked && unranked.getElementType() == ranked.getElementType()) {
        arg.setType(type);
        changed = true;
      }
    }
    if (changed)
      callee.setType(FunctionType::get(callee.getContext(), entry.getArgumentTypes(),
                                       callee.getResultTypes()));
  }

  llvm::DenseSet<Operation *> done, inProgress;
};

} // namespace
