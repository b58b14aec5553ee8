// The reference training ops: each gradient loops over its forward op's definition and
// accumulates into the input it differentiates (the transpose of the forward loops), in double.
// Spatial ops lift 1-D and 2-D data to 3-D as Reference.cpp does (leading unit extents, kernel 1,
// stride 1, no padding), so one loop nest serves every rank.
#include "reference/Gradients.h"

#include <algorithm>
#include <array>
#include <cmath>

namespace kiln::reference {
namespace {

int64_t rank(const Tensor &t) { return static_cast<int64_t>(t.shape.size()); }

// A zero-filled tensor of the given shape, or Tensor{} if the shape is not representable.
Tensor zeros(std::vector<int64_t> shape) {
  Tensor t{std::move(shape), {}};
  int64_t n = t.numel();
  if (n < 0)
    return Tensor{};
  t.data.assign(static_cast<size_t>(n), 0.0);
  return t;
}

bool hasShape(const Tensor &t, const std::vector<int64_t> &shape) {
  return t.valid() && t.shape == shape;
}

bool sameShape(const Tensor &a, const Tensor &b) { return a.valid() && hasShape(b, a.shape); }

// A sliding-window op on N×C×spatial data, seen as N×C×D×H×W with a window per lifted dimension.
struct Geometry {
  int64_t batch = 0, channels = 0, spatial = 0;
  std::array<int64_t, 3> extent{1, 1, 1}, kernel{1, 1, 1}, stride{1, 1, 1}, dilation{1, 1, 1};
  std::array<int64_t, 3> padBefore{0, 0, 0}, padAfter{0, 0, 0}, out{1, 1, 1};
  std::vector<int64_t> outShape; // [N, output channels, out…] in the caller's rank
  // Convolution only.
  int64_t outChannels = 0, inPerGroup = 0, outPerGroup = 0;

