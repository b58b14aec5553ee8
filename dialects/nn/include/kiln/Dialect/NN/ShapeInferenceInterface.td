// Shape inference as an op interface: each nn op computes its result type from its operands.
#ifndef KILN_NN_SHAPE_INFERENCE_INTERFACE
#define KILN_NN_SHAPE_INFERENCE_INTERFACE

include "mlir/IR/OpBase.td"

def ShapeInferenceOpInterface : OpInterface<"ShapeInference"> {
  let description = [{
    An op whose single result type follows from its operand types and attributes. The output-size
    formulas live with the ops (NNOps.cpp, ShapeFormulas.cpp); the `kiln-infer-shapes` pass only
    walks a worklist, and the verifier checks that a ranked result agrees with the inferred one.
  }];
  let cppNamespace = "::kiln::nn";

  let methods = [
    InterfaceMethod<[{
        Computes the result type from the operand types. Emits an error at the op and fails when
        the operands do not fit; returns an unranked tensor type when an operand is still unranked.
      }],
      "::mlir::FailureOr<::mlir::TensorType>", "inferResultType">
  ];

  let verify = [{ return ::kiln::nn::verifyInferredResultType($_op); }];
}

#endif // KILN_NN_SHAPE_INFERENCE_INTERFACE
