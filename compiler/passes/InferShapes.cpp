// kiln-infer-shapes: refine every nn op's result type from its operands, function by function.
#include "passes/Passes.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/SymbolTable.h"

namespace kiln {
#define GEN_PASS_DEF_INFERSHAPES
#include "passes/Passes.h.inc"
} // namespace kiln

using namespace mlir;

namespace {

struct InferShapesPass : kiln::impl::InferShapesBase<InferShapesPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    SymbolTable symbols(module);
    // Functions in order: a callee is defined before its callers in Kiln's output, and a call's
    // result types are refreshed from its callee once the callee is done.
    for (auto func : module.getOps<func::FuncOp>()) {
      WalkResult walk = func.walk([&](Operation *op) {
        if (auto call = dyn_cast<func::CallOp>(op)) {
          if (auto callee = symbols.lookup<func::FuncOp>(call.getCallee()))
            for (auto [result, type] :
                 llvm::zip(call.getResults(), callee.getFunctionType().getResults()))
              result.setType(type);
          return WalkResult::advance();
        }
        if (!isa<kiln::nn::ShapeInference>(op))
          return WalkResult::advance();
        return failed(kiln::nn::refineResultType(op)) ? WalkResult::interrupt()
                                                      : WalkResult::advance();
      });
      if (walk.wasInterrupted())
        return signalPassFailure();
      // The function's results follow its return values.
      if (func.isExternal())
        continue;
      auto ret = cast<func::ReturnOp>(func.getBody().back().getTerminator());
      func.setType(FunctionType::get(&getContext(), func.getArgumentTypes(),
                                     ret.getOperandTypes()));
    }
  }
};

} // namespace
