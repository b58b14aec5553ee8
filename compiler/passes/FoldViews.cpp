// kiln-fold-views: flatten and reshape kernels become views of their operand's buffer.
#include "passes/KernelFusion.h"
#include "passes/Passes.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/IRMapping.h"

namespace kiln {
#define GEN_PASS_DEF_FOLDVIEWS
#include "passes/Passes.h.inc"
} // namespace kiln

using namespace mlir;

namespace {

struct FoldViewsPass : kiln::impl::FoldViewsBase<FoldViewsPass> {
  void runOnOperation() override {
    SmallVector<kiln::kernel::FusedOp> views;
    getOperation().walk([&](kiln::kernel::FusedOp kernel) {
      std::vector<Operation *> ops = kiln::bodyOps(kernel);
      if (ops.size() != 1 || !kiln::nn::isView(ops.front()) || kernel->getNumOperands() != 1)
        return;
      // The operand must be another kernel's buffer, the result no returned value.
      if (!kernel->getOperand(0).getDefiningOp<kiln::kernel::FusedOp>())
        return;
      for (Operation *user : kernel->getResult(0).getUsers())
        if (!isa<kiln::kernel::FusedOp>(user))
          return;
      views.push_back(kernel);
    });
    for (kiln::kernel::FusedOp kernel : views) {
      OpBuilder builder(kernel);
      IRMapping mapping;
      mapping.map(kernel.getBody().getArgument(0), kernel->getOperand(0));
      Operation *view = builder.clone(*kiln::bodyOps(kernel).front(), mapping);
      kernel->replaceAllUsesWith(view->getResults());
      kernel->erase();
    }
  }
};

} // namespace
