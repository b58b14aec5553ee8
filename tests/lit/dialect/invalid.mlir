// Every verifier message of the nn dialect, one case per split.
// RUN: kiln-opt --split-input-file --verify-diagnostics %s

//===----------------------------------------------------------------------===//
// nn.parameter
//===----------------------------------------------------------------------===//

func.func @parameter_empty_name() {
  // expected-error @+1 {{'nn.parameter' op expects a non-empty name}}
  %w = nn.parameter "" : tensor<4xf32>
  return
}

// -----

func.func @parameter_dynamic_shape() {
  // expected-error @+1 {{'nn.parameter' op expects a statically shaped tensor, got 'tensor<?x3xf32>'}}
  %w = nn.parameter "fc.weight" : tensor<?x3xf32>
  return
}

// -----

func.func @parameter_unranked() {
  // expected-error @+1 {{'nn.parameter' op expects a statically shaped tensor, got 'tensor<*xf32>'}}
  %w = nn.parameter "fc.weight" : tensor<*xf32>
  return
}

// -----

func.func @parameter_zero_dim() {
  // expected-error @+1 {{'nn.parameter' op expects parameter dimension 1 to be positive, got 0}}
  %w = nn.parameter "fc.weight" : tensor<3x0xf32>
  return
}

// -----

// 2^32 · 2^32 = 2^64 elements.
func.func @parameter_element_count_overflow() {
  // expected-error @+1 {{'nn.parameter' op expects an element count that fits in 64 bits, got 'tensor<4294967296x4294967296xf32>'}}
  %w = nn.parameter "huge" : tensor<4294967296x4294967296xf32>
  return
}

// -----

func.func @parameter_not_f32() {
  // expected-error @+1 {{'nn.parameter' op result #0 must be tensor of 32-bit float values}}
  %w = nn.parameter "w" : tensor<4xf16>
  return
}

//===----------------------------------------------------------------------===//
// nn.conv: operands
//===----------------------------------------------------------------------===//

// -----

func.func @conv_input_rank_2(%x: tensor<4x8xf32>, %w: tensor<4x8xf32>) {
  // expected-error @+1 {{'nn.conv' op expects a 3-D, 4-D or 5-D input (N, C, then 1 to 3 spatial dimensions), got 'tensor<4x8xf32>'}}
  %y = nn.conv %x, %w strides = [] padding = [] dilations = [] groups = 1
      : (tensor<4x8xf32>, tensor<4x8xf32>) -> tensor<*xf32>
  return
}

// -----

func.func @conv_input_rank_6(%x: tensor<1x1x2x2x2x2xf32>, %w: tensor<1x1x1x1x1x1xf32>) {
  // expected-error @+1 {{'nn.conv' op expects a 3-D, 4-D or 5-D input (N, C, then 1 to 3 spatial dimensions), got 'tensor<1x1x2x2x2x2xf32>'}}
  %y = nn.conv %x, %w strides = [1, 1, 1, 1] padding = [0, 0, 0, 0, 0, 0, 0, 0] dilations = [1, 1, 1, 1]
      groups = 1 : (tensor<1x1x2x2x2x2xf32>, tensor<1x1x1x1x1x1xf32>) -> tensor<*xf32>
  return
}

// -----

func.func @conv_dynamic_channels(%x: tensor<1x?x8x8xf32>, %w: tensor<4x3x3x3xf32>) {
  // expected-error @+1 {{'nn.conv' op expects a static channel dimension, got 'tensor<1x?x8x8xf32>'}}
  %y = nn.conv %x, %w strides = [1, 1] padding = [0, 0, 0, 0] dilations = [1, 1] groups = 1
      : (tensor<1x?x8x8xf32>, tensor<4x3x3x3xf32>) -> tensor<*xf32>
  return
}

// -----

func.func @conv_zero_input_dim(%x: tensor<1x3x0x8xf32>, %w: tensor<4x3x3x3xf32>) {
  // expected-error @+1 {{'nn.conv' op expects input dimension 2 to be positive, got 0}}
  %y = nn.conv %x, %w strides = [1, 1] padding = [0, 0, 0, 0] dilations = [1, 1] groups = 1
      : (tensor<1x3x0x8xf32>, tensor<4x3x3x3xf32>) -> tensor<*xf32>
  return
}

// -----

func.func @conv_zero_batch(%x: tensor<0x3x8x8xf32>, %w: tensor<4x3x3x3xf32>) {
  // expected-error @+1 {{'nn.conv' op expects input dimension 0 to be positive, got 0}}
  %y = nn.conv %x, %w strides = [1, 1] padding = [0, 0, 0, 0] dilations = [1, 1] groups = 1
      : (tensor<0x3x8x8xf32>, tensor<4x3x3x3xf32>) -> tensor<*xf32>
  return
}

// -----

func.func @conv_weight_rank(%x: tensor<1x3x8x8xf32>, %w: tensor<4x3x3xf32>) {
  // expected-error @+1 {{'nn.conv' op expects a 4-D weight (C_out, C_in/groups, kernel) for a 4-D input, got 'tensor<4x3x3xf32>'}}
  %y = nn.conv %x, %w strides = [1, 1] padding = [0, 0, 0, 0] dilations = [1, 1] groups = 1
      : (tensor<1x3x8x8xf32>, tensor<4x3x3xf32>) -> tensor<*xf32>
  return
}

// -----

func.func @conv_dynamic_weight(%x: tensor<1x3x8x8xf32>, %w: tensor<?x3x3x3xf32>) {
  // expected-error @+1 {{'nn.conv' op expects a statically shaped weight, got 'tensor<?x3x3x3xf32>'}}
  %y = nn.conv %x, %w strides = [1, 1] padding = [0, 0, 0, 0] dilations = [1, 1] groups = 1
      : (tensor<1x3x8x8xf32>, tensor<?x3x3x3xf32>) -> tensor<*xf32>
  return
}

// -----

func.func @conv_zero_kernel(%x: tensor<1x3x8x8xf32>, %w: tensor<4x3x0x3xf32>) {
  // expected-error @+1 {{'nn.conv' op expects weight dimension 2 to be positive, got 0}}
  %y = nn.conv %x, %w strides = [1, 1] padding = [0, 0, 0, 0] dilations = [1, 1] groups = 1
      : (tensor<1x3x8x8xf32>, tensor<4x3x0x3xf32>) -> tensor<*xf32>
  return
}

//===----------------------------------------------------------------------===//
// nn.conv: attribute arrays (checked before any element is read)
//===----------------------------------------------------------------------===//

// -----

func.func @conv_strides_size(%x: tensor<1x3x8x8xf32>, %w: tensor<4x3x3x3xf32>) {
  // expected-error @+1 {{'nn.conv' op expects strides to have 2 values for 2 spatial dimension(s), got 1}}
  %y = nn.conv %x, %w strides = [1] padding = [0, 0, 0, 0] dilations = [1, 1] groups = 1
      : (tensor<1x3x8x8xf32>, tensor<4x3x3x3xf32>) -> tensor<*xf32>
  return
}

// -----

func.func @conv_strides_empty(%x: tensor<1x3x8x8x8xf32>, %w: tensor<4x3x3x3x3xf32>) {
  // expected-error @+1 {{'nn.conv' op expects strides to have 3 values for 3 spatial dimension(s), got 0}}
  %y = nn.conv %x, %w strides = [] padding = [] dilations = [] groups = 1
      : (tensor<1x3x8x8x8xf32>, tensor<4x3x3x3x3xf32>) -> tensor<*xf32>
  return
}

// -----

func.func @conv_dilations_size(%x: tensor<1x3x8xf32>, %w: tensor<4x3x3xf32>) {
  // expected-error @+1 {{'nn.conv' op expects dilations to have 1 values for 1 spatial dimension(s), got 2}}
  %y = nn.conv %x, %w strides = [1] padding = [0, 0] dilations = [1, 1] groups = 1
      : (tensor<1x3x8xf32>, tensor<4x3x3xf32>) -> tensor<*xf32>
  return
}

// -----

