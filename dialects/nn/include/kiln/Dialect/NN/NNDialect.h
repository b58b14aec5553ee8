// The nn dialect: ops, the shape-inference interface and its helpers.
#ifndef KILN_DIALECT_NN_NNDIALECT_H
#define KILN_DIALECT_NN_NNDIALECT_H

#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/Dialect.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

namespace kiln::nn {
// Checks that the operands of a ShapeInference op fit and that a ranked result agrees with
// the inferred type; the interface's verifier.
mlir::LogicalResult verifyInferredResultType(mlir::Operation *op);
// Sets the result type of a ShapeInference op from its operands. Fails (with a diagnostic at
// the op) when they do not fit or when a ranked result type is written and differs; leaves the
// result type alone while an operand is still unranked.
mlir::LogicalResult refineResultType(mlir::Operation *op);
// The attributes of leaky_relu and clip (and their gradients): a finite slope; bounds that are
// not NaN (infinite is allowed: an absent bound).
mlir::LogicalResult checkLeakyReluSlope(mlir::Operation *op, llvm::APFloat alpha);
mlir::LogicalResult checkClipBounds(mlir::Operation *op, llvm::APFloat min, llvm::APFloat max);
} // namespace kiln::nn

#include "kiln/Dialect/NN/NNDialect.h.inc"
#include "kiln/Dialect/NN/ShapeInferenceInterface.h.inc"
#include "kiln/Dialect/NN/DifferentiableInterface.h.inc"
#include "kiln/Dialect/NN/FusionProperties.h"
#include "kiln/Dialect/NN/FusionProperties.h.inc"

#define GET_OP_CLASSES
#include "kiln/Dialect/NN/NNOps.h.inc"

#endif // KILN_DIALECT_NN_NNDIALECT_H
