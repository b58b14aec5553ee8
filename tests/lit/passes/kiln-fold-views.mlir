// kiln-fold-views: a flatten or reshape kernel of another kernel's result becomes the bare op
// at function level (the library views the buffer); views of inputs or returned views stay.
// RUN: kiln-opt --kiln-form-kernels --kiln-fold-views --split-input-file %s | FileCheck %s

// CHECK-LABEL: func.func @flatten_between_kernels
// CHECK:         %[[P:.+]] = kernel.fused "pool"
// CHECK-NEXT:    ^bb0
// CHECK-NEXT:      nn.max_pool
// CHECK-NEXT:      kernel.yield
// CHECK-NEXT:    }
// CHECK-NEXT:    %[[F:.+]] = nn.flatten %[[P]] : tensor<?x2x2x2xf32> -> tensor<?x8xf32>
// CHECK:         kernel.fused "fc"(%[[F]], {{.*}})
// CHECK-NOT:     kernel.fused "flatten"
func.func @flatten_between_kernels(%x: tensor<?x2x4x4xf32>) -> tensor<?x3xf32> {
  %p = nn.max_pool %x kernel_size = [2, 2] strides = [2, 2] padding = [0, 0, 0, 0] ceil_mode = false
      : tensor<?x2x4x4xf32> -> tensor<?x2x2x2xf32> loc("pool")
  %f = nn.flatten %p : tensor<?x2x2x2xf32> -> tensor<?x8xf32> loc("flatten")
  %w = nn.parameter "fc.weight" : tensor<3x8xf32>
  %y = nn.dense %f, %w : (tensor<?x8xf32>, tensor<3x8xf32>) -> tensor<?x3xf32> loc("fc")
  return %y : tensor<?x3xf32>
}

// -----

// CHECK-LABEL: func.func @views_that_copy
// CHECK:         kernel.fused "flat_input"
// CHECK-NEXT:    ^bb0
// CHECK-NEXT:      nn.flatten
// CHECK:         kernel.fused "flat_output"
// CHECK-NEXT:    ^bb0
// CHECK-NEXT:      nn.flatten
func.func @views_that_copy(%x: tensor<?x2x2xf32>) -> (tensor<?x4xf32>, tensor<?x4xf32>) {
  %a = nn.flatten %x : tensor<?x2x2xf32> -> tensor<?x4xf32> loc("flat_input")
  %r = nn.relu %x : tensor<?x2x2xf32> -> tensor<?x2x2xf32> loc("relu")
  %b = nn.flatten %r : tensor<?x2x2xf32> -> tensor<?x4xf32> loc("flat_output")
  return %a, %b : tensor<?x4xf32>, tensor<?x4xf32>
}
