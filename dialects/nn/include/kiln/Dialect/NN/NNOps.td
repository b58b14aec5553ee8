// The nn dialect: a convolutional network as a graph of tensor operations, NC[D][H]W float32.
#ifndef KILN_NN_OPS
#define KILN_NN_OPS

include "mlir/IR/OpBase.td"
include "mlir/IR/AttrTypeBase.td"
include "mlir/Interfaces/SideEffectInterfaces.td"
include "kiln/Dialect/NN/ShapeInferenceInterface.td"
include "kiln/Dialect/NN/DifferentiableInterface.td"
include "kiln/Dialect/NN/FusionProperties.td"

def NN_Dialect : Dialect {
  let name = "nn";
  let cppNamespace = "::kiln::nn";
  let summary = "Tensor-level convolutional networks";
  let description = [{
    Ops of a convolutional network at the level a lecture draws it: convolution, pooling, batch
    normalization, dense layers, activations and the residual add. Tensors are float32 in NCW,
    NCHW or NCDHW layout; the batch dimension may be dynamic (`?`), every other one is inferred.
    Parameters are explicit values produced by `nn.parameter`, named as in PyTorch's state_dict.
  }];
}

def NN_F32Tensor : TensorOf<[F32]>;
def NN_IntTensor : TensorOf<[AnyInteger]>;

class NN_Op<string mnemonic, list<Trait> traits = []> : Op<NN_Dialect, mnemonic, traits>;

// An op with one result whose type is inferred from the operands (ShapeInference interface);
// the interface's verifier checks the operands fit and that a ranked result matches.
class NN_InferredOp<string mnemonic, list<Trait> traits = []>
    : NN_Op<mnemonic, traits # [Pure, DeclareOpInterfaceMethods<ShapeInferenceOpInterface>]>;

// An inferred op with a gradient: it implements the Differentiable interface (Gradients.cpp).
class NN_DifferentiableOp<string mnemonic, list<Trait> traits = []>
    : NN_InferredOp<mnemonic, traits # [DeclareOpInterfaceMethods<DifferentiableOpInterface>]>;

//===----------------------------------------------------------------------===//
// Parameters
//===----------------------------------------------------------------------===//

