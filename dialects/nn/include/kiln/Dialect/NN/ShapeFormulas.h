// Output-size arithmetic for convolution and pooling windows, checked in 64 bits.
// Plain C++ with no MLIR types, so the formulas are unit-tested against brute-force counts.
#ifndef KILN_DIALECT_NN_SHAPEFORMULAS_H
#define KILN_DIALECT_NN_SHAPEFORMULAS_H

#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <vector>

namespace kiln::shape {

// A dimension not known at compile time (the batch); equal to mlir::ShapedType::kDynamic.
constexpr int64_t kDynamic = std::numeric_limits<int64_t>::min();
// The most dimensions a tensor may have: the runtime's KILN_MAX_RANK (kiln/runtime.h).
constexpr int64_t kMaxRank = 8;

std::optional<int64_t> checkedAdd(int64_t a, int64_t b);
std::optional<int64_t> checkedMul(int64_t a, int64_t b);
// Product of the extents; nullopt on overflow. Dynamic extents are skipped.
std::optional<int64_t> checkedProduct(const std::vector<int64_t> &extents);

// One spatial dimension of a sliding window (convolution or pooling).
struct Window {
  int64_t kernel = 1;
  int64_t stride = 1;
  int64_t dilation = 1;
  int64_t padBefore = 0;
  int64_t padAfter = 0;
  bool ceilMode = false;
};

// The number of window positions over `input` elements:
//   ⌊(n + p_before + p_after − d·(k−1) − 1)/s⌋ + 1, or ⌈…⌉ + 1 in ceil mode, where in ceil mode
//   no window may start in the trailing padding (PyTorch's rule; PyTorch drops at most one
//   window for it, which is the same wherever p_after < d·(k−1) + 1, as for every pooling op).
// Parameters must be positive (paddings non-negative) and the window must fit in the padded
// input. A dynamic input gives a dynamic output. On failure returns nullopt and says why in *error.
std::optional<int64_t> windowOutputSize(int64_t input, const Window &window, std::string *error);

// NumPy's (ONNX's multidirectional) broadcasting of two shapes: aligned at their last
// dimensions, each pair equal or one of them 1. A dynamic extent (the batch) may only be the
// first dimension of an operand of the result's rank, where the other operand has it too or 1
// (or lacks that dimension). On failure returns nullopt and says why in *error.
std::optional<std::vector<int64_t>> broadcastShape(const std::vector<int64_t> &a,
                                                   const std::vector<int64_t> &b,
                                                   std::string *error);

} // namespace kiln::shape

#endif // KILN_DIALECT_NN_SHAPEFORMULAS_H