  // Row-major offset of (n, c, z, y, x) in an N×C×D×H×W tensor.
  static int64_t offset(int64_t n, int64_t c, int64_t z, int64_t y, int64_t x, int64_t channels,
                        const std::array<int64_t, 3> &extents) {
    return (((n * channels + c) * extents[0] + z) * extents[1] + y) * extents[2] + x;
  }
};

// Fills g for input `shape` (1 to 3 spatial dimensions, representable) and the per-dimension
// window parameters (empty dilations: all 1), counting output positions with windowCount. False
// if the shape or an array does not fit or a dimension has no window.
bool lift(const std::vector<int64_t> &shape, const std::vector<int64_t> &kernel,
          const std::vector<int64_t> &strides, const std::vector<int64_t> &padding,
          const std::vector<int64_t> &dilations, bool ceilMode, int64_t outChannels, Geometry &g) {
  int64_t spatial = static_cast<int64_t>(shape.size()) - 2;
  auto sized = [](const std::vector<int64_t> &v, int64_t n) {
    return static_cast<int64_t>(v.size()) == n;
  };
  if (spatial < 1 || spatial > 3 || Tensor{shape, {}}.numel() < 0 || !sized(kernel, spatial) ||
      !sized(strides, spatial) || !sized(padding, 2 * spatial) ||
      !(dilations.empty() || sized(dilations, spatial)))
    return false;
  g.batch = shape[0];
  g.channels = shape[1];
  g.spatial = spatial;
  g.outShape = {g.batch, outChannels};
  for (int64_t i = 0; i < spatial; ++i) {
    int64_t j = 3 - spatial + i;
    g.extent[j] = shape[2 + i];
    g.kernel[j] = kernel[i];
    g.stride[j] = strides[i];
    g.dilation[j] = dilations.empty() ? 1 : dilations[i];
    g.padBefore[j] = padding[i];
    g.padAfter[j] = padding[spatial + i];
  }
  for (int j = 0; j < 3; ++j) {
    g.out[j] = windowCount(g.extent[j], g.kernel[j], g.stride[j], g.dilation[j], g.padBefore[j],
                           g.padAfter[j], ceilMode);
    if (g.out[j] <= 0)
      return false;
    if (j >= 3 - spatial)
      g.outShape.push_back(g.out[j]);
  }
  return true;
}

// Checks an input and weight shape against the parameters as Reference.cpp's conv does.
bool convGeometry(const std::vector<int64_t> &inputShape, const std::vector<int64_t> &weightShape,
                  const ConvParams &p, Geometry &g) {
  if (inputShape.size() < 3 || weightShape.size() != inputShape.size() ||
      Tensor{weightShape, {}}.numel() < 0 || p.groups <= 0)
    return false;
  int64_t inChannels = inputShape[1], outChannels = weightShape[0];
  if (inChannels % p.groups != 0 || outChannels % p.groups != 0 ||
      weightShape[1] != inChannels / p.groups)
    return false;
  std::vector<int64_t> kernel(weightShape.begin() + 2, weightShape.end());
  if (!lift(inputShape, kernel, p.strides, p.padding, p.dilations, false, outChannels, g))
    return false;
  g.outChannels = outChannels;
  g.inPerGroup = inChannels / p.groups;
  g.outPerGroup = outChannels / p.groups;
  return true;
}

// The forward convolution's loop nest: calls visit(inputOffset, weightOffset, outputOffset) for
// every product x·w that contributes to an output (padding taps skipped).
template <typename Visit>
void forEachConvTap(const Geometry &g, Visit visit) {
  for (int64_t n = 0; n < g.batch; ++n)
    for (int64_t co = 0; co < g.outChannels; ++co) {
      int64_t group = co / g.outPerGroup;
      for (int64_t oz = 0; oz < g.out[0]; ++oz)
        for (int64_t oy = 0; oy < g.out[1]; ++oy)
          for (int64_t ox = 0; ox < g.out[2]; ++ox) {
            int64_t yAt = Geometry::offset(n, co, oz, oy, ox, g.outChannels, g.out);
            for (int64_t ci = 0; ci < g.inPerGroup; ++ci)
              for (int64_t kz = 0; kz < g.kernel[0]; ++kz)
                for (int64_t ky = 0; ky < g.kernel[1]; ++ky)
                  for (int64_t kx = 0; kx < g.kernel[2]; ++kx) {
                    int64_t iz = oz * g.stride[0] - g.padBefore[0] + kz * g.dilation[0];
                    int64_t iy = oy * g.stride[1] - g.padBefore[1] + ky * g.dilation[1];
                    int64_t ix = ox * g.stride[2] - g.padBefore[2] + kx * g.dilation[2];
                    if (iz < 0 || iz >= g.extent[0] || iy < 0 || iy >= g.extent[1] || ix < 0 ||
                        ix >= g.extent[2])
                      continue;
                    visit(Geometry::offset(n, group * g.inPerGroup + ci, iz, iy, ix, g.channels,
                                           g.extent),
                          Geometry::offset(co, ci, kz, ky, kx, g.inPerGroup, g.kernel), yAt);
                  }
          }
    }
}

bool poolGeometry(const std::vector<int64_t> &inputShape, const PoolParams &p, Geometry &g) {
  return inputShape.size() >= 3 &&
         lift(inputShape, p.kernel, p.strides, p.padding, {}, p.ceilMode, inputShape[1], g);
}

// One pooling window: the input positions [begin, end) per lifted dimension and the two divisors.
struct PoolWindow {
  std::array<int64_t, 3> begin{}, end{};
  int64_t clippedSize = 1; // the window clipped to the padded input
  int64_t inputCount = 1;  // input positions in the window
};

// The forward pooling's loop nest: calls visit(n, c, outputOffset, window) for every output.
template <typename Visit>
void forEachPoolWindow(const Geometry &g, Visit visit) {
  for (int64_t n = 0; n < g.batch; ++n)
    for (int64_t c = 0; c < g.channels; ++c)
      for (int64_t oz = 0; oz < g.out[0]; ++oz)
        for (int64_t oy = 0; oy < g.out[1]; ++oy)
          for (int64_t ox = 0; ox < g.out[2]; ++ox) {
            std::array<int64_t, 3> o{oz, oy, ox};
            PoolWindow window;
            for (int j = 0; j < 3; ++j) {
              int64_t start = o[j] * g.stride[j] - g.padBefore[j];
              int64_t stop = std::min(start + g.kernel[j], g.extent[j] + g.padAfter[j]);
              window.clippedSize *= stop - start;
              window.begin[j] = std::max<int64_t>(start, 0);
              window.end[j] = std::min(stop, g.extent[j]);
              window.inputCount *= std::max<int64_t>(window.end[j] - window.begin[j], 0);
            }
            visit(n, c, Geometry::offset(n, c, oz, oy, ox, g.channels, g.out), window);
          }
}

// dy must be [N, C, 1…] in the rank of a 3-D to 5-D input.
bool fitsGlobalPool(const Tensor &dy, const std::vector<int64_t> &inputShape) {
  if (inputShape.size() < 3 || inputShape.size() > 5)
    return false;
  std::vector<int64_t> pooled(inputShape.size(), 1);
  pooled[0] = inputShape[0];
  pooled[1] = inputShape[1];
  return hasShape(dy, pooled);
}

// Per-channel data: x [N, C, rest…] with `plane` elements per (n, c)

struct Channels {
  int64_t batch = 0, channels = 0, plane = 1;
  int64_t count() const { return batch * plane; } // elements per channel
  int64_t at(int64_t n, int64_t c, int64_t i) const { return (n * channels + c) * plane + i; }
  // Calls f(offset) for every element of channel c.
  template <typename Function>
  void forChannel(int64_t c, Function f) const {
    for (int64_t n = 0; n < batch; ++n)
      for (int64_t i = 0; i < plane; ++i)
        f(at(n, c, i));
  }
};

bool channelView(const Tensor &x, int64_t maxRank, Channels &v) {
  if (!x.valid() || rank(x) < 2 || rank(x) > maxRank)
    return false;
  v.batch = x.shape[0];
  v.channels = x.shape[1];
  for (int64_t i = 2; i < rank(x); ++i)
    v.plane *= x.shape[i];
  return true;
}

bool isVector(const Tensor &t, int64_t length) {
  return t.valid() && rank(t) == 1 && t.shape[0] == length;
}

// Per-channel mean, biased variance (two passes, for accuracy) and σ = √(var + eps); count ≥ 1.
struct Statistics {
  std::vector<double> mean, var, sigma;
};

Statistics batchStatistics(const Tensor &x, const Channels &v, double eps = 0.0) {
  Statistics s;
  double count = static_cast<double>(v.count());
  for (int64_t c = 0; c < v.channels; ++c) {
    double sum = 0.0, squares = 0.0;
    v.forChannel(c, [&](int64_t at) { sum += x.data[at]; });
    double mean = sum / count;
    v.forChannel(c, [&](int64_t at) { squares += (x.data[at] - mean) * (x.data[at] - mean); });
    s.mean.push_back(mean);
    s.var.push_back(squares / count);
    s.sigma.push_back(std::sqrt(s.var.back() + eps));
  }
  return s;
}

// The 2-D to 5-D tensors that batch statistics are defined for (at least one element a channel).
bool batchNormView(const Tensor &x, Channels &v) { return channelView(x, 5, v) && v.count() >= 1; }

// f(a[i], rest[i]…) over tensors of one shape.
template <typename Function, typename... Rest>
Tensor elementwise(Function f, const Tensor &a, const Rest &...rest) {
  if (!a.valid() || !(sameShape(a, rest) && ...))
    return Tensor{};
  Tensor y = a;
  for (size_t i = 0; i < y.data.size(); ++i)
    y.data[i] = f(a.data[i], rest.data[i]...);
  return y;
}

constexpr size_t kHyperSize = 8;
enum Hyper { kLr, kMomentum, kWeightDecay, kBeta1, kBeta2, kEpsilon, kBias1, kBias2 };

// Along `axis` of y and dy (one shape): dx[a] = combine(y[a], dy[a], Σ_a' term(y[a'], dy[a'])).
template <typename Term, typename Combine>
Tensor alongAxis(const Tensor &y, const Tensor &dy, int64_t axis, Term term, Combine combine) {
  if (!sameShape(y, dy) || axis < 0 || axis >= rank(y))
    return Tensor{};
  int64_t outer = 1, length = y.shape[axis], inner = 1;
  for (int64_t i = 0; i < axis; ++i)
    outer *= y.shape[i];
  for (int64_t i = axis + 1; i < rank(y); ++i)
    inner *= y.shape[i];
  Tensor dx = y;
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t i = 0; i < inner; ++i) {
      auto at = [&](int64_t a) { return (o * length + a) * inner + i; };
      double sum = 0.0;
      for (int64_t a = 0; a < length; ++a)
        sum += term(y.data[at(a)], dy.data[at(a)]);
      for (int64_t a = 0; a < length; ++a)
        dx.data[at(a)] = combine(y.data[at(a)], dy.data[at(a)], sum);
    }
  return dx;
}

} // namespace