// Padding holds a value before and one after each spatial dimension.
func.func @conv_padding_size(%x: tensor<1x3x8x8xf32>, %w: tensor<4x3x3x3xf32>) {
  // expected-error @+1 {{'nn.conv' op expects padding to have 4 values for 2 spatial dimension(s), got 2}}
  %y = nn.conv %x, %w strides = [1, 1] padding = [1, 1] dilations = [1, 1] groups = 1
      : (tensor<1x3x8x8xf32>, tensor<4x3x3x3xf32>) -> tensor<*xf32>
  return
}

//===----------------------------------------------------------------------===//
// nn.conv: groups, weight and bias
//===----------------------------------------------------------------------===//

// -----

func.func @conv_groups_zero(%x: tensor<1x3x8x8xf32>, %w: tensor<4x3x3x3xf32>) {
  // expected-error @+1 {{'nn.conv' op expects positive groups, got 0}}
  %y = nn.conv %x, %w strides = [1, 1] padding = [0, 0, 0, 0] dilations = [1, 1] groups = 0
      : (tensor<1x3x8x8xf32>, tensor<4x3x3x3xf32>) -> tensor<*xf32>
  return
}

// -----

func.func @conv_groups_negative(%x: tensor<1x4x8x8xf32>, %w: tensor<4x4x3x3xf32>) {
  // expected-error @+1 {{'nn.conv' op expects positive groups, got -1}}
  %y = nn.conv %x, %w strides = [1, 1] padding = [0, 0, 0, 0] dilations = [1, 1] groups = -1
      : (tensor<1x4x8x8xf32>, tensor<4x4x3x3xf32>) -> tensor<*xf32>
  return
}

// -----

func.func @conv_groups_int64_min(%x: tensor<1x4x8x8xf32>, %w: tensor<4x4x3x3xf32>) {
  // expected-error @+1 {{'nn.conv' op expects positive groups, got -9223372036854775808}}
  %y = nn.conv %x, %w strides = [1, 1] padding = [0, 0, 0, 0] dilations = [1, 1]
      groups = -9223372036854775808 : (tensor<1x4x8x8xf32>, tensor<4x4x3x3xf32>) -> tensor<*xf32>
  return
}

// -----

func.func @conv_groups_input_channels(%x: tensor<1x6x8x8xf32>, %w: tensor<8x1x3x3xf32>) {
  // expected-error @+1 {{'nn.conv' op expects groups (4) to divide the input channels (6)}}
  %y = nn.conv %x, %w strides = [1, 1] padding = [0, 0, 0, 0] dilations = [1, 1] groups = 4
      : (tensor<1x6x8x8xf32>, tensor<8x1x3x3xf32>) -> tensor<*xf32>
  return
}

// -----

func.func @conv_groups_output_channels(%x: tensor<1x6x8x8xf32>, %w: tensor<4x2x3x3xf32>) {
  // expected-error @+1 {{'nn.conv' op expects groups (3) to divide the output channels (4)}}
  %y = nn.conv %x, %w strides = [1, 1] padding = [0, 0, 0, 0] dilations = [1, 1] groups = 3
      : (tensor<1x6x8x8xf32>, tensor<4x2x3x3xf32>) -> tensor<*xf32>
  return
}

// -----

func.func @conv_weight_in_channels(%x: tensor<1x3x8x8xf32>, %w: tensor<4x2x3x3xf32>) {
  // expected-error @+1 {{'nn.conv' op expects weight dimension 1 to be input channels / groups = 3, got 2}}
  %y = nn.conv %x, %w strides = [1, 1] padding = [0, 0, 0, 0] dilations = [1, 1] groups = 1
      : (tensor<1x3x8x8xf32>, tensor<4x2x3x3xf32>) -> tensor<*xf32>
  return
}

// -----

// Depthwise: the weight's dimension 1 is 1, not C_in.
func.func @conv_depthwise_weight(%x: tensor<1x8x8x8xf32>, %w: tensor<8x8x3x3xf32>) {
  // expected-error @+1 {{'nn.conv' op expects weight dimension 1 to be input channels / groups = 1, got 8}}
  %y = nn.conv %x, %w strides = [1, 1] padding = [0, 0, 0, 0] dilations = [1, 1] groups = 8
      : (tensor<1x8x8x8xf32>, tensor<8x8x3x3xf32>) -> tensor<*xf32>
  return
}

// -----

func.func @conv_bias_size(%x: tensor<1x3x8x8xf32>, %w: tensor<4x3x3x3xf32>, %b: tensor<3xf32>) {
  // expected-error @+1 {{'nn.conv' op expects a bias of 4 elements, got 'tensor<3xf32>'}}
  %y = nn.conv %x, %w, %b strides = [1, 1] padding = [0, 0, 0, 0] dilations = [1, 1] groups = 1
      : (tensor<1x3x8x8xf32>, tensor<4x3x3x3xf32>, tensor<3xf32>) -> tensor<*xf32>
  return
}

// -----

func.func @conv_bias_rank(%x: tensor<1x3x8x8xf32>, %w: tensor<4x3x3x3xf32>, %b: tensor<1x4xf32>) {
  // expected-error @+1 {{'nn.conv' op expects a bias of 4 elements, got 'tensor<1x4xf32>'}}
  %y = nn.conv %x, %w, %b strides = [1, 1] padding = [0, 0, 0, 0] dilations = [1, 1] groups = 1
      : (tensor<1x3x8x8xf32>, tensor<4x3x3x3xf32>, tensor<1x4xf32>) -> tensor<*xf32>
  return
}

// -----

func.func @conv_bias_dynamic(%x: tensor<1x3x8x8xf32>, %w: tensor<4x3x3x3xf32>, %b: tensor<?xf32>) {
  // expected-error @+1 {{'nn.conv' op expects a bias of 4 elements, got 'tensor<?xf32>'}}
  %y = nn.conv %x, %w, %b strides = [1, 1] padding = [0, 0, 0, 0] dilations = [1, 1] groups = 1
      : (tensor<1x3x8x8xf32>, tensor<4x3x3x3xf32>, tensor<?xf32>) -> tensor<*xf32>
  return
}

//===----------------------------------------------------------------------===//
// nn.conv: windows
//===----------------------------------------------------------------------===//

// -----

func.func @conv_zero_stride(%x: tensor<1x3x8x8xf32>, %w: tensor<4x3x3x3xf32>) {
  // expected-error @+1 {{'nn.conv' op expects a valid window in spatial dimension 1 (input extent 8): stride must be positive, got 0}}
  %y = nn.conv %x, %w strides = [1, 0] padding = [0, 0, 0, 0] dilations = [1, 1] groups = 1
      : (tensor<1x3x8x8xf32>, tensor<4x3x3x3xf32>) -> tensor<*xf32>
  return
}

// -----

func.func @conv_negative_stride(%x: tensor<1x3x8x8xf32>, %w: tensor<4x3x3x3xf32>) {
  // expected-error @+1 {{'nn.conv' op expects a valid window in spatial dimension 0 (input extent 8): stride must be positive, got -2}}
  %y = nn.conv %x, %w strides = [-2, 1] padding = [0, 0, 0, 0] dilations = [1, 1] groups = 1
      : (tensor<1x3x8x8xf32>, tensor<4x3x3x3xf32>) -> tensor<*xf32>
  return
}

// -----

func.func @conv_zero_dilation(%x: tensor<1x3x8x8xf32>, %w: tensor<4x3x3x3xf32>) {
  // expected-error @+1 {{'nn.conv' op expects a valid window in spatial dimension 0 (input extent 8): dilation must be positive, got 0}}
  %y = nn.conv %x, %w strides = [1, 1] padding = [0, 0, 0, 0] dilations = [0, 1] groups = 1
      : (tensor<1x3x8x8xf32>, tensor<4x3x3x3xf32>) -> tensor<*xf32>
  return
}

// -----

func.func @conv_negative_padding(%x: tensor<1x3x8x8xf32>, %w: tensor<4x3x3x3xf32>) {
  // expected-error @+1 {{'nn.conv' op expects a valid window in spatial dimension 1 (input extent 8): padding must be non-negative, got 0 before and -1 after}}
  %y = nn.conv %x, %w strides = [1, 1] padding = [0, 0, 0, -1] dilations = [1, 1] groups = 1
      : (tensor<1x3x8x8xf32>, tensor<4x3x3x3xf32>) -> tensor<*xf32>
  return
}

