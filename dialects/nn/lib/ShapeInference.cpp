// The ShapeInference interface's shared parts: the verifier and result-type refinement.
#include "kiln/Dialect/NN/NNDialect.h"

#include "kiln/Dialect/NN/ShapeFormulas.h"

using namespace mlir;

#include "kiln/Dialect/NN/ShapeInferenceInterface.cpp.inc"

namespace kiln::nn {

static bool allOperandsRanked(Operation *op) {
  return llvm::all_of(op->getOperandTypes(), [](Type t) { return isa<RankedTensorType>(t); });
}

// A result type someone wrote (ranked) must be the inferred one.
static LogicalResult checkWrittenResultType(Operation *op, TensorType inferred) {
  auto actual = dyn_cast<RankedTensorType>(op->getResult(0).getType());
  if (!actual || Type(actual) == Type(inferred))
    return success();
  return op->emitOpError() << "expects result type " << inferred
                           << " (inferred from the operands), got " << actual;
}

LogicalResult verifyInferredResultType(Operation *op) {
  if (!allOperandsRanked(op))
    return success(); // nothing to check until shapes are inferred
  FailureOr<TensorType> inferred = cast<ShapeInference>(op).inferResultType();
  if (failed(inferred))
    return failure();
  return checkWrittenResultType(op, *inferred);
}

LogicalResult refineResultType(Operation *op) {
  FailureOr<TensorType> inferred = cast<ShapeInference>(op).inferResultType();
  if (failed(inferred))
    return failure();
  // An operand still unranked gives an unranked type: keep whatever result type is written.
  if (!isa<RankedTensorType>(*inferred))
    return success();
  if (failed(checkWrittenResultType(op, *inferred)))
    return failure();
  op->getResult(0).setType(*inferred);
  return success();
}

} // namespace kiln::nn
