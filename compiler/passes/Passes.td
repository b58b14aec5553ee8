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

def FormKernels : Pass<"kiln-form-kernels", "mlir::func::FuncOp"> {
  let summary = "Wrap each nn op of a function in its own kernel.fused";
  let description = [{
    Turns a function of nn ops into a program of kernels: every nn op but `nn.parameter`
    becomes a `kernel.fused` whose region holds that op, named after the op's layer (its
    NameLoc) and carrying the schedule attributes code generation reads. One op per kernel:
    fusion passes, run after this one, merge kernels.
  }];
  let options = [
    Option<"vectorWidth", "vector-width", "int64_t", /*default=*/"16",
           "f32 lanes of the target's vector unit, recorded in each kernel's schedule">
  ];
  let dependentDialects = ["::kiln::kernel::KernelDialect"];
}

def Autodiff : Pass<"kiln-autodiff", "mlir::ModuleOp"> {
  let summary = "Build the training step: forward, loss, backward pass and optimizer update";
  let description = [{
    From @loss (which calls @forward) builds `@train_step(inputs..., labels, hyper)` returning
    the loss and the next value of every state tensor (trained parameters, batch-norm running
    statistics, optimizer buffers), named in its `kiln.state_updates` attribute. Batch norm
    switches to batch statistics; gradients come from each op's Differentiable interface;
    `hyper` is [lr, momentum, weight decay, β1, β2, ε, 1 − β1^t, 1 − β2^t].

    When @forward has batch norm, also builds `@forward_train(inputs...)`: @forward in training
    mode (batch statistics), returning its results and then the next running statistics
    (`kiln.state_updates`), the forward pass of a library switched to training mode.
  }];
  let options = [
    Option<"optimizer", "optimizer", "std::string", /*default=*/"\"sgd\"",
           "sgd (with momentum and weight decay) or adam">
  ];
  let dependentDialects = ["::kiln::nn::NNDialect", "::mlir::func::FuncDialect"];
}

#endif // KILN_PASSES
