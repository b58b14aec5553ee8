// RUN: kiln-opt --split-input-file --kiln-autodiff %s | FileCheck %s
// RUN: kiln-opt --split-input-file --kiln-autodiff=optimizer=adam %s | FileCheck %s --check-prefix=ADAM

// LeNet's tail: conv → tanh → avg pool → flatten → dense, with the loss. The training step
// runs the forward pass, the loss, the backward pass in reverse order, then SGD updates.
module @lenet_like {
  func.func @forward(%x: tensor<?x1x8x8xf32>) -> tensor<?x3xf32> {
    %w = nn.parameter "conv1.weight" : tensor<2x1x3x3xf32>
    %b = nn.parameter "conv1.bias" : tensor<2xf32>
    %c = nn.conv %x, %w, %b strides = [1, 1] padding = [0, 0, 0, 0] dilations = [1, 1] groups = 1 : (tensor<?x1x8x8xf32>, tensor<2x1x3x3xf32>, tensor<2xf32>) -> tensor<?x2x6x6xf32>
    %t = nn.tanh %c : tensor<?x2x6x6xf32> -> tensor<?x2x6x6xf32>
    %p = nn.avg_pool %t kernel_size = [2, 2] strides = [2, 2] padding = [0, 0, 0, 0] ceil_mode = false count_include_pad = true : tensor<?x2x6x6xf32> -> tensor<?x2x3x3xf32>
    %f = nn.flatten %p : tensor<?x2x3x3xf32> -> tensor<?x18xf32>
    %fw = nn.parameter "fc.weight" : tensor<3x18xf32>
    %fb = nn.parameter "fc.bias" : tensor<3xf32>
    %y = nn.dense %f, %fw, %fb : (tensor<?x18xf32>, tensor<3x18xf32>, tensor<3xf32>) -> tensor<?x3xf32>
    return %y : tensor<?x3xf32>
  }
  func.func @loss(%x: tensor<?x1x8x8xf32>, %labels: tensor<?xi64>) -> tensor<f32> {
    %y = call @forward(%x) : (tensor<?x1x8x8xf32>) -> tensor<?x3xf32>
    %l = nn.softmax_cross_entropy %y, %labels : (tensor<?x3xf32>, tensor<?xi64>) -> tensor<f32>
    return %l : tensor<f32>
  }
}