// -----

// The window d·(k−1)+1 = 3·(5−1)+1 = 13 is wider than 8 + 2 + 2 = 12.
func.func @conv_kernel_larger_than_padded_input(%x: tensor<1x3x8x8xf32>, %w: tensor<4x3x5x5xf32>) {
  // expected-error @+1 {{'nn.conv' op expects a valid window in spatial dimension 0 (input extent 8): window extent 13 (kernel 5, dilation 3) exceeds the padded input extent 12}}
  %y = nn.conv %x, %w strides = [1, 1] padding = [2, 2, 2, 2] dilations = [3, 1] groups = 1
      : (tensor<1x3x8x8xf32>, tensor<4x3x5x5xf32>) -> tensor<*xf32>
  return
}

// -----

func.func @conv_dilation_overflow(%x: tensor<1x3x8xf32>, %w: tensor<4x3x3xf32>) {
  // expected-error @+1 {{'nn.conv' op expects a valid window in spatial dimension 0 (input extent 8): window extent overflows 64 bits}}
  %y = nn.conv %x, %w strides = [1] padding = [0, 0] dilations = [9223372036854775807] groups = 1
      : (tensor<1x3x8xf32>, tensor<4x3x3xf32>) -> tensor<*xf32>
  return
}

// -----

func.func @conv_padding_overflow(%x: tensor<1x3x8xf32>, %w: tensor<4x3x3xf32>) {
  // expected-error @+1 {{'nn.conv' op expects a valid window in spatial dimension 0 (input extent 8): padded input extent overflows 64 bits}}
  %y = nn.conv %x, %w strides = [1] padding = [9223372036854775807, 1] dilations = [1] groups = 1
      : (tensor<1x3x8xf32>, tensor<4x3x3xf32>) -> tensor<*xf32>
  return
}

// -----

// 2 · 2^62 · 2^2 elements do not fit in 64 bits, although every extent does.
func.func @conv_result_overflow(%x: tensor<1x1x4611686018427387904x4xf32>, %w: tensor<2x1x1x1xf32>) {
  // expected-error @+1 {{'nn.conv' op expects a result whose element count fits in 64 bits, got 'tensor<1x2x4611686018427387904x4xf32>'}}
  %y = nn.conv %x, %w strides = [1, 1] padding = [0, 0, 0, 0] dilations = [1, 1] groups = 1
      : (tensor<1x1x4611686018427387904x4xf32>, tensor<2x1x1x1xf32>) -> tensor<*xf32>
  return
}

// -----

func.func @conv_result_mismatch(%x: tensor<?x1x28x28xf32>, %w: tensor<20x1x5x5xf32>) {
  // expected-error @+1 {{'nn.conv' op expects result type 'tensor<?x20x24x24xf32>' (inferred from the operands), got 'tensor<?x20x28x28xf32>'}}
  %y = nn.conv %x, %w strides = [1, 1] padding = [0, 0, 0, 0] dilations = [1, 1] groups = 1
      : (tensor<?x1x28x28xf32>, tensor<20x1x5x5xf32>) -> tensor<?x20x28x28xf32>
  return
}

// -----

// A dynamic batch stays dynamic: a static result batch does not match.
func.func @conv_result_static_batch(%x: tensor<?x1x28x28xf32>, %w: tensor<20x1x5x5xf32>) {
  // expected-error @+1 {{'nn.conv' op expects result type 'tensor<?x20x24x24xf32>' (inferred from the operands), got 'tensor<1x20x24x24xf32>'}}
  %y = nn.conv %x, %w strides = [1, 1] padding = [0, 0, 0, 0] dilations = [1, 1] groups = 1
      : (tensor<?x1x28x28xf32>, tensor<20x1x5x5xf32>) -> tensor<1x20x24x24xf32>
  return
}

// -----

// The generic form reaches the same checks; a missing attribute is ODS's to report.
func.func @conv_generic_missing_groups(%x: tensor<1x3x8x8xf32>, %w: tensor<4x3x3x3xf32>) {
  // expected-error @+1 {{'nn.conv' op requires attribute 'groups'}}
  %y = "nn.conv"(%x, %w) <{strides = array<i64: 1, 1>, padding = array<i64: 0, 0, 0, 0>,
                          dilations = array<i64: 1, 1>}>
      : (tensor<1x3x8x8xf32>, tensor<4x3x3x3xf32>) -> tensor<*xf32>
  return
}

// -----

func.func @conv_generic_wrong_attr_type(%x: tensor<1x3x8x8xf32>, %w: tensor<4x3x3x3xf32>) {
  // expected-error @+1 {{invalid properties {dilations = array<i64: 1, 1>, groups = 1 : i64, padding = array<i64: 0, 0, 0, 0>, strides = [1, 1]} for op nn.conv: Invalid attribute `strides` in property conversion: [1, 1]}}
  %y = "nn.conv"(%x, %w) <{strides = [1, 1], padding = array<i64: 0, 0, 0, 0>,
                          dilations = array<i64: 1, 1>, groups = 1 : i64}>
      : (tensor<1x3x8x8xf32>, tensor<4x3x3x3xf32>) -> tensor<*xf32>
  return
}

//===----------------------------------------------------------------------===//
// Pooling
//===----------------------------------------------------------------------===//

// -----

func.func @max_pool_input_rank(%x: tensor<4x8xf32>) {
  // expected-error @+1 {{'nn.max_pool' op expects a 3-D, 4-D or 5-D input (N, C, then 1 to 3 spatial dimensions), got 'tensor<4x8xf32>'}}
  %y = nn.max_pool %x kernel_size = [] strides = [] padding = [] ceil_mode = false
      : tensor<4x8xf32> -> tensor<*xf32>
  return
}

// -----

func.func @avg_pool_dynamic_channels(%x: tensor<1x?x8x8xf32>) {
  // expected-error @+1 {{'nn.avg_pool' op expects a static channel dimension, got 'tensor<1x?x8x8xf32>'}}
  %y = nn.avg_pool %x kernel_size = [2, 2] strides = [2, 2] padding = [0, 0, 0, 0] ceil_mode = false
      count_include_pad = true : tensor<1x?x8x8xf32> -> tensor<*xf32>
  return
}

// -----

func.func @max_pool_zero_dim(%x: tensor<1x3x8x0xf32>) {
  // expected-error @+1 {{'nn.max_pool' op expects input dimension 3 to be positive, got 0}}
  %y = nn.max_pool %x kernel_size = [2, 2] strides = [2, 2] padding = [0, 0, 0, 0] ceil_mode = false
      : tensor<1x3x8x0xf32> -> tensor<*xf32>
  return
}

// -----

// The kernel array is sized before it is indexed.
func.func @max_pool_kernel_size_size(%x: tensor<1x3x8x8xf32>) {
  // expected-error @+1 {{'nn.max_pool' op expects kernel_size to have 2 values for 2 spatial dimension(s), got 0}}
  %y = nn.max_pool %x kernel_size = [] strides = [2, 2] padding = [0, 0, 0, 0] ceil_mode = false
      : tensor<1x3x8x8xf32> -> tensor<*xf32>
  return
}

// -----

func.func @max_pool_strides_size(%x: tensor<1x3x8x8x8xf32>) {
  // expected-error @+1 {{'nn.max_pool' op expects strides to have 3 values for 3 spatial dimension(s), got 2}}
  %y = nn.max_pool %x kernel_size = [2, 2, 2] strides = [2, 2] padding = [0, 0, 0, 0, 0, 0]
      ceil_mode = false : tensor<1x3x8x8x8xf32> -> tensor<*xf32>
  return
}

// -----

func.func @avg_pool_padding_size(%x: tensor<1x3x8xf32>) {
  // expected-error @+1 {{'nn.avg_pool' op expects padding to have 2 values for 1 spatial dimension(s), got 1}}
  %y = nn.avg_pool %x kernel_size = [2] strides = [2] padding = [0] ceil_mode = false
      count_include_pad = true : tensor<1x3x8xf32> -> tensor<*xf32>
  return
}

// -----

