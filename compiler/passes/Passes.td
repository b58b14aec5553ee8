// Kiln's passes; flags are kiln-<area>-<action>.
#ifndef KILN_PASSES
#define KILN_PASSES

include "mlir/Pass/PassBase.td"

def InferShapes : Pass<"kiln-infer-shapes", "mlir::ModuleOp"> {
  let summary = "Infer the shapes of nn ops from the function inputs";
  let description = [{
    Walks each function's ops in order and sets every nn op's result type from its operands
    through the ShapeInference interface, then updates function result types and the calls to
    them. An op whose operands do not fit gets a diagnostic at its location and the pass fails.
  }];
  let dependentDialects = ["::kiln::nn::NNDialect", "::mlir::func::FuncDialect"];
}

#endif // KILN_PASSES
