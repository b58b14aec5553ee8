// The reference nn ops: naive loops in double precision, the oracle for generated kernels.
// Spatial ops lift 1-D and 2-D data to 3-D by inserting leading spatial extents of 1 (kernel 1,
// stride 1, no padding), which leaves row-major data unchanged, so one loop nest serves all ranks.
#include "reference/Reference.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>

namespace kiln::reference {

int64_t Tensor::numel() const {
  int64_t product = 1;
  for (int64_t extent : shape)
    if (extent < 0 || __builtin_mul_overflow(product, extent, &product))
      return -1;
  return product;
}

bool Tensor::valid() const {
  int64_t n = numel();
  return n >= 0 && static_cast<uint64_t>(n) == data.size();
}

namespace {

// A zero-filled tensor of the given shape, or Tensor{} if the shape is not representable.
Tensor zeros(std::vector<int64_t> shape) {
  Tensor t;
  t.shape = std::move(shape);
  int64_t n = t.numel();
  if (n < 0)
    return Tensor{};
  t.data.assign(static_cast<size_t>(n), 0.0);
  return t;
}

int64_t rank(const Tensor &t) { return static_cast<int64_t>(t.shape.size()); }

// Product of the extents of t in dimensions [begin, end).
int64_t extentProduct(const Tensor &t, int64_t begin, int64_t end) {
  int64_t product = 1;
  for (int64_t i = begin; i < end; ++i)
    product *= t.shape[i];
  return product;
}

// N×C×spatial data seen as N×C×D×H×W.
struct Lifted {
  int64_t batch = 0, channels = 0;
  std::array<int64_t, 3> extent{1, 1, 1};
};

// The sliding window per lifted spatial dimension.
struct Window3 {
  std::array<int64_t, 3> kernel{1, 1, 1}, stride{1, 1, 1}, dilation{1, 1, 1};
  std::array<int64_t, 3> padBefore{0, 0, 0}, padAfter{0, 0, 0};
  std::array<int64_t, 3> out{1, 1, 1};
};

// Whether x is N×C×spatial with 1 to 3 spatial dimensions; fills `lifted` if so.
bool liftSpatial(const Tensor &x, Lifted &lifted) {
  int64_t spatial = rank(x) - 2;
  if (spatial < 1 || spatial > 3 || !x.valid())
    return false;
  lifted.batch = x.shape[0];
  lifted.channels = x.shape[1];
  for (int64_t i = 0; i < spatial; ++i)
    lifted.extent[3 - spatial + i] = x.shape[2 + i];
  return true;
}

// Fills the window from per-dimension parameters (dilations may be empty: all 1) and counts the
// output positions. False if the arrays have the wrong length or some dimension has no window.
bool liftWindow(const Lifted &in, int64_t spatial, const std::vector<int64_t> &kernel,
                const std::vector<int64_t> &strides, const std::vector<int64_t> &padding,
                const std::vector<int64_t> &dilations, bool ceilMode, Window3 &w) {
  auto sized = [&](const std::vector<int64_t> &v, int64_t n) {
    return static_cast<int64_t>(v.size()) == n;
  };
  if (!sized(kernel, spatial) || !sized(strides, spatial) || !sized(padding, 2 * spatial) ||
      !(dilations.empty() || sized(dilations, spatial)))
    return false;
  for (int64_t i = 0; i < spatial; ++i) {
    int64_t j = 3 - spatial + i;
    w.kernel[j] = kernel[i];
    w.stride[j] = strides[i];
    w.dilation[j] = dilations.empty() ? 1 : dilations[i];
    w.padBefore[j] = padding[i];
    w.padAfter[j] = padding[spatial + i];
  }
  for (int j = 0; j < 3; ++j) {
    w.out[j] = windowCount(in.extent[j], w.kernel[j], w.stride[j], w.dilation[j], w.padBefore[j],
                           w.padAfter[j], ceilMode);
    if (w.out[j] <= 0)
      return false;
  }
  return true;
}

// The output shape [N, channels, out…] in the caller's rank (the lifted unit dimensions dropped).
std::vector<int64_t> spatialShape(int64_t batch, int64_t channels, int64_t spatial,
                                  const std::array<int64_t, 3> &out) {
  std::vector<int64_t> shape{batch, channels};
  for (int64_t i = 0; i < spatial; ++i)
    shape.push_back(out[3 - spatial + i]);
  return shape;
}

// Row-major offset of (n, c, z, y, x) in an N×C×D×H×W tensor.
int64_t offset5(int64_t n, int64_t c, int64_t z, int64_t y, int64_t x, int64_t channels,
                const std::array<int64_t, 3> &extent) {
  return (((n * channels + c) * extent[0] + z) * extent[1] + y) * extent[2] + x;
}

bool isVector(const Tensor &t, int64_t length) {
  return t.valid() && t.shape.size() == 1 && t.shape[0] == length;
}

enum class PoolKind { Max, Average };

Tensor pool(const Tensor &x, const PoolParams &p, PoolKind kind) {
  Lifted in;
  Window3 w;
  if (!liftSpatial(x, in))
    return Tensor{};
  int64_t spatial = rank(x) - 2;
  if (!liftWindow(in, spatial, p.kernel, p.strides, p.padding, {}, p.ceilMode, w))
    return Tensor{};
  Tensor y = zeros(spatialShape(in.batch, in.channels, spatial, w.out));
  if (!y.valid())
    return Tensor{};

  for (int64_t n = 0; n < in.batch; ++n)
    for (int64_t c = 0; c < in.channels; ++c)
      for (int64_t oz = 0; oz < w.out[0]; ++oz)
        for (int64_t oy = 0; oy < w.out[1]; ++oy)
          for (int64_t ox = 0; ox < w.out[2]; ++ox) {
            std::array<int64_t, 3> o{oz, oy, ox}, begin{}, end{};
            int64_t windowSize = 1; // the window clipped to the padded input
            for (int j = 0; j < 3; ++j) {
              int64_t start = o[j] * w.stride[j] - w.padBefore[j];
              int64_t stop = std::min(start + w.kernel[j], in.extent[j] + w.padAfter[j]);
              windowSize *= stop - start;
              begin[j] = std::max<int64_t>(start, 0);
              end[j] = std::min(stop, in.extent[j]);
            }
            double maximum = -std::numeric_limits<double>::infinity();
            double sum = 0.0;
            int64_t inputCount = 0; // input positions in the window
            for (int64_t z = begin[0]; z < end[0]; ++z)
              for (int64_t yy = begin[1]; yy < end[1]; ++yy)
                for (int64_t xx = begin[2]; xx < end[2]; ++xx) {
                  double v = x.data[offset5(n, c, z, yy, xx, in.channels, in.extent)];
                  maximum = std::max(maximum, v);
                  sum += v;
                  ++inputCount;
                }
            double result = maximum;
            if (kind == PoolKind::Average)
              result = sum / static_cast<double>(p.countIncludePad ? windowSize : inputCount);
            y.data[offset5(n, c, oz, oy, ox, in.channels, w.out)] = result;
          }
  return y;
}

enum class GlobalKind { Max, Average };

Tensor globalPool(const Tensor &x, GlobalKind kind) {
  if (rank(x) < 3 || rank(x) > 5 || !x.valid())
    return Tensor{};
  std::vector<int64_t> shape(x.shape.size(), 1);
  shape[0] = x.shape[0];
  shape[1] = x.shape[1];
  Tensor y = zeros(shape);
  int64_t planes = x.shape[0] * x.shape[1], size = extentProduct(x, 2, rank(x));
  for (int64_t plane = 0; plane < planes; ++plane) {
    double maximum = -std::numeric_limits<double>::infinity(), sum = 0.0;
    for (int64_t i = 0; i < size; ++i) {
      double v = x.data[plane * size + i];
      maximum = std::max(maximum, v);
      sum += v;
    }
    y.data[plane] = kind == GlobalKind::Max ? maximum : sum / static_cast<double>(size);
  }
  return y;
}

template <typename Function>
Tensor elementwise(const Tensor &x, Function f) {
  if (!x.valid())
    return Tensor{};
  Tensor y = x;
  for (double &v : y.data)
    v = f(v);
  return y;
}

enum class SoftmaxKind { Probabilities, LogProbabilities };

Tensor softmaxLike(const Tensor &x, int64_t axis, SoftmaxKind kind) {
  if (!x.valid() || axis < 0 || axis >= rank(x))
    return Tensor{};
  int64_t outer = extentProduct(x, 0, axis), length = x.shape[axis];
  int64_t inner = extentProduct(x, axis + 1, rank(x));
  Tensor y = x;
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t i = 0; i < inner; ++i) {
      auto at = [&](int64_t a) { return (o * length + a) * inner + i; };
      double maximum = -std::numeric_limits<double>::infinity();
      for (int64_t a = 0; a < length; ++a)
        maximum = std::max(maximum, x.data[at(a)]);
      double sum = 0.0;
      for (int64_t a = 0; a < length; ++a)
        sum += std::exp(x.data[at(a)] - maximum);
      for (int64_t a = 0; a < length; ++a) {
        double shifted = x.data[at(a)] - maximum;
        y.data[at(a)] = kind == SoftmaxKind::Probabilities ? std::exp(shifted) / sum
                                                           : shifted - std::log(sum);
      }
    }
  return y;
}

} // namespace

