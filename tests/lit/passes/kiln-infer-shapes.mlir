// kiln-infer-shapes: result types follow from the operands. Every expected extent below was
// worked out by PyTorch's rule, out = ⌊(n + pb + pa − d(k−1) − 1)/s⌋ + 1 (⌈⌉ with ceil_mode,
// then one less if (out−1)·s ≥ n + pb), written next to it.
// RUN: kiln-opt --kiln-infer-shapes --split-input-file %s | FileCheck %s

// CHECK-LABEL: func.func @conv1d
// CHECK-SAME: -> tensor<?x8x22xf32>
func.func @conv1d(%x: tensor<?x4x50xf32>) -> tensor<*xf32> {
  %w = nn.parameter "conv.weight" : tensor<8x4x5xf32>
  // ⌊(50 + 4 + 1 − 3·4 − 1)/2⌋ + 1 = 22
  // CHECK: nn.conv {{.*}} -> tensor<?x8x22xf32>
  %y = nn.conv %x, %w strides = [2] padding = [4, 1] dilations = [3] groups = 1
      : (tensor<?x4x50xf32>, tensor<8x4x5xf32>) -> tensor<*xf32>
  // CHECK: return {{.*}} : tensor<?x8x22xf32>
  return %y : tensor<*xf32>
}

// -----

// CHECK-LABEL: func.func @conv2d_asymmetric
func.func @conv2d_asymmetric(%x: tensor<2x3x7x9xf32>) -> tensor<*xf32> {
  %w = nn.parameter "conv.weight" : tensor<6x3x3x3xf32>
  %b = nn.parameter "conv.bias" : tensor<6xf32>
  // H: ⌊(7 + 0 + 1 − 2 − 1)/2⌋ + 1 = 3; W: ⌊(9 + 2 + 0 − 2·2 − 1)/1⌋ + 1 = 7
  // CHECK: nn.conv {{.*}} -> tensor<2x6x3x7xf32>
  %y = nn.conv %x, %w, %b strides = [2, 1] padding = [0, 2, 1, 0] dilations = [1, 2] groups = 1
      : (tensor<2x3x7x9xf32>, tensor<6x3x3x3xf32>, tensor<6xf32>) -> tensor<*xf32>
  return %y : tensor<*xf32>
}

// -----

// `padding=same` for an even kernel pads ⌈3/2⌉ = 2 before and 1 after: 10 + 3 − 3 − 1 + 1 = 10.
// CHECK-LABEL: func.func @conv2d_same_even_kernel
func.func @conv2d_same_even_kernel(%x: tensor<1x1x10x10xf32>) -> tensor<*xf32> {
  %w = nn.parameter "conv.weight" : tensor<1x1x4x4xf32>
  // CHECK: nn.conv {{.*}} -> tensor<1x1x10x10xf32>
  %y = nn.conv %x, %w strides = [1, 1] padding = [2, 2, 1, 1] dilations = [1, 1] groups = 1
      : (tensor<1x1x10x10xf32>, tensor<1x1x4x4xf32>) -> tensor<*xf32>
  return %y : tensor<*xf32>
}

// -----

// The window may end exactly at the padded end: 5 + 1 + 1 = 7 = 3·(3−1) + 1, one output.
// CHECK-LABEL: func.func @conv_window_fills_padded_input
func.func @conv_window_fills_padded_input(%x: tensor<1x1x5xf32>) -> tensor<*xf32> {
  %w = nn.parameter "conv.weight" : tensor<1x1x3xf32>
  // CHECK: nn.conv {{.*}} -> tensor<1x1x1xf32>
  %y = nn.conv %x, %w strides = [4] padding = [1, 1] dilations = [3] groups = 1
      : (tensor<1x1x5xf32>, tensor<1x1x3xf32>) -> tensor<*xf32>
  return %y : tensor<*xf32>
}

// -----

