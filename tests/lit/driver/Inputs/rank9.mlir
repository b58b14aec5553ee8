// A rank-9 argument (ranks.test): refused by kiln-infer-shapes at the function.
module @rank9 {
  func.func @forward(%arg0: tensor<?x2x2x2x2x2x2x2x2xf32>) -> tensor<*xf32> {
    %0 = nn.relu %arg0 : tensor<?x2x2x2x2x2x2x2x2xf32> -> tensor<*xf32>
    return %0 : tensor<*xf32>
  }
}
