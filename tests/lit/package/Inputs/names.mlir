// A model named like the runtime, with layers named like the library's own functions.
module @kiln {
  func.func @forward(%x: tensor<?x4xf32> loc("int")) -> tensor<?x4xf32> {
    %0 = nn.relu %x : tensor<?x4xf32> -> tensor<?x4xf32> loc("create")
    %1 = nn.tanh %0 : tensor<?x4xf32> -> tensor<?x4xf32> loc("create_argv")
    %2 = nn.sigmoid %1 : tensor<?x4xf32> -> tensor<?x4xf32> loc("batch")
    return %2 : tensor<?x4xf32>
  }
}