int64_t windowCount(int64_t n, int64_t k, int64_t s, int64_t d, int64_t padBefore,
                    int64_t padAfter, bool ceilMode) {
  if (n <= 0 || k <= 0 || s <= 0 || d <= 0 || padBefore < 0 || padAfter < 0)
    return 0;
  int64_t startLimit, padded, span; // startLimit = n + p_before: where trailing padding begins
  if (__builtin_add_overflow(n, padBefore, &startLimit) ||
      __builtin_add_overflow(startLimit, padAfter, &padded) ||
      __builtin_mul_overflow(d, k - 1, &span) || __builtin_add_overflow(span, 1, &span))
    return 0;
  // Window i covers padded positions [i·s, i·s + span); `room` is the last start that fits.
  int64_t room = padded - span;
  if (room < 0)
    return 0;
  // Walk the windows until one is rejected; each test is monotone in i.
  int64_t count = 0;
  for (int64_t start = 0;; start += s) {
    bool keep = ceilMode ? start - s < room && start < startLimit // the previous one missed the end
                         : start <= room;
    if (!keep)
      return count;
    ++count;
    if (start > std::numeric_limits<int64_t>::max() - s)
      return count; // the next start is not representable (nor would it be kept)
  }
}

Tensor conv(const Tensor &x, const Tensor &w, const Tensor *bias, const ConvParams &p) {
  Lifted in;
  Window3 win;
  if (!liftSpatial(x, in) || !w.valid() || rank(w) != rank(x))
    return Tensor{};
  int64_t spatial = rank(x) - 2;
  int64_t groups = p.groups, outChannels = w.shape[0];
  if (groups <= 0 || in.channels % groups != 0 || outChannels % groups != 0 ||
      w.shape[1] != in.channels / groups)
    return Tensor{};
  if (bias && !isVector(*bias, outChannels))
    return Tensor{};
  std::vector<int64_t> kernel(w.shape.begin() + 2, w.shape.end());
  if (!liftWindow(in, spatial, kernel, p.strides, p.padding, p.dilations, false, win))
    return Tensor{};
  Tensor y = zeros(spatialShape(in.batch, outChannels, spatial, win.out));
  if (!y.valid())
    return Tensor{};

  int64_t inPerGroup = in.channels / groups, outPerGroup = outChannels / groups;
  for (int64_t n = 0; n < in.batch; ++n)
    for (int64_t co = 0; co < outChannels; ++co) {
      int64_t group = co / outPerGroup;
      for (int64_t oz = 0; oz < win.out[0]; ++oz)
        for (int64_t oy = 0; oy < win.out[1]; ++oy)
          for (int64_t ox = 0; ox < win.out[2]; ++ox) {
            double acc = bias ? bias->data[co] : 0.0;
            for (int64_t ci = 0; ci < inPerGroup; ++ci)
              for (int64_t kz = 0; kz < win.kernel[0]; ++kz)
                for (int64_t ky = 0; ky < win.kernel[1]; ++ky)
                  for (int64_t kx = 0; kx < win.kernel[2]; ++kx) {
                    // Input position read by kernel tap (kz, ky, kx); outside it is padding (0).
                    int64_t iz = oz * win.stride[0] - win.padBefore[0] + kz * win.dilation[0];
                    int64_t iy = oy * win.stride[1] - win.padBefore[1] + ky * win.dilation[1];
                    int64_t ix = ox * win.stride[2] - win.padBefore[2] + kx * win.dilation[2];
                    if (iz < 0 || iz >= in.extent[0] || iy < 0 || iy >= in.extent[1] || ix < 0 ||
                        ix >= in.extent[2])
                      continue;
                    double input =
                        x.data[offset5(n, group * inPerGroup + ci, iz, iy, ix, in.channels,
                                       in.extent)];
                    double weight =
                        w.data[offset5(co, ci, kz, ky, kx, inPerGroup, win.kernel)];
                    acc += input * weight;
                  }
            y.data[offset5(n, co, oz, oy, ox, outChannels, win.out)] = acc;
          }
    }
  return y;
}

