// Folders of nn ops, applied by the canonicalizer (which kilnc runs after shape inference).
// RUN: kiln-opt --canonicalize --split-input-file %s | FileCheck %s

// A transpose of a transpose that restores the order is its input (an imported MatMul of a
// transposed weight: PyTorch's Linear without bias).
// CHECK-LABEL: func.func @transpose_of_transpose
// CHECK-SAME:      (%[[X:.+]]: tensor<2x3x4xf32>)
// CHECK-NOT:     nn.transpose
// CHECK:         return %[[X]]
func.func @transpose_of_transpose(%x: tensor<2x3x4xf32>) -> tensor<2x3x4xf32> {
  %t = nn.transpose %x perm = [1, 2, 0] : tensor<2x3x4xf32> -> tensor<3x4x2xf32>
  %u = nn.transpose %t perm = [2, 0, 1] : tensor<3x4x2xf32> -> tensor<2x3x4xf32>
  return %u : tensor<2x3x4xf32>
}

// -----

// Two transposes that compose to another order stay (the same shape is not enough).
// CHECK-LABEL: func.func @transposes_that_permute
// CHECK:         nn.transpose
// CHECK:         nn.transpose
func.func @transposes_that_permute(%x: tensor<2x2x2xf32>) -> tensor<2x2x2xf32> {
  %t = nn.transpose %x perm = [1, 0, 2] : tensor<2x2x2xf32> -> tensor<2x2x2xf32>
  %u = nn.transpose %t perm = [0, 2, 1] : tensor<2x2x2xf32> -> tensor<2x2x2xf32>
  return %u : tensor<2x2x2xf32>
}
