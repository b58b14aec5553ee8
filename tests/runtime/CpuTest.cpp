// kiln_cpu_has_feature / kiln_cpu_check: the load-time check generated libraries run, with
// KILN_CPU_DISABLE standing in for a CPU that lacks features; and the Halide error handler that
// turns Halide's messages into statuses instead of aborting.
#include "kiln/runtime.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

namespace {

// Sets KILN_CPU_DISABLE for the scope of a test.
class DisabledFeatures {
public:
  explicit DisabledFeatures(const char *list) { setenv("KILN_CPU_DISABLE", list, 1); }
  ~DisabledFeatures() { unsetenv("KILN_CPU_DISABLE"); }
};

// A feature every CPU of the architecture the tests run on has.
const char *baselineFeature() {
#if defined(__x86_64__)
  return "sse3";
#else
  return nullptr;
#endif
}

TEST(Cpu, NothingRequiredPasses) {
  EXPECT_EQ(kiln_cpu_check("lib_create", "x86-64-linux", ""), KILN_OK);
  EXPECT_EQ(kiln_cpu_check("lib_create", "x86-64-linux", nullptr), KILN_OK);
}

TEST(Cpu, UnknownFeaturesAreMissing) {
  EXPECT_EQ(kiln_cpu_has_feature("no-such-feature"), 0);
  EXPECT_EQ(kiln_cpu_has_feature(nullptr), 0);
  EXPECT_EQ(kiln_cpu_check("lib_create", "x86-64-linux-future", "no-such-feature"),
            KILN_UNSUPPORTED_CPU);
  EXPECT_STREQ(kiln_last_error(),
               "lib_create: this library was compiled for target x86-64-linux-future, which needs "
               "CPU features this CPU lacks: no-such-feature; compile the model for this machine "
               "(kilnc --target=host) or for a target it supports");
}

TEST(Cpu, DisabledFeaturesReadAsAbsentAndAreNamed) {
  const char *feature = baselineFeature();
  if (!feature)
    GTEST_SKIP() << "no feature is known to be present on this architecture";
  ASSERT_EQ(kiln_cpu_has_feature(feature), 1);
  EXPECT_EQ(kiln_cpu_check("lenet_create", "x86-64-linux-sse41", "sse3, ssse3"), KILN_OK)
      << kiln_last_error();
  {
    DisabledFeatures disabled("avx512f, sse3");
    EXPECT_EQ(kiln_cpu_has_feature(feature), 0);
    EXPECT_EQ(kiln_cpu_check("lenet_create", "x86-64-linux-sse41", "sse3,ssse3,no-such-feature"),
              KILN_UNSUPPORTED_CPU);
    std::string message = kiln_last_error();
    EXPECT_NE(message.find("lenet_create: this library was compiled for target "
                           "x86-64-linux-sse41, which needs CPU features this CPU lacks: sse3, "
                           "no-such-feature;"),
              std::string::npos)
        << message;
  }
  EXPECT_EQ(kiln_cpu_has_feature(feature), 1);
}

TEST(Cpu, FeaturesNeedTheirPrerequisites) {
  // The OS must save the wider registers: AVX-512 is reported only with AVX, AVX only with SSE.
  if (kiln_cpu_has_feature("avx512f")) {
    EXPECT_EQ(kiln_cpu_has_feature("avx"), 1);
  }
  if (kiln_cpu_has_feature("avx2")) {
    EXPECT_EQ(kiln_cpu_has_feature("avx"), 1);
  }
  if (kiln_cpu_has_feature("avx")) {
    EXPECT_EQ(kiln_cpu_has_feature("sse4.2"), 1);
  }
}

TEST(Cpu, HalideMessagesReachTheStatus) {
  kiln_halide_error_handler(nullptr, "CUDA API not found: cuInit\n");
  EXPECT_EQ(kiln_status_from_halide(-16, "probe"), KILN_DEVICE_ERROR);
  EXPECT_STREQ(kiln_last_error(), "probe: a device allocation failed (Halide error -16): CUDA API "
                                  "not found: cuInit");
  // A message is reported once: the next failure does not repeat it.
  EXPECT_EQ(kiln_status_from_halide(-16, "probe"), KILN_DEVICE_ERROR);
  EXPECT_STREQ(kiln_last_error(), "probe: a device allocation failed (Halide error -16)");
}

} // namespace
