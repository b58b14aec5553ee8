// The diagnostic printer on .mlir input, for each kind of location: the op's own position, a
// NameLoc, CallSiteLoc or FusedLoc around a position in another file, a file that cannot be
// read, and no file at all.
// RUN: cd %S && not kilnc --emit=nn --split-input-file %s 2>&1 | FileCheck %s --strict-whitespace

func.func @forward(%x: tensor<?x4xf32>) -> tensor<?x5xf32> {
  %y = nn.relu %x : tensor<?x4xf32> -> tensor<?x5xf32>
  return %y : tensor<?x5xf32>
}
// CHECK:      {{^}}{{.*}}diagnostics-locations.mlir:[[@LINE-3]]:8: error: 'nn.relu' op {{.*}}
// CHECK-NEXT: {{^}}  %y = nn.relu %x : tensor<?x4xf32> -> tensor<?x5xf32>{{$}}
// CHECK-NEXT: {{^}}       ^~~~~~~{{$}}

// -----
func.func @forward(%x: tensor<?x4xf32>) -> tensor<?x5xf32> {
  %y = nn.relu %x : tensor<?x4xf32> -> tensor<?x5xf32> loc("conv1"("Inputs/source.kiln":2:1))
  return %y : tensor<?x5xf32>
}
// CHECK:      {{^}}Inputs/source.kiln:2:1: error: 'nn.relu' op {{.*}}
// CHECK-NEXT: {{^}}conv1 = Conv2D(channels=20, kernel_size=5){{$}}
// CHECK-NEXT: {{^}}^~~~~{{$}}

// -----
func.func @forward(%x: tensor<?x4xf32>) -> tensor<?x5xf32> {
  %y = nn.relu %x : tensor<?x4xf32> -> tensor<?x5xf32> loc(callsite("Inputs/source.kiln":3:28 at "Inputs/source.kiln":2:9))
  return %y : tensor<?x5xf32>
}
// CHECK:      {{^}}Inputs/source.kiln:3:28: error: 'nn.relu' op {{.*}}
// CHECK-NEXT: {{^}}bn1 = BatchNorm(activation=relu){{$}}
// CHECK-NEXT: {{^}}                           ^~~~{{$}}
// CHECK-NEXT: {{^}}Inputs/source.kiln:2:9: note: called from
// CHECK-NEXT: {{^}}conv1 = Conv2D(channels=20, kernel_size=5){{$}}
// CHECK-NEXT: {{^}}        ^~~~~~{{$}}

// -----
func.func @forward(%x: tensor<?x4xf32>) -> tensor<?x5xf32> {
  %y = nn.relu %x : tensor<?x4xf32> -> tensor<?x5xf32> loc(fused["no position", "Inputs/source.kiln":1:7, "Inputs/source.kiln":3:1])
  return %y : tensor<?x5xf32>
}
// CHECK:      {{^}}Inputs/source.kiln:1:7: error: 'nn.relu' op {{.*}}
// CHECK-NEXT: {{^}}input data: [N, 1, 28, 28]{{$}}
// CHECK-NEXT: {{^}}      ^~~~{{$}}

// -----
func.func @forward(%x: tensor<?x4xf32>) -> tensor<?x5xf32> {
  %y = nn.relu %x : tensor<?x4xf32> -> tensor<?x5xf32> loc("Inputs/missing.kiln":4:2)
  return %y : tensor<?x5xf32>
}
// CHECK:      {{^}}Inputs/missing.kiln:4:2: error: 'nn.relu' op {{.*}}
// CHECK-NOT:  {{^}} ^

// -----
func.func @forward(%x: tensor<?x4xf32>) -> tensor<?x5xf32> {
  %y = nn.relu %x : tensor<?x4xf32> -> tensor<?x5xf32> loc("just a name")
  return %y : tensor<?x5xf32>
}
// CHECK:      {{^}}error: 'nn.relu' op {{.*}}