func.func @max_pool_zero_kernel(%x: tensor<1x3x8x8xf32>) {
  // expected-error @+1 {{'nn.max_pool' op expects a valid window in spatial dimension 1 (input extent 8): kernel size must be positive, got 0}}
  %y = nn.max_pool %x kernel_size = [2, 0] strides = [2, 2] padding = [0, 0, 0, 0] ceil_mode = false
      : tensor<1x3x8x8xf32> -> tensor<*xf32>
  return
}

// -----

// MLIR 19's `[...]` array syntax rejects integers below -2^62, so INT64_MIN is written generically.
func.func @avg_pool_int64_min_kernel(%x: tensor<1x3x8x8xf32>) {
  // expected-error @+1 {{'nn.avg_pool' op expects a valid window in spatial dimension 0 (input extent 8): kernel size must be positive, got -9223372036854775808}}
  %y = "nn.avg_pool"(%x) <{kernel_size = array<i64: -9223372036854775808, 2>, strides = array<i64: 2, 2>,
                           padding = array<i64: 0, 0, 0, 0>, ceil_mode = false, count_include_pad = true}>
      : (tensor<1x3x8x8xf32>) -> tensor<*xf32>
  return
}

// -----

func.func @max_pool_int64_min_stride(%x: tensor<1x3x8x8xf32>) {
  // expected-error @+1 {{'nn.max_pool' op expects a valid window in spatial dimension 1 (input extent 8): stride must be positive, got -9223372036854775808}}
  %y = "nn.max_pool"(%x) <{kernel_size = array<i64: 2, 2>, strides = array<i64: 2, -9223372036854775808>,
                           padding = array<i64: 0, 0, 0, 0>, ceil_mode = false}>
      : (tensor<1x3x8x8xf32>) -> tensor<*xf32>
  return
}

// -----

func.func @conv_int64_min_padding(%x: tensor<1x3x8xf32>, %w: tensor<4x3x3xf32>) {
  // expected-error @+1 {{'nn.conv' op expects a valid window in spatial dimension 0 (input extent 8): padding must be non-negative, got 0 before and -9223372036854775808 after}}
  %y = "nn.conv"(%x, %w) <{strides = array<i64: 1>, padding = array<i64: 0, -9223372036854775808>,
                          dilations = array<i64: 1>, groups = 1 : i64}>
      : (tensor<1x3x8xf32>, tensor<4x3x3xf32>) -> tensor<*xf32>
  return
}

// -----

func.func @max_pool_zero_stride(%x: tensor<1x3x8x8xf32>) {
  // expected-error @+1 {{'nn.max_pool' op expects a valid window in spatial dimension 0 (input extent 8): stride must be positive, got 0}}
  %y = nn.max_pool %x kernel_size = [2, 2] strides = [0, 2] padding = [0, 0, 0, 0] ceil_mode = true
      : tensor<1x3x8x8xf32> -> tensor<*xf32>
  return
}

// -----

func.func @avg_pool_negative_padding(%x: tensor<1x3x8x8xf32>) {
  // expected-error @+1 {{'nn.avg_pool' op expects a valid window in spatial dimension 0 (input extent 8): padding must be non-negative, got -1 before and 0 after}}
  %y = nn.avg_pool %x kernel_size = [2, 2] strides = [2, 2] padding = [-1, 0, 0, 0] ceil_mode = false
      count_include_pad = false : tensor<1x3x8x8xf32> -> tensor<*xf32>
  return
}

// -----

// A window of padding alone has no maximum (and an average of nothing).
func.func @max_pool_padding_before_whole_window(%x: tensor<1x3x8x8xf32>) {
  // expected-error @+1 {{'nn.max_pool' op expects padding smaller than the kernel size (3) in spatial dimension 1, got 3 before and 0 after: a window would hold padding alone}}
  %y = nn.max_pool %x kernel_size = [3, 3] strides = [1, 1] padding = [1, 3, 1, 0] ceil_mode = false
      : tensor<1x3x8x8xf32> -> tensor<*xf32>
  return
}

// -----

func.func @avg_pool_padding_after_whole_window(%x: tensor<1x3x8xf32>) {
  // expected-error @+1 {{'nn.avg_pool' op expects padding smaller than the kernel size (2) in spatial dimension 0, got 0 before and 2 after: a window would hold padding alone}}
  %y = nn.avg_pool %x kernel_size = [2] strides = [2] padding = [0, 2] ceil_mode = false
      count_include_pad = true : tensor<1x3x8xf32> -> tensor<*xf32>
  return
}

// -----

// Kernel 1 allows no padding at all.
func.func @max_pool_padding_kernel_one(%x: tensor<1x3x8xf32>) {
  // expected-error @+1 {{'nn.max_pool' op expects padding smaller than the kernel size (1) in spatial dimension 0, got 1 before and 0 after: a window would hold padding alone}}
  %y = nn.max_pool %x kernel_size = [1] strides = [1] padding = [1, 0] ceil_mode = false
      : tensor<1x3x8xf32> -> tensor<*xf32>
  return
}

// -----

func.func @max_pool_kernel_larger_than_input(%x: tensor<1x3x8x4xf32>) {
  // expected-error @+1 {{'nn.max_pool' op expects a valid window in spatial dimension 1 (input extent 4): window extent 7 (kernel 7, dilation 1) exceeds the padded input extent 6}}
  %y = nn.max_pool %x kernel_size = [3, 7] strides = [1, 1] padding = [0, 1, 0, 1] ceil_mode = true
      : tensor<1x3x8x4xf32> -> tensor<*xf32>
  return
}

// -----

func.func @max_pool_padded_overflow(%x: tensor<1x3x9223372036854775807xf32>) {
  // expected-error @+1 {{'nn.max_pool' op expects a valid window in spatial dimension 0 (input extent 9223372036854775807): padded input extent overflows 64 bits}}
  %y = nn.max_pool %x kernel_size = [2] strides = [2] padding = [1, 0] ceil_mode = false
      : tensor<1x3x9223372036854775807xf32> -> tensor<*xf32>
  return
}

// -----

func.func @avg_pool_result_mismatch(%x: tensor<?x20x24x24xf32>) {
  // expected-error @+1 {{'nn.avg_pool' op expects result type 'tensor<?x20x12x12xf32>' (inferred from the operands), got 'tensor<?x20x13x13xf32>'}}
  %y = nn.avg_pool %x kernel_size = [2, 2] strides = [2, 2] padding = [0, 0, 0, 0] ceil_mode = false
      count_include_pad = true : tensor<?x20x24x24xf32> -> tensor<?x20x13x13xf32>
  return
}

// -----

// With ceil_mode the last window of 5 + 1 + 1 (kernel 2, stride 2) would start in the trailing
// padding, so it is dropped: 3, not 4.
func.func @max_pool_ceil_trailing_padding(%x: tensor<1x1x5xf32>) {
  // expected-error @+1 {{'nn.max_pool' op expects result type 'tensor<1x1x3xf32>' (inferred from the operands), got 'tensor<1x1x4xf32>'}}
  %y = nn.max_pool %x kernel_size = [2] strides = [2] padding = [1, 1] ceil_mode = true
      : tensor<1x1x5xf32> -> tensor<1x1x4xf32>
  return
}

// -----

func.func @global_avg_pool_rank(%x: tensor<4x8xf32>) {
  // expected-error @+1 {{'nn.global_avg_pool' op expects a 3-D, 4-D or 5-D input (N, C, then 1 to 3 spatial dimensions), got 'tensor<4x8xf32>'}}
  %y = nn.global_avg_pool %x : tensor<4x8xf32> -> tensor<*xf32>
  return
}

// -----

func.func @global_max_pool_dynamic_channels(%x: tensor<4x?x8xf32>) {
  // expected-error @+1 {{'nn.global_max_pool' op expects a static channel dimension, got 'tensor<4x?x8xf32>'}}
  %y = nn.global_max_pool %x : tensor<4x?x8xf32> -> tensor<*xf32>
  return
}

// -----

func.func @global_max_pool_zero_dim(%x: tensor<4x2x0xf32>) {
  // expected-error @+1 {{'nn.global_max_pool' op expects input dimension 2 to be positive, got 0}}
  %y = nn.global_max_pool %x : tensor<4x2x0xf32> -> tensor<*xf32>
  return
}

// -----