// Convolution and bias

Tensor convBackwardData(const Tensor &dy, const Tensor &w, const ConvParams &p,
                        const std::vector<int64_t> &inputShape) {
  Geometry g;
  if (!w.valid() || !convGeometry(inputShape, w.shape, p, g) || !hasShape(dy, g.outShape))
    return Tensor{};
  Tensor dx = zeros(inputShape);
  if (!dx.valid())
    return Tensor{};
  forEachConvTap(g, [&](int64_t xAt, int64_t wAt, int64_t yAt) {
    dx.data[xAt] += dy.data[yAt] * w.data[wAt];
  });
  return dx;
}

Tensor convBackwardFilter(const Tensor &x, const Tensor &dy, const ConvParams &p,
                          const std::vector<int64_t> &weightShape) {
  Geometry g;
  if (!x.valid() || !convGeometry(x.shape, weightShape, p, g) || !hasShape(dy, g.outShape))
    return Tensor{};
  Tensor dw = zeros(weightShape);
  if (!dw.valid())
    return Tensor{};
  forEachConvTap(g, [&](int64_t xAt, int64_t wAt, int64_t yAt) {
    dw.data[wAt] += dy.data[yAt] * x.data[xAt];
  });
  return dw;
}

Tensor reduceToChannel(const Tensor &x) {
  Channels v;
  if (!channelView(x, rank(x), v))
    return Tensor{};
  Tensor sum = zeros({v.channels});
  for (int64_t c = 0; c < v.channels; ++c)
    v.forChannel(c, [&](int64_t at) { sum.data[c] += x.data[at]; });
  return sum;
}

