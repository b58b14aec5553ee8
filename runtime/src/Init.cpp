// Weight initialization from a seed: a counter-based uniform generator, so kilnc's initial
// weights file and a library created without one produce the same bits on every machine.
#include "kiln/runtime.h"

#include <cstdint>

namespace {

// SplitMix64's finalizer (Steele, Lea, Flood 2014): a bijection of 64-bit integers whose
// outputs pass BigCrush for consecutive inputs, so hashing a counter gives an independent
// stream without any state.
uint64_t splitmix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

} // namespace

extern "C" void kiln_fill_uniform(float *data, int64_t count, float bound, uint64_t seed,
                                  uint64_t stream) {
  if (!data || count <= 0)
    return;
  // Two rounds of hashing separate (seed, stream) pairs that differ in a single bit.
  const uint64_t key = splitmix64(splitmix64(seed) ^ (stream * 0xd1342543de82ef95ull + 1));
  const double scale = static_cast<double>(bound);
  for (int64_t i = 0; i < count; ++i) {
    uint64_t bits = splitmix64(key + static_cast<uint64_t>(i) * 0x9e3779b97f4a7c15ull);
    // The top 24 bits give k in [0, 2^24); 2k/2^24 - 1 lies in [-1, 1) and is exact in a
    // float, and its product with bound is exact in a double, so the one rounding to float is
    // the same everywhere and never reaches +bound (it stays at least an ulp below it).
    int64_t k = static_cast<int64_t>(bits >> 40);
    double unit = static_cast<double>(2 * k - (int64_t(1) << 24)) / static_cast<double>(1 << 24);
    data[i] = static_cast<float>(unit * scale);
  }
}

extern "C" void kiln_optimizer_params_init(kiln_optimizer_params *params) {
  if (!params)
    return;
  params->learning_rate = 0.01f;
  params->momentum = 0.9f;
  params->weight_decay = 0.0f;
  params->beta1 = 0.9f;
  params->beta2 = 0.999f;
  params->epsilon = 1e-8f;
}
