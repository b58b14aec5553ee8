// Every nn op parses, verifies and prints back in its custom form, and again from the generic form.
// RUN: kiln-opt %s | kiln-opt | FileCheck %s
// RUN: kiln-opt %s --mlir-print-op-generic | kiln-opt | FileCheck %s

// CHECK-LABEL: func.func @parameters
func.func @parameters() -> (tensor<20x1x5x5xf32>, tensor<64xf32>, tensor<f32>) {
  // CHECK: nn.parameter "conv1.weight" : tensor<20x1x5x5xf32>
  %w = nn.parameter "conv1.weight" : tensor<20x1x5x5xf32>
  // CHECK: nn.parameter "bn1.running_mean" buffer : tensor<64xf32>
  %m = nn.parameter "bn1.running_mean" buffer : tensor<64xf32>
  // A 0-D parameter (a scalar) has one element.
  // CHECK: nn.parameter "bn1.num_batches_tracked" buffer {note = "kept"} : tensor<f32>
  %n = nn.parameter "bn1.num_batches_tracked" buffer {note = "kept"} : tensor<f32>
  return %w, %m, %n : tensor<20x1x5x5xf32>, tensor<64xf32>, tensor<f32>
}

// CHECK-LABEL: func.func @conv1d
func.func @conv1d(%x: tensor<?x4x100xf32>) -> tensor<?x8x33xf32> {
  %w = nn.parameter "conv.weight" : tensor<8x4x3xf32>
  %b = nn.parameter "conv.bias" : tensor<8xf32>
  // CHECK: nn.conv %{{.*}}, %{{.*}}, %{{.*}} strides = [3] padding = [1, 0] dilations = [1] groups = 1
  // CHECK-SAME: : (tensor<?x4x100xf32>, tensor<8x4x3xf32>, tensor<8xf32>) -> tensor<?x8x33xf32>
  %y = nn.conv %x, %w, %b strides = [3] padding = [1, 0] dilations = [1] groups = 1
      : (tensor<?x4x100xf32>, tensor<8x4x3xf32>, tensor<8xf32>) -> tensor<?x8x33xf32>
  return %y : tensor<?x8x33xf32>
}

// CHECK-LABEL: func.func @conv2d_no_bias
func.func @conv2d_no_bias(%x: tensor<2x6x28x28xf32>) -> tensor<2x12x12x12xf32> {
  %w = nn.parameter "conv.weight" : tensor<12x3x5x5xf32>
  // CHECK: nn.conv %{{.*}}, %{{.*}} strides = [2, 2] padding = [2, 1, 1, 2] dilations = [2, 2] groups = 2
  // CHECK-SAME: : (tensor<2x6x28x28xf32>, tensor<12x3x5x5xf32>) -> tensor<2x12x12x12xf32>
  %y = nn.conv %x, %w strides = [2, 2] padding = [2, 1, 1, 2] dilations = [2, 2] groups = 2
      : (tensor<2x6x28x28xf32>, tensor<12x3x5x5xf32>) -> tensor<2x12x12x12xf32>
  return %y : tensor<2x12x12x12xf32>
}

// CHECK-LABEL: func.func @conv3d
func.func @conv3d(%x: tensor<?x3x16x32x32xf32>) -> tensor<?x16x16x16x16xf32> {
  %w = nn.parameter "conv.weight" : tensor<16x3x3x3x3xf32>
  %b = nn.parameter "conv.bias" : tensor<16xf32>
  // CHECK: nn.conv %{{.*}}, %{{.*}}, %{{.*}} strides = [1, 2, 2] padding = [1, 1, 1, 1, 1, 1] dilations = [1, 1, 1] groups = 1
  // CHECK-SAME: -> tensor<?x16x16x16x16xf32>
  %y = nn.conv %x, %w, %b strides = [1, 2, 2] padding = [1, 1, 1, 1, 1, 1] dilations = [1, 1, 1]
      groups = 1 : (tensor<?x3x16x32x32xf32>, tensor<16x3x3x3x3xf32>, tensor<16xf32>)
      -> tensor<?x16x16x16x16xf32>
  return %y : tensor<?x16x16x16x16xf32>
}

