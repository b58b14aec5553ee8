// The ShapeInference interface's shared parts: the verifier and result-type refinement.
#include "kiln/Dialect/NN/NNDialect.h"

#include "kiln/Dialect/NN/ShapeFormulas.h"

using namespace mlir;

#include "kiln/Dialect/NN/ShapeInferenceInterface.cpp.inc"

namespace kiln::nn {

static bool allOperandsRanked(Operation *op) {
  return llvm::all_of(op->getOperandTypes(), [](Type t) { return isa<RankedTensorType>(t); });
}

LogicalResult verifyInferredResultType(Operation *op) {
  if (!allOperandsRanked(op))
    return success(); // nothing to check until shapes are inferred
  FailureOr<TensorType> inferred = cast<ShapeInference>(op).inferResultType();
  if (failed(inferred))
    return failure();
  auto actual = dyn_cast<RankedTensorType>(op->getResult(0).getType());
  if (!actual)
    return success();
  if (Type(actual) != Type(*inferred))
    return op->emitOpError() << "result type " << actual << " does not match the inferred type "
                             << *inferred;
  return success();
}

LogicalResult refineResultType(Operation *op) {
  FailureOr<TensorType> inferred = cast<ShapeInference>(op).inferResultType();
  if (failed(inferred))
    return failure();
  op->getResult(0).setType(*inferred);
  return success();
}

} // namespace kiln::nn
