module @noforward {
  func.func @predict(%x: tensor<?x4xf32>) -> tensor<?x4xf32> {
    %0 = nn.relu %x : tensor<?x4xf32> -> tensor<?x4xf32>
    return %0 : tensor<?x4xf32>
  }
}
