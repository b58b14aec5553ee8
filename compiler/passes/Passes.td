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

def FormKernels : Pass<"kiln-form-kernels", "mlir::ModuleOp"> {
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

def FoldBatchNorm : Pass<"kiln-fold-batch-norm", "mlir::ModuleOp"> {
  let summary = "Fold inference batch norm into the convolution or dense layer before it";
  let description = [{
    `nn.batch_norm` (inference: running statistics) whose input is an `nn.conv` or `nn.dense`
    used by nothing else becomes that layer with a folded weight and bias:
    w' = w·γ/√(var + ε) per output channel (`nn.fold_batch_norm_weight`) and
    b' = β + (b − mean)·γ/√(var + ε) (`nn.fold_batch_norm_bias`). The folding ops read only
    parameters, so a library computes them when its weights are loaded or trained (a user's own
    safetensors are folded too), never in the forward pass. Training-mode batch norm
    (`nn.batch_norm_train`, in @train_step and @forward_train) is left alone.
  }];
  let dependentDialects = ["::kiln::nn::NNDialect"];
}

def FuseConvEpilogue : Pass<"kiln-fuse-conv-epilogue", "mlir::ModuleOp"> {
  let summary = "Fuse elementwise consumers into the kernel of a convolution or dense layer";
  let description = [{
    A kernel anchored by a convolution or dense layer (FusionAnchor) absorbs the chain of
    single-op elementwise kernels (Elementwise: activation, residual add, the activation after
    the add) that consume its result and nothing else does: code generation computes them in
    the anchor's output tiles, and the intermediate tensors are never stored. A residual add's
    other operand becomes an input of the fused kernel, which takes the place of the last kernel
    it absorbed.
  }];
  let dependentDialects = ["::kiln::kernel::KernelDialect"];
}

def FuseConvPool : Pass<"kiln-fuse-conv-pool", "mlir::ModuleOp"> {
  let summary = "Fuse a pooling into the kernel of the convolution it consumes";
  let description = [{
    A kernel anchored by a convolution (with its epilogue) whose result only a pooling kernel
    reads absorbs that pooling when the windows tile the input (stride = window, no padding,
    as LeNet's 2×2 average pooling): the pooled tile's convolution rows are computed where the
    pooling needs them and never stored. Overlapping windows (ResNet's 3×3 stride-2 max pool)
    would have the fused kernel compute convolution rows twice and are left as kernels.
  }];
  let dependentDialects = ["::kiln::kernel::KernelDialect"];
}

def FoldViews : Pass<"kiln-fold-views", "mlir::ModuleOp"> {
  let summary = "Turn flatten and reshape kernels into views of their operand's buffer";
  let description = [{
    A kernel holding only a View op (flatten, reshape), whose operand another kernel computes
    and whose result the function does not return, is replaced by the bare op at function
    level: the library describes the operand's buffer with the new shape, with no kernel and no
    copy. Views of the function's inputs or parameters, and views it returns, stay kernels (a
    copy into the caller's tensor). Not run for GPU targets, whose buffers never alias.
  }];
  let dependentDialects = ["::kiln::kernel::KernelDialect"];
}

def ChooseLayouts : Pass<"kiln-choose-layouts", "mlir::ModuleOp"> {
  let summary = "Keep convolution chains channels-innermost (NHWC) on CPUs";
  let description = [{
    Writes each kernel's result layout and the layouts it reads its operands in (its
    #kernel.schedule's `layout` and `input_layouts`). A 2-D convolution kernel whose output
    channels fill whole vectors stores its result channels-innermost ([0, 2, 3, 1]: NHWC) when
    every reader is a kernel whose ops handle that layout (ChannelsLast: convolution, pooling,
    elementwise epilogues); poolings and elementwise kernels keep the layout of their input on
    the same condition; everything else, and whatever a function returns or views, is stored in
    the tensor's own order, so the model's inputs and outputs are NCHW. A channels-innermost
    convolution reads its weight with the output channels innermost ([2, 3, 1, 0]): a weight
    computed by a prepare kernel (batch norm folded in) is written that way; a parameter gets a
    relayout kernel of its own (a kernel with no op: a copy into the layout), which the library
    runs when the weights change. GPU targets, and functions that update the model's state (a
    training step), keep every tensor in its own order.
  }];
  let options = [
    Option<"gpu", "gpu", "bool", /*default=*/"false", "The target is a GPU: no layout changes">,
    Option<"splitWideFma", "split-wide-fma", "bool", /*default=*/"false",
           "The target's widest FMAs run at the FLOP rate of half-width ones (AMD Zen 4): "
           "channels that do not fill them are computed in 8-lane vectors">
  ];
  let dependentDialects = ["::kiln::kernel::KernelDialect"];
}

def ChooseSchedules : Pass<"kiln-choose-schedules", "mlir::ModuleOp"> {
  let summary = "Choose each kernel's schedule for the target: anchor tiles and layouts";
  let description = [{
    Completes every kernel.fused's #kernel.schedule from its anchor's shape and the vector
    width kiln-form-kernels recorded: the output tile of a convolution (x positions × output
    channels, sized so its accumulators stay in registers) and of a dense layer. Code generation
    reads it; a kernel without a tile gets its op's default schedule.
  }];
  let options = [
    Option<"gpu", "gpu", "bool", /*default=*/"false",
           "The target is a GPU: one thread per output element, no CPU tiles">,
    Option<"targetVectorWidth", "target-vector-width", "int64_t", /*default=*/"16",
           "f32 lanes of the target's widest vectors (how many registers a tile may use)">,
    Option<"splitWideFma", "split-wide-fma", "bool", /*default=*/"false",
           "The target's widest FMAs run at the FLOP rate of half-width ones (AMD Zen 4): "
           "channels-inner tiles as measured there; elsewhere wider tiles of fewer channels">
  ];
  let dependentDialects = ["::kiln::kernel::KernelDialect"];
}

def PlanBuffers : Pass<"kiln-plan-buffers", "mlir::ModuleOp"> {
  let summary = "Assign kernel results to reusable buffers by liveness; mark derived kernels";
  let description = [{
    In each function of kernels, in program order:
    - a kernel whose operands are all parameters or derived results, in a function that does
      not update the model's state (no `kiln.state_updates`), is derived (`kiln.derived`): the
      library computes it when the state changes and keeps its result, with no buffer here;
    - every other kernel result that the function does not return gets `kiln.slot`, a buffer
      shared with results whose lifetimes do not overlap: a buffer whose last reader has run is
      reused by the next result of the same kind (scaling with the batch or not), the best fit
      first, else the largest free one grows; a view (flatten, reshape) takes its operand's
      buffer, which then lives until the view's last reader has run.
    The function's `kiln.slot_elements` holds each buffer's f32 elements (per sample where
    `kiln.slot_batched` is 1). With share=false (GPU targets) no buffer is shared.
    On CPUs an inference function (no state updates) whose ops all compute each sample alone
    gets `kiln.chunk`: the library runs its batch in chunks of that many samples, whose
    activations fit in 4 MiB (cache) but at least 8, so weights are reused across them.
  }];
  let options = [
    Option<"share", "share", "bool", /*default=*/"true",
           "Share buffers between results whose lifetimes do not overlap">
  ];
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