// CHECK-LABEL: func.func @conv_groups
func.func @conv_groups(%x: tensor<1x8x10x10xf32>, %d: tensor<?x32x14x14xf32>)
    -> (tensor<*xf32>, tensor<*xf32>, tensor<*xf32>) {
  // 4 groups of 2 input channels each, 16 output channels; ⌊(10 + 2 − 2 − 1)/1⌋ + 1 = 10
  %w = nn.parameter "grouped.weight" : tensor<16x2x3x3xf32>
  // CHECK: nn.conv {{.*}} groups = 4 : (tensor<1x8x10x10xf32>, tensor<16x2x3x3xf32>) -> tensor<1x16x10x10xf32>
  %g = nn.conv %x, %w strides = [1, 1] padding = [1, 1, 1, 1] dilations = [1, 1] groups = 4
      : (tensor<1x8x10x10xf32>, tensor<16x2x3x3xf32>) -> tensor<*xf32>
  // Depthwise: ⌊(14 + 2 − 2 − 1)/2⌋ + 1 = 7
  %dw = nn.parameter "depthwise.weight" : tensor<32x1x3x3xf32>
  // CHECK: nn.conv {{.*}} groups = 32 : (tensor<?x32x14x14xf32>, tensor<32x1x3x3xf32>) -> tensor<?x32x7x7xf32>
  %y = nn.conv %d, %dw strides = [2, 2] padding = [1, 1, 1, 1] dilations = [1, 1] groups = 32
      : (tensor<?x32x14x14xf32>, tensor<32x1x3x3xf32>) -> tensor<*xf32>
  // Depthwise with a channel multiplier of 2.
  %dm = nn.parameter "depthwise2.weight" : tensor<64x1x3x3xf32>
  %db = nn.parameter "depthwise2.bias" : tensor<64xf32>
  // CHECK: nn.conv {{.*}} groups = 32 : (tensor<?x32x14x14xf32>, tensor<64x1x3x3xf32>, tensor<64xf32>) -> tensor<?x64x14x14xf32>
  %z = nn.conv %d, %dm, %db strides = [1, 1] padding = [1, 1, 1, 1] dilations = [1, 1] groups = 32
      : (tensor<?x32x14x14xf32>, tensor<64x1x3x3xf32>, tensor<64xf32>) -> tensor<*xf32>
  return %g, %y, %z : tensor<*xf32>, tensor<*xf32>, tensor<*xf32>
}

// -----

// CHECK-LABEL: func.func @conv3d
// CHECK-SAME: -> tensor<?x8x16x16x14xf32>
func.func @conv3d(%x: tensor<?x3x16x32x32xf32>) -> tensor<*xf32> {
  %w = nn.parameter "conv.weight" : tensor<8x3x3x5x5xf32>
  // D: ⌊(16 + 1 + 1 − 2 − 1)/1⌋ + 1 = 16; H: ⌊(32 + 2 + 2 − 4 − 1)/2⌋ + 1 = 16;
  // W: ⌊(32 + 1 + 2 − 2·4 − 1)/2⌋ + 1 = 14
  // CHECK: nn.conv {{.*}} -> tensor<?x8x16x16x14xf32>
  %y = nn.conv %x, %w strides = [1, 2, 2] padding = [1, 2, 1, 1, 2, 2] dilations = [1, 1, 2]
      groups = 1 : (tensor<?x3x16x32x32xf32>, tensor<8x3x3x5x5xf32>) -> tensor<*xf32>
  return %y : tensor<*xf32>
}

// -----

// A dynamic spatial extent stays dynamic; the others are still inferred.
// CHECK-LABEL: func.func @conv_dynamic_spatial
func.func @conv_dynamic_spatial(%x: tensor<?x3x?x32xf32>) -> tensor<*xf32> {
  %w = nn.parameter "conv.weight" : tensor<8x3x3x3xf32>
  // CHECK: nn.conv {{.*}} -> tensor<?x8x?x30xf32>
  %y = nn.conv %x, %w strides = [1, 1] padding = [0, 0, 0, 0] dilations = [1, 1] groups = 1
      : (tensor<?x3x?x32xf32>, tensor<8x3x3x3xf32>) -> tensor<*xf32>
  return %y : tensor<*xf32>
}

// -----

// CHECK-LABEL: func.func @max_pool_1d
func.func @max_pool_1d(%x: tensor<?x4x10xf32>) -> (tensor<*xf32>, tensor<*xf32>) {
  // floor: ⌊(10 + 1 + 0 − 2 − 1)/3⌋ + 1 = 3
  // CHECK: nn.max_pool {{.*}} ceil_mode = false : tensor<?x4x10xf32> -> tensor<?x4x3xf32>
  %a = nn.max_pool %x kernel_size = [3] strides = [3] padding = [1, 0] ceil_mode = false
      : tensor<?x4x10xf32> -> tensor<*xf32>
  // ceil: ⌈8/3⌉ + 1 = 4, and (4 − 1)·3 = 9 < 10 + 1 keeps the last window
  // CHECK: nn.max_pool {{.*}} ceil_mode = true : tensor<?x4x10xf32> -> tensor<?x4x4xf32>
  %b = nn.max_pool %x kernel_size = [3] strides = [3] padding = [1, 0] ceil_mode = true
      : tensor<?x4x10xf32> -> tensor<*xf32>
  return %a, %b : tensor<*xf32>, tensor<*xf32>
}