// Before shape inference results (and operands) may be unranked.
// CHECK-LABEL: func.func @unranked
func.func @unranked(%x: tensor<*xf32>) -> tensor<*xf32> {
  %w = nn.parameter "conv.weight" : tensor<8x1x3x3xf32>
  // CHECK: nn.conv %{{.*}}, %{{.*}} strides = [1, 1] padding = [0, 0, 0, 0] dilations = [1, 1] groups = 1 : (tensor<*xf32>, tensor<8x1x3x3xf32>) -> tensor<*xf32>
  %y = nn.conv %x, %w strides = [1, 1] padding = [0, 0, 0, 0] dilations = [1, 1] groups = 1
      : (tensor<*xf32>, tensor<8x1x3x3xf32>) -> tensor<*xf32>
  // CHECK: nn.max_pool %{{.*}} kernel_size = [2, 2] strides = [2, 2] padding = [0, 0, 0, 0] ceil_mode = false : tensor<*xf32> -> tensor<*xf32>
  %p = nn.max_pool %y kernel_size = [2, 2] strides = [2, 2] padding = [0, 0, 0, 0] ceil_mode = false
      : tensor<*xf32> -> tensor<*xf32>
  return %p : tensor<*xf32>
}

// CHECK-LABEL: func.func @pools
func.func @pools(%x1: tensor<?x4x10xf32>, %x2: tensor<?x64x112x112xf32>, %x3: tensor<1x2x5x6x7xf32>)
    -> (tensor<?x4x5xf32>, tensor<?x64x56x56xf32>, tensor<1x2x3x3x4xf32>, tensor<?x4x1xf32>,
        tensor<?x64x1x1xf32>, tensor<1x2x1x1x1xf32>) {
  // CHECK: nn.max_pool %{{.*}} kernel_size = [2] strides = [2] padding = [0, 0] ceil_mode = false : tensor<?x4x10xf32> -> tensor<?x4x5xf32>
  %a = nn.max_pool %x1 kernel_size = [2] strides = [2] padding = [0, 0] ceil_mode = false
      : tensor<?x4x10xf32> -> tensor<?x4x5xf32>
  // CHECK: nn.max_pool %{{.*}} kernel_size = [3, 3] strides = [2, 2] padding = [1, 1, 1, 1] ceil_mode = false : tensor<?x64x112x112xf32> -> tensor<?x64x56x56xf32>
  %b = nn.max_pool %x2 kernel_size = [3, 3] strides = [2, 2] padding = [1, 1, 1, 1] ceil_mode = false
      : tensor<?x64x112x112xf32> -> tensor<?x64x56x56xf32>
  // CHECK: nn.avg_pool %{{.*}} kernel_size = [2, 2, 2] strides = [2, 2, 2] padding = [1, 0, 1, 0, 1, 0] ceil_mode = true count_include_pad = false : tensor<1x2x5x6x7xf32> -> tensor<1x2x3x3x4xf32>
  %c = nn.avg_pool %x3 kernel_size = [2, 2, 2] strides = [2, 2, 2] padding = [1, 0, 1, 0, 1, 0]
      ceil_mode = true count_include_pad = false : tensor<1x2x5x6x7xf32> -> tensor<1x2x3x3x4xf32>
  // CHECK: nn.global_max_pool %{{.*}} : tensor<?x4x10xf32> -> tensor<?x4x1xf32>
  %d = nn.global_max_pool %x1 : tensor<?x4x10xf32> -> tensor<?x4x1xf32>
  // CHECK: nn.global_avg_pool %{{.*}} : tensor<?x64x112x112xf32> -> tensor<?x64x1x1xf32>
  %e = nn.global_avg_pool %x2 : tensor<?x64x112x112xf32> -> tensor<?x64x1x1xf32>
  // CHECK: nn.global_avg_pool %{{.*}} : tensor<1x2x5x6x7xf32> -> tensor<1x2x1x1x1xf32>
  %f = nn.global_avg_pool %x3 : tensor<1x2x5x6x7xf32> -> tensor<1x2x1x1x1xf32>
  return %a, %b, %c, %d, %e, %f : tensor<?x4x5xf32>, tensor<?x64x56x56xf32>, tensor<1x2x3x3x4xf32>,
      tensor<?x4x1xf32>, tensor<?x64x1x1xf32>, tensor<1x2x1x1x1xf32>
}

