// A reshape whose index arithmetic LLVM 14 turns into `{vex} vpdpwssd` (AVX-VNNI) when Halide's
// target claims AVX512_SapphireRapids, as Halide's own host detection did on AMD Zen 4 (issue 8).
module @reshape_index {
  func.func @forward(%x: tensor<?x5x2x3xf32> loc("x")) -> tensor<?x6x5xf32> {
    %0 = nn.reshape %x : tensor<?x5x2x3xf32> -> tensor<?x6x5xf32> loc("r")
    return %0 : tensor<?x6x5xf32>
  }
}
