// Output-size arithmetic for sliding windows; every step is overflow-checked.
#include "kiln/Dialect/NN/ShapeFormulas.h"

#include <algorithm>

namespace kiln::shape {

std::optional<int64_t> checkedAdd(int64_t a, int64_t b) {
  int64_t r;
  if (__builtin_add_overflow(a, b, &r))
    return std::nullopt;
  return r;
}

std::optional<int64_t> checkedMul(int64_t a, int64_t b) {
  int64_t r;
  if (__builtin_mul_overflow(a, b, &r))
    return std::nullopt;
  return r;
}

std::optional<int64_t> checkedProduct(const std::vector<int64_t> &extents) {
  int64_t product = 1;
  for (int64_t e : extents) {
    if (e == kDynamic)
      continue;
    std::optional<int64_t> next = checkedMul(product, e);
    if (!next)
      return std::nullopt;
    product = *next;
  }
  return product;
}

std::optional<int64_t> windowOutputSize(int64_t input, const Window &w, std::string *error) {
  auto fail = [&](std::string why) -> std::optional<int64_t> {
    if (error)
      *error = std::move(why);
    return std::nullopt;
  };
  if (w.kernel <= 0)
    return fail("kernel size must be positive, got " + std::to_string(w.kernel));
  if (w.stride <= 0)
    return fail("stride must be positive, got " + std::to_string(w.stride));
  if (w.dilation <= 0)
    return fail("dilation must be positive, got " + std::to_string(w.dilation));
  if (w.padBefore < 0 || w.padAfter < 0)
    return fail("padding must be non-negative, got " + std::to_string(w.padBefore) + " before and " +
                std::to_string(w.padAfter) + " after");
  if (input != kDynamic && input <= 0)
    return fail("input extent must be positive, got " + std::to_string(input));

  // The extent one window covers: d·(k−1) + 1.
  std::optional<int64_t> span = checkedMul(w.dilation, w.kernel - 1);
  if (span)
    span = checkedAdd(*span, 1);
  if (!span)
    return fail("window extent overflows 64 bits");
  if (input == kDynamic)
    return kDynamic;

  std::optional<int64_t> padded = checkedAdd(input, w.padBefore);
  if (padded)
    padded = checkedAdd(*padded, w.padAfter);
  if (!padded)
    return fail("padded input extent overflows 64 bits");
  if (*span > *padded)
    return fail("window extent " + std::to_string(*span) + " (kernel " + std::to_string(w.kernel) +
                ", dilation " + std::to_string(w.dilation) + ") exceeds the padded input extent " +
                std::to_string(*padded));

  // Window i starts at i·s in the padded input; `steps` is the last i.
  int64_t room = *padded - *span; // ≥ 0: positions past the first window
  int64_t steps = room / w.stride;
  if (w.ceilMode) {
    // Round up (the last window may hang over the padded end), but no window may start in the
    // trailing padding: i·s < n + p_before. PyTorch drops only the last window for this; the two
    // agree whenever at most one window could start there, which pooling's padding ≤ k/2 ensures.
    if (room % w.stride != 0)
      ++steps;
    int64_t lastStartInside = (input + w.padBefore - 1) / w.stride; // n + p_before ≤ *padded
    steps = std::min(steps, lastStartInside);
  }
  return steps + 1;
}

std::optional<std::vector<int64_t>> broadcastShape(const std::vector<int64_t> &a,
                                                   const std::vector<int64_t> &b,
                                                   std::string *error) {
  size_t rank = std::max(a.size(), b.size());
  auto text = [](int64_t d) { return d == kDynamic ? std::string("?") : std::to_string(d); };
  std::vector<int64_t> out(rank);
  for (size_t i = 0; i < rank; ++i) {
    // Dimension i of the result, from the operands' dimensions aligned at the end (1 if absent).
    size_t fromEnd = rank - i;
    int64_t da = fromEnd <= a.size() ? a[a.size() - fromEnd] : 1;
    int64_t db = fromEnd <= b.size() ? b[b.size() - fromEnd] : 1;
    bool aDynamic = da == kDynamic, bDynamic = db == kDynamic;
    if ((aDynamic && (i != 0 || a.size() != rank)) || (bDynamic && (i != 0 || b.size() != rank))) {
      *error = "a dynamic extent (the batch) must be dimension 0 of an operand of the result's rank";
      return std::nullopt;
    }
    if (aDynamic || bDynamic) {
      int64_t other = aDynamic ? db : da;
      if (other != kDynamic && other != 1) {
        *error = "dimension " + std::to_string(i) + " is the batch in one operand and " +
                 text(other) + " in the other";
        return std::nullopt;
      }
      out[i] = kDynamic;
    } else if (da == db || db == 1) {
      out[i] = da;
    } else if (da == 1) {
      out[i] = db;
    } else {
      *error = "dimension " + std::to_string(i) + " (aligned at the last) is " + text(da) +
               " in one operand and " + text(db) + " in the other; neither is 1";
      return std::nullopt;
    }
  }
  return out;
}

} // namespace kiln::shape