// CHECK-LABEL: func.func @avg_pool_2d
func.func @avg_pool_2d(%x: tensor<?x20x24x24xf32>) -> tensor<?x20x12x12xf32> {
  // CHECK: nn.avg_pool %{{.*}} kernel_size = [2, 2] strides = [2, 2] padding = [0, 0, 0, 0] ceil_mode = false count_include_pad = true : tensor<?x20x24x24xf32> -> tensor<?x20x12x12xf32>
  %y = nn.avg_pool %x kernel_size = [2, 2] strides = [2, 2] padding = [0, 0, 0, 0] ceil_mode = false
      count_include_pad = true : tensor<?x20x24x24xf32> -> tensor<?x20x12x12xf32>
  return %y : tensor<?x20x12x12xf32>
}

// CHECK-LABEL: func.func @batch_norm
func.func @batch_norm(%x: tensor<?x64x56x56xf32>, %v: tensor<8x3xf32>)
    -> (tensor<?x64x56x56xf32>, tensor<8x3xf32>) {
  %g = nn.parameter "bn1.weight" : tensor<64xf32>
  %b = nn.parameter "bn1.bias" : tensor<64xf32>
  %m = nn.parameter "bn1.running_mean" buffer : tensor<64xf32>
  %s = nn.parameter "bn1.running_var" buffer : tensor<64xf32>
  // CHECK: nn.batch_norm %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} epsilon = 1.000000e-05 momentum = 1.000000e-01
  // CHECK-SAME: : (tensor<?x64x56x56xf32>, tensor<64xf32>, tensor<64xf32>, tensor<64xf32>, tensor<64xf32>) -> tensor<?x64x56x56xf32>
  %y = nn.batch_norm %x, %g, %b, %m, %s epsilon = 1.0e-05 momentum = 1.0e-01
      : (tensor<?x64x56x56xf32>, tensor<64xf32>, tensor<64xf32>, tensor<64xf32>, tensor<64xf32>)
      -> tensor<?x64x56x56xf32>
  // BatchNorm1d over (N, C) features; momentum at the ends of [0, 1].
  %g3 = nn.parameter "bn2.weight" : tensor<3xf32>
  // CHECK: nn.batch_norm {{.*}} epsilon = 1.000000e-03 momentum = 0.000000e+00
  // CHECK-SAME: -> tensor<8x3xf32>
  %z = nn.batch_norm %v, %g3, %g3, %g3, %g3 epsilon = 1.0e-03 momentum = 0.0
      : (tensor<8x3xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>) -> tensor<8x3xf32>
  return %y, %z : tensor<?x64x56x56xf32>, tensor<8x3xf32>
}

// CHECK-LABEL: func.func @dense
func.func @dense(%x: tensor<?x800xf32>) -> (tensor<?x500xf32>, tensor<?x10xf32>) {
  %w = nn.parameter "fc1.weight" : tensor<500x800xf32>
  %b = nn.parameter "fc1.bias" : tensor<500xf32>
  // CHECK: nn.dense %{{.*}}, %{{.*}}, %{{.*}} : (tensor<?x800xf32>, tensor<500x800xf32>, tensor<500xf32>) -> tensor<?x500xf32>
  %y = nn.dense %x, %w, %b : (tensor<?x800xf32>, tensor<500x800xf32>, tensor<500xf32>) -> tensor<?x500xf32>
  %w2 = nn.parameter "fc2.weight" : tensor<10x500xf32>
  // CHECK: nn.dense %{{.*}}, %{{.*}} : (tensor<?x500xf32>, tensor<10x500xf32>) -> tensor<?x10xf32>
  %z = nn.dense %y, %w2 : (tensor<?x500xf32>, tensor<10x500xf32>) -> tensor<?x10xf32>
  return %y, %z : tensor<?x500xf32>, tensor<?x10xf32>
}

