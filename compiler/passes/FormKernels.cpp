// kiln-form-kernels: every nn op (but parameters) becomes a kernel.fused of its own.
#include "passes/KernelFusion.h"
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
  std::vector<std::string> names = kiln::layerNames(op->getLoc());
  std::string base = names.empty() ? op->getName().stripDialect().str() : names.front();
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
    ModuleOp module = getOperation();
    // Kernel names are unique within their function (the packager prefixes each program's).
    llvm::DenseMap<Operation *, llvm::StringSet<>> usedIn;
    SmallVector<Operation *> ops;
    module.walk([&](Operation *op) {
      if (op->getDialect() && isa<kiln::nn::NNDialect>(op->getDialect()) &&
          !isa<kiln::nn::ParameterOp>(op) && !op->getParentOfType<kiln::kernel::FusedOp>())
        ops.push_back(op);
    });
    OpBuilder builder(&getContext());
    for (Operation *op : ops) {
      llvm::StringSet<> &used = usedIn[op->getParentOfType<func::FuncOp>()];
      auto ranked = [](Type type) { return isa<RankedTensorType>(type); };
      if (!llvm::all_of(op->getOperandTypes(), ranked) ||
          !llvm::all_of(op->getResultTypes(), ranked)) {
          op->emitOpError() << "has an operand or result of unknown shape; run "
                               "kiln-infer-shapes first";
          return signalPassFailure();
        }
      builder.setInsertionPoint(op);
      auto schedule = kiln::kernel::ScheduleAttr::get(&getContext(), vectorWidth, {}, {}, {}, "");
      SmallVector<Attribute> layers;
      for (const std::string &name : kiln::layerNames(op->getLoc()))
        layers.push_back(builder.getStringAttr(name));
      auto kernel = builder.create<kiln::kernel::FusedOp>(
          op->getLoc(), op->getResultTypes(), builder.getStringAttr(kernelName(op, used)),
          op->getOperands(), builder.getArrayAttr(layers), schedule);
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
