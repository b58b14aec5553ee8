// The kernel dialect: a model as a program of kernels, each a region of nn ops with a schedule.
#ifndef KILN_KERNEL_OPS
#define KILN_KERNEL_OPS

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
    the compiled library. One op per kernel for now; fusion grows these regions.
  }];
}

class Kernel_Op<string mnemonic, list<Trait> traits = []> : Op<Kernel_Dialect, mnemonic, traits>;

def Kernel_FusedOp : Kernel_Op<"fused", [IsolatedFromAbove, Pure]> {
  let summary = "a kernel: nn ops computed by one generated function";
  let description = [{
    The region's arguments are the kernel's inputs (activations and parameters, in operand
    order); `kernel.yield` names its outputs. `name` becomes the kernel's symbol (prefixed by the
    model's name); `schedule` carries the choices code generation follows for the target.

    ```mlir
    %y = kernel.fused "conv1" (%x, %w, %b) schedule = {vector_width = 16 : i64}
        : (tensor<?x1x28x28xf32>, tensor<20x1x5x5xf32>, tensor<20xf32>) -> tensor<?x20x24x24xf32> {
    ^bb0(%a: tensor<?x1x28x28xf32>, %b: tensor<20x1x5x5xf32>, %c: tensor<20xf32>):
      %0 = nn.conv %a, %b, %c strides = [1, 1] padding = [0, 0, 0, 0] dilations = [1, 1] groups = 1
          : (tensor<?x1x28x28xf32>, tensor<20x1x5x5xf32>, tensor<20xf32>) -> tensor<?x20x24x24xf32>
      kernel.yield %0 : tensor<?x20x24x24xf32>
    }
    ```
  }];
  let arguments = (ins StrAttr:$name, Variadic<AnyRankedTensor>:$inputs, DictionaryAttr:$schedule);
  let results = (outs Variadic<AnyRankedTensor>:$outputs);
  let regions = (region SizedRegion<1>:$body);
  let assemblyFormat = [{
    $name `(` $inputs `)` `schedule` `=` $schedule attr-dict `:` functional-type($inputs, $outputs)
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
