// kiln-fold-batch-norm: an inference batch norm after a conv or dense layer that nothing else
// reads becomes that layer with folded parameters; anything else is left alone.
// RUN: kiln-opt --kiln-fold-batch-norm --split-input-file %s | FileCheck %s

// CHECK-LABEL: func.func @conv_without_bias
// CHECK-SAME:      (%[[X:.+]]: tensor<?x3x8x8xf32>)
// CHECK-DAG:     %[[W:.+]] = nn.parameter "conv.weight"
// CHECK-DAG:     %[[G:.+]] = nn.parameter "bn.weight"
// CHECK-DAG:     %[[B:.+]] = nn.parameter "bn.bias"
// CHECK-DAG:     %[[M:.+]] = nn.parameter "bn.running_mean"
// CHECK-DAG:     %[[V:.+]] = nn.parameter "bn.running_var"
// CHECK:         %[[FW:.+]] = nn.fold_batch_norm_weight %[[W]], %[[G]], %[[V]] epsilon = 1.000000e-05
// CHECK:         %[[FB:.+]] = nn.fold_batch_norm_bias %[[G]], %[[B]], %[[M]], %[[V]] epsilon = 1.000000e-05
// CHECK:         %[[Y:.+]] = nn.conv %[[X]], %[[FW]], %[[FB]] strides = [2, 2] padding = [1, 1, 1, 1] dilations = [1, 1] groups = 1
// CHECK-NOT:     nn.batch_norm
// CHECK:         return %[[Y]]
func.func @conv_without_bias(%x: tensor<?x3x8x8xf32>) -> tensor<?x4x4x4xf32> {
  %w = nn.parameter "conv.weight" : tensor<4x3x3x3xf32>
  %c = nn.conv %x, %w strides = [2, 2] padding = [1, 1, 1, 1] dilations = [1, 1] groups = 1
      : (tensor<?x3x8x8xf32>, tensor<4x3x3x3xf32>) -> tensor<?x4x4x4xf32>
  %g = nn.parameter "bn.weight" : tensor<4xf32>
  %b = nn.parameter "bn.bias" : tensor<4xf32>
  %m = nn.parameter "bn.running_mean" buffer : tensor<4xf32>
  %v = nn.parameter "bn.running_var" buffer : tensor<4xf32>
  %y = nn.batch_norm %c, %g, %b, %m, %v epsilon = 1.0e-05 momentum = 1.0e-01
      : (tensor<?x4x4x4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>)
      -> tensor<?x4x4x4xf32>
  return %y : tensor<?x4x4x4xf32>
}

// -----

// The layer's own bias is folded in too; a dense layer (BatchNorm1d) is folded the same way.
// CHECK-LABEL: func.func @dense_with_bias
// CHECK:         %[[BIAS:.+]] = nn.parameter "fc.bias"
// CHECK:         nn.fold_batch_norm_weight
// CHECK:         nn.fold_batch_norm_bias {{.*}}, %[[BIAS]] epsilon = 1.000000e-03
// CHECK:         nn.dense
// CHECK-NOT:     nn.batch_norm
func.func @dense_with_bias(%x: tensor<?x8xf32>) -> tensor<?x5xf32> {
  %w = nn.parameter "fc.weight" : tensor<5x8xf32>
  %bias = nn.parameter "fc.bias" : tensor<5xf32>
  %d = nn.dense %x, %w, %bias : (tensor<?x8xf32>, tensor<5x8xf32>, tensor<5xf32>) -> tensor<?x5xf32>
  %g = nn.parameter "bn.weight" : tensor<5xf32>
  %b = nn.parameter "bn.bias" : tensor<5xf32>
  %m = nn.parameter "bn.running_mean" buffer : tensor<5xf32>
  %v = nn.parameter "bn.running_var" buffer : tensor<5xf32>
  %y = nn.batch_norm %d, %g, %b, %m, %v epsilon = 1.0e-03 momentum = 1.0e-01
      : (tensor<?x5xf32>, tensor<5xf32>, tensor<5xf32>, tensor<5xf32>, tensor<5xf32>) -> tensor<?x5xf32>
  return %y : tensor<?x5xf32>
}

// -----

