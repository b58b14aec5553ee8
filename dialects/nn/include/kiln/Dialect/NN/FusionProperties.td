// What fusion, batch chunking and buffer planning need to know of an nn op, declared on the op:
// traits for fixed properties, an interface where the answer depends on attributes.
#ifndef KILN_NN_FUSION_PROPERTIES
#define KILN_NN_FUSION_PROPERTIES

include "mlir/IR/OpBase.td"

class NN_FusionTrait<string name> : NativeOpTrait<name> {
  let cppNamespace = "::kiln::nn::OpTrait";
}

// Each result element is a function of the operands' elements at the same index (all operands
// and the result have one shape): relu, tanh, add, ... Fused into a kernel's epilogue, computed
// where the anchor's output tile is.
def NN_Elementwise : NN_FusionTrait<"Elementwise">;

// The op a kernel is tiled around (convolution, dense): its producers' and consumers' work is
// computed inside its output tiles.
def NN_FusionAnchor : NN_FusionTrait<"FusionAnchor">;

// A windowed reduction over the spatial dimensions (max and average pooling) that may consume an
// anchor's output inside the anchor's kernel.
def NN_Pooling : NN_FusionTrait<"Pooling">;

// Reinterprets its operand's elements in another shape without moving them (flatten, reshape):
// a view of the operand's buffer, no kernel and no copy.
def NN_View : NN_FusionTrait<"View">;

// Computes channels-innermost data (NHWC storage of an NCHW tensor) at full speed: its code
// vectorizes the channels when that is how its operands and result are stored. kiln-choose-
// layouts keeps a convolution chain channels-innermost only through such ops.
def NN_ChannelsLast : NN_FusionTrait<"ChannelsLast">;

def NN_SampleIndependentOpInterface : OpInterface<"SampleIndependent"> {
  let description = [{
    Implemented by ops that may compute each sample of the batch (dimension 0) from that sample
    alone, so the batch can be split into chunks. Ops without it mix samples (batch statistics,
    the mean loss, weight gradients).
  }];
  let cppNamespace = "::kiln::nn";
  let methods = [
    InterfaceMethod<"Whether each sample is computed from that sample alone.",
      "bool", "isSampleIndependent", (ins), [{}], [{ return true; }]>
  ];
}

#endif // KILN_NN_FUSION_PROPERTIES