def NN_ParameterOp : NN_Op<"parameter", [Pure]> {
  let summary = "a named parameter or buffer of the model";
  let description = [{
    A weight, bias or batch-norm statistic, named as in PyTorch's state_dict. Trainable
    parameters count towards the model's parameter total; `buffer` marks state that is not
    trained by gradient (running mean and variance).

    ```mlir
    %w = nn.parameter "conv1.weight" : tensor<20x1x5x5xf32>
    %m = nn.parameter "bn1.running_mean" buffer : tensor<64xf32>
    ```
  }];
  let arguments = (ins StrAttr:$name, UnitAttr:$buffer);
  let results = (outs NN_F32Tensor:$result);
  let assemblyFormat = "$name (`buffer` $buffer^)? attr-dict `:` type($result)";
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Convolution and pooling
//===----------------------------------------------------------------------===//

def NN_ConvOp : NN_DifferentiableOp<"conv", [NN_FusionAnchor, NN_ChannelsLast, NN_SampleIndependentOpInterface]> {
  let summary = "1-D, 2-D or 3-D convolution (cross-correlation)";
  let description = [{
    Cross-correlation (no kernel flip) of an N×C_in×spatial input with a C_out×(C_in/groups)×kernel
    weight, with an optional bias of C_out. `padding` holds the padding before each spatial
    dimension, then the padding after each (ONNX's order). Each output extent is
    ⌊(n + p_before + p_after − d·(k−1) − 1)/s⌋ + 1.

    ```mlir
    %y = nn.conv %x, %w, %b strides = [1, 1] padding = [0, 0, 0, 0] dilations = [1, 1] groups = 1
        : (tensor<?x1x28x28xf32>, tensor<20x1x5x5xf32>, tensor<20xf32>) -> tensor<?x20x24x24xf32>
    ```
  }];
  let arguments = (ins NN_F32Tensor:$input, NN_F32Tensor:$weight, Optional<NN_F32Tensor>:$bias,
                       DenseI64ArrayAttr:$strides, DenseI64ArrayAttr:$padding,
                       DenseI64ArrayAttr:$dilations, I64Attr:$groups);
  let results = (outs NN_F32Tensor:$output);
  let assemblyFormat = [{
    $input `,` $weight (`,` $bias^)? `strides` `=` $strides `padding` `=` $padding
    `dilations` `=` $dilations `groups` `=` $groups attr-dict `:` functional-type(operands, results)
  }];
}

def NN_MaxPoolOp : NN_DifferentiableOp<"max_pool", [NN_Pooling, NN_ChannelsLast, NN_SampleIndependentOpInterface]> {
  let summary = "1-D, 2-D or 3-D max pooling";
  let description = [{
    The maximum over each window; padded positions never win. With `ceil_mode` the output size
    rounds up, but a window may not start inside the trailing padding (PyTorch's rule).

    ```mlir
    %y = nn.max_pool %x kernel_size = [3, 3] strides = [2, 2] padding = [1, 1, 1, 1]
        ceil_mode = false : tensor<?x64x112x112xf32> -> tensor<?x64x56x56xf32>
    ```
  }];
  let arguments = (ins NN_F32Tensor:$input, DenseI64ArrayAttr:$kernel_size,
                       DenseI64ArrayAttr:$strides, DenseI64ArrayAttr:$padding, BoolAttr:$ceil_mode);
  let results = (outs NN_F32Tensor:$output);
  let assemblyFormat = [{
    $input `kernel_size` `=` $kernel_size `strides` `=` $strides `padding` `=` $padding
    `ceil_mode` `=` $ceil_mode attr-dict `:` type($input) `->` type($output)
  }];
}

def NN_AvgPoolOp : NN_DifferentiableOp<"avg_pool", [NN_Pooling, NN_ChannelsLast, NN_SampleIndependentOpInterface]> {
  let summary = "1-D, 2-D or 3-D average pooling";
  let description = [{
    The mean over each window. With `count_include_pad` the divisor counts padded positions
    (clipped to the padded input, as PyTorch does), otherwise only the input positions.

    ```mlir
    %y = nn.avg_pool %x kernel_size = [2, 2] strides = [2, 2] padding = [0, 0, 0, 0]
        ceil_mode = false count_include_pad = true : tensor<?x20x24x24xf32> -> tensor<?x20x12x12xf32>
    ```
  }];
  let arguments = (ins NN_F32Tensor:$input, DenseI64ArrayAttr:$kernel_size,
                       DenseI64ArrayAttr:$strides, DenseI64ArrayAttr:$padding, BoolAttr:$ceil_mode,
                       BoolAttr:$count_include_pad);
  let results = (outs NN_F32Tensor:$output);
  let assemblyFormat = [{
    $input `kernel_size` `=` $kernel_size `strides` `=` $strides `padding` `=` $padding
    `ceil_mode` `=` $ceil_mode `count_include_pad` `=` $count_include_pad attr-dict
    `:` type($input) `->` type($output)
  }];
}

def NN_GlobalAvgPoolOp : NN_DifferentiableOp<"global_avg_pool", [NN_ChannelsLast, NN_SampleIndependentOpInterface]> {
  let summary = "mean over all spatial positions";
  let description = [{
    Reduces every spatial dimension to 1 (PyTorch's `AdaptiveAvgPool2d(1)`).

    ```mlir
    %y = nn.global_avg_pool %x : tensor<?x512x7x7xf32> -> tensor<?x512x1x1xf32>
    ```
  }];
  let arguments = (ins NN_F32Tensor:$input);
  let results = (outs NN_F32Tensor:$output);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($output)";
}

def NN_GlobalMaxPoolOp : NN_DifferentiableOp<"global_max_pool", [NN_ChannelsLast, NN_SampleIndependentOpInterface]> {
  let summary = "maximum over all spatial positions";
  let description = [{
    Reduces every spatial dimension to 1 by taking the maximum.

    ```mlir
    %y = nn.global_max_pool %x : tensor<?x64x10xf32> -> tensor<?x64x1xf32>
    ```
  }];
  let arguments = (ins NN_F32Tensor:$input);
  let results = (outs NN_F32Tensor:$output);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($output)";
}

//===----------------------------------------------------------------------===//
// Normalization, dense, elementwise
//===----------------------------------------------------------------------===//

def NN_BatchNormOp : NN_InferredOp<"batch_norm", [NN_SampleIndependentOpInterface]> {
  let summary = "batch normalization over the channel dimension";
  let description = [{
    y = (x − mean)/√(var + epsilon)·weight + bias per channel. In inference the mean and variance
    are the running statistics; in training they are the batch's (biased variance), and the
    running statistics are updated with `momentum` (PyTorch's conventions).

    ```mlir
    %y = nn.batch_norm %x, %gamma, %beta, %mean, %var epsilon = 1.0e-05 momentum = 1.0e-01
        : (tensor<?x64x56x56xf32>, tensor<64xf32>, tensor<64xf32>, tensor<64xf32>, tensor<64xf32>)
        -> tensor<?x64x56x56xf32>
    ```
  }];
  let arguments = (ins NN_F32Tensor:$input, NN_F32Tensor:$weight, NN_F32Tensor:$bias,
                       NN_F32Tensor:$running_mean, NN_F32Tensor:$running_var,
                       F64Attr:$epsilon, F64Attr:$momentum);
  let results = (outs NN_F32Tensor:$output);
  let assemblyFormat = [{
    $input `,` $weight `,` $bias `,` $running_mean `,` $running_var
    `epsilon` `=` $epsilon `momentum` `=` $momentum attr-dict `:` functional-type(operands, results)
  }];
}

def NN_DenseOp : NN_DifferentiableOp<"dense", [NN_FusionAnchor, NN_SampleIndependentOpInterface]> {
  let summary = "fully connected layer";
  let description = [{
    y = x·Wᵀ + b for an N×K input and an M×K weight (PyTorch's `Linear` layout).

    ```mlir
    %y = nn.dense %x, %w, %b : (tensor<?x800xf32>, tensor<500x800xf32>, tensor<500xf32>)
        -> tensor<?x500xf32>
    ```
  }];
  let arguments = (ins NN_F32Tensor:$input, NN_F32Tensor:$weight, Optional<NN_F32Tensor>:$bias);
  let results = (outs NN_F32Tensor:$output);
  let assemblyFormat = [{
    $input `,` $weight (`,` $bias^)? attr-dict `:` functional-type(operands, results)
  }];
}

def NN_AddOp : NN_DifferentiableOp<"add", [Commutative, NN_Elementwise, NN_ChannelsLast, NN_SampleIndependentOpInterface]> {
  let summary = "elementwise sum of two tensors of one shape (the residual connection)";
  let description = [{
    ```mlir
    %y = nn.add %a, %b : (tensor<?x64x56x56xf32>, tensor<?x64x56x56xf32>) -> tensor<?x64x56x56xf32>
    ```
  }];
  let arguments = (ins NN_F32Tensor:$lhs, NN_F32Tensor:$rhs);
  let results = (outs NN_F32Tensor:$output);
  let assemblyFormat = "$lhs `,` $rhs attr-dict `:` functional-type(operands, results)";
}

// Binary arithmetic with NumPy's (ONNX's) broadcasting: a bias or scale of [C, 1, 1] against
// [N, C, H, W], a scalar as [1]. Not `Elementwise` (its operands may differ in shape), so each
// is a kernel of its own; nn.add stays the same-shape sum that fuses as a residual.
class NN_BroadcastOp<string mnemonic, string formula>
    : NN_DifferentiableOp<mnemonic, [NN_SampleIndependentOpInterface]> {
  let summary = formula # " with broadcasting";
  let description = [{
    The operands are aligned at their last dimensions; each pair of extents is equal or one of
    them is 1 (or absent), and the result takes the larger. A dynamic extent (the batch) may
    only be dimension 0 of an operand of the result's rank.

    ```mlir
    %y = nn.}] # mnemonic # [{ %x, %s : (tensor<?x8x4x4xf32>, tensor<8x1x1xf32>) -> tensor<?x8x4x4xf32>
    ```
  }];
  let arguments = (ins NN_F32Tensor:$lhs, NN_F32Tensor:$rhs);
  let results = (outs NN_F32Tensor:$output);
  let assemblyFormat = "$lhs `,` $rhs attr-dict `:` functional-type(operands, results)";
}

def NN_BroadcastAddOp : NN_BroadcastOp<"broadcast_add", "lhs + rhs">;
def NN_BroadcastSubOp : NN_BroadcastOp<"broadcast_sub", "lhs − rhs">;
def NN_BroadcastMulOp : NN_BroadcastOp<"broadcast_mul", "lhs · rhs">;
def NN_BroadcastDivOp : NN_BroadcastOp<"broadcast_div", "lhs / rhs">;
// ONNX's Max and Min, and Clip with bounds computed in the graph. Gradient: dy to the larger
// (smaller) operand, to rhs on a tie.
def NN_BroadcastMaxOp : NN_BroadcastOp<"broadcast_max", "max(lhs, rhs)">;
def NN_BroadcastMinOp : NN_BroadcastOp<"broadcast_min", "min(lhs, rhs)">;

class NN_UnaryOp<string mnemonic, string formula>
    : NN_DifferentiableOp<mnemonic, [NN_Elementwise, NN_ChannelsLast, NN_SampleIndependentOpInterface]> {
  let summary = "elementwise " # formula;
  let description = [{
    Applies the function to every element; the result has the input's shape.

    ```mlir
    %y = nn.}] # mnemonic # [{ %x : tensor<?x20x24x24xf32> -> tensor<?x20x24x24xf32>
    ```
  }];
  let arguments = (ins NN_F32Tensor:$input);
  let results = (outs NN_F32Tensor:$output);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($output)";
}

def NN_ReluOp : NN_UnaryOp<"relu", "max(x, 0)">;
def NN_TanhOp : NN_UnaryOp<"tanh", "hyperbolic tangent">;
def NN_SigmoidOp : NN_UnaryOp<"sigmoid", "logistic function 1/(1 + exp(-x))">;

def NN_LeakyReluOp : NN_DifferentiableOp<"leaky_relu", [NN_Elementwise, NN_ChannelsLast, NN_SampleIndependentOpInterface]> {
  let summary = "elementwise x where x > 0, else alpha·x";
  let description = [{
    PyTorch's `nn.LeakyReLU(negative_slope)`, ONNX's `LeakyRelu(alpha)`.

    ```mlir
    %y = nn.leaky_relu %x {alpha = 1.000000e-02 : f32} : tensor<?x20x24x24xf32> -> tensor<?x20x24x24xf32>
    ```
  }];
  let arguments = (ins NN_F32Tensor:$input, F32Attr:$alpha);
  let results = (outs NN_F32Tensor:$output);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($output)";
}

def NN_ClipOp : NN_DifferentiableOp<"clip", [NN_Elementwise, NN_ChannelsLast, NN_SampleIndependentOpInterface]> {
  let summary = "elementwise min(max(x, min), max)";
  let description = [{
    PyTorch's `torch.clamp` and `nn.ReLU6` (min 0, max 6), ONNX's `Clip`. A bound that is absent
    is infinite; where min > max every element is max, as in NumPy and ONNX.

    ```mlir
    %y = nn.clip %x {min = 0.000000e+00 : f32, max = 6.000000e+00 : f32} : tensor<?x8xf32> -> tensor<?x8xf32>
    ```
  }];
  let arguments = (ins NN_F32Tensor:$input, F32Attr:$min, F32Attr:$max);
  let results = (outs NN_F32Tensor:$output);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($output)";
}

def NN_TransposeOp : NN_DifferentiableOp<"transpose", [DeclareOpInterfaceMethods<NN_SampleIndependentOpInterface, ["isSampleIndependent"]>]> {
  let summary = "permutes the dimensions: result dimension i is input dimension perm[i]";
  let description = [{
    NumPy's and ONNX's transpose. A dynamic extent (the batch) must stay dimension 0.

    ```mlir
    %y = nn.transpose %x perm = [0, 2, 3, 1] : tensor<?x8x4x5xf32> -> tensor<?x4x5x8xf32>
    ```
  }];
  let arguments = (ins NN_F32Tensor:$input, DenseI64ArrayAttr:$perm);
  let results = (outs NN_F32Tensor:$output);
  let assemblyFormat = "$input `perm` `=` $perm attr-dict `:` type($input) `->` type($output)";
  // A transpose of a transpose that restores the order is its input (an imported MatMul of a
  // transposed weight).
  let hasFolder = 1;
}

def NN_PadOp : NN_DifferentiableOp<"pad", [DeclareOpInterfaceMethods<NN_SampleIndependentOpInterface, ["isSampleIndependent"]>]> {
  let summary = "pads every dimension with a constant (or crops it, where a pad is negative)";
  let description = [{
    ONNX's Pad in constant mode (PyTorch's ConstantPad and ZeroPad): `pads` holds the elements
    added before each dimension, then after each (ONNX's order, 2 × rank values); a negative
    value removes elements instead, so the gradient of a pad is the pad by the negated amounts.
    A dynamic extent (the batch) is not padded.

    ```mlir
    %y = nn.pad %x pads = [0, 0, 1, 2, 0, 0, 1, 2] {value = 0.0 : f32}
        : tensor<?x8x4x5xf32> -> tensor<?x8x6x9xf32>
    ```
  }];
  let arguments = (ins NN_F32Tensor:$input, DenseI64ArrayAttr:$pads,
                       DefaultValuedAttr<F32Attr, "0.0f">:$value);
  let results = (outs NN_F32Tensor:$output);
  let assemblyFormat = "$input `pads` `=` $pads attr-dict `:` type($input) `->` type($output)";
}

def NN_ConcatOp : NN_DifferentiableOp<"concat", [DeclareOpInterfaceMethods<NN_SampleIndependentOpInterface, ["isSampleIndependent"]>]> {
  let summary = "joins tensors along one axis";
  let description = [{
    ONNX's Concat and torch.cat: the inputs agree in every extent but `axis`'s, and the result
    holds them one after the other along it. Joining along a dynamic dimension (the batch) is
    not supported.

    ```mlir
    %y = nn.concat %a, %b axis = 1 : (tensor<?x8x4x4xf32>, tensor<?x3x4x4xf32>) -> tensor<?x11x4x4xf32>
    ```
  }];
  let arguments = (ins Variadic<NN_F32Tensor>:$inputs, I64Attr:$axis);
  let results = (outs NN_F32Tensor:$output);
  let assemblyFormat = "$inputs `axis` `=` $axis attr-dict `:` functional-type($inputs, $output)";
}

def NN_FlattenOp : NN_DifferentiableOp<"flatten", [NN_View, NN_SampleIndependentOpInterface]> {
  let summary = "collapse every dimension after the batch into one";
  let description = [{
    ```mlir
    %y = nn.flatten %x : tensor<?x50x4x4xf32> -> tensor<?x800xf32>
    ```
  }];
  let arguments = (ins NN_F32Tensor:$input);
  let results = (outs NN_F32Tensor:$output);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($output)";
}

class NN_SoftmaxLikeOp<string mnemonic, string formula>
    : NN_DifferentiableOp<mnemonic, [DeclareOpInterfaceMethods<NN_SampleIndependentOpInterface, ["isSampleIndependent"]>]> {
  let summary = formula # " along one axis";
  let description = [{
    Normalizes along `axis` (non-negative, less than the rank); the result has the input's shape.

    ```mlir
    %y = nn.}] # mnemonic # [{ %x axis = 1 : tensor<?x10xf32> -> tensor<?x10xf32>
    ```
  }];
  let arguments = (ins NN_F32Tensor:$input, I64Attr:$axis);
  let results = (outs NN_F32Tensor:$output);
  let assemblyFormat = "$input `axis` `=` $axis attr-dict `:` type($input) `->` type($output)";
}

def NN_SoftmaxOp : NN_SoftmaxLikeOp<"softmax", "softmax">;
def NN_LogSoftmaxOp : NN_SoftmaxLikeOp<"log_softmax", "logarithm of the softmax">;

def NN_SoftmaxCrossEntropyOp : NN_DifferentiableOp<"softmax_cross_entropy"> {
  let summary = "softmax cross-entropy loss, mean over the batch";
  let description = [{
    −mean_n log softmax(logits)[n, labels[n]] for N×C logits and N integer class labels; the
    result is a scalar.

    ```mlir
    %l = nn.softmax_cross_entropy %logits, %labels : (tensor<?x10xf32>, tensor<?xi64>) -> tensor<f32>
    ```
  }];
  let arguments = (ins NN_F32Tensor:$logits, NN_IntTensor:$labels);
  let results = (outs NN_F32Tensor:$loss);
  let assemblyFormat = "$logits `,` $labels attr-dict `:` functional-type(operands, results)";
}

//===----------------------------------------------------------------------===//
// Inference batch norm folded into the preceding convolution or dense layer
//===----------------------------------------------------------------------===//

def NN_FoldBatchNormWeightOp : NN_InferredOp<"fold_batch_norm_weight"> {
  let summary = "a convolution's or dense layer's weight with a batch norm's scale folded in";
  let description = [{
    w'[o, ...] = w[o, ...]·γ[o]/√(var[o] + ε), for the weight of a convolution (O×I×kernel) or a
    dense layer (O×K) followed by an inference batch norm with weight γ and running variance var.
    `kiln-fold-batch-norm` writes it; it reads parameters only, so the library computes it when
    the weights are loaded or trained, not in every forward pass.

    ```mlir
    %w2 = nn.fold_batch_norm_weight %w, %gamma, %var epsilon = 1.0e-05
        : (tensor<64x3x7x7xf32>, tensor<64xf32>, tensor<64xf32>) -> tensor<64x3x7x7xf32>
    ```
  }];
  let arguments = (ins NN_F32Tensor:$weight, NN_F32Tensor:$bn_weight, NN_F32Tensor:$running_var,
                       F64Attr:$epsilon);
  let results = (outs NN_F32Tensor:$output);
  let assemblyFormat = [{
    $weight `,` $bn_weight `,` $running_var `epsilon` `=` $epsilon attr-dict
    `:` functional-type(operands, results)
  }];
}

def NN_FoldBatchNormBiasOp : NN_InferredOp<"fold_batch_norm_bias"> {
  let summary = "the bias of a convolution or dense layer with a batch norm's shift folded in";
  let description = [{
    b'[o] = β[o] + (b[o] − mean[o])·γ[o]/√(var[o] + ε), with b = 0 when the layer has no bias: the
    bias that, with the weight of `nn.fold_batch_norm_weight`, gives the layer followed by the
    inference batch norm (weight γ, bias β, running mean and variance).

    ```mlir
    %b2 = nn.fold_batch_norm_bias %gamma, %beta, %mean, %var epsilon = 1.0e-05
        : (tensor<64xf32>, tensor<64xf32>, tensor<64xf32>, tensor<64xf32>) -> tensor<64xf32>
    ```
  }];
  let arguments = (ins NN_F32Tensor:$bn_weight, NN_F32Tensor:$bn_bias, NN_F32Tensor:$running_mean,
                       NN_F32Tensor:$running_var, Optional<NN_F32Tensor>:$bias, F64Attr:$epsilon);
  let results = (outs NN_F32Tensor:$output);
  let assemblyFormat = [{
    $bn_weight `,` $bn_bias `,` $running_mean `,` $running_var (`,` $bias^)?
    `epsilon` `=` $epsilon attr-dict `:` functional-type(operands, results)
  }];
}

include "kiln/Dialect/NN/NNTrainingOps.td"

#endif // KILN_NN_OPS
