// Automatic differentiation as an op interface: each differentiable nn op builds its own
// gradient ops; `kiln-autodiff` only walks the graph backwards and accumulates.
#ifndef KILN_NN_DIFFERENTIABLE_INTERFACE
#define KILN_NN_DIFFERENTIABLE_INTERFACE

include "mlir/IR/OpBase.td"

def DifferentiableOpInterface : OpInterface<"Differentiable"> {
  let description = [{
    An op whose operands' gradients follow from its result's gradient. The gradients are nn
    ops (so they print, verify and generate code like any other) built at the builder's
    insertion point.
  }];
  let cppNamespace = "::kiln::nn";

  let methods = [
    InterfaceMethod<[{
        Builds the gradient of each operand from `resultGrad`, the gradient of the op's result
        (null for the loss, the root of differentiation, whose gradient is 1), and appends one
        value per operand to `operandGrads`: null for an operand without a gradient (labels).
      }],
      "::mlir::LogicalResult", "buildGradients",
      (ins "::mlir::OpBuilder &":$builder, "::mlir::Value":$resultGrad,
           "::llvm::SmallVectorImpl<::mlir::Value> &":$operandGrads)>
  ];
}

#endif // KILN_NN_DIFFERENTIABLE_INTERFACE
