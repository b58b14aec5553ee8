// Resolves --target=host from the CPU's real features. Halide 14's get_host_target() claims
// AVX512_SapphireRapids on any CPU with AVX512-VNNI and AVX512-BF16; the -mcpu=sapphirerapids
// it then gives LLVM lets it emit AVX-VNNI (`{vex} vpdpwssd`), which AMD Zen 4 lacks: SIGILL.
#include "codegen/HostTarget.h"

#include "llvm/ADT/StringMap.h"
#include "llvm/TargetParser/Host.h"

#include <algorithm>
#include <initializer_list>

using Halide::Target;

namespace kiln::codegen {

namespace {

// Halide 14's x86 tiers, in the order its CodeGen_X86::mcpu() ranks them: the highest tier a
// target has names LLVM's -mcpu, which implies every tier before it. `adds` lists what the tier's
// processor adds that LLVM may select from plain IR (vector, bit-manipulation, prefetch and
// conversion instructions); instructions reached only through intrinsics Halide never calls
// (AES, SHA, XSAVE, CLWB, ...) are left out.
struct X86Tier {
  Target::Feature feature;
  const char *mcpu; // for the reader: LLVM's processor for this tier
  std::initializer_list<const char *> adds;
};

const X86Tier kX86Tiers[] = {
    {Target::SSE41, "penryn", {"sse3", "ssse3", "sse4.1", "cx16"}},
    {Target::AVX, "corei7-avx", {"sse4.2", "popcnt", "pclmul", "avx"}},
    {Target::AVX2, "haswell", {"avx2", "fma", "f16c", "bmi", "bmi2", "lzcnt", "movbe"}},
    // AVX512 alone keeps -mcpu=haswell and adds -mattr=+avx512f,+avx512cd.
    {Target::AVX512, "haswell", {"avx512f", "avx512cd"}},
    {Target::AVX512_Skylake, "skylake-avx512", {"avx512bw", "avx512dq", "avx512vl", "prfchw"}},
    {Target::AVX512_Cannonlake, "cannonlake", {"avx512ifma", "avx512vbmi"}},
    {Target::AVX512_SapphireRapids,
     "sapphirerapids",
     {"avx512vnni", "avx512bf16", "avxvnni", "avx512fp16", "avx512vbmi2", "avx512bitalg",
      "avx512vpopcntdq", "gfni", "vaes", "vpclmulqdq", "amx-tile", "amx-int8", "amx-bf16"}},
};

// Features Halide passes to LLVM as -mattr on their own, whatever the tier.
struct SingleFeature {
  Target::Feature feature;
  const char *cpuFeature;
};

const SingleFeature kX86Singles[] = {
    {Target::FMA, "fma"}, {Target::F16C, "f16c"}, {Target::FMA4, "fma4"}};

// AArch64 extensions a target may enable, by the names LLVM (and the runtime's check) use.
const SingleFeature kArmSingles[] = {{Target::ARMDotProd, "dotprod"},
                                     {Target::ARMFp16, "fullfp16"},
                                     {Target::ARMv81a, "v8.1a"},
                                     {Target::SVE, "sve"},
                                     {Target::SVE2, "sve2"}};

bool hasAll(const CpuFeatures &cpu, std::initializer_list<const char *> names) {
  return std::all_of(names.begin(), names.end(),
                     [&](const char *name) { return cpu.contains(name); });
}

} // namespace

CpuFeatures hostCpuFeatures() {
  CpuFeatures features;
  for (const auto &entry : llvm::sys::getHostCPUFeatures())
    if (entry.second)
      features.insert(entry.first());
  return features;
}

Target x86TargetForCpu(const CpuFeatures &cpu) {
  Target target("x86-64-linux");
  // Tiers are cumulative: stop at the first one the CPU cannot run.
  for (const X86Tier &tier : kX86Tiers) {
    if (!hasAll(cpu, tier.adds))
      break;
    target.set_feature(tier.feature);
  }
  for (const SingleFeature &single : kX86Singles)
    if (cpu.contains(single.cpuFeature))
      target.set_feature(single.feature);
  return target;
}

bool splitsWideFma(llvm::StringRef cpuName) { return cpuName == "znver4"; }

bool hostSplitsWideFma() { return splitsWideFma(llvm::sys::getHostCPUName()); }

Target resolveHostTarget() {
  Target host = Halide::get_host_target();
  if (host.arch != Target::X86 || host.bits != 64)
    return host;
  Target target = x86TargetForCpu(hostCpuFeatures());
  target.os = host.os;
  return target;
}

std::vector<std::string> requiredCpuFeatures(const Target &target) {
  llvm::StringSet<> required;
  if (target.arch == Target::X86) {
    int highest = -1;
    for (int i = 0; i < static_cast<int>(std::size(kX86Tiers)); ++i)
      if (target.has_feature(kX86Tiers[i].feature))
        highest = i;
    for (int i = 0; i <= highest; ++i)
      for (const char *name : kX86Tiers[i].adds)
        required.insert(name);
    if (target.has_feature(Target::AVX512_KNL)) // never resolved for a host; explicit only
      for (const char *name : {"avx512f", "avx512cd", "avx512er", "avx512pf"})
        required.insert(name);
    for (const SingleFeature &single : kX86Singles)
      if (target.has_feature(single.feature))
        required.insert(single.cpuFeature);
  } else if (target.arch == Target::ARM && target.bits == 64) {
    for (const SingleFeature &single : kArmSingles)
      if (target.has_feature(single.feature))
        required.insert(single.cpuFeature);
  }
  std::vector<std::string> names;
  for (const auto &entry : required)
    names.push_back(entry.first().str());
  std::sort(names.begin(), names.end());
  return names;
}

} // namespace kiln::codegen