// Pooling

Tensor maxPoolBackward(const Tensor &x, const Tensor &dy, const PoolParams &p) {
  Geometry g;
  if (!x.valid() || !poolGeometry(x.shape, p, g) || !hasShape(dy, g.outShape))
    return Tensor{};
  Tensor dx = zeros(x.shape);
  forEachPoolWindow(g, [&](int64_t n, int64_t c, int64_t yAt, const PoolWindow &window) {
    // Visiting input positions in increasing order is window order; a later position takes
    // over only if strictly greater, so the first maximum wins.
    int64_t best = -1;
    for (int64_t z = window.begin[0]; z < window.end[0]; ++z)
      for (int64_t yy = window.begin[1]; yy < window.end[1]; ++yy)
        for (int64_t xx = window.begin[2]; xx < window.end[2]; ++xx) {
          int64_t at = Geometry::offset(n, c, z, yy, xx, g.channels, g.extent);
          if (best < 0 || x.data[at] > x.data[best])
            best = at;
        }
    if (best >= 0)
      dx.data[best] += dy.data[yAt];
  });
  return dx;
}

Tensor avgPoolBackward(const Tensor &dy, const PoolParams &p,
                       const std::vector<int64_t> &inputShape) {
  Geometry g;
  if (!poolGeometry(inputShape, p, g) || !hasShape(dy, g.outShape))
    return Tensor{};
  Tensor dx = zeros(inputShape);
  if (!dx.valid())
    return Tensor{};
  forEachPoolWindow(g, [&](int64_t n, int64_t c, int64_t yAt, const PoolWindow &window) {
    int64_t divisor = p.countIncludePad ? window.clippedSize : window.inputCount;
    if (divisor <= 0)
      return; // a window with no input position: nothing to route to
    double share = dy.data[yAt] / static_cast<double>(divisor);
    for (int64_t z = window.begin[0]; z < window.end[0]; ++z)
      for (int64_t yy = window.begin[1]; yy < window.end[1]; ++yy)
        for (int64_t xx = window.begin[2]; xx < window.end[2]; ++xx)
          dx.data[Geometry::offset(n, c, z, yy, xx, g.channels, g.extent)] += share;
  });
  return dx;
}

