module @ragged {
  func.func @forward(%x: tensor<2x?xf32>) -> tensor<2x?xf32> {
    %0 = nn.relu %x : tensor<2x?xf32> -> tensor<2x?xf32>
    return %0 : tensor<2x?xf32>
  }
}