// -----

// ResNet's stem pool: ⌊(112 + 1 + 1 − 2 − 1)/2⌋ + 1 = 56
// CHECK-LABEL: func.func @max_pool_2d_stem
func.func @max_pool_2d_stem(%x: tensor<?x64x112x112xf32>) -> tensor<*xf32> {
  // CHECK: nn.max_pool {{.*}} -> tensor<?x64x56x56xf32>
  %y = nn.max_pool %x kernel_size = [3, 3] strides = [2, 2] padding = [1, 1, 1, 1] ceil_mode = false
      : tensor<?x64x112x112xf32> -> tensor<*xf32>
  return %y : tensor<*xf32>
}

// -----

// CHECK-LABEL: func.func @ceil_mode
func.func @ceil_mode(%x6: tensor<1x1x6xf32>, %x5: tensor<1x1x5xf32>)
    -> (tensor<*xf32>, tensor<*xf32>, tensor<*xf32>, tensor<*xf32>, tensor<*xf32>, tensor<*xf32>) {
  // Ceil adds a window: floor ⌊3/2⌋ + 1 = 2, ceil ⌈3/2⌉ + 1 = 3 (start 4 < 6).
  // CHECK: nn.max_pool {{.*}} ceil_mode = false : tensor<1x1x6xf32> -> tensor<1x1x2xf32>
  %a = nn.max_pool %x6 kernel_size = [3] strides = [2] padding = [0, 0] ceil_mode = false
      : tensor<1x1x6xf32> -> tensor<*xf32>
  // CHECK: nn.max_pool {{.*}} ceil_mode = true : tensor<1x1x6xf32> -> tensor<1x1x3xf32>
  %b = nn.max_pool %x6 kernel_size = [3] strides = [2] padding = [0, 0] ceil_mode = true
      : tensor<1x1x6xf32> -> tensor<*xf32>
  // Input 5, kernel 2, stride 2, pad 1/1: ⌈5/2⌉ + 1 = 4, but window 3 would start at 6 = 5 + 1,
  // in the trailing padding, so PyTorch drops it: 3 (the same as floor, ⌊5/2⌋ + 1).
  // CHECK: nn.max_pool {{.*}} ceil_mode = true : tensor<1x1x5xf32> -> tensor<1x1x3xf32>
  %c = nn.max_pool %x5 kernel_size = [2] strides = [2] padding = [1, 1] ceil_mode = true
      : tensor<1x1x5xf32> -> tensor<*xf32>
  // Stride 3: ⌈5/3⌉ + 1 = 3, window 2 would start at 6 ≥ 6: dropped, 2.
  // CHECK: nn.avg_pool {{.*}} ceil_mode = true count_include_pad = true : tensor<1x1x5xf32> -> tensor<1x1x2xf32>
  %d = nn.avg_pool %x5 kernel_size = [2] strides = [3] padding = [1, 1] ceil_mode = true
      count_include_pad = true : tensor<1x1x5xf32> -> tensor<*xf32>
  // Asymmetric padding 0/1, kernel 3, stride 2: floor ⌊3/2⌋ + 1 = 2; ceil ⌈3/2⌉ + 1 = 3 and the
  // last window starts at 4 < 5, inside the input: kept.
  // CHECK: nn.avg_pool {{.*}} ceil_mode = false count_include_pad = false : tensor<1x1x5xf32> -> tensor<1x1x2xf32>
  %e = nn.avg_pool %x5 kernel_size = [3] strides = [2] padding = [0, 1] ceil_mode = false
      count_include_pad = false : tensor<1x1x5xf32> -> tensor<*xf32>
  // CHECK: nn.avg_pool {{.*}} ceil_mode = true count_include_pad = false : tensor<1x1x5xf32> -> tensor<1x1x3xf32>
  %f = nn.avg_pool %x5 kernel_size = [3] strides = [2] padding = [0, 1] ceil_mode = true
      count_include_pad = false : tensor<1x1x5xf32> -> tensor<*xf32>
  return %a, %b, %c, %d, %e, %f
      : tensor<*xf32>, tensor<*xf32>, tensor<*xf32>, tensor<*xf32>, tensor<*xf32>, tensor<*xf32>
}

