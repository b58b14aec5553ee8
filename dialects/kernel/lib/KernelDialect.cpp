// The kernel dialect's registration and verifiers.
#include "kiln/Dialect/Kernel/KernelDialect.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/OpImplementation.h"

using namespace mlir;
using namespace kiln::kernel;

#include "kiln/Dialect/Kernel/KernelDialect.cpp.inc"

#define GET_OP_CLASSES
#include "kiln/Dialect/Kernel/KernelOps.cpp.inc"

void KernelDialect::initialize() {
  addOperations<
#define GET_OP_LIST
#include "kiln/Dialect/Kernel/KernelOps.cpp.inc"
      >();
}

LogicalResult FusedOp::verify() {
  if (getName().empty())
    return emitOpError() << "expects a non-empty kernel name";
  Block &body = getBody().front();
  if (body.getNumArguments() != getInputs().size())
    return emitOpError() << "expects " << getInputs().size() << " region arguments, got "
                         << body.getNumArguments();
  for (auto [i, pair] : llvm::enumerate(llvm::zip(body.getArgumentTypes(), getInputs().getTypes())))
    if (std::get<0>(pair) != std::get<1>(pair))
      return emitOpError() << "region argument " << i << " has type " << std::get<0>(pair)
                           << " but input " << i << " has type " << std::get<1>(pair);
  auto yield = dyn_cast<YieldOp>(body.getTerminator());
  if (!yield)
    return emitOpError() << "expects its region to end in kernel.yield";
  if (yield.getValues().getTypes() != getOutputs().getTypes())
    return emitOpError() << "yields " << yield.getValues().getTypes().size()
                         << " value(s) whose types do not match its results";
  return success();
}
