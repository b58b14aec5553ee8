// The Halide target for the CPU kilnc runs on, from the features that CPU really has, and the
// CPU features a target's code may use (what a compiled library checks when it is loaded).
#ifndef KILN_CODEGEN_HOSTTARGET_H
#define KILN_CODEGEN_HOSTTARGET_H

#include "Halide.h"
#include "llvm/ADT/StringSet.h"

#include <string>
#include <vector>

namespace kiln::codegen {

// CPU features by LLVM's names ("avx2", "avx512vnni", "avxvnni", "dotprod", ...), as
// llvm::sys::getHostCPUFeatures reports them.
using CpuFeatures = llvm::StringSet<>;

// The features of the CPU this process runs on (only those reported present).
CpuFeatures hostCpuFeatures();

// The x86-64 Linux target whose code runs on a CPU with exactly these features. Halide 14
// derives LLVM's -mcpu from its x86 features (AVX2 → haswell, AVX512_Skylake → skylake-avx512,
// AVX512_SapphireRapids → sapphirerapids, ...), and that -mcpu lets LLVM use every instruction
// set of the named processor. So a feature is claimed only when the CPU has every instruction
// set it lets LLVM use: Zen 4 (AVX512-VNNI and -BF16, no AVX-VNNI) gets AVX512_Cannonlake, not
// AVX512_SapphireRapids, whose code may hold `{vex} vpdpwssd`.
Halide::Target x86TargetForCpu(const CpuFeatures &cpu);

// Whether the CPU LLVM names `cpuName` (llvm::sys::getHostCPUName: "znver4", "sapphirerapids")
// runs its widest FMAs at the FLOP rate of half-width ones: AMD Zen 4 executes a 512-bit FMA as
// two 256-bit halves (its FMA peak is the same in ymm and zmm), whereas Intel's AVX-512 Xeons
// and Zen 5 double the rate. Kiln's layout choice weighs padded vector lanes by it.
bool splitsWideFma(llvm::StringRef cpuName);

// splitsWideFma of the CPU this process runs on.
bool hostSplitsWideFma();

// The target for --target=host: x86TargetForCpu(hostCpuFeatures()) on x86-64, Halide's own
// host detection elsewhere.
Halide::Target resolveHostTarget();

// The CPU features (LLVM's names) that code compiled for `target` may use: on x86-64 every
// instruction set implied by the -mcpu and -mattr Halide derives from the target; on AArch64
// the optional extensions it enables. Sorted; empty for other architectures and for the
// architecture's baseline.
std::vector<std::string> requiredCpuFeatures(const Halide::Target &target);

} // namespace kiln::codegen

#endif // KILN_CODEGEN_HOSTTARGET_H