// -----

// CHECK-LABEL: func.func @avg_pool_3d
func.func @avg_pool_3d(%x: tensor<1x2x5x6x7xf32>) -> (tensor<*xf32>, tensor<*xf32>) {
  // Padding before = [1, 0, 1], after = [0, 1, 0]; kernel 2, stride 2.
  // D: ⌈4/2⌉ + 1 = 3 (start 4 < 6); H: ⌈5/2⌉ + 1 = 4, start 6 ≥ 6 + 0: dropped, 3;
  // W: ⌈6/2⌉ + 1 = 4 (start 6 < 8)
  // CHECK: nn.avg_pool {{.*}} ceil_mode = true count_include_pad = true : tensor<1x2x5x6x7xf32> -> tensor<1x2x3x3x4xf32>
  %a = nn.avg_pool %x kernel_size = [2, 2, 2] strides = [2, 2, 2] padding = [1, 0, 1, 0, 1, 0]
      ceil_mode = true count_include_pad = true : tensor<1x2x5x6x7xf32> -> tensor<*xf32>
  // floor: D ⌊4/2⌋ + 1 = 3, H ⌊5/2⌋ + 1 = 3, W ⌊6/2⌋ + 1 = 4
  // CHECK: nn.avg_pool {{.*}} ceil_mode = false count_include_pad = false : tensor<1x2x5x6x7xf32> -> tensor<1x2x3x3x4xf32>
  %b = nn.avg_pool %x kernel_size = [2, 2, 2] strides = [2, 2, 2] padding = [1, 0, 1, 0, 1, 0]
      ceil_mode = false count_include_pad = false : tensor<1x2x5x6x7xf32> -> tensor<*xf32>
  return %a, %b : tensor<*xf32>, tensor<*xf32>
}

// -----

// CHECK-LABEL: func.func @global_pools
func.func @global_pools(%x1: tensor<?x64x10xf32>, %x2: tensor<?x512x7x7xf32>, %x3: tensor<2x8x3x4x5xf32>)
    -> (tensor<*xf32>, tensor<*xf32>, tensor<*xf32>, tensor<*xf32>) {
  // CHECK: nn.global_max_pool {{.*}} : tensor<?x64x10xf32> -> tensor<?x64x1xf32>
  %a = nn.global_max_pool %x1 : tensor<?x64x10xf32> -> tensor<*xf32>
  // CHECK: nn.global_avg_pool {{.*}} : tensor<?x512x7x7xf32> -> tensor<?x512x1x1xf32>
  %b = nn.global_avg_pool %x2 : tensor<?x512x7x7xf32> -> tensor<*xf32>
  // CHECK: nn.global_avg_pool {{.*}} : tensor<2x8x3x4x5xf32> -> tensor<2x8x1x1x1xf32>
  %c = nn.global_avg_pool %x3 : tensor<2x8x3x4x5xf32> -> tensor<*xf32>
  // CHECK: nn.global_max_pool {{.*}} : tensor<2x8x3x4x5xf32> -> tensor<2x8x1x1x1xf32>
  %d = nn.global_max_pool %x3 : tensor<2x8x3x4x5xf32> -> tensor<*xf32>
  return %a, %b, %c, %d : tensor<*xf32>, tensor<*xf32>, tensor<*xf32>, tensor<*xf32>
}

// -----

