// The reference implementation of every nn op: plain loops in double precision, no MLIR.
// It is the oracle that generated kernels (and, later, gradients) are tested against, so each
// function is written to be obviously right, following PyTorch's semantics exactly.
#ifndef KILN_REFERENCE_REFERENCE_H
#define KILN_REFERENCE_REFERENCE_H

#include <cstdint>
#include <vector>

namespace kiln::reference {

// A dense row-major tensor (NC[D][H]W for spatial data). A scalar has shape {} and one element.
struct Tensor {
  std::vector<int64_t> shape;
  std::vector<double> data;

  // The product of the extents (1 for a scalar); -1 if an extent is negative or it overflows.
  int64_t numel() const;
  // Whether data holds exactly numel() elements. `Tensor{}` (shape {}, no data) is the invalid
  // tensor every function below returns when its inputs do not fit.
  bool valid() const;
};

// Preconditions. The IR verifier rejects what does not fit (wrong rank, channel counts that
// groups do not divide, mismatched shapes, a window larger than the padded input, …), so the
// interpreter only ever passes inputs that fit. Called directly with inputs that do not fit,
// each function returns `Tensor{}` (check with valid()); softmaxCrossEntropy returns NaN.
// Nothing here throws, asserts or reads out of bounds.

struct ConvParams {
  std::vector<int64_t> strides;   // one per spatial dimension
  std::vector<int64_t> padding;   // all pads before, then all pads after
  std::vector<int64_t> dilations; // one per spatial dimension
  int64_t groups = 1;
};

// Cross-correlation (no kernel flip) of x [N, C_in, spatial…] with w [C_out, C_in/groups,
// kernel…] plus an optional bias [C_out], for 1 to 3 spatial dimensions. Output extent per
// dimension: ⌊(n + p_before + p_after − d·(k−1) − 1)/s⌋ + 1. Padded positions contribute zero.
Tensor conv(const Tensor &x, const Tensor &w, const Tensor *bias, const ConvParams &p);

struct PoolParams {
  std::vector<int64_t> kernel;  // one per spatial dimension
  std::vector<int64_t> strides; // one per spatial dimension
  std::vector<int64_t> padding; // all pads before, then all pads after
  bool ceilMode = false;
  bool countIncludePad = true; // average pooling only
};

// Maximum over each window; padded positions act as −∞ (a window with no input position, which
// the verifier's padding < kernel rule excludes, would give −∞).
Tensor maxPool(const Tensor &x, const PoolParams &p);
// Mean over each window. The divisor is, with countIncludePad, the window clipped to the padded
// input (end = min(start + k, n + p_after), in input coordinates), otherwise the number of input
// positions in the window: PyTorch's avg_pool definition, extended to asymmetric padding.
Tensor avgPool(const Tensor &x, const PoolParams &p);
// Mean / maximum over all spatial positions; spatial extents become 1 (rank kept).
Tensor globalAvgPool(const Tensor &x);
Tensor globalMaxPool(const Tensor &x);

// (x − mean)/√(var + eps)·gamma + beta per channel (dimension 1) of a 2-D to 5-D x: inference
// with running statistics.
Tensor batchNormInference(const Tensor &x, const Tensor &gamma, const Tensor &beta,
                          const Tensor &mean, const Tensor &var, double eps);

// Batch norm folded into the layer before it (kiln-fold-batch-norm): the weight [O, ...] scaled by
// gamma[o]/√(var[o] + eps) per output channel, and the bias beta + (bias − mean)·that scale
// (bias null: 0).
Tensor foldBatchNormWeight(const Tensor &w, const Tensor &gamma, const Tensor &var, double eps);
Tensor foldBatchNormBias(const Tensor &gamma, const Tensor &beta, const Tensor &mean,
                         const Tensor &var, const Tensor *bias, double eps);

// y = x·wᵀ + bias for x [N, K], w [M, K] (PyTorch's Linear layout), bias [M] or null.
Tensor dense(const Tensor &x, const Tensor &w, const Tensor *bias);

// Elementwise sum of two tensors of one shape.
Tensor add(const Tensor &a, const Tensor &b);
// NumPy's broadcasting (aligned at the last dimension; each pair of extents equal or one of them
// 1): the shape both broadcast to, or false. broadcastOffset maps an index of that shape to the
// element of `shape` it reads.
bool broadcastShapes(const std::vector<int64_t> &a, const std::vector<int64_t> &b,
                     std::vector<int64_t> &out);
int64_t broadcastOffset(const std::vector<int64_t> &shape, const std::vector<int64_t> &outShape,
                        const std::vector<int64_t> &index);
enum class BinaryOp { Add, Sub, Mul, Div, Max, Min };
// a op b with broadcasting.
Tensor broadcastBinary(BinaryOp op, const Tensor &a, const Tensor &b);
// Result dimension i is x's dimension perm[i] (perm a permutation of x's dimensions).
Tensor transpose(const Tensor &x, const std::vector<int64_t> &perm);
// x with pads[d] elements of `value` added before dimension d and pads[rank + d] after it (a
// negative pad removes elements).
Tensor pad(const Tensor &x, const std::vector<int64_t> &pads, double value);
// The tensors joined along `axis` (every other extent equal).
Tensor concat(const std::vector<Tensor> &xs, int64_t axis);
Tensor relu(const Tensor &x);
Tensor tanh(const Tensor &x);
Tensor sigmoid(const Tensor &x);
// x where x > 0, else alpha·x.
Tensor leakyRelu(const Tensor &x, double alpha);
// min(max(x, lo), hi): hi wherever lo > hi, as NumPy's clip.
Tensor clip(const Tensor &x, double lo, double hi);
// [N, …] → [N, product of the rest].
Tensor flatten(const Tensor &x);

// Along `axis` in [0, rank), computed stably (the maximum is subtracted first).
Tensor softmax(const Tensor &x, int64_t axis);
Tensor logSoftmax(const Tensor &x, int64_t axis);
// −mean over n of log softmax(logits)[n, labels[n]] for logits [N, C] and N labels in [0, C).
// NaN when the inputs do not fit (that includes a label out of range).
double softmaxCrossEntropy(const Tensor &logits, const std::vector<int64_t> &labels);

// The output extent of one window dimension (n inputs, kernel k, stride s, dilation d), found by
// counting the window positions one by one rather than by the closed formula. Window i covers
// padded positions [i·s, i·s + d·(k−1)]. Without ceilMode a window must lie in the padded input;
// with it, window i > 0 is also kept if window i − 1 did not reach the padded end, unless it
// starts in the trailing padding (i·s ≥ n + p_before). This equals PyTorch's
// ⌈(n + p_before + p_after − d·(k−1) − 1)/s⌉ + 1, less one if (out − 1)·s ≥ n + p_before, whenever
// p_after ≤ d·(k−1) + 1 (always so for pooling, whose padding is at most k/2), and equals
// kiln::shape::windowOutputSize (the compiler's shape inference) everywhere. Returns 0 where that
// fails: non-positive n, k, s or d, negative padding, or a window larger than the padded input.
int64_t windowCount(int64_t n, int64_t k, int64_t s, int64_t d, int64_t padBefore, int64_t padAfter,
                    bool ceilMode);

} // namespace kiln::reference

#endif // KILN_REFERENCE_REFERENCE_H
