// A model compiled for a fixed batch of 2, with batch norm (initialized to 1, 0, 0, 1).
module @bnnet {
  func.func @forward(%x: tensor<2x3x8x8xf32> loc("image")) -> tensor<2x4xf32> {
    %w = nn.parameter "conv.weight" : tensor<6x3x3x3xf32>
    %0 = nn.conv %x, %w strides = [1, 1] padding = [1, 1, 1, 1] dilations = [1, 1] groups = 1 : (tensor<2x3x8x8xf32>, tensor<6x3x3x3xf32>) -> tensor<2x6x8x8xf32> loc("conv")
    %g = nn.parameter "bn.weight" : tensor<6xf32>
    %b = nn.parameter "bn.bias" : tensor<6xf32>
    %m = nn.parameter "bn.running_mean" buffer : tensor<6xf32>
    %v = nn.parameter "bn.running_var" buffer : tensor<6xf32>
    %1 = nn.batch_norm %0, %g, %b, %m, %v epsilon = 1.0e-05 momentum = 1.0e-01 : (tensor<2x6x8x8xf32>, tensor<6xf32>, tensor<6xf32>, tensor<6xf32>, tensor<6xf32>) -> tensor<2x6x8x8xf32> loc("bn")
    %2 = nn.relu %1 : tensor<2x6x8x8xf32> -> tensor<2x6x8x8xf32> loc("relu")
    %3 = nn.global_avg_pool %2 : tensor<2x6x8x8xf32> -> tensor<2x6x1x1xf32> loc("pool")
    %4 = nn.flatten %3 : tensor<2x6x1x1xf32> -> tensor<2x6xf32> loc("flatten")
    %fw = nn.parameter "fc.weight" : tensor<4x6xf32>
    %fb = nn.parameter "fc.bias" : tensor<4xf32>
    %5 = nn.dense %4, %fw, %fb : (tensor<2x6xf32>, tensor<4x6xf32>, tensor<4xf32>) -> tensor<2x4xf32> loc("fc")
    %6 = nn.softmax %5 axis = 1 : tensor<2x4xf32> -> tensor<2x4xf32> loc("probs")
    return %6 : tensor<2x4xf32>
  }
}
