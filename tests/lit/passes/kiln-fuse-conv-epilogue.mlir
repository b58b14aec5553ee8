// kiln-fuse-conv-epilogue: the kernel of a conv or dense layer absorbs the elementwise kernels
// that consume its result alone: activation, residual add, activation after the add.
// RUN: kiln-opt --kiln-form-kernels --kiln-fuse-conv-epilogue --split-input-file %s | FileCheck %s

// A residual block's second conv: conv → add (the shortcut, computed later, becomes an input)
// → relu, in one kernel placed where the relu was.
// CHECK-LABEL: func.func @residual
// CHECK-SAME:      (%[[X:.+]]: tensor<?x4x6x6xf32>)
// CHECK:         %[[W1:.+]] = nn.parameter "conv.weight"
// CHECK:         %[[W2:.+]] = nn.parameter "shortcut.weight"
// CHECK:         %[[S:.+]] = kernel.fused "shortcut"(%[[X]], %[[W2]]) layers = ["shortcut"]
// CHECK:         %[[OUT:.+]] = kernel.fused "conv"(%[[X]], %[[W1]], %[[S]]) layers = ["conv", "add", "add.relu"]
// CHECK-NEXT:    ^bb0(%[[A:.+]]: tensor<?x4x6x6xf32>, %[[B:.+]]: tensor<4x4x3x3xf32>, %[[C:.+]]: tensor<?x4x6x6xf32>):
// CHECK-NEXT:      %[[CONV:.+]] = nn.conv %[[A]], %[[B]]
// CHECK-NEXT:      %[[SUM:.+]] = nn.add %[[CONV]], %[[C]]
// CHECK-NEXT:      %[[RELU:.+]] = nn.relu %[[SUM]]
// CHECK-NEXT:      kernel.yield %[[RELU]]
// CHECK:         return %[[OUT]]
func.func @residual(%x: tensor<?x4x6x6xf32>) -> tensor<?x4x6x6xf32> {
  %w = nn.parameter "conv.weight" : tensor<4x4x3x3xf32>
  %c = nn.conv %x, %w strides = [1, 1] padding = [1, 1, 1, 1] dilations = [1, 1] groups = 1
      : (tensor<?x4x6x6xf32>, tensor<4x4x3x3xf32>) -> tensor<?x4x6x6xf32> loc("conv")
  %ws = nn.parameter "shortcut.weight" : tensor<4x4x1x1xf32>
  %s = nn.conv %x, %ws strides = [1, 1] padding = [0, 0, 0, 0] dilations = [1, 1] groups = 1
      : (tensor<?x4x6x6xf32>, tensor<4x4x1x1xf32>) -> tensor<?x4x6x6xf32> loc("shortcut")
  %a = nn.add %c, %s : (tensor<?x4x6x6xf32>, tensor<?x4x6x6xf32>) -> tensor<?x4x6x6xf32> loc("add")
  %r = nn.relu %a : tensor<?x4x6x6xf32> -> tensor<?x4x6x6xf32> loc("add.relu")
  return %r : tensor<?x4x6x6xf32>
}

// -----

// A dense layer with tanh; the following dense layer stays a kernel of its own.
// CHECK-LABEL: func.func @dense_tanh
// CHECK:         %[[H:.+]] = kernel.fused "fc1"({{.*}}) layers = ["fc1", "fc1.tanh"]
// CHECK:           nn.dense
// CHECK-NEXT:      nn.tanh
// CHECK:         kernel.fused "fc2"(%[[H]], {{.*}}) layers = ["fc2"]
func.func @dense_tanh(%x: tensor<?x8xf32>) -> tensor<?x2xf32> {
  %w1 = nn.parameter "fc1.weight" : tensor<4x8xf32>
  %h = nn.dense %x, %w1 : (tensor<?x8xf32>, tensor<4x8xf32>) -> tensor<?x4xf32> loc("fc1")
  %t = nn.tanh %h : tensor<?x4xf32> -> tensor<?x4xf32> loc("fc1.tanh")
  %w2 = nn.parameter "fc2.weight" : tensor<2x4xf32>
  %y = nn.dense %t, %w2 : (tensor<?x4xf32>, tensor<2x4xf32>) -> tensor<?x2xf32> loc("fc2")
  return %y : tensor<?x2xf32>
}

// -----

// Not fused: an activation whose input another op also reads (the conv result is needed
// twice), and an elementwise op without an anchor before it.
// CHECK-LABEL: func.func @not_fused
// CHECK:         kernel.fused "conv"({{.*}}) layers = ["conv"]
// CHECK:         kernel.fused "relu"({{.*}}) layers = ["relu"]
// CHECK:         kernel.fused "sum"({{.*}}) layers = ["sum"]
// CHECK:         kernel.fused "sig"({{.*}}) layers = ["sig"]
func.func @not_fused(%x: tensor<?x2x4x4xf32>) -> (tensor<?x2x4x4xf32>, tensor<?x2x4x4xf32>) {
  %w = nn.parameter "conv.weight" : tensor<2x2x1x1xf32>
  %c = nn.conv %x, %w strides = [1, 1] padding = [0, 0, 0, 0] dilations = [1, 1] groups = 1
      : (tensor<?x2x4x4xf32>, tensor<2x2x1x1xf32>) -> tensor<?x2x4x4xf32> loc("conv")
  %r = nn.relu %c : tensor<?x2x4x4xf32> -> tensor<?x2x4x4xf32> loc("relu")
  %s = nn.add %r, %c : (tensor<?x2x4x4xf32>, tensor<?x2x4x4xf32>) -> tensor<?x2x4x4xf32> loc("sum")
  %g = nn.sigmoid %x : tensor<?x2x4x4xf32> -> tensor<?x2x4x4xf32> loc("sig")
  return %s, %g : tensor<?x2x4x4xf32>, tensor<?x2x4x4xf32>
}
