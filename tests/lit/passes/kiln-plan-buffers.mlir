// kiln-plan-buffers: kernel results share buffers once their last reader has run; a view takes
// its operand's buffer; returned values have none; kernels of parameters alone are derived.
// RUN: kiln-opt --kiln-form-kernels --kiln-fold-views --kiln-plan-buffers --split-input-file %s | FileCheck %s
// RUN: kiln-opt --kiln-form-kernels --kiln-plan-buffers=share=false --split-input-file %s | FileCheck %s --check-prefix=NOSHARE

// a (slot 0) is read by b only: c reuses slot 0; e reads c and b, both still live: a new slot,
// which the flatten shares, read by the last kernel, whose result is returned (no slot).
// CHECK-LABEL: func.func @chain
// CHECK-SAME:      attributes {kiln.chunk = {{[0-9]+}} : i64, kiln.slot_batched = array<i64: 1, 1, 1>, kiln.slot_elements = array<i64: 16, 16, 16>}
// CHECK:         kernel.fused "a"{{.*}}{kiln.slot = 0 : i64}
// CHECK:         kernel.fused "b"{{.*}}{kiln.slot = 1 : i64}
// CHECK:         kernel.fused "c"{{.*}}{kiln.slot = 0 : i64}
// CHECK:         kernel.fused "e"{{.*}}{kiln.slot = 2 : i64}
// CHECK:         nn.flatten {{.*}}{kiln.slot = 2 : i64}
// CHECK:         kernel.fused "d"
// CHECK-NOT:     kiln.slot
// CHECK:         return
// NOSHARE-LABEL: func.func @chain
// NOSHARE-SAME:      kiln.slot_batched = array<i64: 1, 1, 1, 1, 1>, kiln.slot_elements = array<i64: 16, 16, 16, 16, 16>
func.func @chain(%x: tensor<?x1x4x4xf32>) -> tensor<?x16xf32> {
  %a = nn.relu %x : tensor<?x1x4x4xf32> -> tensor<?x1x4x4xf32> loc("a")
  %b = nn.tanh %a : tensor<?x1x4x4xf32> -> tensor<?x1x4x4xf32> loc("b")
  %c = nn.sigmoid %b : tensor<?x1x4x4xf32> -> tensor<?x1x4x4xf32> loc("c")
  %e = nn.add %c, %b : (tensor<?x1x4x4xf32>, tensor<?x1x4x4xf32>) -> tensor<?x1x4x4xf32> loc("e")
  %f = nn.flatten %e : tensor<?x1x4x4xf32> -> tensor<?x16xf32> loc("flatten")
  %g = nn.relu %f : tensor<?x16xf32> -> tensor<?x16xf32> loc("d")
  return %g : tensor<?x16xf32>
}

// -----

// A kernel of parameters alone is derived (no slot); in a function that updates the state
// (a training step) it is an ordinary kernel. A softmax over the batch forbids chunks.
// CHECK-LABEL: func.func @derived
// CHECK-NOT:     kiln.chunk
// CHECK:         kernel.fused "w2"{{.*}}{kiln.derived}
// CHECK-LABEL: func.func @step
// CHECK:         kernel.fused "w2"{{.*}}{kiln.slot = 0 : i64}
func.func @derived(%x: tensor<?x4xf32>) -> tensor<?x4xf32> {
  %w = nn.parameter "w" : tensor<4x4xf32>
  %w2 = nn.relu %w : tensor<4x4xf32> -> tensor<4x4xf32> loc("w2")
  %y = nn.dense %x, %w2 : (tensor<?x4xf32>, tensor<4x4xf32>) -> tensor<?x4xf32> loc("fc")
  %s = nn.softmax %y axis = 0 : tensor<?x4xf32> -> tensor<?x4xf32> loc("softmax")
  return %s : tensor<?x4xf32>
}
func.func @step(%x: tensor<?x4xf32>) -> tensor<?x4xf32> attributes {kiln.state_updates = []} {
  %w = nn.parameter "w" : tensor<4x4xf32>
  %w2 = nn.relu %w : tensor<4x4xf32> -> tensor<4x4xf32> loc("w2")
  %y = nn.dense %x, %w2 : (tensor<?x4xf32>, tensor<4x4xf32>) -> tensor<?x4xf32> loc("fc")
  return %y : tensor<?x4xf32>
}