// CHECK-LABEL: func.func @batch_norm_dense_flatten
func.func @batch_norm_dense_flatten(%x: tensor<?x16x5x5xf32>, %v: tensor<8x16xf32>, %c: tensor<?x4x5xf32>)
    -> (tensor<*xf32>, tensor<*xf32>, tensor<*xf32>, tensor<*xf32>, tensor<*xf32>) {
  %s = nn.parameter "bn.weight" : tensor<16xf32>
  // CHECK: nn.batch_norm {{.*}} -> tensor<?x16x5x5xf32>
  %bn = nn.batch_norm %x, %s, %s, %s, %s epsilon = 1.0e-05 momentum = 1.0e-01
      : (tensor<?x16x5x5xf32>, tensor<16xf32>, tensor<16xf32>, tensor<16xf32>, tensor<16xf32>)
      -> tensor<*xf32>
  // BatchNorm1d on (N, C).
  // CHECK: nn.batch_norm {{.*}} -> tensor<8x16xf32>
  %bn1 = nn.batch_norm %v, %s, %s, %s, %s epsilon = 1.0e-05 momentum = 1.0e-01
      : (tensor<8x16xf32>, tensor<16xf32>, tensor<16xf32>, tensor<16xf32>, tensor<16xf32>)
      -> tensor<*xf32>
  // 16·5·5 = 400 features.
  // CHECK: nn.flatten {{.*}} : tensor<?x16x5x5xf32> -> tensor<?x400xf32>
  %f = nn.flatten %bn : tensor<*xf32> -> tensor<*xf32>
  %w = nn.parameter "fc.weight" : tensor<120x400xf32>
  %b = nn.parameter "fc.bias" : tensor<120xf32>
  // CHECK: nn.dense {{.*}} : (tensor<?x400xf32>, tensor<120x400xf32>, tensor<120xf32>) -> tensor<?x120xf32>
  %y = nn.dense %f, %w, %b : (tensor<*xf32>, tensor<120x400xf32>, tensor<120xf32>) -> tensor<*xf32>
  // A 2-D input flattens to itself; a 3-D one to N × 20.
  // CHECK: nn.flatten {{.*}} : tensor<8x16xf32> -> tensor<8x16xf32>
  %f2 = nn.flatten %bn1 : tensor<*xf32> -> tensor<*xf32>
  // CHECK: nn.flatten {{.*}} : tensor<?x4x5xf32> -> tensor<?x20xf32>
  %f3 = nn.flatten %c : tensor<?x4x5xf32> -> tensor<*xf32>
  return %bn, %bn1, %y, %f2, %f3 : tensor<*xf32>, tensor<*xf32>, tensor<*xf32>, tensor<*xf32>, tensor<*xf32>
}

// -----

// A residual block: the add's operands are inferred before it.
// CHECK-LABEL: func.func @residual
// CHECK-SAME: -> tensor<?x8x6x6xf32>
func.func @residual(%x: tensor<?x8x6x6xf32>) -> tensor<*xf32> {
  %w = nn.parameter "conv.weight" : tensor<8x8x3x3xf32>
  %c = nn.conv %x, %w strides = [1, 1] padding = [1, 1, 1, 1] dilations = [1, 1] groups = 1
      : (tensor<?x8x6x6xf32>, tensor<8x8x3x3xf32>) -> tensor<*xf32>
  // CHECK: nn.relu {{.*}} : tensor<?x8x6x6xf32> -> tensor<?x8x6x6xf32>
  %r = nn.relu %c : tensor<*xf32> -> tensor<*xf32>
  // CHECK: nn.add {{.*}} : (tensor<?x8x6x6xf32>, tensor<?x8x6x6xf32>) -> tensor<?x8x6x6xf32>
  %s = nn.add %r, %x : (tensor<*xf32>, tensor<?x8x6x6xf32>) -> tensor<*xf32>
  // CHECK: nn.sigmoid {{.*}} : tensor<?x8x6x6xf32> -> tensor<?x8x6x6xf32>
  %g = nn.sigmoid %s : tensor<*xf32> -> tensor<*xf32>
  return %g : tensor<*xf32>
}

// -----

