// Independent FMA chains in registers (16 accumulators: latency 4 × 2 pipes needs 8 in flight),
// compiled for each vector width with target attributes and chosen by what the CPU reports, so
// the binary runs on any x86-64 CPU.
#include "Peak.h"

#include <algorithm>
#include <chrono>
#include <thread>
#include <vector>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace kiln_bench {
namespace {

using Clock = std::chrono::steady_clock;

#if defined(__x86_64__)
__attribute__((target("avx512f"), noinline)) float chainsAvx512(long iterations) {
  __m512 a = _mm512_set1_ps(0.9999999f), b = _mm512_set1_ps(1e-7f);
  __m512 acc[16];
  for (__m512 &v : acc)
    v = b;
  for (long i = 0; i < iterations; ++i)
    for (__m512 &v : acc)
      v = _mm512_fmadd_ps(v, a, b);
  __m512 sum = acc[0];
  for (int i = 1; i < 16; ++i)
    sum = _mm512_add_ps(sum, acc[i]);
  return _mm512_reduce_add_ps(sum);
}

__attribute__((target("avx2,fma"), noinline)) float chainsAvx2(long iterations) {
  __m256 a = _mm256_set1_ps(0.9999999f), b = _mm256_set1_ps(1e-7f);
  __m256 acc[16];
  for (__m256 &v : acc)
    v = b;
  for (long i = 0; i < iterations; ++i)
    for (__m256 &v : acc)
      v = _mm256_fmadd_ps(v, a, b);
  __m256 sum = acc[0];
  for (int i = 1; i < 16; ++i)
    sum = _mm256_add_ps(sum, acc[i]);
  float lanes[8];
  _mm256_storeu_ps(lanes, sum);
  return lanes[0];
}
#endif

// No FMA unit: multiply and add as 2 FLOPs of 4 lanes.
__attribute__((noinline)) float chainsScalar(long iterations) {
  float acc[16][4];
  for (auto &v : acc)
    for (float &x : v)
      x = 1e-7f;
  for (long i = 0; i < iterations; ++i)
    for (auto &v : acc)
      for (float &x : v)
        x = x * 0.9999999f + 1e-7f;
  return acc[0][0];
}

volatile float sink;

} // namespace

Peak measurePeak(int threads) {
  float (*chains)(long) = chainsScalar;
  double flopsPerIteration = 16 * 4 * 2;
  Peak peak;
  peak.unit = "SSE (no FMA)";
#if defined(__x86_64__)
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f")) {
    chains = chainsAvx512;
    flopsPerIteration = 16 * 16 * 2;
    peak.unit = "AVX-512 FMA";
  } else if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
    chains = chainsAvx2;
    flopsPerIteration = 16 * 8 * 2;
    peak.unit = "AVX2 FMA";
  }
#endif
  peak.threads = threads;
  // ~0.1 s a run on a 2-core Zen 4: long enough for the clock to settle.
  const long iterations = 5'000'000;
  sink = chains(iterations / 10); // warm-up: lets the clock ramp
  std::vector<double> rates;
  for (int run = 0; run < 7; ++run) {
    std::vector<std::thread> workers;
    auto start = Clock::now();
    for (int t = 0; t < threads; ++t)
      workers.emplace_back([&] { sink = chains(iterations); });
    for (std::thread &w : workers)
      w.join();
    double seconds = std::chrono::duration<double>(Clock::now() - start).count();
    rates.push_back(threads * iterations * flopsPerIteration / seconds / 1e9);
  }
  std::sort(rates.begin(), rates.end());
  peak.gflops = rates[rates.size() / 2];
  return peak;
}

} // namespace kiln_bench
