// RUN: kiln-opt --split-input-file --verify-diagnostics --kiln-autodiff %s
// RUN: not kiln-opt --kiln-autodiff=optimizer=rmsprop %s 2>&1 | FileCheck %s --check-prefix=OPT --implicit-check-not=error:

// OPT: error: unknown optimizer 'rmsprop'; expected sgd or adam

// expected-error@below {{the model declares no loss to train with}}
module @no_loss {
  func.func @forward(%x: tensor<?x4xf32>) -> tensor<?x4xf32> {
    %r = nn.relu %x : tensor<?x4xf32> -> tensor<?x4xf32>
    return %r : tensor<?x4xf32>
  }
}

// -----

// A batch norm whose running statistics are not parameters cannot be trained.
module @stats_not_parameters {
  func.func @forward(%x: tensor<?x2x3xf32>, %m: tensor<2xf32>) -> tensor<?x2x3xf32> {
    %g = nn.parameter "bn.weight" : tensor<2xf32>
    // expected-error@below {{needs its running statistics to be parameters to train}}
    %n = nn.batch_norm %x, %g, %g, %m, %m epsilon = 1.0e-05 momentum = 1.0e-01 : (tensor<?x2x3xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>) -> tensor<?x2x3xf32>
    return %n : tensor<?x2x3xf32>
  }
  func.func @loss(%x: tensor<?x2x3xf32>, %m: tensor<2xf32>, %labels: tensor<?xi64>) -> tensor<f32> {
    %y = call @forward(%x, %m) : (tensor<?x2x3xf32>, tensor<2xf32>) -> tensor<?x2x3xf32>
    %f = nn.flatten %y : tensor<?x2x3xf32> -> tensor<?x6xf32>
    %l = nn.softmax_cross_entropy %f, %labels : (tensor<?x6xf32>, tensor<?xi64>) -> tensor<f32>
    return %l : tensor<f32>
  }
}

// -----

module @loss_not_nn {
  func.func @forward(%x: tensor<?x4xf32>) -> tensor<?x4xf32> {
    return %x : tensor<?x4xf32>
  }
  // expected-error@below {{the loss must be computed by a differentiable nn op}}
  func.func @loss(%x: tensor<?x4xf32>, %l: tensor<f32>) -> tensor<f32> {
    return %l : tensor<f32>
  }
}