// No batch norm, so no @forward_train: @forward serves both modes.
// CHECK-NOT: func.func @forward_train
// CHECK-LABEL: func.func @train_step
// CHECK-SAME: (%[[X:.+]]: tensor<?x1x8x8xf32>, %[[LABELS:.+]]: tensor<?xi64>, %[[HYPER:.+]]: tensor<8xf32>)
// CHECK-SAME: -> (tensor<f32>, tensor<2x1x3x3xf32>, tensor<2x1x3x3xf32>, tensor<2xf32>, tensor<2xf32>, tensor<3x18xf32>, tensor<3x18xf32>, tensor<3xf32>, tensor<3xf32>)
// CHECK-SAME: kiln.state_updates = ["conv1.weight", "optimizer.conv1.weight.momentum_buffer", "conv1.bias", "optimizer.conv1.bias.momentum_buffer", "fc.weight", "optimizer.fc.weight.momentum_buffer", "fc.bias", "optimizer.fc.bias.momentum_buffer"]
// CHECK-NOT: call @forward
// CHECK: %[[W:.+]] = nn.parameter "conv1.weight"
// CHECK: %[[CONV:.+]] = nn.conv %[[X]], %[[W]]
// CHECK: %[[TANH:.+]] = nn.tanh %[[CONV]]
// CHECK: %[[POOL:.+]] = nn.avg_pool %[[TANH]]
// CHECK: %[[FLAT:.+]] = nn.flatten %[[POOL]]
// CHECK: %[[FW:.+]] = nn.parameter "fc.weight"
// CHECK: %[[LOGITS:.+]] = nn.dense %[[FLAT]], %[[FW]]
// CHECK: %[[LOSS:.+]] = nn.softmax_cross_entropy %[[LOGITS]], %[[LABELS]]
// CHECK: %[[DLOGITS:.+]] = nn.softmax_cross_entropy_backward %[[LOGITS]], %[[LABELS]]
// CHECK: %[[DFLAT:.+]] = nn.dense_backward_data %[[DLOGITS]], %[[FW]]
// CHECK: %[[DFW:.+]] = nn.dense_backward_weight %[[FLAT]], %[[DLOGITS]]
// CHECK: %[[DFB:.+]] = nn.reduce_to_channel %[[DLOGITS]] : tensor<?x3xf32> -> tensor<3xf32>
// CHECK: %[[DPOOL:.+]] = nn.reshape %[[DFLAT]] : tensor<?x18xf32> -> tensor<?x2x3x3xf32>
// CHECK: %[[DTANH:.+]] = nn.avg_pool_backward %[[DPOOL]] {{.*}} -> tensor<?x2x6x6xf32>
// CHECK: %[[DCONV:.+]] = nn.tanh_backward %[[TANH]], %[[DTANH]]
// The input image needs no gradient: no conv_backward_data is left.
// CHECK-NOT: nn.conv_backward_data
// CHECK: %[[DW:.+]] = nn.conv_backward_filter %[[X]], %[[DCONV]] {{.*}} -> tensor<2x1x3x3xf32>
// CHECK: %[[DB:.+]] = nn.reduce_to_channel %[[DCONV]]
// CHECK: %[[V:.+]] = nn.parameter "optimizer.conv1.weight.momentum_buffer" buffer : tensor<2x1x3x3xf32>
// CHECK: %[[V2:.+]] = nn.momentum_update %[[V]], %[[DW]], %[[W]], %[[HYPER]]
// CHECK: %[[W2:.+]] = nn.sgd_step %[[W]], %[[V2]], %[[HYPER]]
// CHECK: return %[[LOSS]], %[[W2]], %[[V2]]

// ADAM-LABEL: func.func @train_step
// ADAM-SAME: "conv1.weight", "optimizer.conv1.weight.exp_avg", "optimizer.conv1.weight.exp_avg_sq"
// ADAM: %[[M:.+]] = nn.parameter "optimizer.conv1.weight.exp_avg" buffer
// ADAM: %[[V:.+]] = nn.parameter "optimizer.conv1.weight.exp_avg_sq" buffer
// ADAM: %[[M2:.+]] = nn.adam_moment %[[M]], {{.*}} second = false
// ADAM: %[[V2:.+]] = nn.adam_moment %[[V]], {{.*}} second = true
// ADAM: nn.adam_step {{.*}}, %[[M2]], %[[V2]]

// -----