Tensor maxPool(const Tensor &x, const PoolParams &p) { return pool(x, p, PoolKind::Max); }
Tensor avgPool(const Tensor &x, const PoolParams &p) { return pool(x, p, PoolKind::Average); }
Tensor globalAvgPool(const Tensor &x) { return globalPool(x, GlobalKind::Average); }
Tensor globalMaxPool(const Tensor &x) { return globalPool(x, GlobalKind::Max); }

Tensor batchNormInference(const Tensor &x, const Tensor &gamma, const Tensor &beta,
                          const Tensor &mean, const Tensor &var, double eps) {
  if (!x.valid() || rank(x) < 2 || rank(x) > 5)
    return Tensor{};
  int64_t channels = x.shape[1];
  for (const Tensor *stat : {&gamma, &beta, &mean, &var})
    if (!isVector(*stat, channels))
      return Tensor{};
  int64_t size = extentProduct(x, 2, rank(x)); // elements per (n, c) plane
  Tensor y = x;
  for (int64_t n = 0; n < x.shape[0]; ++n)
    for (int64_t c = 0; c < channels; ++c) {
      double scale = gamma.data[c] / std::sqrt(var.data[c] + eps);
      for (int64_t i = 0; i < size; ++i) {
        double &v = y.data[(n * channels + c) * size + i];
        v = (v - mean.data[c]) * scale + beta.data[c];
      }
    }
  return y;
}