func.func @global_avg_pool_result_mismatch(%x: tensor<?x512x7x7xf32>) {
  // expected-error @+1 {{'nn.global_avg_pool' op expects result type 'tensor<?x512x1x1xf32>' (inferred from the operands), got 'tensor<?x512xf32>'}}
  %y = nn.global_avg_pool %x : tensor<?x512x7x7xf32> -> tensor<?x512xf32>
  return
}

//===----------------------------------------------------------------------===//
// nn.batch_norm
//===----------------------------------------------------------------------===//

// -----

func.func @batch_norm_rank_1(%x: tensor<8xf32>, %s: tensor<8xf32>) {
  // expected-error @+1 {{'nn.batch_norm' op expects a 2-D to 5-D input (N, C, ...), got 'tensor<8xf32>'}}
  %y = nn.batch_norm %x, %s, %s, %s, %s epsilon = 1.0e-05 momentum = 1.0e-01
      : (tensor<8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>) -> tensor<*xf32>
  return
}

// -----

func.func @batch_norm_rank_6(%x: tensor<1x2x1x1x1x1xf32>, %s: tensor<2xf32>) {
  // expected-error @+1 {{'nn.batch_norm' op expects a 2-D to 5-D input (N, C, ...), got 'tensor<1x2x1x1x1x1xf32>'}}
  %y = nn.batch_norm %x, %s, %s, %s, %s epsilon = 1.0e-05 momentum = 1.0e-01
      : (tensor<1x2x1x1x1x1xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>)
      -> tensor<*xf32>
  return
}

// -----

func.func @batch_norm_dynamic_channels(%x: tensor<1x?x4x4xf32>, %s: tensor<8xf32>) {
  // expected-error @+1 {{'nn.batch_norm' op expects a static channel dimension, got 'tensor<1x?x4x4xf32>'}}
  %y = nn.batch_norm %x, %s, %s, %s, %s epsilon = 1.0e-05 momentum = 1.0e-01
      : (tensor<1x?x4x4xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>) -> tensor<*xf32>
  return
}

// -----

func.func @batch_norm_zero_dim(%x: tensor<1x8x0x4xf32>, %s: tensor<8xf32>) {
  // expected-error @+1 {{'nn.batch_norm' op expects input dimension 2 to be positive, got 0}}
  %y = nn.batch_norm %x, %s, %s, %s, %s epsilon = 1.0e-05 momentum = 1.0e-01
      : (tensor<1x8x0x4xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>) -> tensor<*xf32>
  return
}

// -----

func.func @batch_norm_weight_size(%x: tensor<1x8x4x4xf32>, %s: tensor<8xf32>, %bad: tensor<7xf32>) {
  // expected-error @+1 {{'nn.batch_norm' op expects weight of 8 elements (one per channel), got 'tensor<7xf32>'}}
  %y = nn.batch_norm %x, %bad, %s, %s, %s epsilon = 1.0e-05 momentum = 1.0e-01
      : (tensor<1x8x4x4xf32>, tensor<7xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>) -> tensor<*xf32>
  return
}

// -----

func.func @batch_norm_bias_rank(%x: tensor<1x8x4x4xf32>, %s: tensor<8xf32>, %bad: tensor<1x8xf32>) {
  // expected-error @+1 {{'nn.batch_norm' op expects bias of 8 elements (one per channel), got 'tensor<1x8xf32>'}}
  %y = nn.batch_norm %x, %s, %bad, %s, %s epsilon = 1.0e-05 momentum = 1.0e-01
      : (tensor<1x8x4x4xf32>, tensor<8xf32>, tensor<1x8xf32>, tensor<8xf32>, tensor<8xf32>) -> tensor<*xf32>
  return
}

// -----

func.func @batch_norm_mean_size(%x: tensor<1x8x4x4xf32>, %s: tensor<8xf32>, %bad: tensor<?xf32>) {
  // expected-error @+1 {{'nn.batch_norm' op expects running_mean of 8 elements (one per channel), got 'tensor<?xf32>'}}
  %y = nn.batch_norm %x, %s, %s, %bad, %s epsilon = 1.0e-05 momentum = 1.0e-01
      : (tensor<1x8x4x4xf32>, tensor<8xf32>, tensor<8xf32>, tensor<?xf32>, tensor<8xf32>) -> tensor<*xf32>
  return
}

// -----

func.func @batch_norm_var_size(%x: tensor<1x8x4x4xf32>, %s: tensor<8xf32>, %bad: tensor<16xf32>) {
  // expected-error @+1 {{'nn.batch_norm' op expects running_var of 8 elements (one per channel), got 'tensor<16xf32>'}}
  %y = nn.batch_norm %x, %s, %s, %s, %bad epsilon = 1.0e-05 momentum = 1.0e-01
      : (tensor<1x8x4x4xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<16xf32>) -> tensor<*xf32>
  return
}

// -----

func.func @batch_norm_zero_epsilon(%x: tensor<1x8x4x4xf32>, %s: tensor<8xf32>) {
  // expected-error @+1 {{'nn.batch_norm' op expects a positive, finite epsilon, got 0.000000e+00}}
  %y = nn.batch_norm %x, %s, %s, %s, %s epsilon = 0.0 momentum = 1.0e-01
      : (tensor<1x8x4x4xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>) -> tensor<*xf32>
  return
}

// -----

func.func @batch_norm_negative_epsilon(%x: tensor<1x8x4x4xf32>, %s: tensor<8xf32>) {
  // expected-error @+1 {{'nn.batch_norm' op expects a positive, finite epsilon, got -1.000000e-05}}
  %y = nn.batch_norm %x, %s, %s, %s, %s epsilon = -1.0e-05 momentum = 1.0e-01
      : (tensor<1x8x4x4xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>) -> tensor<*xf32>
  return
}

// -----

// NaN, written as its f64 bit pattern.
func.func @batch_norm_nan_epsilon(%x: tensor<1x8x4x4xf32>, %s: tensor<8xf32>) {
  // expected-error @+1 {{'nn.batch_norm' op expects a positive, finite epsilon, got nan}}
  %y = nn.batch_norm %x, %s, %s, %s, %s epsilon = 0x7FF8000000000000 momentum = 1.0e-01
      : (tensor<1x8x4x4xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>) -> tensor<*xf32>
  return
}

// -----

func.func @batch_norm_infinite_epsilon(%x: tensor<1x8x4x4xf32>, %s: tensor<8xf32>) {
  // expected-error @+1 {{'nn.batch_norm' op expects a positive, finite epsilon, got INF}}
  %y = nn.batch_norm %x, %s, %s, %s, %s epsilon = 0x7FF0000000000000 momentum = 1.0e-01
      : (tensor<1x8x4x4xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>) -> tensor<*xf32>
  return
}

// -----

func.func @batch_norm_momentum_above_one(%x: tensor<1x8x4x4xf32>, %s: tensor<8xf32>) {
  // expected-error @+1 {{'nn.batch_norm' op expects momentum in [0, 1], got 1.500000e+00}}
  %y = nn.batch_norm %x, %s, %s, %s, %s epsilon = 1.0e-05 momentum = 1.5
      : (tensor<1x8x4x4xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>) -> tensor<*xf32>
  return
}

// -----

func.func @batch_norm_negative_momentum(%x: tensor<1x8x4x4xf32>, %s: tensor<8xf32>) {
  // expected-error @+1 {{'nn.batch_norm' op expects momentum in [0, 1], got -1.000000e-01}}
  %y = nn.batch_norm %x, %s, %s, %s, %s epsilon = 1.0e-05 momentum = -0.1
      : (tensor<1x8x4x4xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>) -> tensor<*xf32>
  return
}

// -----

func.func @batch_norm_nan_momentum(%x: tensor<1x8x4x4xf32>, %s: tensor<8xf32>) {
  // expected-error @+1 {{'nn.batch_norm' op expects momentum in [0, 1], got nan}}
  %y = nn.batch_norm %x, %s, %s, %s, %s epsilon = 1.0e-05 momentum = 0x7FF8000000000000
      : (tensor<1x8x4x4xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>) -> tensor<*xf32>
  return
}

// -----