// A conv whose result is also read elsewhere keeps its batch norm (folding would change the
// other reader's value); so does a batch norm of a function's argument.
// CHECK-LABEL: func.func @not_folded
// CHECK:         nn.conv
// CHECK:         nn.batch_norm
// CHECK:         nn.batch_norm
// CHECK-NOT:     nn.fold_batch_norm
func.func @not_folded(%x: tensor<?x3x4x4xf32>) -> (tensor<?x3x4x4xf32>, tensor<?x3x4x4xf32>, tensor<?x3x4x4xf32>) {
  %w = nn.parameter "conv.weight" : tensor<3x3x1x1xf32>
  %c = nn.conv %x, %w strides = [1, 1] padding = [0, 0, 0, 0] dilations = [1, 1] groups = 1
      : (tensor<?x3x4x4xf32>, tensor<3x3x1x1xf32>) -> tensor<?x3x4x4xf32>
  %g = nn.parameter "bn.weight" : tensor<3xf32>
  %b = nn.parameter "bn.bias" : tensor<3xf32>
  %m = nn.parameter "bn.running_mean" buffer : tensor<3xf32>
  %v = nn.parameter "bn.running_var" buffer : tensor<3xf32>
  %y = nn.batch_norm %c, %g, %b, %m, %v epsilon = 1.0e-05 momentum = 1.0e-01
      : (tensor<?x3x4x4xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>) -> tensor<?x3x4x4xf32>
  %z = nn.batch_norm %x, %g, %b, %m, %v epsilon = 1.0e-05 momentum = 1.0e-01
      : (tensor<?x3x4x4xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>) -> tensor<?x3x4x4xf32>
  return %y, %c, %z : tensor<?x3x4x4xf32>, tensor<?x3x4x4xf32>, tensor<?x3x4x4xf32>
}

// -----

// Training-mode batch norm (in @train_step, @forward_train) is never folded.
// CHECK-LABEL: func.func @training_mode
// CHECK:         nn.batch_norm_train
// CHECK-NOT:     nn.fold_batch_norm
func.func @training_mode(%x: tensor<?x3x4x4xf32>) -> tensor<?x3x4x4xf32> {
  %w = nn.parameter "conv.weight" : tensor<3x3x1x1xf32>
  %c = nn.conv %x, %w strides = [1, 1] padding = [0, 0, 0, 0] dilations = [1, 1] groups = 1
      : (tensor<?x3x4x4xf32>, tensor<3x3x1x1xf32>) -> tensor<?x3x4x4xf32>
  %g = nn.parameter "bn.weight" : tensor<3xf32>
  %b = nn.parameter "bn.bias" : tensor<3xf32>
  %y = nn.batch_norm_train %c, %g, %b epsilon = 1.0e-05
      : (tensor<?x3x4x4xf32>, tensor<3xf32>, tensor<3xf32>) -> tensor<?x3x4x4xf32>
  return %y : tensor<?x3x4x4xf32>
}

// -----

// Folding happens when the weights are loaded, so only parameters fold: a statistic or a
// weight computed in the graph (an imported model's graph inputs) keeps the batch norm.
// CHECK-LABEL: func.func @computed_parameters
// CHECK-NOT:     nn.fold_batch_norm_weight
// CHECK:         nn.batch_norm
// CHECK-NOT:     nn.fold_batch_norm_weight
// CHECK:         nn.batch_norm
func.func @computed_parameters(%x: tensor<2x3x8x8xf32>, %mean: tensor<4xf32>,
                               %w2: tensor<4x3x3x3xf32>) -> (tensor<2x4x6x6xf32>, tensor<2x4x6x6xf32>) {
  %w = nn.parameter "conv.weight" : tensor<4x3x3x3xf32>
  %c = nn.conv %x, %w strides = [1, 1] padding = [0, 0, 0, 0] dilations = [1, 1] groups = 1
      : (tensor<2x3x8x8xf32>, tensor<4x3x3x3xf32>) -> tensor<2x4x6x6xf32>
  %g = nn.parameter "bn.weight" : tensor<4xf32>
  %b = nn.parameter "bn.bias" : tensor<4xf32>
  %v = nn.parameter "bn.running_var" buffer : tensor<4xf32>
  %y = nn.batch_norm %c, %g, %b, %mean, %v epsilon = 1.0e-05 momentum = 1.0e-01
      : (tensor<2x4x6x6xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>)
      -> tensor<2x4x6x6xf32>
  %c2 = nn.conv %x, %w2 strides = [1, 1] padding = [0, 0, 0, 0] dilations = [1, 1] groups = 1
      : (tensor<2x3x8x8xf32>, tensor<4x3x3x3xf32>) -> tensor<2x4x6x6xf32>
  %m2 = nn.parameter "bn2.running_mean" buffer : tensor<4xf32>
  %y2 = nn.batch_norm %c2, %g, %b, %m2, %v epsilon = 1.0e-05 momentum = 1.0e-01
      : (tensor<2x4x6x6xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>)
      -> tensor<2x4x6x6xf32>
  return %y, %y2 : tensor<2x4x6x6xf32>, tensor<2x4x6x6xf32>
}
