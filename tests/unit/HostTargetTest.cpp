// --target=host resolution on recorded CPU feature sets (LLVM's names, as
// llvm::sys::getHostCPUFeatures reports them), the CPU features each target's code needs, and
// agreement between kilnc's view of this CPU and the runtime's load-time check.
#include "codegen/Codegen.h"
#include "codegen/HostTarget.h"

#include "kiln/runtime.h"

#include "mlir/IR/Location.h"
#include "mlir/IR/MLIRContext.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <initializer_list>

using kiln::codegen::CpuFeatures;
using kiln::codegen::requiredCpuFeatures;
using kiln::codegen::x86TargetForCpu;

namespace {

CpuFeatures features(std::initializer_list<const char *> names) {
  CpuFeatures set;
  for (const char *name : names)
    set.insert(name);
  return set;
}

CpuFeatures plus(CpuFeatures set, std::initializer_list<const char *> names) {
  for (const char *name : names)
    set.insert(name);
  return set;
}

// An x86-64 CPU of 2008 (Penryn): SSE4.1, no SSE4.2/AVX.
const CpuFeatures kPenryn = features({"64bit", "cmov", "cx8", "cx16", "fxsr", "mmx", "sahf", "sse",
                                      "sse2", "sse3", "ssse3", "sse4.1"});
// Sandy Bridge: AVX without FMA, F16C or AVX2.
const CpuFeatures kSandyBridge =
    plus(kPenryn, {"sse4.2", "popcnt", "pclmul", "aes", "avx", "xsave", "xsaveopt"});
// Ivy Bridge: adds F16C, still no FMA.
const CpuFeatures kIvyBridge = plus(kSandyBridge, {"f16c", "rdrnd", "fsgsbase"});
// Haswell: AVX2 with FMA and the bit-manipulation sets, no AVX-512.
const CpuFeatures kHaswell =
    plus(kIvyBridge, {"avx2", "fma", "bmi", "bmi2", "lzcnt", "movbe", "invpcid"});
// Skylake-SP (Xeon): AVX-512 F/CD/BW/DQ/VL.
const CpuFeatures kSkylakeAvx512 =
    plus(kHaswell, {"adx", "rdseed", "prfchw", "clflushopt", "clwb", "xsavec", "xsaves",
                    "avx512f", "avx512cd", "avx512bw", "avx512dq", "avx512vl", "evex512"});
// AMD EPYC Zen 4 (cpuid family 25, model 17), as this project's machines report it: AVX512-VNNI
// and AVX512-BF16, but no AVX-VNNI, AVX512-FP16 or AMX.
const CpuFeatures kZen4 = plus(
    kSkylakeAvx512, {"avx512ifma", "avx512vbmi", "avx512vbmi2", "avx512bitalg", "avx512vpopcntdq",
                     "avx512vnni", "avx512bf16", "gfni", "vaes", "vpclmulqdq", "sha", "clzero",
                     "rdpid", "shstk", "sse4a", "crc32"});
// Sapphire Rapids: Zen 4's AVX-512 sets plus AVX-VNNI, AVX512-FP16 and AMX.
const CpuFeatures kSapphireRapids =
    plus(kZen4, {"avxvnni", "avx512fp16", "amx-tile", "amx-int8", "amx-bf16", "serialize",
                 "movdiri", "movdir64b", "waitpkg", "cldemote", "tsxldtrk", "enqcmd", "uintr"});

void expectTarget(const CpuFeatures &cpu, const char *expected) {
  Halide::Target resolved = x86TargetForCpu(cpu);
  EXPECT_EQ(resolved, Halide::Target(expected)) << resolved.to_string();
  // Whatever is resolved, its code needs nothing the CPU lacks.
  for (const std::string &name : requiredCpuFeatures(resolved))
    EXPECT_TRUE(cpu.contains(name)) << expected << " needs " << name;
}

TEST(HostTarget, Zen4IsCannonlakeNotSapphireRapids) {
  expectTarget(kZen4, "x86-64-linux-sse41-avx-avx2-fma-f16c-avx512-avx512_skylake-"
                      "avx512_cannonlake");
  EXPECT_FALSE(x86TargetForCpu(kZen4).has_feature(Halide::Target::AVX512_SapphireRapids));
}

TEST(HostTarget, SapphireRapids) {
  expectTarget(kSapphireRapids, "x86-64-linux-sse41-avx-avx2-fma-f16c-avx512-avx512_skylake-"
                                "avx512_cannonlake-avx512_sapphirerapids");
}

TEST(HostTarget, SkylakeAvx512) {
  expectTarget(kSkylakeAvx512, "x86-64-linux-sse41-avx-avx2-fma-f16c-avx512-avx512_skylake");
}

TEST(HostTarget, Avx2Only) {
  expectTarget(kHaswell, "x86-64-linux-sse41-avx-avx2-fma-f16c");
}

TEST(HostTarget, CpusWithoutFma) {
  expectTarget(kIvyBridge, "x86-64-linux-sse41-avx-f16c");
  expectTarget(kSandyBridge, "x86-64-linux-sse41-avx");
  // AVX2 without FMA (a hypervisor that masks FMA): Halide's AVX2 means -mcpu=haswell, which
  // would let LLVM fuse multiply-adds, so AVX2 is not claimed.
  CpuFeatures masked = kHaswell;
  masked.erase("fma");
  expectTarget(masked, "x86-64-linux-sse41-avx-f16c");
}

TEST(HostTarget, BaselineAndSse41) {
  expectTarget(kPenryn, "x86-64-linux-sse41");
  expectTarget(features({"64bit", "sse", "sse2"}), "x86-64-linux");
}

TEST(HostTarget, EveryTierNeedsTheTiersBelowIt) {
  // An AVX-512 CPU whose OS does not save AVX state reports no AVX: nothing above SSE4.1.
  CpuFeatures noAvxState = kSkylakeAvx512;
  for (const char *name : {"avx", "avx2", "fma", "f16c", "avx512f", "avx512cd", "avx512bw",
                           "avx512dq", "avx512vl"})
    noAvxState.erase(name);
  expectTarget(noAvxState, "x86-64-linux-sse41");
}

TEST(HostTarget, RequiredFeaturesOfNamedTargets) {
  std::vector<std::string> avx2 = requiredCpuFeatures(Halide::Target("x86-64-linux-avx-avx2-f16c-fma-sse41"));
  EXPECT_EQ(avx2, (std::vector<std::string>{"avx", "avx2", "bmi", "bmi2", "cx16", "f16c", "fma",
                                            "lzcnt", "movbe", "pclmul", "popcnt", "sse3",
                                            "sse4.1", "sse4.2", "ssse3"}));
  std::vector<std::string> spr = requiredCpuFeatures(
      Halide::Target("x86-64-linux-avx-avx2-avx512-avx512_sapphirerapids-f16c-fma-sse41"));
  for (const char *name : {"avxvnni", "avx512vnni", "avx512bf16", "avx512fp16", "amx-int8"})
    EXPECT_NE(std::find(spr.begin(), spr.end(), name), spr.end()) << name;
  EXPECT_TRUE(requiredCpuFeatures(Halide::Target("x86-64-linux")).empty());
  EXPECT_TRUE(requiredCpuFeatures(Halide::Target("arm-64-linux")).empty());
  EXPECT_EQ(requiredCpuFeatures(Halide::Target("arm-64-linux-arm_dot_prod-arm_fp16")),
            (std::vector<std::string>{"dotprod", "fullfp16"}));
}

TEST(HostTarget, ThisMachineNeedsOnlyWhatItHas) {
  Halide::Target host = kiln::codegen::resolveHostTarget();
  CpuFeatures cpu = kiln::codegen::hostCpuFeatures();
  for (const std::string &name : requiredCpuFeatures(host))
    EXPECT_TRUE(cpu.contains(name)) << host.to_string() << " needs " << name;
  if (host.arch == Halide::Target::X86) {
    EXPECT_EQ(host, x86TargetForCpu(cpu));
    bool sapphireRapids = true;
    for (const std::string &name :
         requiredCpuFeatures(Halide::Target("x86-64-linux-avx512_sapphirerapids")))
      sapphireRapids = sapphireRapids && cpu.contains(name);
    EXPECT_EQ(host.has_feature(Halide::Target::AVX512_SapphireRapids), sapphireRapids)
        << host.to_string();
  }
}

// Only Zen 4 splits its 512-bit FMAs in two halves; Intel's AVX-512 cores and Zen 5 run them at
// full rate. The x86-64-zen4 target carries that (its layouts take 8-lane vectors), the others
// do not.
TEST(HostTarget, OnlyZen4SplitsWideFmas) {
  EXPECT_TRUE(kiln::codegen::splitsWideFma("znver4"));
  for (const char *cpu : {"znver5", "znver3", "sapphirerapids", "skylake-avx512", "icelake-server",
                          "graniterapids", "haswell", "generic", ""})
    EXPECT_FALSE(kiln::codegen::splitsWideFma(cpu)) << cpu;
  mlir::MLIRContext context;
  mlir::Location loc = mlir::UnknownLoc::get(&context);
  auto zen4 = kiln::codegen::parseTarget("x86-64-zen4", loc);
  ASSERT_TRUE(mlir::succeeded(zen4));
  EXPECT_TRUE(zen4->splitWideFma);
  EXPECT_EQ(zen4->vectorWidth, 16);
  EXPECT_TRUE(zen4->halide.has_feature(Halide::Target::AVX512_Cannonlake));
  EXPECT_FALSE(zen4->halide.has_feature(Halide::Target::AVX512_SapphireRapids));
  for (const char *name : {"x86-64-avx512", "x86-64-avx2", "arm-64-linux"}) {
    auto spec = kiln::codegen::parseTarget(name, loc);
    ASSERT_TRUE(mlir::succeeded(spec)) << name;
    EXPECT_FALSE(spec->splitWideFma) << name;
  }
  auto host = kiln::codegen::parseTarget("host", loc);
  ASSERT_TRUE(mlir::succeeded(host));
  EXPECT_EQ(host->splitWideFma, kiln::codegen::hostSplitsWideFma());
}

// kilnc (LLVM's detection) and a library's load-time check (the runtime's own cpuid reading)
// must agree on every feature a target can require, or a library would be refused on the
// machine that compiled it, or accepted where it cannot run.
TEST(HostTarget, RuntimeDetectionAgreesWithLlvm) {
  ASSERT_EQ(std::getenv("KILN_CPU_DISABLE"), nullptr) << "the test needs the real CPU's view";
  Halide::Target host = kiln::codegen::resolveHostTarget();
  if (host.arch != Halide::Target::X86)
    GTEST_SKIP() << "x86-64 only: the recorded names are x86 features";
  CpuFeatures cpu = kiln::codegen::hostCpuFeatures();
  Halide::Target everything("x86-64-linux-avx512_sapphirerapids-fma-fma4-f16c");
  std::vector<std::string> names = requiredCpuFeatures(everything);
  ASSERT_GT(names.size(), 30u);
  for (const std::string &name : names)
    EXPECT_EQ(kiln_cpu_has_feature(name.c_str()) == 1, cpu.contains(name)) << name;
}

} // namespace
