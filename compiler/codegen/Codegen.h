// Code generation: each kernel.fused becomes a Halide pipeline (algorithm + schedule for the
// target), compiled ahead of time into an object file of the model's library.
#ifndef KILN_CODEGEN_CODEGEN_H
#define KILN_CODEGEN_CODEGEN_H

#include "kiln/Dialect/Kernel/KernelDialect.h"

#include "Halide.h"
#include "mlir/IR/Location.h"

#include <string>
#include <vector>

namespace kiln::codegen {

// What code generation needs to know about the machine it compiles for.
struct TargetSpec {
  std::string name;       // as given to --target: host, x86-64-avx2, x86-64-avx512, x86-64-zen4,
                          // arm-64-linux, host-cuda
  Halide::Target halide;  // without NoRuntime; kernels add it, the runtime object does not
  int vectorWidth = 8;    // f32 lanes of the widest vector unit
  bool gpu = false;       // kernels run on CUDA; the host code copies buffers as needed
  // The widest vectors' FMAs run at the FLOP rate of half-width ones (AMD Zen 4: see
  // splitsWideFma): padded wide vectors then cost more than narrower full ones.
  bool splitWideFma = false;
  // Schedule every kernel with Halide's Mullapudi2016 autoscheduler instead of Kiln's schedules
  // (kilnc --schedule=auto: a comparison point; CPU targets only).
  bool autoSchedule = false;
};

// Parses a --target name; emits an error at loc listing the known names on failure.
mlir::FailureOr<TargetSpec> parseTarget(llvm::StringRef name, mlir::Location loc);

// A kernel's Halide pipeline: one input per kernel operand (in operand order), one output.
struct KernelPipeline {
  std::vector<Halide::ImageParam> inputs;
  Halide::Func output;
  std::vector<Halide::Argument> arguments() const;
};

// Builds the algorithm and schedule of a kernel for the target. Emits a diagnostic at the op
// (never throws) when an op has no code generation or Halide rejects the pipeline.
mlir::FailureOr<KernelPipeline> buildKernel(kernel::FusedOp kernel, const TargetSpec &target);

// Compiles a kernel into `objectPath` as the C function `symbol(halide_buffer_t *inputs...,
// halide_buffer_t *output)`, without Halide's runtime. When dumpDir is non-empty, also writes
// the kernel's lowered statement (.stmt), its HTML view and its assembly (.s) there.
mlir::LogicalResult compileKernel(kernel::FusedOp kernel, const TargetSpec &target,
                                  const std::string &symbol, const std::string &objectPath,
                                  const std::string &dumpDir);

// Compiles the one copy of Halide's runtime that a library of kernels links with.
mlir::LogicalResult compileRuntime(const TargetSpec &target, const std::string &objectPath,
                                   mlir::Location loc);

} // namespace kiln::codegen

#endif // KILN_CODEGEN_CODEGEN_H