Tensor foldBatchNormWeight(const Tensor &w, const Tensor &gamma, const Tensor &var, double eps) {
  if (!w.valid() || rank(w) < 2 || !isVector(gamma, w.shape[0]) || !isVector(var, w.shape[0]))
    return Tensor{};
  int64_t size = extentProduct(w, 1, rank(w)); // elements per output channel
  Tensor folded = w;
  for (int64_t o = 0; o < w.shape[0]; ++o)
    for (int64_t i = 0; i < size; ++i)
      folded.data[o * size + i] *= gamma.data[o] / std::sqrt(var.data[o] + eps);
  return folded;
}

Tensor foldBatchNormBias(const Tensor &gamma, const Tensor &beta, const Tensor &mean,
                         const Tensor &var, const Tensor *bias, double eps) {
  if (!gamma.valid() || rank(gamma) != 1)
    return Tensor{};
  int64_t channels = gamma.shape[0];
  for (const Tensor *stat : {&beta, &mean, &var})
    if (!isVector(*stat, channels))
      return Tensor{};
  if (bias && !isVector(*bias, channels))
    return Tensor{};
  Tensor folded = beta;
  for (int64_t o = 0; o < channels; ++o)
    folded.data[o] += ((bias ? bias->data[o] : 0.0) - mean.data[o]) * gamma.data[o] /
                      std::sqrt(var.data[o] + eps);
  return folded;
}

Tensor dense(const Tensor &x, const Tensor &w, const Tensor *bias) {
  if (!x.valid() || !w.valid() || rank(x) != 2 || rank(w) != 2 || x.shape[1] != w.shape[1])
    return Tensor{};
  int64_t batch = x.shape[0], units = w.shape[0], features = w.shape[1];
  if (bias && !isVector(*bias, units))
    return Tensor{};
  Tensor y = zeros({batch, units});
  for (int64_t n = 0; n < batch; ++n)
    for (int64_t m = 0; m < units; ++m) {
      double acc = bias ? bias->data[m] : 0.0;
      for (int64_t k = 0; k < features; ++k)
        acc += x.data[n * features + k] * w.data[m * features + k];
      y.data[n * units + m] = acc;
    }
  return y;
}

Tensor add(const Tensor &a, const Tensor &b) {
  if (!a.valid() || !b.valid() || a.shape != b.shape)
    return Tensor{};
  Tensor y = a;
  for (size_t i = 0; i < y.data.size(); ++i)
    y.data[i] += b.data[i];
  return y;
}

