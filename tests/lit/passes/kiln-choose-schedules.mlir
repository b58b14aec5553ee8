// kiln-choose-schedules: a convolution kernel's output tile is one vector of x positions (the
// width's power of two below the target's lanes when narrower) × 8 output channels (fewer when
// the layer has fewer); other kernels keep the op's default (no tile).
// RUN: kiln-opt --kiln-form-kernels=vector-width=16 --kiln-choose-schedules --split-input-file %s | FileCheck %s
// RUN: kiln-opt --kiln-form-kernels=vector-width=8 --kiln-choose-schedules --split-input-file %s | FileCheck %s --check-prefix=AVX2
// RUN: kiln-opt --kiln-form-kernels --kiln-choose-schedules=gpu=true --split-input-file %s | FileCheck %s --check-prefix=GPU
// Channels innermost (after kiln-choose-layouts): 4 vectors of channels × 4 x positions where 4
// divides a row of 28 or more, else 7; the walk order by row width (rows from 56, rows_xo at
// 28, co_outer at 14 and 7). Where 512-bit FMAs run at full rate (not split-wide-fma, Zen 4),
// unit-stride 3×3 layers at 28 and 14 take 14 x positions × 2 vectors instead.
// RUN: kiln-opt --kiln-form-kernels=vector-width=16 --kiln-choose-layouts --kiln-choose-schedules --split-input-file %s | FileCheck %s --check-prefixes=INNER,FULL
// RUN: kiln-opt --kiln-form-kernels=vector-width=16 --kiln-choose-layouts=split-wide-fma=true --kiln-choose-schedules=split-wide-fma=true --split-input-file %s | FileCheck %s --check-prefixes=INNER,SPLIT

// CHECK-LABEL: func.func @tiles
// CHECK:         kernel.fused "wide"({{.*}}) layers = ["wide"] schedule = <vector_width = 16, tile = [16, 8]>
// CHECK:         kernel.fused "narrow"({{.*}}) layers = ["narrow"] schedule = <vector_width = 16, tile = [4, 3]>
// CHECK:         kernel.fused "act"({{.*}}) layers = ["act"] schedule = <vector_width = 16>
// AVX2:          kernel.fused "wide"({{.*}}) layers = ["wide"] schedule = <vector_width = 8, tile = [8, 8]>
// AVX2:          kernel.fused "narrow"({{.*}}) layers = ["narrow"] schedule = <vector_width = 8, tile = [4, 3]>
// GPU:           kernel.fused "wide"({{.*}}) layers = ["wide"] schedule = <vector_width = 16>
func.func @tiles(%x: tensor<?x4x20x20xf32>) -> tensor<?x3x7x7xf32> {
  %w = nn.parameter "wide.weight" : tensor<16x4x1x1xf32>
  %c = nn.conv %x, %w strides = [1, 1] padding = [0, 0, 0, 0] dilations = [1, 1] groups = 1
      : (tensor<?x4x20x20xf32>, tensor<16x4x1x1xf32>) -> tensor<?x16x20x20xf32> loc("wide")
  %w2 = nn.parameter "narrow.weight" : tensor<3x16x3x3xf32>
  %n = nn.conv %c, %w2 strides = [3, 3] padding = [0, 0, 0, 0] dilations = [1, 1] groups = 1
      : (tensor<?x16x20x20xf32>, tensor<3x16x3x3xf32>) -> tensor<?x3x6x6xf32> loc("narrow")
  %r = nn.relu %n : tensor<?x3x6x6xf32> -> tensor<?x3x6x6xf32> loc("act")
  %p = nn.max_pool %r kernel_size = [2, 2] strides = [1, 1] padding = [1, 1, 1, 1] ceil_mode = false
      : tensor<?x3x6x6xf32> -> tensor<?x3x7x7xf32> loc("pool")
  return %p : tensor<?x3x7x7xf32>
}

// -----

// INNER-LABEL: func.func @rows
// INNER:         kernel.fused "c56"({{.*}}) layers = ["c56"] schedule = <vector_width = 16, tile = [4, 64], layout = [0, 2, 3, 1], input_layouts = {{.*}}, order = rows>
// INNER:         kernel.fused "c28"({{.*}}) layers = ["c28"] schedule = <vector_width = 16, tile = [4, 64], layout = [0, 2, 3, 1], input_layouts = {{.*}}, order = rows_xo>
// FULL:          kernel.fused "c28u"({{.*}}) layers = ["c28u"] schedule = <vector_width = 16, tile = [14, 32], layout = [0, 2, 3, 1], input_layouts = {{.*}}, order = rows>
// SPLIT:         kernel.fused "c28u"({{.*}}) layers = ["c28u"] schedule = <vector_width = 16, tile = [4, 64], layout = [0, 2, 3, 1], input_layouts = {{.*}}, order = rows_xo>
// INNER:         kernel.fused "c14"({{.*}}) layers = ["c14"] schedule = <vector_width = 16, tile = [7, 64], layout = [0, 2, 3, 1], input_layouts = {{.*}}, order = co_outer>
// INNER:         kernel.fused "c7"({{.*}}) layers = ["c7"] schedule = <vector_width = 16, tile = [7, 64], input_layouts = {{.*}}, order = co_outer>
func.func @rows(%x: tensor<?x64x56x56xf32>) -> tensor<?x64x7x7xf32> {
  %w = nn.parameter "w" : tensor<64x64x3x3xf32>
  %a = nn.conv %x, %w strides = [1, 1] padding = [1, 1, 1, 1] dilations = [1, 1] groups = 1
      : (tensor<?x64x56x56xf32>, tensor<64x64x3x3xf32>) -> tensor<?x64x56x56xf32> loc("c56")
  %b = nn.conv %a, %w strides = [2, 2] padding = [1, 1, 1, 1] dilations = [1, 1] groups = 1
      : (tensor<?x64x56x56xf32>, tensor<64x64x3x3xf32>) -> tensor<?x64x28x28xf32> loc("c28")
  %u = nn.conv %b, %w strides = [1, 1] padding = [1, 1, 1, 1] dilations = [1, 1] groups = 1
      : (tensor<?x64x28x28xf32>, tensor<64x64x3x3xf32>) -> tensor<?x64x28x28xf32> loc("c28u")
  %c = nn.conv %u, %w strides = [2, 2] padding = [1, 1, 1, 1] dilations = [1, 1] groups = 1
      : (tensor<?x64x28x28xf32>, tensor<64x64x3x3xf32>) -> tensor<?x64x14x14xf32> loc("c14")
  %d = nn.conv %c, %w strides = [2, 2] padding = [1, 1, 1, 1] dilations = [1, 1] groups = 1
      : (tensor<?x64x14x14xf32>, tensor<64x64x3x3xf32>) -> tensor<?x64x7x7xf32> loc("c7")
  return %d : tensor<?x64x7x7xf32>
}
