// kiln-choose-schedules: a convolution kernel's output tile is one vector of x positions (the
// width's power of two below the target's lanes when narrower) × 8 output channels (fewer when
// the layer has fewer); other kernels keep the op's default (no tile).
// RUN: kiln-opt --kiln-form-kernels=vector-width=16 --kiln-choose-schedules --split-input-file %s | FileCheck %s
// RUN: kiln-opt --kiln-form-kernels=vector-width=8 --kiln-choose-schedules --split-input-file %s | FileCheck %s --check-prefix=AVX2
// RUN: kiln-opt --kiln-form-kernels --kiln-choose-schedules=gpu=true --split-input-file %s | FileCheck %s --check-prefix=GPU

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
