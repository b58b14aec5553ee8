// kiln-infer-shapes: an op whose operands stop fitting once shapes are known gets a diagnostic at
// its location, and the pass fails. Each op below has an unranked operand when parsed, so the
// verifier lets it through and the error comes from the pass.
// RUN: kiln-opt --kiln-infer-shapes --split-input-file --verify-diagnostics %s
// RUN: not kiln-opt --kiln-infer-shapes %s 2>&1 | FileCheck %s --implicit-check-not=error:

// The first split fails the whole (unsplit) run; its text is checked with the location.
// CHECK: kiln-infer-shapes-invalid.mlir:[[@LINE+7]]:8: error: 'nn.conv' op expects a valid window in spatial dimension 0 (input extent 12): window extent 13 (kernel 13, dilation 1) exceeds the padded input extent 12
func.func @kernel_larger_than_pooled(%x: tensor<?x1x28x28xf32>, %w1: tensor<4x1x5x5xf32>, %w2: tensor<8x4x13x13xf32>) {
  %c = nn.conv %x, %w1 strides = [1, 1] padding = [0, 0, 0, 0] dilations = [1, 1] groups = 1
      : (tensor<?x1x28x28xf32>, tensor<4x1x5x5xf32>) -> tensor<*xf32>
  %p = nn.max_pool %c kernel_size = [2, 2] strides = [2, 2] padding = [0, 0, 0, 0] ceil_mode = false
      : tensor<*xf32> -> tensor<*xf32>
  // expected-error @+1 {{'nn.conv' op expects a valid window in spatial dimension 0 (input extent 12): window extent 13 (kernel 13, dilation 1) exceeds the padded input extent 12}}
  %y = nn.conv %p, %w2 strides = [1, 1] padding = [0, 0, 0, 0] dilations = [1, 1] groups = 1
      : (tensor<*xf32>, tensor<8x4x13x13xf32>) -> tensor<*xf32>
  return
}

// -----

func.func @pool_padding_whole_window(%x: tensor<?x3x8x8xf32>) {
  %r = nn.relu %x : tensor<?x3x8x8xf32> -> tensor<*xf32>
  // expected-error @+1 {{'nn.max_pool' op expects padding smaller than the kernel size (2) in spatial dimension 0, got 2 before and 0 after: a window would hold padding alone}}
  %y = nn.max_pool %r kernel_size = [2, 2] strides = [2, 2] padding = [2, 0, 0, 0] ceil_mode = false
      : tensor<*xf32> -> tensor<*xf32>
  return
}

// -----

// A common model bug: the dense layer's weight sized for the input before pooling.
func.func @dense_features_after_flatten(%x: tensor<?x50x4x4xf32>, %w: tensor<500x784xf32>) {
  %f = nn.flatten %x : tensor<?x50x4x4xf32> -> tensor<*xf32>
  // expected-error @+1 {{'nn.dense' op expects 784 input features to match the weight, got 'tensor<?x800xf32>'}}
  %y = nn.dense %f, %w : (tensor<*xf32>, tensor<500x784xf32>) -> tensor<*xf32>
  return
}

// -----

// A residual add whose shortcut misses the stride.
func.func @residual_shape_mismatch(%x: tensor<?x8x6x6xf32>, %w: tensor<8x8x3x3xf32>) {
  %c = nn.conv %x, %w strides = [2, 2] padding = [1, 1, 1, 1] dilations = [1, 1] groups = 1
      : (tensor<?x8x6x6xf32>, tensor<8x8x3x3xf32>) -> tensor<*xf32>
  // expected-error @+1 {{'nn.add' op expects operands of one shape, got 'tensor<?x8x3x3xf32>' and 'tensor<?x8x6x6xf32>'}}
  %s = nn.add %c, %x : (tensor<*xf32>, tensor<?x8x6x6xf32>) -> tensor<*xf32>
  return
}

// -----

func.func @loss_batch_mismatch(%x: tensor<8x16xf32>, %w: tensor<10x16xf32>, %labels: tensor<4xi64>) {
  %l = nn.dense %x, %w : (tensor<8x16xf32>, tensor<10x16xf32>) -> tensor<*xf32>
  // expected-error @+1 {{'nn.softmax_cross_entropy' op expects one label per row of logits, got 'tensor<4xi64>' for 'tensor<8x10xf32>'}}
  %loss = nn.softmax_cross_entropy %l, %labels : (tensor<*xf32>, tensor<4xi64>) -> tensor<*xf32>
  return
}

