// kiln-fuse-conv-pool: a conv's kernel (with its epilogue) absorbs the pooling that consumes it
// when the pooling windows tile the input (stride = window, no padding, no ceil mode).
// RUN: kiln-opt --kiln-form-kernels --kiln-fuse-conv-epilogue --kiln-fuse-conv-pool --split-input-file %s | FileCheck %s

// LeNet's conv → tanh → 2×2 average pooling: one kernel.
// CHECK-LABEL: func.func @lenet_block
// CHECK:         %[[K:.+]] = kernel.fused "conv1"({{.*}}) layers = ["conv1", "conv1.tanh", "pool1"]
// CHECK-NEXT:    ^bb0
// CHECK-NEXT:      nn.conv
// CHECK-NEXT:      nn.tanh
// CHECK-NEXT:      nn.avg_pool
// CHECK-NEXT:      kernel.yield
// CHECK:         return %[[K]]
func.func @lenet_block(%x: tensor<?x1x28x28xf32>) -> tensor<?x20x12x12xf32> {
  %w = nn.parameter "conv1.weight" : tensor<20x1x5x5xf32>
  %b = nn.parameter "conv1.bias" : tensor<20xf32>
  %c = nn.conv %x, %w, %b strides = [1, 1] padding = [0, 0, 0, 0] dilations = [1, 1] groups = 1
      : (tensor<?x1x28x28xf32>, tensor<20x1x5x5xf32>, tensor<20xf32>) -> tensor<?x20x24x24xf32> loc("conv1")
  %t = nn.tanh %c : tensor<?x20x24x24xf32> -> tensor<?x20x24x24xf32> loc("conv1.tanh")
  %p = nn.avg_pool %t kernel_size = [2, 2] strides = [2, 2] padding = [0, 0, 0, 0] ceil_mode = false
      count_include_pad = true : tensor<?x20x24x24xf32> -> tensor<?x20x12x12xf32> loc("pool1")
  return %p : tensor<?x20x12x12xf32>
}

// -----

// ResNet's stem pooling (3×3, stride 2, padding 1: overlapping windows) stays a kernel.
// CHECK-LABEL: func.func @overlapping
// CHECK:         kernel.fused "conv"({{.*}}) layers = ["conv", "relu"]
// CHECK:         kernel.fused "maxpool"({{.*}}) layers = ["maxpool"]
func.func @overlapping(%x: tensor<?x3x16x16xf32>) -> tensor<?x8x8x8xf32> {
  %w = nn.parameter "conv.weight" : tensor<8x3x3x3xf32>
  %c = nn.conv %x, %w strides = [1, 1] padding = [1, 1, 1, 1] dilations = [1, 1] groups = 1
      : (tensor<?x3x16x16xf32>, tensor<8x3x3x3xf32>) -> tensor<?x8x16x16xf32> loc("conv")
  %r = nn.relu %c : tensor<?x8x16x16xf32> -> tensor<?x8x16x16xf32> loc("relu")
  %p = nn.max_pool %r kernel_size = [3, 3] strides = [2, 2] padding = [1, 1, 1, 1] ceil_mode = false
      : tensor<?x8x16x16xf32> -> tensor<?x8x8x8xf32> loc("maxpool")
  return %p : tensor<?x8x8x8xf32>
}

// -----

// A pooling of a dense layer's result has no conv to fuse into; a pooling whose input is also
// returned is needed unpooled.
// CHECK-LABEL: func.func @shared_input
// CHECK:         kernel.fused "conv"({{.*}}) layers = ["conv"]
// CHECK:         kernel.fused "pool"({{.*}}) layers = ["pool"]
func.func @shared_input(%x: tensor<?x2x4x4xf32>) -> (tensor<?x2x2x2xf32>, tensor<?x2x4x4xf32>) {
  %w = nn.parameter "conv.weight" : tensor<2x2x1x1xf32>
  %c = nn.conv %x, %w strides = [1, 1] padding = [0, 0, 0, 0] dilations = [1, 1] groups = 1
      : (tensor<?x2x4x4xf32>, tensor<2x2x1x1xf32>) -> tensor<?x2x4x4xf32> loc("conv")
  %p = nn.max_pool %c kernel_size = [2, 2] strides = [2, 2] padding = [0, 0, 0, 0] ceil_mode = false
      : tensor<?x2x4x4xf32> -> tensor<?x2x2x2xf32> loc("pool")
  return %p, %c : tensor<?x2x2x2xf32>, tensor<?x2x4x4xf32>
}