bool broadcastShapes(const std::vector<int64_t> &a, const std::vector<int64_t> &b,
                     std::vector<int64_t> &out) {
  size_t rank = std::max(a.size(), b.size());
  out.assign(rank, 1);
  for (size_t i = 0; i < rank; ++i) {
    size_t fromEnd = rank - i;
    int64_t da = fromEnd <= a.size() ? a[a.size() - fromEnd] : 1;
    int64_t db = fromEnd <= b.size() ? b[b.size() - fromEnd] : 1;
    if (da < 0 || db < 0 || (da != db && da != 1 && db != 1))
      return false;
    out[i] = da == 1 ? db : da;
  }
  return true;
}

namespace {

// The next row-major index of `shape` (last dimension fastest); wraps to 0 after the last.
void nextIndex(std::vector<int64_t> &index, const std::vector<int64_t> &shape) {
  for (size_t d = index.size(); d-- > 0;) {
    if (++index[d] < shape[d])
      return;
    index[d] = 0;
  }
}

// Element strides of a row-major tensor of `shape`.
std::vector<int64_t> rowMajorStrides(const std::vector<int64_t> &shape) {
  std::vector<int64_t> strides(shape.size(), 1);
  for (size_t d = shape.size(); d-- > 1;)
    strides[d - 1] = strides[d] * shape[d];
  return strides;
}

} // namespace

int64_t broadcastOffset(const std::vector<int64_t> &shape, const std::vector<int64_t> &outShape,
                        const std::vector<int64_t> &index) {
  int64_t offset = 0;
  size_t lead = outShape.size() - shape.size();
  for (size_t j = 0; j < shape.size(); ++j)
    offset = offset * shape[j] + (shape[j] == 1 ? 0 : index[lead + j]);
  return offset;
}

Tensor broadcastBinary(BinaryOp op, const Tensor &a, const Tensor &b) {
  Tensor y;
  if (!a.valid() || !b.valid() || !broadcastShapes(a.shape, b.shape, y.shape) || y.numel() < 0)
    return Tensor{};
  y.data.resize(static_cast<size_t>(y.numel()));
  std::vector<int64_t> index(y.shape.size(), 0);
  for (double &out : y.data) {
    double u = a.data[broadcastOffset(a.shape, y.shape, index)];
    double v = b.data[broadcastOffset(b.shape, y.shape, index)];
    out = op == BinaryOp::Add   ? u + v
          : op == BinaryOp::Sub ? u - v
          : op == BinaryOp::Mul ? u * v
          : op == BinaryOp::Div ? u / v
          : op == BinaryOp::Max ? std::max(u, v)
                                : std::min(u, v);
    nextIndex(index, y.shape);
  }
  return y;
}

Tensor transpose(const Tensor &x, const std::vector<int64_t> &perm) {
  size_t rank = x.shape.size();
  std::vector<bool> seen(rank, false);
  if (!x.valid() || perm.size() != rank)
    return Tensor{};
  for (int64_t p : perm) {
    if (p < 0 || p >= static_cast<int64_t>(rank) || seen[static_cast<size_t>(p)])
      return Tensor{};
    seen[static_cast<size_t>(p)] = true;
  }
  Tensor y{std::vector<int64_t>(rank), std::vector<double>(x.data.size())};
  for (size_t i = 0; i < rank; ++i)
    y.shape[i] = x.shape[static_cast<size_t>(perm[i])];
  std::vector<int64_t> strides = rowMajorStrides(x.shape);
  std::vector<int64_t> index(rank, 0); // y's
  for (double &out : y.data) {
    int64_t offset = 0;
    for (size_t i = 0; i < rank; ++i)
      offset += index[i] * strides[static_cast<size_t>(perm[i])];
    out = x.data[static_cast<size_t>(offset)];
    nextIndex(index, y.shape);
  }
  return y;
}

