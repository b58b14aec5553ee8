// kiln-choose-layouts: a conv chain whose channels fill whole vectors is stored channels-
// innermost between its kernels; the function's inputs and results stay NCHW; a conv reading
// a parameter gets a relayout kernel for its weight (output channels innermost).
// RUN: kiln-opt --kiln-form-kernels=vector-width=16 --kiln-fuse-conv-epilogue --kiln-choose-layouts --split-input-file %s | FileCheck %s
// RUN: kiln-opt --kiln-form-kernels=vector-width=16 --kiln-choose-layouts=gpu=true --split-input-file %s | FileCheck %s --check-prefix=GPU

// CHECK-LABEL: func.func @chain
// CHECK-SAME:      (%[[X:.+]]: tensor<?x3x8x8xf32>)
// CHECK:         %[[W1:.+]] = kernel.fused "conv1_weight"(%{{.*}}) layers = [] schedule = <vector_width = 16, layout = [2, 3, 1, 0]>
// CHECK-NEXT:    ^bb0(%[[A:.+]]: tensor<16x3x3x3xf32>):
// CHECK-NEXT:      kernel.yield %[[A]]
// CHECK:         %[[C1:.+]] = kernel.fused "conv1"(%[[X]], %[[W1]]) layers = ["conv1", "relu1"] schedule = <vector_width = 16, layout = [0, 2, 3, 1], input_layouts = {{\[\[}}], [2, 3, 1, 0]]>
// CHECK:         %[[P:.+]] = kernel.fused "pool"(%[[C1]]) layers = ["pool"] schedule = <vector_width = 16, layout = [0, 2, 3, 1], input_layouts = {{\[\[}}0, 2, 3, 1]]>
// The last conv's result is returned: NCHW, with its NCHW schedule and weight.
// CHECK:         %[[C2:.+]] = kernel.fused "conv2"(%[[P]], %{{.*}}) layers = ["conv2"] schedule = <vector_width = 16, input_layouts = {{\[\[}}0, 2, 3, 1], []]>
// CHECK:         return %[[C2]]
// GPU-NOT:       layout
func.func @chain(%x: tensor<?x3x8x8xf32>) -> tensor<?x32x4x4xf32> {
  %w1 = nn.parameter "conv1.weight" : tensor<16x3x3x3xf32>
  %c1 = nn.conv %x, %w1 strides = [1, 1] padding = [1, 1, 1, 1] dilations = [1, 1] groups = 1
      : (tensor<?x3x8x8xf32>, tensor<16x3x3x3xf32>) -> tensor<?x16x8x8xf32> loc("conv1")
  %r1 = nn.relu %c1 : tensor<?x16x8x8xf32> -> tensor<?x16x8x8xf32> loc("relu1")
  %p = nn.max_pool %r1 kernel_size = [3, 3] strides = [2, 2] padding = [1, 1, 1, 1] ceil_mode = false
      : tensor<?x16x8x8xf32> -> tensor<?x16x4x4xf32> loc("pool")
  %w2 = nn.parameter "conv2.weight" : tensor<32x16x1x1xf32>
  %c2 = nn.conv %p, %w2 strides = [1, 1] padding = [0, 0, 0, 0] dilations = [1, 1] groups = 1
      : (tensor<?x16x4x4xf32>, tensor<32x16x1x1xf32>) -> tensor<?x32x4x4xf32> loc("conv2")
  return %c2 : tensor<?x32x4x4xf32>
}

// -----

// Channels that do not fill vectors, and a result that a view reads, stay NCHW.
// CHECK-LABEL: func.func @stays_nchw
// CHECK-NOT:     layout =
// CHECK:         return
func.func @stays_nchw(%x: tensor<?x3x8x8xf32>) -> tensor<?x10xf32> {
  %w1 = nn.parameter "conv1.weight" : tensor<20x3x3x3xf32>
  %c1 = nn.conv %x, %w1 strides = [1, 1] padding = [1, 1, 1, 1] dilations = [1, 1] groups = 1
      : (tensor<?x3x8x8xf32>, tensor<20x3x3x3xf32>) -> tensor<?x20x8x8xf32> loc("conv1")
  %w2 = nn.parameter "conv2.weight" : tensor<16x20x8x8xf32>
  %c2 = nn.conv %c1, %w2 strides = [1, 1] padding = [0, 0, 0, 0] dilations = [1, 1] groups = 1
      : (tensor<?x20x8x8xf32>, tensor<16x20x8x8xf32>) -> tensor<?x16x1x1xf32> loc("conv2")
  %f = nn.flatten %c2 : tensor<?x16x1x1xf32> -> tensor<?x16xf32> loc("flatten")
  %w3 = nn.parameter "fc.weight" : tensor<10x16xf32>
  %y = nn.dense %f, %w3 : (tensor<?x16xf32>, tensor<10x16xf32>) -> tensor<?x10xf32> loc("fc")
  return %y : tensor<?x10xf32>
}
