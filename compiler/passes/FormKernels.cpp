// kiln-form-kernels: every nn op (but parameters) becomes a kernel.fused of its own.
#include "passes/Passes.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/IRMapping.h"
#include "llvm/ADT/StringSet.h"

namespace kiln {
#define GEN_PASS_DEF_FORMKERNELS
#include "passes/Passes.h.inc"
} // namespace kiln

using namespace mlir;

namespace {

// A C-identifier-safe, unique kernel name from the op's layer name ("layer1.0.conv1" →
// "layer1_0_conv1").
std::string kernelName(Operation *op, llvm::StringSet<> &used) {
  std::string base;
  if (auto named = dyn_cast<NameLoc>(op->getLoc()))
    base = named.getName().str();
  else
    base = op->getName().stripDialect().str();
  for (char &c : base)
    if (!std::isalnum(static_cast<unsigned char>(c)))
      c = '_';
  if (base.empty() || std::isdigit(static_cast<unsigned char>(base[0])))
    base = "k_" + base;
  std::string name = base;
  for (int suffix = 1; !used.insert(name).second; ++suffix)
    name = base + "_" + std::to_string(suffix);
  return name;
}

struct FormKernelsPass : kiln::impl::FormKernelsBase<FormKernelsPass> {
  using FormKernelsBase::FormKernelsBase;

  void runOnOperation() override {
    func::FuncOp func = getOperation();
    llvm::StringSet<> used;
    SmallVector<Operation *> ops;
    func.walk([&](Operation *op) {
      if (op->getDialect() && isa<kiln::nn::NNDialect>(op->getDialect()) &&
          !isa<kiln::nn::ParameterOp>(op) && !op->getParentOfType<kiln::kernel::FusedOp>())
        ops.push_back(op);
    });
    OpBuilder builder(&getContext());
    for (Operation *op : ops) {
      auto ranked = [](Type type) { return isa<RankedTensorType>(type); };
      if (!llvm::all_of(op->getOperandTypes(), ranked) ||
          !llvm::all_of(op->getResultTypes(), ranked)) {
          op->emitOpError() << "has an operand or result of unknown shape; run "
                               "kiln-infer-shapes first";
          return signalPassFailure();
        }
      builder.setInsertionPoint(op);
      NamedAttrList schedule;
      schedule.append("vector_width", builder.getI64IntegerAttr(vectorWidth));
      auto kernel = builder.create<kiln::kernel::FusedOp>(
          op->getLoc(), op->getResultTypes(), builder.getStringAttr(kernelName(op, used)),
          op->getOperands(), schedule.getDictionary(&getContext()));
      Block *body = builder.createBlock(&kernel.getBody());
      IRMapping mapping;
      for (Value operand : op->getOperands())
        mapping.map(operand, body->addArgument(operand.getType(), op->getLoc()));
      builder.setInsertionPointToStart(body);
      Operation *clone = builder.clone(*op, mapping);
      builder.create<kiln::kernel::YieldOp>(op->getLoc(), clone->getResults());
      op->replaceAllUsesWith(kernel.getResults());
      op->erase();
    }
  }
};

} // namespace
