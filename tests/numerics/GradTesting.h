// Helpers shared by the training ops' numerics tests: random shapes and parameters, and the
// comparison with compiler/reference/Gradients.h. Tolerance, stated once for all of them:
// |out − ref| ≤ 1e-4 + 1e-3·|ref| (float32 kernels, some with fast_exp/fast_log and sums of a
// few hundred terms, against double precision).
#ifndef KILN_TESTS_NUMERICS_GRADTESTING_H
#define KILN_TESTS_NUMERICS_GRADTESTING_H

#include "KernelHarness.h"

#include "reference/Gradients.h"

#include <algorithm>
#include <numeric>
#include <sstream>

namespace kiln::testing {

constexpr double kGradAtol = 1e-4, kGradRtol = 1e-3;

inline int64_t pick(std::mt19937 &rng, int64_t lo, int64_t hi) {
  return std::uniform_int_distribution<int64_t>(lo, hi)(rng);
}

// A float-representable value uniform in [lo, hi).
inline double uniform(std::mt19937 &rng, double lo, double hi) {
  return static_cast<float>(std::uniform_real_distribution<double>(lo, hi)(rng));
}

// [N, C, spatial…] with N in 1–4, C in 1–9 and rank in [minRank, maxRank], spatial extents 1–6.
inline std::vector<int64_t> randomShape(std::mt19937 &rng, int64_t minRank, int64_t maxRank) {
  int64_t rank = pick(rng, minRank, maxRank);
  std::vector<int64_t> shape{pick(rng, 1, 4), pick(rng, 1, 9)};
  for (int64_t i = 2; i < rank; ++i)
    shape.push_back(pick(rng, 1, 6));
  return shape;
}

// Values of t replaced by distinct ones in random order: no ties for max pooling to break.
inline void makeDistinct(Tensor &t, std::mt19937 &rng) {
  std::vector<size_t> order(t.data.size());
  std::iota(order.begin(), order.end(), 0);
  std::shuffle(order.begin(), order.end(), rng);
  double n = static_cast<double>(order.size());
  for (size_t i = 0; i < order.size(); ++i)
    t.data[order[i]] = static_cast<float>((static_cast<double>(i) + 0.5) / n * 2.0 - 1.0);
}

// A double as F64Attr text, exactly.
inline std::string floatText(double v) {
  std::ostringstream os;
  os.precision(17);
  os << std::scientific << v;
  return os.str();
}

// Runs the case and compares it with the reference; "" when it matches, else what went wrong,
// naming the seed and configuration so the case can be replayed.
inline std::string checkAgainstReference(const OpCase &c, const Tensor &ref, unsigned seed,
                                         int config) {
  std::ostringstream where;
  where << "seed " << seed << ", configuration " << config << ": ";
  if (!ref.valid())
    return where.str() + "the reference rejects the configuration: " + c.op;
  Tensor out;
  std::string error;
  if (!runKernel(c, &out, &error))
    return where.str() + error;
  std::string mismatch = compareTensors(out, ref, kGradAtol, kGradRtol);
  if (!mismatch.empty())
    return where.str() + mismatch + "\nop: " + c.op;
  return "";
}

} // namespace kiln::testing

#endif // KILN_TESTS_NUMERICS_GRADTESTING_H