// LeNet-5 with a dynamic batch, to the loss.
// CHECK-LABEL: func.func @lenet
// CHECK-SAME: (%{{.*}}: tensor<?x1x28x28xf32>, %{{.*}}: tensor<?xi64>) -> (tensor<?x10xf32>, tensor<f32>)
func.func @lenet(%x: tensor<?x1x28x28xf32>, %labels: tensor<?xi64>) -> (tensor<*xf32>, tensor<*xf32>) {
  %w1 = nn.parameter "conv1.weight" : tensor<20x1x5x5xf32>
  %b1 = nn.parameter "conv1.bias" : tensor<20xf32>
  // 28 − 5 + 1 = 24
  // CHECK: nn.conv {{.*}} -> tensor<?x20x24x24xf32>
  %c1 = nn.conv %x, %w1, %b1 strides = [1, 1] padding = [0, 0, 0, 0] dilations = [1, 1] groups = 1
      : (tensor<?x1x28x28xf32>, tensor<20x1x5x5xf32>, tensor<20xf32>) -> tensor<*xf32>
  // CHECK: nn.tanh {{.*}} -> tensor<?x20x24x24xf32>
  %t1 = nn.tanh %c1 : tensor<*xf32> -> tensor<*xf32>
  // CHECK: nn.avg_pool {{.*}} -> tensor<?x20x12x12xf32>
  %p1 = nn.avg_pool %t1 kernel_size = [2, 2] strides = [2, 2] padding = [0, 0, 0, 0]
      ceil_mode = false count_include_pad = true : tensor<*xf32> -> tensor<*xf32>
  %w2 = nn.parameter "conv2.weight" : tensor<50x20x5x5xf32>
  %b2 = nn.parameter "conv2.bias" : tensor<50xf32>
  // 12 − 5 + 1 = 8
  // CHECK: nn.conv {{.*}} -> tensor<?x50x8x8xf32>
  %c2 = nn.conv %p1, %w2, %b2 strides = [1, 1] padding = [0, 0, 0, 0] dilations = [1, 1] groups = 1
      : (tensor<*xf32>, tensor<50x20x5x5xf32>, tensor<50xf32>) -> tensor<*xf32>
  // CHECK: nn.tanh {{.*}} -> tensor<?x50x8x8xf32>
  %t2 = nn.tanh %c2 : tensor<*xf32> -> tensor<*xf32>
  // CHECK: nn.max_pool {{.*}} -> tensor<?x50x4x4xf32>
  %p2 = nn.max_pool %t2 kernel_size = [2, 2] strides = [2, 2] padding = [0, 0, 0, 0] ceil_mode = false
      : tensor<*xf32> -> tensor<*xf32>
  // CHECK: nn.flatten {{.*}} -> tensor<?x800xf32>
  %f = nn.flatten %p2 : tensor<*xf32> -> tensor<*xf32>
  %w3 = nn.parameter "fc1.weight" : tensor<500x800xf32>
  %b3 = nn.parameter "fc1.bias" : tensor<500xf32>
  // CHECK: nn.dense {{.*}} -> tensor<?x500xf32>
  %d1 = nn.dense %f, %w3, %b3 : (tensor<*xf32>, tensor<500x800xf32>, tensor<500xf32>) -> tensor<*xf32>
  // CHECK: nn.tanh {{.*}} -> tensor<?x500xf32>
  %t3 = nn.tanh %d1 : tensor<*xf32> -> tensor<*xf32>
  %w4 = nn.parameter "fc2.weight" : tensor<10x500xf32>
  %b4 = nn.parameter "fc2.bias" : tensor<10xf32>
  // CHECK: nn.dense {{.*}} -> tensor<?x10xf32>
  %logits = nn.dense %t3, %w4, %b4 : (tensor<*xf32>, tensor<10x500xf32>, tensor<10xf32>) -> tensor<*xf32>
  // CHECK: nn.log_softmax {{.*}} : tensor<?x10xf32> -> tensor<?x10xf32>
  %lp = nn.log_softmax %logits axis = 1 : tensor<*xf32> -> tensor<*xf32>
  // CHECK: nn.softmax {{.*}} : tensor<?x10xf32> -> tensor<?x10xf32>
  %p = nn.softmax %lp axis = 1 : tensor<*xf32> -> tensor<*xf32>
  // CHECK: nn.softmax_cross_entropy {{.*}} : (tensor<?x10xf32>, tensor<?xi64>) -> tensor<f32>
  %loss = nn.softmax_cross_entropy %logits, %labels : (tensor<*xf32>, tensor<?xi64>) -> tensor<*xf32>
  // CHECK: return {{.*}} : tensor<?x10xf32>, tensor<f32>
  return %p, %loss : tensor<*xf32>, tensor<*xf32>
}

// -----

// Calls: each callee is inferred before the call's result types are set, whether it is defined
// before or after its caller; an unranked argument takes the type of the call's operand.

// CHECK-LABEL: func.func @stem
// CHECK-SAME: (%{{.*}}: tensor<?x3x32x32xf32>) -> tensor<?x16x16x16xf32>
func.func @stem(%x: tensor<?x3x32x32xf32>) -> tensor<*xf32> {
  %w = nn.parameter "stem.weight" : tensor<16x3x3x3xf32>
  // ⌊(32 + 2 − 2 − 1)/2⌋ + 1 = 16
  %y = nn.conv %x, %w strides = [2, 2] padding = [1, 1, 1, 1] dilations = [1, 1] groups = 1
      : (tensor<?x3x32x32xf32>, tensor<16x3x3x3xf32>) -> tensor<*xf32>
  return %y : tensor<*xf32>
}