Tensor pad(const Tensor &x, const std::vector<int64_t> &pads, double value) {
  size_t rank = x.shape.size();
  if (!x.valid() || pads.size() != 2 * rank)
    return Tensor{};
  Tensor y;
  constexpr int64_t kLimit = int64_t(1) << 40; // so that the sums below cannot wrap
  for (size_t d = 0; d < rank; ++d) {
    int64_t before = pads[d], after = pads[rank + d];
    if (before < -kLimit || before > kLimit || after < -kLimit || after > kLimit ||
        x.shape[d] + before + after < 1)
      return Tensor{};
    y.shape.push_back(x.shape[d] + before + after);
  }
  int64_t count = y.numel();
  if (count < 0 || count > (int64_t(1) << 40))
    return Tensor{};
  y.data.assign(static_cast<size_t>(count), value);
  std::vector<int64_t> strides = rowMajorStrides(x.shape);
  std::vector<int64_t> index(rank, 0); // y's
  for (double &out : y.data) {
    int64_t offset = 0;
    bool inside = true;
    for (size_t d = 0; d < rank && inside; ++d) {
      int64_t src = index[d] - pads[d];
      inside = src >= 0 && src < x.shape[d];
      offset += src * strides[d];
    }
    if (inside)
      out = x.data[static_cast<size_t>(offset)];
    nextIndex(index, y.shape);
  }
  return y;
}

Tensor concat(const std::vector<Tensor> &xs, int64_t axis) {
  if (xs.empty() || !xs[0].valid() || axis < 0 ||
      axis >= static_cast<int64_t>(xs[0].shape.size()))
    return Tensor{};
  size_t a = static_cast<size_t>(axis);
  Tensor y{xs[0].shape, {}};
  y.shape[a] = 0;
  for (const Tensor &x : xs) {
    if (!x.valid() || x.shape.size() != y.shape.size())
      return Tensor{};
    for (size_t d = 0; d < y.shape.size(); ++d)
      if (d != a && x.shape[d] != y.shape[d])
        return Tensor{};
    y.shape[a] += x.shape[a];
  }
  // Row-major: the result is, for each index before the axis, input 0's block, input 1's, ...
  int64_t outer = 1, inner = 1;
  for (size_t d = 0; d < a; ++d)
    outer *= y.shape[d];
  for (size_t d = a + 1; d < y.shape.size(); ++d)
    inner *= y.shape[d];
  for (int64_t o = 0; o < outer; ++o)
    for (const Tensor &x : xs) {
      size_t block = static_cast<size_t>(x.shape[a] * inner);
      auto from = x.data.begin() + static_cast<std::ptrdiff_t>(o * static_cast<int64_t>(block));
      y.data.insert(y.data.end(), from, from + static_cast<std::ptrdiff_t>(block));
    }
  return y;
}

Tensor relu(const Tensor &x) {
  return elementwise(x, [](double v) { return v > 0.0 ? v : 0.0; });
}

Tensor tanh(const Tensor &x) {
  return elementwise(x, [](double v) { return std::tanh(v); });
}

Tensor leakyRelu(const Tensor &x, double alpha) {
  return elementwise(x, [alpha](double v) { return v > 0.0 ? v : alpha * v; });
}

Tensor clip(const Tensor &x, double lo, double hi) {
  return elementwise(x, [lo, hi](double v) { return std::min(std::max(v, lo), hi); });
}

Tensor sigmoid(const Tensor &x) {
  // Written so that neither branch overflows exp for large |v|.
  return elementwise(x, [](double v) {
    if (v >= 0.0)
      return 1.0 / (1.0 + std::exp(-v));
    double e = std::exp(v);
    return e / (1.0 + e);
  });
}

Tensor flatten(const Tensor &x) {
  if (!x.valid() || rank(x) < 2)
    return Tensor{};
  Tensor y = x;
  y.shape = {x.shape[0], extentProduct(x, 1, rank(x))};
  return y;
}

Tensor softmax(const Tensor &x, int64_t axis) {
  return softmaxLike(x, axis, SoftmaxKind::Probabilities);
}

Tensor logSoftmax(const Tensor &x, int64_t axis) {
  return softmaxLike(x, axis, SoftmaxKind::LogProbabilities);
}

double softmaxCrossEntropy(const Tensor &logits, const std::vector<int64_t> &labels) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  if (!logits.valid() || rank(logits) != 2 ||
      static_cast<int64_t>(labels.size()) != logits.shape[0])
    return nan;
  int64_t batch = logits.shape[0], classes = logits.shape[1];
  Tensor logProbabilities = logSoftmax(logits, 1);
  double total = 0.0;
  for (int64_t n = 0; n < batch; ++n) {
    if (labels[n] < 0 || labels[n] >= classes)
      return nan;
    total -= logProbabilities.data[n * classes + labels[n]];
  }
  return total / static_cast<double>(batch);
}

} // namespace kiln::reference
