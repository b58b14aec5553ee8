// Two inputs, two outputs, a returned input and a value returned twice: the driver's copies.
module @tiny {
  func.func @forward(%a: tensor<?x4xf32> loc("a"), %b: tensor<?x4xf32> loc("b"))
      -> (tensor<?x4xf32>, tensor<?x4xf32>, tensor<?x4xf32>) {
    %w = nn.parameter "proj.weight" : tensor<4x4xf32>
    %0 = nn.add %a, %b : (tensor<?x4xf32>, tensor<?x4xf32>) -> tensor<?x4xf32> loc("sum")
    %1 = nn.dense %0, %w : (tensor<?x4xf32>, tensor<4x4xf32>) -> tensor<?x4xf32> loc("proj")
    %2 = nn.relu %1 : tensor<?x4xf32> -> tensor<?x4xf32> loc("act")
    return %2, %a, %2 : tensor<?x4xf32>, tensor<?x4xf32>, tensor<?x4xf32>
  }
}