func.func @batch_norm_result_mismatch(%x: tensor<?x8x4x4xf32>, %s: tensor<8xf32>) {
  // expected-error @+1 {{'nn.batch_norm' op expects result type 'tensor<?x8x4x4xf32>' (inferred from the operands), got 'tensor<2x8x4x4xf32>'}}
  %y = nn.batch_norm %x, %s, %s, %s, %s epsilon = 1.0e-05 momentum = 1.0e-01
      : (tensor<?x8x4x4xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>)
      -> tensor<2x8x4x4xf32>
  return
}

//===----------------------------------------------------------------------===//
// nn.dense
//===----------------------------------------------------------------------===//

// -----

func.func @dense_input_rank(%x: tensor<?x50x4x4xf32>, %w: tensor<500x800xf32>) {
  // expected-error @+1 {{'nn.dense' op expects a 2-D input (N, features), got 'tensor<?x50x4x4xf32>'; flatten it first}}
  %y = nn.dense %x, %w : (tensor<?x50x4x4xf32>, tensor<500x800xf32>) -> tensor<*xf32>
  return
}

// -----

func.func @dense_weight_rank(%x: tensor<?x800xf32>, %w: tensor<800xf32>) {
  // expected-error @+1 {{'nn.dense' op expects a static 2-D weight (units, features), got 'tensor<800xf32>'}}
  %y = nn.dense %x, %w : (tensor<?x800xf32>, tensor<800xf32>) -> tensor<*xf32>
  return
}

// -----

func.func @dense_dynamic_weight(%x: tensor<?x800xf32>, %w: tensor<?x800xf32>) {
  // expected-error @+1 {{'nn.dense' op expects a static 2-D weight (units, features), got 'tensor<?x800xf32>'}}
  %y = nn.dense %x, %w : (tensor<?x800xf32>, tensor<?x800xf32>) -> tensor<*xf32>
  return
}

// -----

func.func @dense_zero_input_dim(%x: tensor<0x800xf32>, %w: tensor<500x800xf32>) {
  // expected-error @+1 {{'nn.dense' op expects input dimension 0 to be positive, got 0}}
  %y = nn.dense %x, %w : (tensor<0x800xf32>, tensor<500x800xf32>) -> tensor<*xf32>
  return
}

// -----

func.func @dense_zero_units(%x: tensor<?x800xf32>, %w: tensor<0x800xf32>) {
  // expected-error @+1 {{'nn.dense' op expects weight dimension 0 to be positive, got 0}}
  %y = nn.dense %x, %w : (tensor<?x800xf32>, tensor<0x800xf32>) -> tensor<*xf32>
  return
}

// -----

func.func @dense_features(%x: tensor<?x784xf32>, %w: tensor<500x800xf32>) {
  // expected-error @+1 {{'nn.dense' op expects 800 input features to match the weight, got 'tensor<?x784xf32>'}}
  %y = nn.dense %x, %w : (tensor<?x784xf32>, tensor<500x800xf32>) -> tensor<*xf32>
  return
}

// -----

func.func @dense_dynamic_features(%x: tensor<4x?xf32>, %w: tensor<500x800xf32>) {
  // expected-error @+1 {{'nn.dense' op expects 800 input features to match the weight, got 'tensor<4x?xf32>'}}
  %y = nn.dense %x, %w : (tensor<4x?xf32>, tensor<500x800xf32>) -> tensor<*xf32>
  return
}

// -----

func.func @dense_bias(%x: tensor<?x800xf32>, %w: tensor<500x800xf32>, %b: tensor<800xf32>) {
  // expected-error @+1 {{'nn.dense' op expects a bias of 500 elements, got 'tensor<800xf32>'}}
  %y = nn.dense %x, %w, %b : (tensor<?x800xf32>, tensor<500x800xf32>, tensor<800xf32>) -> tensor<*xf32>
  return
}

// -----

func.func @dense_result_mismatch(%x: tensor<?x800xf32>, %w: tensor<500x800xf32>) {
  // expected-error @+1 {{'nn.dense' op expects result type 'tensor<?x500xf32>' (inferred from the operands), got 'tensor<?x800xf32>'}}
  %y = nn.dense %x, %w : (tensor<?x800xf32>, tensor<500x800xf32>) -> tensor<?x800xf32>
  return
}

//===----------------------------------------------------------------------===//
// Elementwise, flatten, softmax
//===----------------------------------------------------------------------===//

// -----

func.func @add_shape_mismatch(%a: tensor<?x64x56x56xf32>, %b: tensor<?x64x28x28xf32>) {
  // expected-error @+1 {{'nn.add' op expects operands of one shape, got 'tensor<?x64x56x56xf32>' and 'tensor<?x64x28x28xf32>'}}
  %y = nn.add %a, %b : (tensor<?x64x56x56xf32>, tensor<?x64x28x28xf32>) -> tensor<*xf32>
  return
}

// -----

// No broadcasting, not even of a dynamic batch against a static one.
func.func @add_dynamic_against_static(%a: tensor<?x10xf32>, %b: tensor<4x10xf32>) {
  // expected-error @+1 {{'nn.add' op expects operands of one shape, got 'tensor<?x10xf32>' and 'tensor<4x10xf32>'}}
  %y = nn.add %a, %b : (tensor<?x10xf32>, tensor<4x10xf32>) -> tensor<*xf32>
  return
}

// -----

func.func @add_result_mismatch(%a: tensor<2x3xf32>, %b: tensor<2x3xf32>) {
  // expected-error @+1 {{'nn.add' op expects result type 'tensor<2x3xf32>' (inferred from the operands), got 'tensor<3x2xf32>'}}
  %y = nn.add %a, %b : (tensor<2x3xf32>, tensor<2x3xf32>) -> tensor<3x2xf32>
  return
}

// -----

func.func @relu_zero_dim(%x: tensor<4x0xf32>) {
  // expected-error @+1 {{'nn.relu' op expects input dimension 1 to be positive, got 0}}
  %y = nn.relu %x : tensor<4x0xf32> -> tensor<*xf32>
  return
}

// -----

func.func @tanh_result_mismatch(%x: tensor<4x10xf32>) {
  // expected-error @+1 {{'nn.tanh' op expects result type 'tensor<4x10xf32>' (inferred from the operands), got 'tensor<4x?xf32>'}}
  %y = nn.tanh %x : tensor<4x10xf32> -> tensor<4x?xf32>
  return
}

// -----

func.func @sigmoid_element_count_overflow(%x: tensor<?x4294967296x4294967296xf32>) {
  // expected-error @+1 {{'nn.sigmoid' op expects a result whose element count fits in 64 bits, got 'tensor<?x4294967296x4294967296xf32>'}}
  %y = nn.sigmoid %x : tensor<?x4294967296x4294967296xf32> -> tensor<*xf32>
  return
}

// -----

func.func @sigmoid_not_f32(%x: tensor<4xf64>) {
  // expected-error @+1 {{'nn.sigmoid' op operand #0 must be tensor of 32-bit float values}}
  %y = nn.sigmoid %x : tensor<4xf64> -> tensor<*xf32>
  return
}

// -----

func.func @broadcast_mismatch(%x: tensor<?x8x4x4xf32>, %b: tensor<3x1x1xf32>) {
  // expected-error @+1 {{'nn.broadcast_add' op cannot broadcast 'tensor<?x8x4x4xf32>' and 'tensor<3x1x1xf32>': dimension 1 (aligned at the last) is 8 in one operand and 3 in the other; neither is 1}}
  %y = nn.broadcast_add %x, %b : (tensor<?x8x4x4xf32>, tensor<3x1x1xf32>) -> tensor<*xf32>
  return
}

// -----

func.func @broadcast_batch_misaligned(%x: tensor<?x4xf32>, %b: tensor<?xf32>) {
  // expected-error @+1 {{'nn.broadcast_mul' op cannot broadcast 'tensor<?x4xf32>' and 'tensor<?xf32>': a dynamic extent (the batch) must be dimension 0 of an operand of the result's rank}}
  %y = nn.broadcast_mul %x, %b : (tensor<?x4xf32>, tensor<?xf32>) -> tensor<*xf32>
  return
}

// -----