// A residual block with batch norm: batch statistics in training, running statistics updated,
// and the skip connection's two gradients summed.
module @residual {
  func.func @forward(%x: tensor<?x4x5x5xf32>) -> tensor<?x2xf32> {
    %w = nn.parameter "conv.weight" : tensor<4x4x3x3xf32>
    %c = nn.conv %x, %w strides = [1, 1] padding = [1, 1, 1, 1] dilations = [1, 1] groups = 1 : (tensor<?x4x5x5xf32>, tensor<4x4x3x3xf32>) -> tensor<?x4x5x5xf32>
    %g = nn.parameter "bn.weight" : tensor<4xf32>
    %b = nn.parameter "bn.bias" : tensor<4xf32>
    %m = nn.parameter "bn.running_mean" buffer : tensor<4xf32>
    %v = nn.parameter "bn.running_var" buffer : tensor<4xf32>
    %n = nn.batch_norm %c, %g, %b, %m, %v epsilon = 1.0e-05 momentum = 1.0e-01 : (tensor<?x4x5x5xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>) -> tensor<?x4x5x5xf32>
    %s = nn.add %n, %x : (tensor<?x4x5x5xf32>, tensor<?x4x5x5xf32>) -> tensor<?x4x5x5xf32>
    %r = nn.relu %s : tensor<?x4x5x5xf32> -> tensor<?x4x5x5xf32>
    %p = nn.global_avg_pool %r : tensor<?x4x5x5xf32> -> tensor<?x4x1x1xf32>
    %f = nn.flatten %p : tensor<?x4x1x1xf32> -> tensor<?x4xf32>
    %fw = nn.parameter "fc.weight" : tensor<2x4xf32>
    %y = nn.dense %f, %fw : (tensor<?x4xf32>, tensor<2x4xf32>) -> tensor<?x2xf32>
    return %y : tensor<?x2xf32>
  }
  func.func @loss(%x: tensor<?x4x5x5xf32>, %labels: tensor<?xi64>) -> tensor<f32> {
    %y = call @forward(%x) : (tensor<?x4x5x5xf32>) -> tensor<?x2xf32>
    %l = nn.softmax_cross_entropy %y, %labels : (tensor<?x2xf32>, tensor<?xi64>) -> tensor<f32>
    return %l : tensor<f32>
  }
}

// The forward pass in training mode, for <model>_set_training: batch statistics, the running
// statistics' next values returned after the logits, no gradient.
// CHECK-LABEL: func.func @forward_train(%{{.+}}: tensor<?x4x5x5xf32>) -> (tensor<?x2xf32>, tensor<4xf32>, tensor<4xf32>)
// CHECK-SAME: kiln.state_updates = ["bn.running_mean", "bn.running_var"]
// CHECK: %[[TBN:.+]] = nn.batch_norm_train
// CHECK-NOT: nn.batch_norm %
// CHECK: %[[TM:.+]] = nn.running_update %{{.+}}, %{{.+}} momentum
// CHECK: %[[TV:.+]] = nn.running_update %{{.+}}, %{{.+}} momentum
// CHECK-NOT: backward
// CHECK: %[[LOGITS:.+]] = nn.dense
// CHECK-NEXT: return %[[LOGITS]], %[[TM]], %[[TV]]

// CHECK-LABEL: func.func @train_step
// CHECK-SAME: kiln.state_updates = ["bn.running_mean", "bn.running_var", "conv.weight", "optimizer.conv.weight.momentum_buffer", "bn.weight", "optimizer.bn.weight.momentum_buffer", "bn.bias", "optimizer.bn.bias.momentum_buffer", "fc.weight", "optimizer.fc.weight.momentum_buffer"]
// CHECK: %[[CONV:.+]] = nn.conv
// CHECK: %[[BN:.+]] = nn.batch_norm_train %[[CONV]], %[[G:[^,]+]], %{{[^ ]+}} epsilon
// CHECK-NOT: nn.batch_norm %
// CHECK: %[[MEAN:.+]] = nn.channel_mean %[[CONV]]
// CHECK: %[[VAR:.+]] = nn.channel_var %[[CONV]] unbiased = true
// CHECK: %[[RM:.+]] = nn.running_update %{{.+}}, %[[MEAN]] momentum = 1.000000e-01
// CHECK: %[[RV:.+]] = nn.running_update %{{.+}}, %[[VAR]] momentum = 1.000000e-01
// CHECK: %[[SUM:.+]] = nn.add %[[BN]], %[[X:[^ ]+]]
// CHECK: nn.relu_backward %[[SUM]]
// CHECK: %[[DBN:.+]] = nn.batch_norm_train_backward_data %[[CONV]], %[[DS:[^,]+]], %[[G]]
// CHECK: nn.batch_norm_train_backward_weight %[[CONV]], %[[DS]]
// CHECK: nn.reduce_to_channel %[[DS]]
// CHECK: nn.conv_backward_filter %[[X]], %[[DBN]]
// CHECK: return %{{[^,]+}}, %[[RM]], %[[RV]]