// CHECK-LABEL: func.func @elementwise
func.func @elementwise(%a: tensor<?x64x56x56xf32>, %b: tensor<?x64x56x56xf32>) -> tensor<?x64x56x56xf32> {
  // CHECK: nn.add %{{.*}}, %{{.*}} : (tensor<?x64x56x56xf32>, tensor<?x64x56x56xf32>) -> tensor<?x64x56x56xf32>
  %s = nn.add %a, %b : (tensor<?x64x56x56xf32>, tensor<?x64x56x56xf32>) -> tensor<?x64x56x56xf32>
  // CHECK: nn.relu %{{.*}} : tensor<?x64x56x56xf32> -> tensor<?x64x56x56xf32>
  %r = nn.relu %s : tensor<?x64x56x56xf32> -> tensor<?x64x56x56xf32>
  // CHECK: nn.tanh %{{.*}} : tensor<?x64x56x56xf32> -> tensor<?x64x56x56xf32>
  %t = nn.tanh %r : tensor<?x64x56x56xf32> -> tensor<?x64x56x56xf32>
  // CHECK: nn.sigmoid %{{.*}} : tensor<?x64x56x56xf32> -> tensor<?x64x56x56xf32>
  %g = nn.sigmoid %t : tensor<?x64x56x56xf32> -> tensor<?x64x56x56xf32>
  // CHECK: nn.leaky_relu %{{.*}} {alpha = 1.000000e-01 : f32} : tensor<?x64x56x56xf32> -> tensor<?x64x56x56xf32>
  %l = nn.leaky_relu %g {alpha = 0.1 : f32} : tensor<?x64x56x56xf32> -> tensor<?x64x56x56xf32>
  // An absent bound is infinite.
  // CHECK: nn.clip %{{.*}} {max = 0x7F800000 : f32, min = 0.000000e+00 : f32} : tensor<?x64x56x56xf32> -> tensor<?x64x56x56xf32>
  %c = nn.clip %l {min = 0.0 : f32, max = 0x7F800000 : f32} : tensor<?x64x56x56xf32> -> tensor<?x64x56x56xf32>
  // CHECK: nn.leaky_relu_backward %{{.*}}, %{{.*}} {alpha = 1.000000e-01 : f32} : (tensor<?x64x56x56xf32>, tensor<?x64x56x56xf32>) -> tensor<?x64x56x56xf32>
  %dl = nn.leaky_relu_backward %g, %c {alpha = 0.1 : f32} : (tensor<?x64x56x56xf32>, tensor<?x64x56x56xf32>) -> tensor<?x64x56x56xf32>
  // CHECK: nn.clip_backward %{{.*}}, %{{.*}} {max = 6.000000e+00 : f32, min = 0.000000e+00 : f32} : (tensor<?x64x56x56xf32>, tensor<?x64x56x56xf32>) -> tensor<?x64x56x56xf32>
  %dc = nn.clip_backward %l, %dl {min = 0.0 : f32, max = 6.0 : f32} : (tensor<?x64x56x56xf32>, tensor<?x64x56x56xf32>) -> tensor<?x64x56x56xf32>
  return %dc : tensor<?x64x56x56xf32>
}

// CHECK-LABEL: func.func @broadcasting
func.func @broadcasting(%x: tensor<?x8x4x4xf32>, %b: tensor<8x1x1xf32>, %s: tensor<1xf32>) -> tensor<8x1x1xf32> {
  // CHECK: nn.broadcast_add %{{.*}}, %{{.*}} : (tensor<?x8x4x4xf32>, tensor<8x1x1xf32>) -> tensor<?x8x4x4xf32>
  %a = nn.broadcast_add %x, %b : (tensor<?x8x4x4xf32>, tensor<8x1x1xf32>) -> tensor<?x8x4x4xf32>
  // CHECK: nn.broadcast_sub %{{.*}}, %{{.*}} : (tensor<1xf32>, tensor<?x8x4x4xf32>) -> tensor<?x8x4x4xf32>
  %m = nn.broadcast_sub %s, %a : (tensor<1xf32>, tensor<?x8x4x4xf32>) -> tensor<?x8x4x4xf32>
  // CHECK: nn.broadcast_mul %{{.*}}, %{{.*}} : (tensor<?x8x4x4xf32>, tensor<?x8x4x4xf32>) -> tensor<?x8x4x4xf32>
  %p = nn.broadcast_mul %m, %a : (tensor<?x8x4x4xf32>, tensor<?x8x4x4xf32>) -> tensor<?x8x4x4xf32>
  // CHECK: nn.broadcast_div %{{.*}}, %{{.*}} : (tensor<?x8x4x4xf32>, tensor<8x1x1xf32>) -> tensor<?x8x4x4xf32>
  %q = nn.broadcast_div %p, %b : (tensor<?x8x4x4xf32>, tensor<8x1x1xf32>) -> tensor<?x8x4x4xf32>
  // CHECK: nn.broadcast_max %{{.*}}, %{{.*}} : (tensor<?x8x4x4xf32>, tensor<1xf32>) -> tensor<?x8x4x4xf32>
  %mx = nn.broadcast_max %q, %s : (tensor<?x8x4x4xf32>, tensor<1xf32>) -> tensor<?x8x4x4xf32>
  // CHECK: nn.broadcast_min %{{.*}}, %{{.*}} : (tensor<8x1x1xf32>, tensor<?x8x4x4xf32>) -> tensor<?x8x4x4xf32>
  %mn = nn.broadcast_min %b, %mx : (tensor<8x1x1xf32>, tensor<?x8x4x4xf32>) -> tensor<?x8x4x4xf32>
  // CHECK: nn.sum_like %{{.*}}, %{{.*}} {scale = -1.000000e+00 : f32} : (tensor<?x8x4x4xf32>, tensor<8x1x1xf32>) -> tensor<8x1x1xf32>
  %g = nn.sum_like %mn, %b {scale = -1.0 : f32} : (tensor<?x8x4x4xf32>, tensor<8x1x1xf32>) -> tensor<8x1x1xf32>
  return %g : tensor<8x1x1xf32>
}