// -----

// 8 channels · 2^61 · 2 = 2^65 elements: every extent fits in 64 bits, the count does not.
func.func @result_element_count_overflow(%x: tensor<?x1x1152921504606846976x2xf32>, %w: tensor<8x1x1x1xf32>) {
  %r = nn.relu %x : tensor<?x1x1152921504606846976x2xf32> -> tensor<*xf32>
  // expected-error @+1 {{'nn.conv' op expects a result whose element count fits in 64 bits, got 'tensor<?x8x1152921504606846976x2xf32>'}}
  %y = nn.conv %r, %w strides = [1, 1] padding = [0, 0, 0, 0] dilations = [1, 1] groups = 1
      : (tensor<*xf32>, tensor<8x1x1x1xf32>) -> tensor<*xf32>
  return
}

// -----

// INT64_MAX + 1 + 1 does not fit: the padded extent overflows.
func.func @padded_extent_overflow(%x: tensor<1x1x9223372036854775807xf32>, %w: tensor<1x1x3xf32>) {
  %r = nn.relu %x : tensor<1x1x9223372036854775807xf32> -> tensor<*xf32>
  // expected-error @+1 {{'nn.conv' op expects a valid window in spatial dimension 0 (input extent 9223372036854775807): padded input extent overflows 64 bits}}
  %y = nn.conv %r, %w strides = [1] padding = [1, 1] dilations = [1] groups = 1
      : (tensor<*xf32>, tensor<1x1x3xf32>) -> tensor<*xf32>
  return
}

// -----

// The same extent without padding is fine, and so is the output: (2^63 − 1 − 2 − 1)/2 + 1.
func.func @int64_max_extent_ok(%x: tensor<1x1x9223372036854775807xf32>, %w: tensor<1x1x3xf32>) {
  %r = nn.relu %x : tensor<1x1x9223372036854775807xf32> -> tensor<*xf32>
  %y = nn.conv %r, %w strides = [2] padding = [0, 0] dilations = [1] groups = 1
      : (tensor<*xf32>, tensor<1x1x3xf32>) -> tensor<*xf32>
  // expected-error @+1 {{'nn.relu' op expects result type 'tensor<1x1x4611686018427387903xf32>' (inferred from the operands), got 'tensor<1x1x1xf32>'}}
  %z = nn.relu %y : tensor<*xf32> -> tensor<1x1x1xf32>
  return
}

// -----

// A function called with two different shapes is not specialized per call.
func.func private @block(%x: tensor<*xf32>) -> tensor<*xf32> {
  %y = nn.relu %x : tensor<*xf32> -> tensor<*xf32>
  return %y : tensor<*xf32>
}

func.func @two_shapes(%a: tensor<?x8x4x4xf32>, %b: tensor<?x8x2x2xf32>) {
  %ra = nn.relu %a : tensor<?x8x4x4xf32> -> tensor<*xf32>
  %rb = nn.relu %b : tensor<?x8x2x2xf32> -> tensor<*xf32>
  %0 = call @block(%ra) : (tensor<*xf32>) -> tensor<*xf32>
  // expected-error @+1 {{'func.call' op expects operands of @block's argument types 'tensor<?x8x4x4xf32>' after shape inference, got 'tensor<?x8x2x2xf32>' (functions are not specialized per call)}}
  %1 = call @block(%rb) : (tensor<*xf32>) -> tensor<*xf32>
  return
}

// -----

// A network is a DAG: a recursive call is reported, not left with stale result types.
func.func @ping(%x: tensor<?x4xf32>) -> tensor<*xf32> {
  %y = nn.relu %x : tensor<?x4xf32> -> tensor<*xf32>
  %z = call @pong(%x) : (tensor<?x4xf32>) -> tensor<*xf32>
  return %y : tensor<*xf32>
}

func.func private @pong(%x: tensor<?x4xf32>) -> tensor<*xf32> {
  // expected-error @+1 {{'func.call' op expects no recursion, but @ping is reached again from its own body}}
  %z = call @ping(%x) : (tensor<?x4xf32>) -> tensor<*xf32>
  return %z : tensor<*xf32>
}