Tensor globalAvgPoolBackward(const Tensor &dy, const std::vector<int64_t> &inputShape) {
  Tensor dx = zeros(inputShape);
  Channels v;
  if (!fitsGlobalPool(dy, inputShape) || !channelView(dx, 5, v))
    return Tensor{};
  for (int64_t n = 0; n < v.batch; ++n)
    for (int64_t c = 0; c < v.channels; ++c)
      for (int64_t i = 0; i < v.plane; ++i)
        dx.data[v.at(n, c, i)] = dy.data[n * v.channels + c] / static_cast<double>(v.plane);
  return dx;
}

Tensor globalMaxPoolBackward(const Tensor &x, const Tensor &dy) {
  Channels v;
  if (!x.valid() || !fitsGlobalPool(dy, x.shape) || !channelView(x, 5, v))
    return Tensor{};
  Tensor dx = zeros(x.shape);
  for (int64_t n = 0; n < v.batch; ++n)
    for (int64_t c = 0; c < v.channels; ++c) {
      int64_t best = -1;
      for (int64_t i = 0; i < v.plane; ++i)
        if (best < 0 || x.data[v.at(n, c, i)] > x.data[best])
          best = v.at(n, c, i);
      if (best >= 0)
        dx.data[best] = dy.data[n * v.channels + c];
    }
  return dx;
}

// Batch norm in training mode

Tensor batchNormTrain(const Tensor &x, const Tensor &gamma, const Tensor &beta, double eps) {
  Channels v;
  if (!batchNormView(x, v) || !isVector(gamma, v.channels) || !isVector(beta, v.channels))
    return Tensor{};
  Statistics s = batchStatistics(x, v, eps);
  Tensor y = x;
  for (int64_t c = 0; c < v.channels; ++c)
    v.forChannel(c, [&](int64_t at) {
      y.data[at] = (x.data[at] - s.mean[c]) / s.sigma[c] * gamma.data[c] + beta.data[c];
    });
  return y;
}

Tensor batchNormTrainBackwardData(const Tensor &x, const Tensor &dy, const Tensor &gamma,
                                  double eps) {
  Channels v;
  if (!batchNormView(x, v) || !sameShape(x, dy) || !isVector(gamma, v.channels))
    return Tensor{};
  Statistics s = batchStatistics(x, v, eps);
  double count = static_cast<double>(v.count());
  Tensor dx = x;
  for (int64_t c = 0; c < v.channels; ++c) {
    auto normalized = [&](int64_t at) { return (x.data[at] - s.mean[c]) / s.sigma[c]; };
    double sumDy = 0.0, sumDyXhat = 0.0;
    v.forChannel(c, [&](int64_t at) {
      sumDy += dy.data[at];
      sumDyXhat += dy.data[at] * normalized(at);
    });
    v.forChannel(c, [&](int64_t at) {
      dx.data[at] = gamma.data[c] / s.sigma[c] *
                    (dy.data[at] - sumDy / count - normalized(at) * sumDyXhat / count);
    });
  }
  return dx;
}

