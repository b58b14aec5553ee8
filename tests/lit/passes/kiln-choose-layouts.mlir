// kiln-choose-layouts: convs whose channels fill vectors compute them innermost, reading their
// weight output-channels-innermost (a relayout kernel for a parameter); their results are
// stored channels-innermost between kernels that handle it; the function's inputs and results,
// and views, stay NCHW. Dense layers read their weight output-innermost.
// RUN: kiln-opt --kiln-form-kernels=vector-width=16 --kiln-fuse-conv-epilogue --kiln-fold-views --kiln-choose-layouts --split-input-file %s | FileCheck %s --check-prefixes=CHECK,FULL
// RUN: kiln-opt --kiln-form-kernels=vector-width=16 --kiln-fuse-conv-epilogue --kiln-fold-views --kiln-choose-layouts=split-wide-fma=true --split-input-file %s | FileCheck %s --check-prefixes=CHECK,SPLIT
// RUN: kiln-opt --kiln-form-kernels=vector-width=16 --kiln-choose-layouts=gpu=true --split-input-file %s | FileCheck %s --check-prefix=GPU

// CHECK-LABEL: func.func @chain
// CHECK-SAME:      (%[[X:.+]]: tensor<?x3x8x8xf32>)
// CHECK:         %[[W1:.+]] = kernel.fused "conv1_weight"(%{{.*}}) layers = [] schedule = <vector_width = 16, layout = [2, 3, 1, 0]>
// CHECK-NEXT:    ^bb0(%[[A:.+]]: tensor<16x3x3x3xf32>):
// CHECK-NEXT:      kernel.yield %[[A]]
// CHECK:         %[[C1:.+]] = kernel.fused "conv1"(%[[X]], %[[W1]]) layers = ["conv1", "relu1"] schedule = <vector_width = 16, layout = [0, 2, 3, 1], input_layouts = {{\[\[}}], [2, 3, 1, 0]]>
// CHECK:         %[[P:.+]] = kernel.fused "pool"(%[[C1]]) layers = ["pool"] schedule = <vector_width = 16, layout = [0, 2, 3, 1], input_layouts = {{\[\[}}0, 2, 3, 1]]>
// The last conv's result is returned: stored NCHW, computed channels innermost.
// CHECK:         %[[W2:.+]] = kernel.fused "conv2_weight"(%{{.*}}) layers = [] schedule = <vector_width = 16, layout = [2, 3, 1, 0]>
// CHECK:         %[[C2:.+]] = kernel.fused "conv2"(%[[P]], %[[W2]]) layers = ["conv2"] schedule = <vector_width = 16, input_layouts = {{\[\[}}0, 2, 3, 1], [2, 3, 1, 0]]>
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

// 20 channels: in 16-lane vectors padded to 32 (62% of their lanes useful: 1.25 times the work
// of 8-lane vectors per cycle) where 16-lane FMAs run at full rate; where they run at the rate
// of 8-lane ones (split-wide-fma, Zen 4), in 8-lane vectors (83% useful). Stored NHWC for the
// next conv; a result a view reads stays NCHW; the dense layer's weight is relaid out
// output-innermost. Channels that fill too little of a vector (12: less than one 16-lane
// vector, 75% of 2×8) keep NCHW.
// CHECK-LABEL: func.func @narrow
// FULL:          kernel.fused "conv1"({{.*}}) layers = ["conv1"] schedule = <vector_width = 16, layout = [0, 2, 3, 1], input_layouts = {{\[\[}}], [2, 3, 1, 0]]>
// SPLIT:         kernel.fused "conv1"({{.*}}) layers = ["conv1"] schedule = <vector_width = 8, layout = [0, 2, 3, 1], input_layouts = {{\[\[}}], [2, 3, 1, 0]]>
// CHECK:         kernel.fused "conv2"({{.*}}) layers = ["conv2"] schedule = <vector_width = 16, input_layouts = {{\[\[}}0, 2, 3, 1], [2, 3, 1, 0]]>
// CHECK:         kernel.fused "fc_weight"({{.*}}) layers = [] schedule = <vector_width = 16, layout = [1, 0]>
// CHECK:         kernel.fused "conv3"({{.*}}) layers = ["conv3"] schedule = <vector_width = 16>
func.func @narrow(%x: tensor<?x3x8x8xf32>) -> (tensor<?x10xf32>, tensor<?x12x8x8xf32>) {
  %w1 = nn.parameter "conv1.weight" : tensor<20x3x3x3xf32>
  %c1 = nn.conv %x, %w1 strides = [1, 1] padding = [1, 1, 1, 1] dilations = [1, 1] groups = 1
      : (tensor<?x3x8x8xf32>, tensor<20x3x3x3xf32>) -> tensor<?x20x8x8xf32> loc("conv1")
  %w2 = nn.parameter "conv2.weight" : tensor<16x20x8x8xf32>
  %c2 = nn.conv %c1, %w2 strides = [1, 1] padding = [0, 0, 0, 0] dilations = [1, 1] groups = 1
      : (tensor<?x20x8x8xf32>, tensor<16x20x8x8xf32>) -> tensor<?x16x1x1xf32> loc("conv2")
  %f = nn.flatten %c2 : tensor<?x16x1x1xf32> -> tensor<?x16xf32> loc("flatten")
  %w3 = nn.parameter "fc.weight" : tensor<10x16xf32>
  %y = nn.dense %f, %w3 : (tensor<?x16xf32>, tensor<10x16xf32>) -> tensor<?x10xf32> loc("fc")
  %w4 = nn.parameter "conv3.weight" : tensor<12x3x1x1xf32>
  %c3 = nn.conv %x, %w4 strides = [1, 1] padding = [0, 0, 0, 0] dilations = [1, 1] groups = 1
      : (tensor<?x3x8x8xf32>, tensor<12x3x1x1xf32>) -> tensor<?x12x8x8xf32> loc("conv3")
  return %y, %c3 : tensor<?x10xf32>, tensor<?x12x8x8xf32>
}