func.func @broadcast_batch_against_static(%x: tensor<?x4xf32>, %b: tensor<3x4xf32>) {
  // expected-error @+1 {{'nn.broadcast_sub' op cannot broadcast 'tensor<?x4xf32>' and 'tensor<3x4xf32>': dimension 0 is the batch in one operand and 3 in the other}}
  %y = nn.broadcast_sub %x, %b : (tensor<?x4xf32>, tensor<3x4xf32>) -> tensor<*xf32>
  return
}

// -----

func.func @broadcast_scalars(%s: tensor<f32>) {
  // expected-error @+1 {{'nn.broadcast_div' op expects an operand of rank 1 or more, got 'tensor<f32>' and 'tensor<f32>'}}
  %y = nn.broadcast_div %s, %s : (tensor<f32>, tensor<f32>) -> tensor<*xf32>
  return
}

// -----

func.func @sum_like_not_a_broadcast(%dy: tensor<?x4xf32>, %b: tensor<5xf32>) {
  // expected-error @+1 {{'nn.sum_like' op expects the input 'tensor<?x4xf32>' to be a broadcast of 'tensor<5xf32>'}}
  %y = nn.sum_like %dy, %b {scale = 1.0 : f32} : (tensor<?x4xf32>, tensor<5xf32>) -> tensor<*xf32>
  return
}

// -----

func.func @sum_like_wider_than_input(%dy: tensor<?x1xf32>, %b: tensor<4xf32>) {
  // expected-error @+1 {{'nn.sum_like' op expects the input 'tensor<?x1xf32>' to be a broadcast of 'tensor<4xf32>'}}
  %y = nn.sum_like %dy, %b {scale = 1.0 : f32} : (tensor<?x1xf32>, tensor<4xf32>) -> tensor<*xf32>
  return
}

// -----

func.func @transpose_not_a_permutation(%x: tensor<2x3x4xf32>) {
  // expected-error @+1 {{'nn.transpose' op expects perm to be a permutation of the 3 dimensions of 'tensor<2x3x4xf32>'}}
  %y = nn.transpose %x perm = [0, 2, 2] : tensor<2x3x4xf32> -> tensor<*xf32>
  return
}

// -----

func.func @transpose_moves_the_batch(%x: tensor<?x3x4xf32>) {
  // expected-error @+1 {{'nn.transpose' op expects the dynamic dimension 0 (the batch) to stay first}}
  %y = nn.transpose %x perm = [1, 0, 2] : tensor<?x3x4xf32> -> tensor<*xf32>
  return
}

// -----

func.func @pad_wrong_count(%x: tensor<2x3xf32>) {
  // expected-error @+1 {{'nn.pad' op expects pads to have 4 values (before, then after each dimension of 'tensor<2x3xf32>'), got 3}}
  %y = nn.pad %x pads = [0, 1, 1] : tensor<2x3xf32> -> tensor<*xf32>
  return
}

// -----

func.func @pad_crops_everything(%x: tensor<2x3xf32>) {
  // expected-error @+1 {{'nn.pad' op expects dimension 1 (extent 3) to keep at least one element, got -2 before and -1 after}}
  %y = nn.pad %x pads = [0, -2, 0, -1] : tensor<2x3xf32> -> tensor<*xf32>
  return
}

// -----

func.func @pad_the_batch(%x: tensor<?x3xf32>) {
  // expected-error @+1 {{'nn.pad' op expects no padding of the dynamic dimension 0, got 1 before and 0 after}}
  %y = nn.pad %x pads = [1, 0, 0, 0] : tensor<?x3xf32> -> tensor<*xf32>
  return
}

// -----

func.func @pad_overflow(%x: tensor<2x3xf32>) {
  // expected-error @+1 {{'nn.pad' op expects pads of magnitude below 2^62, got 9223372036854775807 before and 0 after dimension 1}}
  %y = nn.pad %x pads = [0, 9223372036854775807, 0, 0] : tensor<2x3xf32> -> tensor<*xf32>
  return
}

// -----

func.func @pad_nan(%x: tensor<2x3xf32>) {
  // expected-error @+1 {{'nn.pad' op expects a finite padding value}}
  %y = nn.pad %x pads = [0, 0, 0, 0] {value = 0x7FC00000 : f32} : tensor<2x3xf32> -> tensor<*xf32>
  return
}

// -----

func.func @concat_mismatch(%a: tensor<?x3x4xf32>, %b: tensor<?x3x5xf32>) {
  // expected-error @+1 {{'nn.concat' op expects the inputs to agree in every dimension but 1: input 1 is 'tensor<?x3x5xf32>', input 0 is 'tensor<?x3x4xf32>'}}
  %y = nn.concat %a, %b axis = 1 : (tensor<?x3x4xf32>, tensor<?x3x5xf32>) -> tensor<*xf32>
  return
}

// -----

func.func @concat_the_batch(%a: tensor<?x3xf32>, %b: tensor<?x3xf32>) {
  // expected-error @+1 {{'nn.concat' op expects a static extent along the axis 0 (the batch cannot be joined), input 0 is 'tensor<?x3xf32>'}}
  %y = nn.concat %a, %b axis = 0 : (tensor<?x3xf32>, tensor<?x3xf32>) -> tensor<*xf32>
  return
}

// -----

func.func @concat_axis_out_of_range(%a: tensor<2x3xf32>) {
  // expected-error @+1 {{'nn.concat' op expects an axis in [0, 2), got 2}}
  %y = nn.concat %a axis = 2 : (tensor<2x3xf32>) -> tensor<*xf32>
  return
}

// -----

func.func @concat_ranks(%a: tensor<2x3xf32>, %b: tensor<2x3x1xf32>) {
  // expected-error @+1 {{'nn.concat' op expects every input to have rank 2, input 1 is 'tensor<2x3x1xf32>'}}
  %y = nn.concat %a, %b axis = 1 : (tensor<2x3xf32>, tensor<2x3x1xf32>) -> tensor<*xf32>
  return
}

// -----

func.func @leaky_relu_infinite_slope(%x: tensor<4xf32>) {
  // expected-error @+1 {{'nn.leaky_relu' op expects a finite alpha}}
  %y = nn.leaky_relu %x {alpha = 0x7F800000 : f32} : tensor<4xf32> -> tensor<*xf32>
  return
}

// -----

func.func @leaky_relu_no_slope(%x: tensor<4xf32>) {
  // expected-error @+1 {{'nn.leaky_relu' op requires attribute 'alpha'}}
  %y = nn.leaky_relu %x : tensor<4xf32> -> tensor<*xf32>
  return
}

// -----

func.func @clip_nan_bound(%x: tensor<4xf32>) {
  // expected-error @+1 {{'nn.clip' op expects bounds that are not NaN (an absent bound is infinite)}}
  %y = nn.clip %x {min = 0x7FC00000 : f32, max = 1.0 : f32} : tensor<4xf32> -> tensor<*xf32>
  return
}

// -----

func.func @clip_backward_nan_bound(%x: tensor<4xf32>, %dy: tensor<4xf32>) {
  // expected-error @+1 {{'nn.clip_backward' op expects bounds that are not NaN (an absent bound is infinite)}}
  %y = nn.clip_backward %x, %dy {min = 0.0 : f32, max = 0x7FC00000 : f32} : (tensor<4xf32>, tensor<4xf32>) -> tensor<*xf32>
  return
}

// -----

func.func @leaky_relu_backward_shapes(%x: tensor<4xf32>, %dy: tensor<5xf32>) {
  // expected-error @+1 {{'nn.leaky_relu_backward' op}}
  %y = nn.leaky_relu_backward %x, %dy {alpha = 0.1 : f32} : (tensor<4xf32>, tensor<5xf32>) -> tensor<*xf32>
  return
}

// -----

func.func @flatten_rank(%x: tensor<10xf32>) {
  // expected-error @+1 {{'nn.flatten' op expects at least a 2-D input (N, ...), got 'tensor<10xf32>'}}
  %y = nn.flatten %x : tensor<10xf32> -> tensor<*xf32>
  return
}

// -----

func.func @flatten_zero_dim(%x: tensor<?x0x4xf32>) {
  // expected-error @+1 {{'nn.flatten' op expects input dimension 1 to be positive, got 0}}
  %y = nn.flatten %x : tensor<?x0x4xf32> -> tensor<*xf32>
  return
}