// CHECK-LABEL: func.func @main
// CHECK-SAME: (%{{.*}}: tensor<?x3x32x32xf32>) -> tensor<?x10xf32>
func.func @main(%x: tensor<?x3x32x32xf32>) -> tensor<*xf32> {
  // CHECK: call @stem(%{{.*}}) : (tensor<?x3x32x32xf32>) -> tensor<?x16x16x16xf32>
  %a = call @stem(%x) : (tensor<?x3x32x32xf32>) -> tensor<*xf32>
  // CHECK: nn.relu {{.*}} : tensor<?x16x16x16xf32> -> tensor<?x16x16x16xf32>
  %r = nn.relu %a : tensor<*xf32> -> tensor<*xf32>
  // CHECK: call @head(%{{.*}}) : (tensor<?x16x16x16xf32>) -> tensor<?x10xf32>
  %b = call @head(%r) : (tensor<*xf32>) -> tensor<*xf32>
  // CHECK: return {{.*}} : tensor<?x10xf32>
  return %b : tensor<*xf32>
}

// CHECK-LABEL: func.func private @head
// CHECK-SAME: (%{{.*}}: tensor<?x16x16x16xf32>) -> tensor<?x10xf32>
func.func private @head(%x: tensor<*xf32>) -> tensor<*xf32> {
  // CHECK: nn.global_avg_pool {{.*}} : tensor<?x16x16x16xf32> -> tensor<?x16x1x1xf32>
  %p = nn.global_avg_pool %x : tensor<*xf32> -> tensor<*xf32>
  %f = nn.flatten %p : tensor<*xf32> -> tensor<*xf32>
  %w = nn.parameter "fc.weight" : tensor<10x16xf32>
  // CHECK: nn.dense {{.*}} -> tensor<?x10xf32>
  %y = nn.dense %f, %w : (tensor<*xf32>, tensor<10x16xf32>) -> tensor<*xf32>
  return %y : tensor<*xf32>
}

// -----

// Types already written stay; an op whose operand is still unranked keeps a ranked result.
// CHECK-LABEL: func.func @keeps_written_types
func.func @keeps_written_types(%x: tensor<*xf32>, %y: tensor<4x10xf32>) -> (tensor<*xf32>, tensor<4x10xf32>) {
  // CHECK: nn.relu %{{.*}} : tensor<*xf32> -> tensor<*xf32>
  %a = nn.relu %x : tensor<*xf32> -> tensor<*xf32>
  // CHECK: nn.tanh %{{.*}} : tensor<*xf32> -> tensor<4x10xf32>
  %b = nn.tanh %a : tensor<*xf32> -> tensor<4x10xf32>
  // CHECK: nn.sigmoid %{{.*}} : tensor<4x10xf32> -> tensor<4x10xf32>
  %c = nn.sigmoid %y : tensor<4x10xf32> -> tensor<4x10xf32>
  return %a, %c : tensor<*xf32>, tensor<4x10xf32>
}

// -----

// An external function's signature is all there is: its unranked result stays unranked, and so
// does what is computed from it.
// CHECK-LABEL: func.func private @external
// CHECK-SAME: (tensor<?x4xf32>) -> tensor<*xf32>
func.func private @external(tensor<?x4xf32>) -> tensor<*xf32>

// CHECK-LABEL: func.func @calls_external
// CHECK-SAME: -> (tensor<*xf32>, tensor<?x4xf32>)
func.func @calls_external(%x: tensor<?x4xf32>) -> (tensor<*xf32>, tensor<*xf32>) {
  // CHECK: call @external(%{{.*}}) : (tensor<?x4xf32>) -> tensor<*xf32>
  %e = call @external(%x) : (tensor<?x4xf32>) -> tensor<*xf32>
  // CHECK: nn.relu %{{.*}} : tensor<*xf32> -> tensor<*xf32>
  %r = nn.relu %e : tensor<*xf32> -> tensor<*xf32>
  // CHECK: nn.tanh %{{.*}} : tensor<?x4xf32> -> tensor<?x4xf32>
  %t = nn.tanh %x : tensor<?x4xf32> -> tensor<*xf32>
  return %r, %t : tensor<*xf32>, tensor<*xf32>
}