// CHECK-LABEL: func.func @transpose
func.func @transpose(%x: tensor<?x8x4x5xf32>) -> tensor<?x4x5x8xf32> {
  // CHECK: nn.transpose %{{.*}} perm = [0, 2, 3, 1] : tensor<?x8x4x5xf32> -> tensor<?x4x5x8xf32>
  %y = nn.transpose %x perm = [0, 2, 3, 1] : tensor<?x8x4x5xf32> -> tensor<?x4x5x8xf32>
  return %y : tensor<?x4x5x8xf32>
}

// CHECK-LABEL: func.func @pad_and_concat
func.func @pad_and_concat(%x: tensor<?x8x4x5xf32>, %z: tensor<?x3x6x4xf32>) -> tensor<?x11x6x4xf32> {
  // CHECK: nn.pad %{{.*}} pads = [0, 0, 1, 0, 0, 0, 1, -1] {value = 2.500000e-01 : f32} : tensor<?x8x4x5xf32> -> tensor<?x8x6x4xf32>
  %p = nn.pad %x pads = [0, 0, 1, 0, 0, 0, 1, -1] {value = 0.25 : f32} : tensor<?x8x4x5xf32> -> tensor<?x8x6x4xf32>
  // CHECK: nn.pad %{{.*}} pads = [0, 0, 0, 0, 0, 0, 0, 0] : tensor<?x8x6x4xf32> -> tensor<?x8x6x4xf32>
  %q = nn.pad %p pads = [0, 0, 0, 0, 0, 0, 0, 0] : tensor<?x8x6x4xf32> -> tensor<?x8x6x4xf32>
  // CHECK: nn.concat %{{.*}}, %{{.*}} axis = 1 : (tensor<?x8x6x4xf32>, tensor<?x3x6x4xf32>) -> tensor<?x11x6x4xf32>
  %y = nn.concat %q, %z axis = 1 : (tensor<?x8x6x4xf32>, tensor<?x3x6x4xf32>) -> tensor<?x11x6x4xf32>
  return %y : tensor<?x11x6x4xf32>
}

// CHECK-LABEL: func.func @classifier_head
func.func @classifier_head(%x: tensor<?x50x4x4xf32>, %labels: tensor<?xi64>)
    -> (tensor<?x10xf32>, tensor<?x10xf32>, tensor<f32>) {
  // CHECK: nn.flatten %{{.*}} : tensor<?x50x4x4xf32> -> tensor<?x800xf32>
  %f = nn.flatten %x : tensor<?x50x4x4xf32> -> tensor<?x800xf32>
  %w = nn.parameter "fc.weight" : tensor<10x800xf32>
  %l = nn.dense %f, %w : (tensor<?x800xf32>, tensor<10x800xf32>) -> tensor<?x10xf32>
  // CHECK: nn.softmax %{{.*}} axis = 1 : tensor<?x10xf32> -> tensor<?x10xf32>
  %p = nn.softmax %l axis = 1 : tensor<?x10xf32> -> tensor<?x10xf32>
  // CHECK: nn.log_softmax %{{.*}} axis = 1 : tensor<?x10xf32> -> tensor<?x10xf32>
  %q = nn.log_softmax %l axis = 1 : tensor<?x10xf32> -> tensor<?x10xf32>
  // CHECK: nn.softmax_cross_entropy %{{.*}}, %{{.*}} : (tensor<?x10xf32>, tensor<?xi64>) -> tensor<f32>
  %loss = nn.softmax_cross_entropy %l, %labels : (tensor<?x10xf32>, tensor<?xi64>) -> tensor<f32>
  return %p, %q, %loss : tensor<?x10xf32>, tensor<?x10xf32>, tensor<f32>
}

