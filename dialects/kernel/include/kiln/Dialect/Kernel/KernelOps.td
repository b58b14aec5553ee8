// The kernel dialect: a model as a program of kernels, each a region of nn ops with a schedule.
#ifndef KILN_KERNEL_OPS
#define KILN_KERNEL_OPS

include "mlir/IR/AttrTypeBase.td"
include "mlir/IR/OpBase.td"
include "mlir/IR/RegionKindInterface.td"
include "mlir/Interfaces/SideEffectInterfaces.td"

def Kernel_Dialect : Dialect {
  let name = "kernel";
  let cppNamespace = "::kiln::kernel";
  let summary = "Kernels: regions of nn ops compiled together, with schedule attributes";
  let description = [{
    After `kiln-form-kernels`, a model's function is a program: it takes the model's inputs,
    reads its parameters (`nn.parameter`) and calls kernels in order. Each `kernel.fused` holds
    the nn ops it computes in one Halide pipeline; code generation turns it into one function of
    the compiled library. `kiln-form-kernels` makes one kernel per op; the fusion passes merge
    them around anchors (convolution, dense) and `kiln-choose-schedules` writes each kernel's
    schedule for the target.
  }];
  let useDefaultAttributePrinterParser = 1;
}

def Kernel_ScheduleAttr : AttrDef<Kernel_Dialect, "Schedule"> {
  let mnemonic = "schedule";
  let summary = "how code generation computes a kernel on its target";
  let description = [{
    Written by `kiln-form-kernels` (the vector width) and `kiln-choose-schedules` (the rest),
    read by code generation.
    - `vector_width`: f32 lanes of the target's vector unit.
    - `tile`: the anchor's output tile, in the anchor's tensor-order dimensions innermost last:
      for a convolution [x positions, output channels] (its accumulators stay in registers
      through the whole reduction); empty: the op's default.
    - `layout`: the storage order of the kernel's result, as a permutation of its tensor
      dimensions from outermost to innermost ([0, 2, 3, 1] stores an NCHW tensor as NHWC);
      empty: the tensor's own order. A kernel reads each operand in the layout its producer
      wrote (`input_layouts`, one per operand, empty entries for the tensor's own order).
    - `order`: how a channels-innermost conv walks its tiles: `rows` (rows of every image in
      parallel, then channel tiles, then x tiles), `rows_xo` (x tiles outside channel tiles),
      `co_outer` (a channel tile's weights reused over every row and image: layers whose
      weights outgrow the caches; a batch of one runs channel tiles × rows in parallel);
      empty: the op's default.

    ```mlir
    #kernel.schedule<vector_width = 16, tile = [6, 64], layout = [0, 2, 3, 1],
                     input_layouts = [[0, 2, 3, 1], [], []]>
    ```
  }];
  let parameters = (ins "int64_t":$vector_width,
                        OptionalArrayRefParameter<"int64_t">:$tile,
                        OptionalArrayRefParameter<"int64_t">:$layout,
                        OptionalArrayRefParameter<"::mlir::DenseI64ArrayAttr">:$input_layouts,
                        StringRefParameter<"the anchor's tile loop order", "\"\"">:$order);
  let hasCustomAssemblyFormat = 1;
  let genVerifyDecl = 1;
}

class Kernel_Op<string mnemonic, list<Trait> traits = []> : Op<Kernel_Dialect, mnemonic, traits>;

def Kernel_FusedOp : Kernel_Op<"fused", [IsolatedFromAbove, Pure]> {
  let summary = "a kernel: nn ops computed by one generated function";
  let description = [{
    The region's arguments are the kernel's inputs (activations and parameters, in operand
    order); `kernel.yield` names its outputs. `name` becomes the kernel's symbol (prefixed by the
    model's name); `layers` lists the model's layers the kernel computes (the NameLoc of each op,
    in order); `schedule` carries the choices code generation follows for the target.

    ```mlir
    %y = kernel.fused "conv1" (%x, %w, %b) layers = ["conv1", "conv1.tanh"]
        schedule = #kernel.schedule<vector_width = 16>
        : (tensor<?x1x28x28xf32>, tensor<20x1x5x5xf32>, tensor<20xf32>) -> tensor<?x20x24x24xf32> {
    ^bb0(%a: tensor<?x1x28x28xf32>, %b: tensor<20x1x5x5xf32>, %c: tensor<20xf32>):
      %0 = nn.conv %a, %b, %c strides = [1, 1] padding = [0, 0, 0, 0] dilations = [1, 1] groups = 1
          : (tensor<?x1x28x28xf32>, tensor<20x1x5x5xf32>, tensor<20xf32>) -> tensor<?x20x24x24xf32>
      kernel.yield %0 : tensor<?x20x24x24xf32>
    }
    ```
  }];
  let arguments = (ins StrAttr:$name, Variadic<AnyRankedTensor>:$inputs, StrArrayAttr:$layers,
                       Kernel_ScheduleAttr:$schedule);
  let results = (outs Variadic<AnyRankedTensor>:$outputs);
  let regions = (region SizedRegion<1>:$body);
  let assemblyFormat = [{
    $name `(` $inputs `)` `layers` `=` $layers `schedule` `=` $schedule attr-dict
    `:` functional-type($inputs, $outputs)
    $body
  }];
  let hasVerifier = 1;
}

def Kernel_YieldOp : Kernel_Op<"yield", [Pure, Terminator, HasParent<"FusedOp">]> {
  let summary = "the outputs of a kernel";
  let description = [{
    ```mlir
    kernel.yield %0 : tensor<?x20x24x24xf32>
    ```
  }];
  let arguments = (ins Variadic<AnyRankedTensor>:$values);
  let assemblyFormat = "$values attr-dict `:` type($values)";
}

#endif // KILN_KERNEL_OPS
