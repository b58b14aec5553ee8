// The CPU's features, read from the processor itself (cpuid and xgetbv on x86-64, the kernel's
// hardware capabilities on AArch64), and the load-time check of a compiled library: code built
// for an instruction set the CPU lacks gets a status naming it, never SIGILL.
#include "Internal.h"

#include <cstdlib>
#include <cstring>
#include <set>
#include <string>
#include <vector>

#if defined(__x86_64__)
#include <cpuid.h>
#elif defined(__aarch64__)
#include <sys/auxv.h>
#endif

namespace {

std::vector<std::string> splitList(const char *list) {
  std::vector<std::string> names;
  std::string name;
  for (const char *p = list ? list : ""; ; ++p) {
    if (*p == ',' || *p == '\0') {
      // Spaces around names are tolerated: "avx2, fma".
      size_t begin = name.find_first_not_of(' '), end = name.find_last_not_of(' ');
      if (begin != std::string::npos)
        names.push_back(name.substr(begin, end - begin + 1));
      name.clear();
      if (*p == '\0')
        break;
    } else {
      name += *p;
    }
  }
  return names;
}

#if defined(__x86_64__)

uint64_t readXcr0() {
  uint32_t eax, edx;
  __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
  return (static_cast<uint64_t>(edx) << 32) | eax;
}

// LLVM's names for what cpuid reports, each only where the OS saves the registers it uses (as
// llvm::sys::getHostCPUFeatures decides), so that kilnc and the runtime agree.
std::set<std::string> detectFeatures() {
  std::set<std::string> features;
  unsigned eax, ebx, ecx, edx;
  if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx))
    return features;
  unsigned maxLeaf = __get_cpuid_max(0, nullptr);
  bool osSaves = (ecx >> 27) & 1;
  uint64_t xcr0 = osSaves ? readXcr0() : 0;
  bool avxState = (xcr0 & 0x6) == 0x6;
  bool avx512State = avxState && (xcr0 & 0xe0) == 0xe0;
  bool amxState = (xcr0 & 0x60000) == 0x60000;
  auto add = [&](unsigned reg, int bit, const char *name, bool state = true) {
    if (state && ((reg >> bit) & 1))
      features.insert(name);
  };
  add(ecx, 0, "sse3");
  add(ecx, 1, "pclmul");
  add(ecx, 9, "ssse3");
  add(ecx, 12, "fma", avxState);
  add(ecx, 13, "cx16");
  add(ecx, 19, "sse4.1");
  add(ecx, 20, "sse4.2");
  add(ecx, 22, "movbe");
  add(ecx, 23, "popcnt");
  add(ecx, 28, "avx", avxState);
  add(ecx, 29, "f16c", avxState);
  if (maxLeaf >= 7) {
    unsigned subleaves;
    __cpuid_count(7, 0, subleaves, ebx, ecx, edx);
    add(ebx, 3, "bmi");
    add(ebx, 5, "avx2", avxState);
    add(ebx, 8, "bmi2");
    add(ebx, 16, "avx512f", avx512State);
    add(ebx, 17, "avx512dq", avx512State);
    add(ebx, 21, "avx512ifma", avx512State);
    add(ebx, 28, "avx512cd", avx512State);
    add(ebx, 30, "avx512bw", avx512State);
    add(ebx, 31, "avx512vl", avx512State);
    add(ecx, 1, "avx512vbmi", avx512State);
    add(ecx, 6, "avx512vbmi2", avx512State);
    add(ecx, 8, "gfni");
    add(ecx, 9, "vaes", avxState);
    add(ecx, 10, "vpclmulqdq", avxState);
    add(ecx, 11, "avx512vnni", avx512State);
    add(ecx, 12, "avx512bitalg", avx512State);
    add(ecx, 14, "avx512vpopcntdq", avx512State);
    add(edx, 22, "amx-bf16", amxState);
    add(edx, 23, "avx512fp16", avx512State);
    add(edx, 24, "amx-tile", amxState);
    add(edx, 25, "amx-int8", amxState);
    if (subleaves >= 1) {
      __cpuid_count(7, 1, eax, ebx, ecx, edx);
      add(eax, 4, "avxvnni", avxState);
      add(eax, 5, "avx512bf16", avx512State);
    }
  }
  if (__get_cpuid(0x80000001, &eax, &ebx, &ecx, &edx)) {
    add(ecx, 5, "lzcnt");
    add(ecx, 8, "prfchw");
    add(ecx, 16, "fma4", avxState);
  }
  return features;
}

#elif defined(__aarch64__)

std::set<std::string> detectFeatures() {
  // Bits of AT_HWCAP / AT_HWCAP2 (linux/arch/arm64/include/uapi/asm/hwcap.h).
  unsigned long hwcap = getauxval(AT_HWCAP), hwcap2 = getauxval(AT_HWCAP2);
  auto bit = [](unsigned long word, int n) { return ((word >> n) & 1UL) != 0; };
  std::set<std::string> features;
  if (bit(hwcap, 20))
    features.insert("dotprod");
  if (bit(hwcap, 9) && bit(hwcap, 10))
    features.insert("fullfp16");
  if (bit(hwcap, 8) && bit(hwcap, 12)) // atomics and rdm: what Halide's armv81a uses
    features.insert("v8.1a");
  if (bit(hwcap, 22))
    features.insert("sve");
  if (bit(hwcap2, 1))
    features.insert("sve2");
  return features;
}

#else

std::set<std::string> detectFeatures() { return {}; }

#endif

const std::set<std::string> &cpuFeatures() {
  static const std::set<std::string> features = detectFeatures();
  return features;
}

} // namespace

extern "C" {

int kiln_cpu_has_feature(const char *name) {
  if (!name || !cpuFeatures().count(name))
    return 0;
  for (const std::string &disabled : splitList(std::getenv("KILN_CPU_DISABLE")))
    if (disabled == name)
      return 0;
  return 1;
}

kiln_status kiln_cpu_check(const char *what, const char *target, const char *required) {
  std::string missing;
  for (const std::string &name : splitList(required))
    if (!kiln_cpu_has_feature(name.c_str()))
      missing += (missing.empty() ? "" : ", ") + name;
  if (missing.empty())
    return KILN_OK;
  return kiln_fail(KILN_UNSUPPORTED_CPU,
                   "%s: this library was compiled for target %s, which needs CPU features this "
                   "CPU lacks: %s; compile the model for this machine (kilnc --target=host) or "
                   "for a target it supports",
                   what ? what : "kiln_cpu_check", target ? target : "(unknown)",
                   missing.c_str());
}

} // extern "C"