Tensor batchNormTrainBackwardWeight(const Tensor &x, const Tensor &dy, double eps) {
  Channels v;
  if (!batchNormView(x, v) || !sameShape(x, dy))
    return Tensor{};
  Statistics s = batchStatistics(x, v, eps);
  Tensor dgamma = zeros({v.channels});
  for (int64_t c = 0; c < v.channels; ++c)
    v.forChannel(c, [&](int64_t at) {
      dgamma.data[c] += dy.data[at] * (x.data[at] - s.mean[c]) / s.sigma[c];
    });
  return dgamma;
}

Tensor channelMean(const Tensor &x) {
  Channels v;
  if (!batchNormView(x, v))
    return Tensor{};
  return Tensor{{v.channels}, batchStatistics(x, v).mean};
}

Tensor channelVar(const Tensor &x, bool unbiased) {
  Channels v;
  if (!batchNormView(x, v) || (unbiased && v.count() < 2))
    return Tensor{};
  Tensor var{{v.channels}, batchStatistics(x, v).var};
  if (unbiased) {
    double count = static_cast<double>(v.count());
    for (double &value : var.data)
      value = value * count / (count - 1.0);
  }
  return var;
}

Tensor runningUpdate(const Tensor &running, const Tensor &batch, double momentum) {
  auto average = [momentum](double r, double b) { return (1.0 - momentum) * r + momentum * b; };
  return elementwise(average, running, batch);
}

// Dense, activations, reshape

Tensor denseBackwardData(const Tensor &dy, const Tensor &w) {
  if (!dy.valid() || !w.valid() || rank(dy) != 2 || rank(w) != 2 || dy.shape[1] != w.shape[0])
    return Tensor{};
  int64_t batch = dy.shape[0], units = w.shape[0], features = w.shape[1];
  Tensor dx = zeros({batch, features});
  for (int64_t n = 0; n < batch; ++n)
    for (int64_t m = 0; m < units; ++m)
      for (int64_t k = 0; k < features; ++k)
        dx.data[n * features + k] += dy.data[n * units + m] * w.data[m * features + k];
  return dx;
}

Tensor denseBackwardWeight(const Tensor &x, const Tensor &dy) {
  if (!x.valid() || !dy.valid() || rank(x) != 2 || rank(dy) != 2 || x.shape[0] != dy.shape[0])
    return Tensor{};
  int64_t batch = x.shape[0], units = dy.shape[1], features = x.shape[1];
  Tensor dw = zeros({units, features});
  for (int64_t n = 0; n < batch; ++n)
    for (int64_t m = 0; m < units; ++m)
      for (int64_t k = 0; k < features; ++k)
        dw.data[m * features + k] += dy.data[n * units + m] * x.data[n * features + k];
  return dw;
}

Tensor reluBackward(const Tensor &x, const Tensor &dy) {
  return elementwise([](double v, double g) { return v > 0.0 ? g : 0.0; }, x, dy);
}

Tensor tanhBackward(const Tensor &y, const Tensor &dy) {
  return elementwise([](double v, double g) { return g * (1.0 - v * v); }, y, dy);
}

Tensor sigmoidBackward(const Tensor &y, const Tensor &dy) {
  return elementwise([](double v, double g) { return g * v * (1.0 - v); }, y, dy);
}

Tensor sumLike(const Tensor &dy, const std::vector<int64_t> &like, double scale) {
  std::vector<int64_t> shape;
  if (!dy.valid() || !broadcastShapes(dy.shape, like, shape) || shape != dy.shape)
    return Tensor{};
  Tensor out{like, {}};
  if (out.numel() < 0)
    return Tensor{};
  out.data.assign(static_cast<size_t>(out.numel()), 0.0);
  std::vector<int64_t> index(dy.shape.size(), 0);
  for (double g : dy.data) {
    out.data[broadcastOffset(like, dy.shape, index)] += scale * g;
    for (size_t d = index.size(); d-- > 0;) {
      if (++index[d] < dy.shape[d])
        break;
      index[d] = 0;
    }
  }
  return out;
}