// -----

func.func @flatten_dynamic(%x: tensor<?x50x?x4xf32>) {
  // expected-error @+1 {{'nn.flatten' op expects static dimensions after the batch, got 'tensor<?x50x?x4xf32>'}}
  %y = nn.flatten %x : tensor<?x50x?x4xf32> -> tensor<*xf32>
  return
}

// -----

func.func @flatten_overflow(%x: tensor<?x4294967296x4294967296xf32>) {
  // expected-error @+1 {{'nn.flatten' op expects a flattened size that fits in 64 bits, got 'tensor<?x4294967296x4294967296xf32>'}}
  %y = nn.flatten %x : tensor<?x4294967296x4294967296xf32> -> tensor<*xf32>
  return
}

// -----

func.func @flatten_result_mismatch(%x: tensor<?x50x4x4xf32>) {
  // expected-error @+1 {{'nn.flatten' op expects result type 'tensor<?x800xf32>' (inferred from the operands), got 'tensor<?x50x16xf32>'}}
  %y = nn.flatten %x : tensor<?x50x4x4xf32> -> tensor<?x50x16xf32>
  return
}

// -----

func.func @softmax_negative_axis(%x: tensor<?x10xf32>) {
  // expected-error @+1 {{'nn.softmax' op expects axis in [0, 2), got -1 for 'tensor<?x10xf32>'}}
  %y = nn.softmax %x axis = -1 : tensor<?x10xf32> -> tensor<*xf32>
  return
}

// -----

func.func @log_softmax_axis_too_large(%x: tensor<?x10xf32>) {
  // expected-error @+1 {{'nn.log_softmax' op expects axis in [0, 2), got 2 for 'tensor<?x10xf32>'}}
  %y = nn.log_softmax %x axis = 2 : tensor<?x10xf32> -> tensor<*xf32>
  return
}

// -----

func.func @softmax_scalar(%x: tensor<f32>) {
  // expected-error @+1 {{'nn.softmax' op expects axis in [0, 0), got 0 for 'tensor<f32>'}}
  %y = nn.softmax %x axis = 0 : tensor<f32> -> tensor<*xf32>
  return
}

// -----

func.func @log_softmax_zero_dim(%x: tensor<4x0xf32>) {
  // expected-error @+1 {{'nn.log_softmax' op expects input dimension 1 to be positive, got 0}}
  %y = nn.log_softmax %x axis = 1 : tensor<4x0xf32> -> tensor<*xf32>
  return
}

//===----------------------------------------------------------------------===//
// nn.softmax_cross_entropy
//===----------------------------------------------------------------------===//

// -----

func.func @loss_logits_rank(%l: tensor<?x10x1xf32>, %labels: tensor<?xi64>) {
  // expected-error @+1 {{'nn.softmax_cross_entropy' op expects 2-D logits (N, classes), got 'tensor<?x10x1xf32>'}}
  %y = nn.softmax_cross_entropy %l, %labels : (tensor<?x10x1xf32>, tensor<?xi64>) -> tensor<*xf32>
  return
}

// -----

func.func @loss_zero_classes(%l: tensor<?x0xf32>, %labels: tensor<?xi64>) {
  // expected-error @+1 {{'nn.softmax_cross_entropy' op expects logits dimension 1 to be positive, got 0}}
  %y = nn.softmax_cross_entropy %l, %labels : (tensor<?x0xf32>, tensor<?xi64>) -> tensor<*xf32>
  return
}

// -----

func.func @loss_labels_rank(%l: tensor<?x10xf32>, %labels: tensor<?x1xi64>) {
  // expected-error @+1 {{'nn.softmax_cross_entropy' op expects 1-D labels (N), got 'tensor<?x1xi64>'}}
  %y = nn.softmax_cross_entropy %l, %labels : (tensor<?x10xf32>, tensor<?x1xi64>) -> tensor<*xf32>
  return
}

// -----

func.func @loss_zero_labels(%l: tensor<?x10xf32>, %labels: tensor<0xi64>) {
  // expected-error @+1 {{'nn.softmax_cross_entropy' op expects labels dimension 0 to be positive, got 0}}
  %y = nn.softmax_cross_entropy %l, %labels : (tensor<?x10xf32>, tensor<0xi64>) -> tensor<*xf32>
  return
}

// -----

func.func @loss_batch_mismatch(%l: tensor<8x10xf32>, %labels: tensor<4xi64>) {
  // expected-error @+1 {{'nn.softmax_cross_entropy' op expects one label per row of logits, got 'tensor<4xi64>' for 'tensor<8x10xf32>'}}
  %y = nn.softmax_cross_entropy %l, %labels : (tensor<8x10xf32>, tensor<4xi64>) -> tensor<*xf32>
  return
}

// -----

func.func @loss_float_labels(%l: tensor<8x10xf32>, %labels: tensor<8xf32>) {
  // expected-error @+1 {{'nn.softmax_cross_entropy' op operand #1 must be tensor of integer values}}
  %y = nn.softmax_cross_entropy %l, %labels : (tensor<8x10xf32>, tensor<8xf32>) -> tensor<*xf32>
  return
}

// -----

func.func @loss_result_mismatch(%l: tensor<8x10xf32>, %labels: tensor<8xi64>) {
  // expected-error @+1 {{'nn.softmax_cross_entropy' op expects result type 'tensor<f32>' (inferred from the operands), got 'tensor<8xf32>'}}
  %y = nn.softmax_cross_entropy %l, %labels : (tensor<8x10xf32>, tensor<8xi64>) -> tensor<8xf32>
  return
}

// -----

//===----------------------------------------------------------------------===//
// Batch norm folding and kernel schedules
//===----------------------------------------------------------------------===//

func.func @fold_weight_channels(%w: tensor<8x3x3x3xf32>, %g: tensor<4xf32>, %v: tensor<8xf32>) {
  // expected-error @+1 {{'nn.fold_batch_norm_weight' op expects bn_weight of 8 elements (one per output channel), got 'tensor<4xf32>'}}
  %fw = nn.fold_batch_norm_weight %w, %g, %v epsilon = 1.0e-05
      : (tensor<8x3x3x3xf32>, tensor<4xf32>, tensor<8xf32>) -> tensor<8x3x3x3xf32>
  return
}

// -----

func.func @fold_bias_epsilon(%g: tensor<8xf32>) {
  // expected-error @+1 {{'nn.fold_batch_norm_bias' op expects a positive, finite epsilon, got 0}}
  %fb = nn.fold_batch_norm_bias %g, %g, %g, %g epsilon = 0.0
      : (tensor<8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>) -> tensor<8xf32>
  return
}

// -----

func.func @schedule_layout_rank(%x: tensor<?x4xf32>) -> tensor<?x4xf32> {
  // expected-error @+1 {{'kernel.fused' op has a layout of 4 dimensions for a result of rank 2}}
  %y = kernel.fused "relu"(%x) layers = ["relu"]
      schedule = <vector_width = 16, layout = [0, 2, 3, 1]>
      : (tensor<?x4xf32>) -> tensor<?x4xf32> {
  ^bb0(%a: tensor<?x4xf32>):
    %r = nn.relu %a : tensor<?x4xf32> -> tensor<?x4xf32>
    kernel.yield %r : tensor<?x4xf32>
  }
  return %y : tensor<?x4xf32>
}

// -----

// expected-error @+1 {{expects layout to be a permutation of the result's dimensions}}
func.func @schedule_not_a_permutation() attributes {s = #kernel.schedule<vector_width = 16, layout = [0, 0]>} {
  return
}

// -----

// expected-error @+1 {{expects a positive vector_width, got 0}}
func.func @schedule_vector_width() attributes {s = #kernel.schedule<vector_width = 0>} {
  return
}

// -----

// expected-error @+1 {{unknown schedule field 'tiles'; expected tile, layout, input_layouts or order}}
func.func @schedule_unknown_field() attributes {s = #kernel.schedule<vector_width = 16, tiles = [1]>} {
  return
}

// -----

// expected-error @+1 {{expects order rows, rows_xo or co_outer, got 'columns'}}
func.func @schedule_order() attributes {s = #kernel.schedule<vector_width = 16, order = columns>} {
  return
}