// Labels of another integer type, and a static batch on one side only.
// CHECK-LABEL: func.func @loss_i32
func.func @loss_i32(%l: tensor<4x10xf32>, %labels: tensor<?xi32>) -> tensor<f32> {
  // CHECK: nn.softmax_cross_entropy %{{.*}}, %{{.*}} : (tensor<4x10xf32>, tensor<?xi32>) -> tensor<f32>
  %loss = nn.softmax_cross_entropy %l, %labels : (tensor<4x10xf32>, tensor<?xi32>) -> tensor<f32>
  return %loss : tensor<f32>
}

// Batch norm folded into a layer's parameters (kiln-fold-batch-norm).
// CHECK-LABEL: func.func @fold_batch_norm
func.func @fold_batch_norm(%w: tensor<8x3x3x3xf32>, %g: tensor<8xf32>, %b: tensor<8xf32>,
                           %m: tensor<8xf32>, %v: tensor<8xf32>, %bias: tensor<8xf32>)
    -> (tensor<8x3x3x3xf32>, tensor<8xf32>, tensor<8xf32>) {
  // CHECK: nn.fold_batch_norm_weight %{{.*}}, %{{.*}}, %{{.*}} epsilon = 1.000000e-05 : (tensor<8x3x3x3xf32>, tensor<8xf32>, tensor<8xf32>) -> tensor<8x3x3x3xf32>
  %fw = nn.fold_batch_norm_weight %w, %g, %v epsilon = 1.0e-05
      : (tensor<8x3x3x3xf32>, tensor<8xf32>, tensor<8xf32>) -> tensor<8x3x3x3xf32>
  // CHECK: nn.fold_batch_norm_bias %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} epsilon = 1.000000e-05 : (tensor<8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>) -> tensor<8xf32>
  %fb = nn.fold_batch_norm_bias %g, %b, %m, %v epsilon = 1.0e-05
      : (tensor<8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>) -> tensor<8xf32>
  // CHECK: nn.fold_batch_norm_bias %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} epsilon = 1.000000e-05 : (tensor<8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>) -> tensor<8xf32>
  %fc = nn.fold_batch_norm_bias %g, %b, %m, %v, %bias epsilon = 1.0e-05
      : (tensor<8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>) -> tensor<8xf32>
  return %fw, %fb, %fc : tensor<8x3x3x3xf32>, tensor<8xf32>, tensor<8xf32>
}

// A fused kernel: its layers and its schedule (every field).
// CHECK-LABEL: func.func @kernel_schedule
func.func @kernel_schedule(%x: tensor<?x4x6x6xf32>, %w: tensor<4x4x3x3xf32>) -> tensor<?x4x6x6xf32> {
  // CHECK: kernel.fused "conv"(%{{.*}}, %{{.*}}) layers = ["conv", "conv.relu"] schedule = <vector_width = 16, tile = [6, 64], layout = [0, 2, 3, 1], input_layouts = {{\[\[}}0, 2, 3, 1], []]>
  %y = kernel.fused "conv"(%x, %w) layers = ["conv", "conv.relu"]
      schedule = <vector_width = 16, tile = [6, 64], layout = [0, 2, 3, 1],
                  input_layouts = [[0, 2, 3, 1], []]>
      : (tensor<?x4x6x6xf32>, tensor<4x4x3x3xf32>) -> tensor<?x4x6x6xf32> {
  ^bb0(%a: tensor<?x4x6x6xf32>, %b: tensor<4x4x3x3xf32>):
    %c = nn.conv %a, %b strides = [1, 1] padding = [1, 1, 1, 1] dilations = [1, 1] groups = 1
        : (tensor<?x4x6x6xf32>, tensor<4x4x3x3xf32>) -> tensor<?x4x6x6xf32>
    %r = nn.relu %c : tensor<?x4x6x6xf32> -> tensor<?x4x6x6xf32>
    kernel.yield %r : tensor<?x4x6x6xf32>
  }
  return %y : tensor<?x4x6x6xf32>
}