Tensor leakyReluBackward(const Tensor &x, const Tensor &dy, double alpha) {
  return elementwise([alpha](double v, double g) { return v > 0.0 ? g : alpha * g; }, x, dy);
}

Tensor clipBackward(const Tensor &x, const Tensor &dy, double lo, double hi) {
  return elementwise([lo, hi](double v, double g) { return v >= lo && v <= hi ? g : 0.0; }, x, dy);
}

Tensor reshape(const Tensor &x, const std::vector<int64_t> &shape) {
  Tensor y{shape, {}};
  if (!x.valid() || y.numel() != x.numel())
    return Tensor{};
  y.data = x.data;
  return y;
}

// Softmax and the loss

Tensor softmaxBackward(const Tensor &y, const Tensor &dy, int64_t axis) {
  return alongAxis(
      y, dy, axis, [](double v, double g) { return v * g; },
      [](double v, double g, double sum) { return v * (g - sum); });
}

Tensor logSoftmaxBackward(const Tensor &y, const Tensor &dy, int64_t axis) {
  return alongAxis(
      y, dy, axis, [](double, double g) { return g; },
      [](double v, double g, double sum) { return g - std::exp(v) * sum; });
}

Tensor softmaxCrossEntropyBackward(const Tensor &logits, const std::vector<int64_t> &labels) {
  if (!logits.valid() || rank(logits) != 2 ||
      static_cast<int64_t>(labels.size()) != logits.shape[0])
    return Tensor{};
  int64_t batch = logits.shape[0], classes = logits.shape[1];
  Tensor grad = logits;
  for (int64_t n = 0; n < batch; ++n) {
    if (labels[n] < 0 || labels[n] >= classes)
      return Tensor{};
    const double *row = &logits.data[n * classes];
    double maximum = *std::max_element(row, row + classes);
    double sum = 0.0;
    for (int64_t k = 0; k < classes; ++k)
      sum += std::exp(row[k] - maximum);
    for (int64_t k = 0; k < classes; ++k) {
      double probability = std::exp(row[k] - maximum) / sum;
      double target = k == labels[n] ? 1.0 : 0.0;
      grad.data[n * classes + k] = (probability - target) / static_cast<double>(batch);
    }
  }
  return grad;
}

// Optimizers

Tensor momentumUpdate(const Tensor &v, const Tensor &g, const Tensor &p,
                      const std::vector<double> &hyper) {
  if (hyper.size() != kHyperSize)
    return Tensor{};
  double momentum = hyper[kMomentum], decay = hyper[kWeightDecay];
  return elementwise(
      [&](double vi, double gi, double pi) { return momentum * vi + gi + decay * pi; }, v, g, p);
}

Tensor sgdStep(const Tensor &p, const Tensor &v, const std::vector<double> &hyper) {
  if (hyper.size() != kHyperSize)
    return Tensor{};
  double lr = hyper[kLr];
  return elementwise([lr](double pi, double vi) { return pi - lr * vi; }, p, v);
}

Tensor adamMoment(const Tensor &m, const Tensor &g, const Tensor &p,
                  const std::vector<double> &hyper, bool second) {
  if (hyper.size() != kHyperSize)
    return Tensor{};
  double beta = second ? hyper[kBeta2] : hyper[kBeta1], decay = hyper[kWeightDecay];
  auto moment = [&](double mi, double gi, double pi) {
    double grad = gi + decay * pi;
    return beta * mi + (1.0 - beta) * (second ? grad * grad : grad);
  };
  return elementwise(moment, m, g, p);
}

Tensor adamStep(const Tensor &p, const Tensor &m, const Tensor &v,
                const std::vector<double> &hyper) {
  if (hyper.size() != kHyperSize)
    return Tensor{};
  double lr = hyper[kLr], eps = hyper[kEpsilon], bc1 = hyper[kBias1], bc2 = hyper[kBias2];
  auto step = [&](double pi, double mi, double vi) {
    return pi - lr * (mi / bc1) / (std::sqrt(vi / bc2) + eps);
  };
  return elementwise(step, p, m, v);
}

} // namespace kiln::reference
