// The machine's float32 FMA peak, measured in the benchmark's own process: the roof every
// kiln-bench figure is reported against (machines of one kind differ, so it is never assumed).
#ifndef KILN_TOOLS_KILN_BENCH_PEAK_H
#define KILN_TOOLS_KILN_BENCH_PEAK_H

#include <string>

namespace kiln_bench {

struct Peak {
  double gflops = 0;  // on `threads` threads, with the widest FMA unit the CPU has
  std::string unit;   // "AVX-512 FMA", "AVX2 FMA" or "SSE (no FMA)"
  int threads = 0;
};

// The median of several short runs of independent FMA chains on `threads` threads.
Peak measurePeak(int threads);

} // namespace kiln_bench

#endif // KILN_TOOLS_KILN_BENCH_PEAK_H
