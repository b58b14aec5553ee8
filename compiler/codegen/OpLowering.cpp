// The Halide algorithm and CPU/GPU schedule of each forward nn op, one function per op, and the
// dispatch from an op to its lowering (the training ops' are in the *Lowering.cpp files).
//
// Tile sizes: a conv output tile is `lanes` x-positions × 8 output channels, 8 vector
// accumulators held in registers through the whole reduction (AVX-512 has 32 vector
// registers, AVX2 16: 8 accumulators leave room for the broadcast weights and input vectors).
#include "codegen/Lowering.h"
#include "codegen/Schedules.h"

#include "kiln/Dialect/NN/NNDialect.h"

#include "llvm/ADT/TypeSwitch.h"

#include <cassert>
#include <cmath>
#include <iterator>

using namespace Halide;
using mlir::FailureOr;
namespace nn = kiln::nn;

namespace kiln::codegen {

Expr TensorFunc::at(const std::vector<Expr> &index) const {
  return func(std::vector<Expr>(index.rbegin(), index.rend()));
}

std::vector<Var> tensorVars(int64_t rank) {
  // Up to kiln::shape::kMaxRank dimensions: n, c and six spatial ones.
  static const char *spatial[] = {"x", "y", "z", "w", "v", "u"};
  assert(rank <= 2 + static_cast<int64_t>(std::size(spatial)) && "rank beyond kMaxRank");
  std::vector<Var> vars;
  for (int64_t i = 0; i < rank; ++i) {
    if (rank >= 3 && i == 0)
      vars.emplace_back("n");
    else if (rank >= 3 && i == 1)
      vars.emplace_back("c");
    else if (rank >= 3)
      vars.emplace_back(spatial[rank - 1 - i]);
    else
      vars.emplace_back(i == rank - 1 ? "f" : "n");
  }
  return vars;
}

std::vector<Var> halideOrder(const std::vector<Var> &vars) {
  return std::vector<Var>(vars.rbegin(), vars.rend());
}

std::vector<int64_t> resultShape(mlir::Operation *op) {
  return llvm::cast<mlir::RankedTensorType>(op->getResult(0).getType()).getShape().vec();
}

std::vector<Expr> asExprs(const std::vector<Var> &vars) { return {vars.begin(), vars.end()}; }

Func padSpatial(const TensorFunc &input, llvm::ArrayRef<int64_t> padding, Expr value,
                bool always) {
  int64_t spatial = input.rank() - 2;
  bool padded = false;
  Region bounds(input.rank()); // Halide order; an undefined Range leaves a dimension alone
  for (int64_t i = 0; i < spatial; ++i) {
    if (!always && padding[i] == 0 && padding[spatial + i] == 0)
      continue;
    padded = true;
    bounds[spatial - 1 - i] = Range(0, static_cast<int>(input.shape[2 + i]));
  }
  if (!padded)
    return input.func;
  return BoundaryConditions::constant_exterior(input.func, value, bounds);
}

Expr avgPoolDivisor(const std::vector<Expr> &out, llvm::ArrayRef<int64_t> inputSpatial,
                    llvm::ArrayRef<int64_t> kernel, llvm::ArrayRef<int64_t> strides,
                    llvm::ArrayRef<int64_t> padding, bool countIncludePad) {
  int64_t spatial = static_cast<int64_t>(inputSpatial.size());
  Expr count = 1;
  for (int64_t i = 0; i < spatial; ++i) {
    int n = static_cast<int>(inputSpatial[i]);
    Expr start = out[i] * static_cast<int>(strides[i]) - static_cast<int>(padding[i]);
    Expr end = min(start + static_cast<int>(kernel[i]), n + static_cast<int>(padding[spatial + i]));
    if (!countIncludePad) {
      start = max(start, 0);
      end = min(end, n);
    }
    count *= end - start;
  }
  return count;
}

bool operandLayoutIs(mlir::Value value, kernel::ScheduleAttr schedule,
                     llvm::ArrayRef<int64_t> layout) {
  auto arg = llvm::dyn_cast<mlir::BlockArgument>(value);
  if (!arg || !schedule || schedule.getInputLayouts().empty())
    return false;
  return schedule.getInputLayouts()[arg.getArgNumber()].asArrayRef() == layout;
}

Expr LoweringContext::extent(const TensorFunc &t, int64_t dim) const {
  if (t.shape[dim] == mlir::ShapedType::kDynamic)
    return batch;
  return static_cast<int>(t.shape[dim]);
}

namespace {

FailureOr<LoweredOp> lowerConv(nn::ConvOp op, const std::vector<TensorFunc> &in,
                               const LoweringContext &ctx) {
  const std::string &name = ctx.name;
  const TensorFunc &input = in[0];
  TensorFunc weight = in[1];
  std::vector<int64_t> shape = resultShape(op);
  int64_t rank = static_cast<int64_t>(shape.size()), spatial = rank - 2;
  int64_t groups = op.getGroups();
  int64_t inPerGroup = input.shape[1] / groups, outPerGroup = weight.shape[0] / groups;
  llvm::ArrayRef<int64_t> strides = op.getStrides(), dilations = op.getDilations(),
                          padding = op.getPadding();

  // Reduction over the kernel window (innermost spatial first) and the group's input channels.
  Region window;
  for (int64_t i = spatial - 1; i >= 0; --i)
    window.push_back(Range(0, static_cast<int>(weight.shape[2 + i])));
  window.push_back(Range(0, static_cast<int>(inPerGroup)));
  RDom r(window, name + "_r");
  auto kernelVar = [&](int64_t i) { return r[spatial - 1 - i]; }; // tensor-order spatial i
  RVar channel = r[spatial];

  std::vector<Var> v = tensorVars(rank);
  Func padded = padSpatial(input, padding, 0.0f);
  Expr group = groups == 1 ? Expr(0) : v[1] / static_cast<int>(outPerGroup);
  std::vector<Expr> inputIndex{v[0], group * static_cast<int>(inPerGroup) + channel};
  std::vector<Expr> weightIndex{v[1], channel};
  for (int64_t i = 0; i < spatial; ++i) {
    inputIndex.push_back(v[2 + i] * static_cast<int>(strides[i]) -
                         static_cast<int>(padding[i]) +
                         kernelVar(i) * static_cast<int>(dilations[i]));
    weightIndex.push_back(kernelVar(i));
  }
  TensorFunc paddedInput{padded, input.shape};

  // Channels innermost in vectors that the channels do not fill (LeNet's 20 and 50 in 8-lane
  // vectors): the weight and bias are copied, once per call, into buffers of whole vectors of
  // channels, zeros after the last, so every vector of the accumulator is whole.
  bool channelsInner = ctx.schedule && groups == 1 && rank == 4 &&
                       ctx.schedule.getTile().size() == 2 &&
                       operandLayoutIs(op.getWeight(), ctx.schedule, {2, 3, 1, 0});
  int64_t width = ctx.schedule ? ctx.schedule.getVectorWidth() : 1;
  int64_t channels = shape[1], paddedChannels = (channels + width - 1) / width * width;
  Func weightPadded, biasPadded;
  std::optional<TensorFunc> bias;
  if (in.size() > 2)
    bias = in[2];
  if (channelsInner && paddedChannels != channels) {
    std::vector<Var> wv{Var("co"), Var("ci"), Var("ky"), Var("kx")};
    Expr co = wv[0], last = static_cast<int>(channels - 1);
    weightPadded = Func(name + "_weight_padded");
    weightPadded(halideOrder(wv)) =
        select(co <= last, weight.at({min(co, last), wv[1], wv[2], wv[3]}), 0.0f);
    weight = TensorFunc{weightPadded, {paddedChannels, weight.shape[1], weight.shape[2], weight.shape[3]}};
    biasPadded = Func(name + "_bias_padded");
    biasPadded(wv[0]) = bias ? select(co <= last, bias->func(min(co, last)), 0.0f) : Expr(0.0f);
    bias = TensorFunc{biasPadded, {paddedChannels}};
  }

  Func conv(name);
  std::vector<Var> hv = halideOrder(v);
  conv(hv) = bias ? bias->at({v[1]}) : Expr(0.0f);
  conv(hv) += paddedInput.at(inputIndex) * weight.at(weightIndex);

  std::vector<RVar> reduction;
  for (int i = 0; i < r.dimensions(); ++i)
    reduction.push_back(r[i]);
  AnchorInfo info{conv, reduction, shape, {}};
  if (ctx.schedule) {
    info.tile = ctx.schedule.getTile().vec();
    info.vectorWidth = static_cast<int>(ctx.schedule.getVectorWidth());
    info.order = ctx.schedule.getOrder().str();
    info.channelsInner = channelsInner;
    info.weightPadded = weightPadded;
    info.biasPadded = biasPadded;
    info.paddedChannels = paddedChannels;
    info.inputChannels = inPerGroup;
    info.weight = weight.func;
  }
  // Staged per row when the input is padded and has channels to fill vectors.
  bool pads = llvm::any_of(padding, [](int64_t p) { return p != 0; });
  if (pads && inPerGroup >= 8)
    info.paddedInput = padded;
  LoweredOp lowered{{conv, shape}, nullptr, info};
  lowered.schedule = [info](Func output, const TargetSpec &target) {
    if (info.channelsInner)
      scheduleConvChannelsLast(output, info, target);
    else
      scheduleChannelTiled(output, info.accumulator, info.shape, /*channelTile=*/8, target,
                           info.reduction, info.tile);
  };
  return lowered;
}

// Max and average pooling share the window arithmetic.
template <typename PoolOp>
FailureOr<LoweredOp> lowerPool(PoolOp op, const TensorFunc &input, const std::string &name,
                               bool isMax, bool countIncludePad) {
  std::vector<int64_t> shape = resultShape(op);
  int64_t rank = static_cast<int64_t>(shape.size()), spatial = rank - 2;
  llvm::ArrayRef<int64_t> kernel = op.getKernelSize(), strides = op.getStrides(),
                          padding = op.getPadding();
  Region window;
  for (int64_t i = spatial - 1; i >= 0; --i)
    window.push_back(Range(0, static_cast<int>(kernel[i])));
  RDom r(window, name + "_r");
  std::vector<Var> v = tensorVars(rank);
  std::vector<Expr> index{v[0], v[1]};
  for (int64_t i = 0; i < spatial; ++i)
    index.push_back(v[2 + i] * static_cast<int>(strides[i]) - static_cast<int>(padding[i]) +
                    r[spatial - 1 - i]);
  std::vector<Var> hv = halideOrder(v);
  Func pool(name);
  if (isMax) {
    // Padding never wins: it reads as the lowest float.
    // Only a ceil-mode window may overhang the padded input.
    TensorFunc padded{padSpatial(input, padding, Float(32).min(), op.getCeilMode()), input.shape};
    pool(hv) = maximum(padded.at(index));
  } else {
    TensorFunc padded{padSpatial(input, padding, 0.0f, op.getCeilMode()), input.shape};
    Func sum(name + "_sum");
    sum(hv) = Halide::sum(padded.at(index));
    std::vector<Expr> out(v.begin() + 2, v.end());
    std::vector<int64_t> inputSpatial(input.shape.begin() + 2, input.shape.end());
    Expr count = avgPoolDivisor(out, inputSpatial, kernel, strides, padding, countIncludePad);
    pool(hv) = sum(hv) / cast<float>(count);
  }
  LoweredOp lowered{{pool, shape}, nullptr};
  lowered.schedule = [shape](Func output, const TargetSpec &target) {
    scheduleElementwise(output, shape, target);
  };
  return lowered;
}

template <typename GlobalPoolOp>
FailureOr<LoweredOp> lowerGlobalPool(GlobalPoolOp op, const TensorFunc &input,
                                     const std::string &name, bool isMax) {
  std::vector<int64_t> shape = resultShape(op);
  int64_t rank = static_cast<int64_t>(shape.size()), spatial = rank - 2;
  Region window;
  int64_t count = 1;
  for (int64_t i = spatial - 1; i >= 0; --i) {
    window.push_back(Range(0, static_cast<int>(input.shape[2 + i])));
    count *= input.shape[2 + i];
  }
  RDom r(window, name + "_r");
  std::vector<Var> v = tensorVars(rank);
  std::vector<Expr> index{v[0], v[1]};
  for (int64_t i = 0; i < spatial; ++i)
    index.push_back(r[spatial - 1 - i]);
  Func pool(name);
  std::vector<Var> hv = halideOrder(v);
  if (isMax)
    pool(hv) = maximum(input.at(index));
  else
    pool(hv) = Halide::sum(input.at(index)) / static_cast<float>(count);
  LoweredOp lowered{{pool, shape}, nullptr};
  lowered.schedule = [rank](Func output, const TargetSpec &target) {
    if (target.gpu)
      return scheduleGpu(output, rank);
    // Spatial extents are 1: vectorize over channels (strided reads), images in parallel.
    std::vector<Var> args = output.args();
    output.vectorize(args[rank - 2], 8, TailStrategy::GuardWithIf).parallel(args[rank - 1]);
  };
  return lowered;
}

FailureOr<LoweredOp> lowerBatchNorm(nn::BatchNormOp op, const std::vector<TensorFunc> &in,
                                    const std::string &name) {
  std::vector<int64_t> shape = resultShape(op);
  std::vector<Var> v = tensorVars(static_cast<int64_t>(shape.size()));
  // Inference: y = x·scale + shift with per-channel scale = γ/√(var + ε), shift = β − mean·scale.
  Var c("c");
  Func scale(name + "_scale"), shift(name + "_shift");
  float eps = static_cast<float>(op.getEpsilon().convertToDouble());
  scale(c) = in[1].func(c) / sqrt(in[4].func(c) + eps);
  shift(c) = in[2].func(c) - in[3].func(c) * scale(c);
  Func bn(name);
  bn(halideOrder(v)) = in[0].at(asExprs(v)) * scale(v[1]) + shift(v[1]);
  LoweredOp lowered{{bn, shape}, nullptr};
  lowered.schedule = [shape, scale, shift](Func output, const TargetSpec &target) {
    Func s = scale, t = shift;
    s.compute_root();
    t.compute_root();
    scheduleElementwise(output, shape, target);
  };
  return lowered;
}

FailureOr<LoweredOp> lowerDense(nn::DenseOp op, const std::vector<TensorFunc> &in,
                                const LoweringContext &ctx) {
  const std::string &name = ctx.name;
  std::vector<int64_t> shape = resultShape(op);
  int64_t features = in[1].shape[1];
  RDom r(0, static_cast<int>(features), name + "_r");
  Var m("m"), n("n");
  Func dense(name);
  dense(m, n) = in.size() > 2 ? in[2].func(m) : Expr(0.0f);
  dense(m, n) += in[0].func(r, n) * in[1].func(r, m);
  LoweredOp lowered{{dense, shape}, nullptr};
  if (operandLayoutIs(op.getWeight(), ctx.schedule, {1, 0})) {
    // The weight stored output-innermost (kiln-choose-layouts): vectors of outputs per input
    // feature, reused over a tile of images.
    lowered.schedule = [dense, r, shape](Func output, const TargetSpec &target) {
      scheduleDenseOutputInner(output, dense, RVar(r.x), shape, target);
    };
    return lowered;
  }
  lowered.schedule = [dense, features, r, m](Func output, const TargetSpec &target) {
    Func d = dense;
    if (target.gpu) {
      scheduleGpu(output, 2);
      d.compute_at(output, Var("xi"));
      return;
    }
    // Weight rows are contiguous in the features: the dot products are vectorized along them
    // with rfactor (`lanes` partial sums per output). Blocks of 8 units run in parallel, each
    // over every image, so a block's weight rows stay in cache across the batch.
    std::vector<Var> args = output.args();
    Var mo("mo"), mi("mi");
    output.split(args[0], mo, mi, 8, TailStrategy::GuardWithIf).reorder(mi, args[1], mo).parallel(mo);
    d.compute_at(output, mi);
    int lanes = lanesFor(features, target.vectorWidth);
    if (lanes == 1)
      return;
    RVar ro("ro"), ri("ri");
    Var lane("lane");
    Func partial = d.update().split(r.x, ro, ri, lanes, TailStrategy::GuardWithIf).rfactor(ri, lane);
    partial.compute_at(d, m).vectorize(lane);
    partial.update().vectorize(lane);
  };
  return lowered;
}

// min(max(x, lo), hi), an infinite bound (absent in ONNX's Clip) left out rather than written as
// a constant that not every Halide backend prints.
Expr clipExpr(Expr x, float lo, float hi) {
  if (std::isfinite(lo))
    x = max(x, lo);
  if (std::isfinite(hi))
    x = min(x, hi);
  return x;
}

// The op's result as one Func: element v is `value` (an expression of v), scheduled as an
// elementwise op (each element computed on its own).
LoweredOp pointwiseResult(const std::string &name, const std::vector<Var> &v, Expr value,
                          const std::vector<int64_t> &shape) {
  Func f(name);
  f(halideOrder(v)) = value;
  LoweredOp lowered{{f, shape}, nullptr};
  lowered.schedule = [shape](Func output, const TargetSpec &target) {
    scheduleElementwise(output, shape, target);
  };
  return lowered;
}

FailureOr<LoweredOp> lowerElementwise(mlir::Operation *op, const std::vector<TensorFunc> &in,
                                      const std::string &name) {
  std::vector<int64_t> shape = resultShape(op);
  std::vector<Var> v = tensorVars(static_cast<int64_t>(shape.size()));
  std::vector<Expr> index = asExprs(v);
  Expr x = in[0].at(index);
  Expr value = llvm::TypeSwitch<mlir::Operation *, Expr>(op)
                   .Case([&](nn::AddOp) { return x + in[1].at(index); })
                   .Case([&](nn::ReluOp) { return max(x, 0.0f); })
                   // Halide's tanh calls scalar libm; this form vectorizes (|error| < 1e-6).
                   .Case([&](nn::TanhOp) { return 1.0f - 2.0f / (fast_exp(2.0f * x) + 1.0f); })
                   .Case([&](nn::SigmoidOp) { return 1.0f / (1.0f + fast_exp(-x)); })
                   .Case([&](nn::LeakyReluOp op) {
                     return select(x > 0.0f, x, op.getAlpha().convertToFloat() * x);
                   })
                   .Case([&](nn::ClipOp op) {
                     return clipExpr(x, op.getMin().convertToFloat(), op.getMax().convertToFloat());
                   })
                   .Default([&](mlir::Operation *) { return Expr(); });
  return pointwiseResult(name, v, value, shape);
}

// The index of `t` that a broadcast result's index reads: `t`'s dimensions align with the
// result's last ones, and an extent of 1 is read at 0.
std::vector<Expr> broadcastIndex(const TensorFunc &t, const std::vector<Expr> &index) {
  size_t lead = index.size() - t.shape.size();
  std::vector<Expr> at(t.shape.size());
  for (size_t j = 0; j < t.shape.size(); ++j)
    at[j] = t.shape[j] == 1 ? Expr(0) : index[lead + j];
  return at;
}

FailureOr<LoweredOp> lowerBroadcast(mlir::Operation *op, const std::vector<TensorFunc> &in,
                                    const std::string &name) {
  std::vector<int64_t> shape = resultShape(op);
  std::vector<Var> v = tensorVars(static_cast<int64_t>(shape.size()));
  std::vector<Expr> index = asExprs(v);
  Expr a = in[0].at(broadcastIndex(in[0], index)), b = in[1].at(broadcastIndex(in[1], index));
  Expr value = llvm::TypeSwitch<mlir::Operation *, Expr>(op)
                   .Case([&](nn::BroadcastAddOp) { return a + b; })
                   .Case([&](nn::BroadcastSubOp) { return a - b; })
                   .Case([&](nn::BroadcastMulOp) { return a * b; })
                   .Case([&](nn::BroadcastDivOp) { return a / b; })
                   .Case([&](nn::BroadcastMaxOp) { return Halide::max(a, b); })
                   .Case([&](nn::BroadcastMinOp) { return Halide::min(a, b); })
                   .Default([&](mlir::Operation *) { return Expr(); });
  return pointwiseResult(name, v, value, shape);
}

FailureOr<LoweredOp> lowerTranspose(nn::TransposeOp op, const TensorFunc &input,
                                    const std::string &name) {
  std::vector<int64_t> shape = resultShape(op);
  std::vector<Var> v = tensorVars(static_cast<int64_t>(shape.size()));
  std::vector<Expr> from(v.size());
  for (auto [i, p] : llvm::enumerate(op.getPerm()))
    from[static_cast<size_t>(p)] = v[i];
  return pointwiseResult(name, v, input.at(from), shape);
}

// Each result element reads the input at its index less the padding before it; where that falls
// outside the input (a positive pad), the value. The index is clamped so that Halide's bounds
// stay inside the input.
FailureOr<LoweredOp> lowerPad(nn::PadOp op, const TensorFunc &input, const std::string &name) {
  std::vector<int64_t> shape = resultShape(op);
  std::vector<Var> v = tensorVars(static_cast<int64_t>(shape.size()));
  llvm::ArrayRef<int64_t> pads = op.getPads();
  size_t rank = shape.size();
  std::vector<Expr> from(rank);
  Expr inside = Internal::const_true();
  for (size_t d = 0; d < rank; ++d) {
    Expr src = v[d] - static_cast<int>(pads[d]);
    if (pads[d] > 0 || pads[rank + d] > 0) {
      int64_t extent = input.shape[d];
      inside = inside && src >= 0 && src < static_cast<int>(extent);
      src = clamp(src, 0, static_cast<int>(extent - 1));
    }
    from[d] = src;
  }
  return pointwiseResult(name, v,
                         select(inside, input.at(from), Expr(op.getValue().convertToFloat())),
                         shape);
}

// The result along the axis is input 0, then input 1, ...: a select over the inputs' ranges,
// each input's index clamped to its own extent.
FailureOr<LoweredOp> lowerConcat(nn::ConcatOp op, const std::vector<TensorFunc> &inputs,
                                 const std::string &name) {
  std::vector<int64_t> shape = resultShape(op);
  std::vector<Var> v = tensorVars(static_cast<int64_t>(shape.size()));
  size_t axis = static_cast<size_t>(op.getAxis());
  std::vector<int64_t> begin(inputs.size() + 1, 0); // input k's first index along the axis
  for (size_t k = 0; k < inputs.size(); ++k)
    begin[k + 1] = begin[k] + inputs[k].shape[axis];
  Expr value;
  for (size_t k = inputs.size(); k-- > 0;) {
    std::vector<Expr> at = asExprs(v);
    at[axis] = clamp(v[axis] - static_cast<int>(begin[k]), 0,
                     static_cast<int>(inputs[k].shape[axis] - 1));
    Expr element = inputs[k].at(at);
    value = value.defined() ? select(v[axis] < static_cast<int>(begin[k + 1]), element, value)
                            : element;
  }
  return pointwiseResult(name, v, value, shape);
}

FailureOr<LoweredOp> lowerFlatten(nn::FlattenOp op, const TensorFunc &input,
                                  const std::string &name) {
  std::vector<int64_t> shape = resultShape(op);
  Var f("f"), n("n");
  // Split the flat feature index into the input's dimensions, innermost first.
  std::vector<Expr> index(input.rank());
  index[0] = n;
  Expr rest = f;
  for (int64_t i = input.rank() - 1; i >= 1; --i) {
    int extent = static_cast<int>(input.shape[i]);
    index[i] = i == 1 ? rest : rest % extent;
    rest = rest / extent;
  }
  Func flat(name);
  flat(f, n) = input.at(index);
  LoweredOp lowered{{flat, shape}, nullptr};
  lowered.schedule = [shape](Func output, const TargetSpec &target) {
    scheduleElementwise(output, shape, target);
  };
  return lowered;
}

template <typename SoftmaxLikeOp>
FailureOr<LoweredOp> lowerSoftmax(SoftmaxLikeOp op, const TensorFunc &input,
                                  const std::string &name, bool isLog) {
  std::vector<int64_t> shape = resultShape(op);
  int64_t rank = static_cast<int64_t>(shape.size()), axis = op.getAxis();
  std::vector<Var> v = tensorVars(rank);
  RDom r(0, static_cast<int>(shape[axis]), name + "_r");
  std::vector<Expr> along = asExprs(v);
  along[axis] = r;
  // The reductions are over everything but `axis`: their Funcs drop that variable by reading it
  // as 0 from a Func of all vars (simple; the extra dimension has extent 1).
  std::vector<Var> hv = halideOrder(v);
  Func rowMax(name + "_max"), rowSum(name + "_sum"), out(name);
  rowMax(hv) = maximum(input.at(along));
  std::vector<Expr> base = asExprs(v);
  base[axis] = 0;
  std::vector<Expr> baseHalide(base.rbegin(), base.rend());
  rowSum(hv) = Halide::sum(exp(input.at(along) - rowMax(baseHalide)));
  Expr shifted = input.at(asExprs(v)) - rowMax(baseHalide);
  out(hv) = isLog ? shifted - log(rowSum(baseHalide)) : exp(shifted) / rowSum(baseHalide);
  LoweredOp lowered{{out, shape}, nullptr};
  lowered.schedule = [rowMax, rowSum, shape](Func output, const TargetSpec &target) {
    Func m = rowMax, s = rowSum;
    if (target.gpu) {
      scheduleGpu(output, static_cast<int64_t>(shape.size()));
      m.compute_at(output, Var("xi"));
      s.compute_at(output, Var("xi"));
      return;
    }
    std::vector<Var> args = output.args();
    output.parallel(args.back());
    m.compute_at(output, args.back());
    s.compute_at(output, args.back());
  };
  return lowered;
}

} // namespace

FailureOr<LoweredOp> lowerOp(mlir::Operation *op, const std::vector<TensorFunc> &in,
                             const LoweringContext &ctx) {
  const std::string &name = ctx.name;
  return llvm::TypeSwitch<mlir::Operation *, FailureOr<LoweredOp>>(op)
      .Case([&](nn::ConvOp conv) { return lowerConv(conv, in, ctx); })
      .Case([&](nn::MaxPoolOp pool) { return lowerPool(pool, in[0], name, /*isMax=*/true, false); })
      .Case([&](nn::AvgPoolOp pool) {
        return lowerPool(pool, in[0], name, /*isMax=*/false, pool.getCountIncludePad());
      })
      .Case([&](nn::GlobalMaxPoolOp pool) { return lowerGlobalPool(pool, in[0], name, true); })
      .Case([&](nn::GlobalAvgPoolOp pool) { return lowerGlobalPool(pool, in[0], name, false); })
      .Case([&](nn::BatchNormOp bn) { return lowerBatchNorm(bn, in, name); })
      .Case([&](nn::DenseOp dense) { return lowerDense(dense, in, ctx); })
      .Case<nn::AddOp, nn::ReluOp, nn::TanhOp, nn::SigmoidOp, nn::LeakyReluOp, nn::ClipOp>(
          [&](mlir::Operation *e) { return lowerElementwise(e, in, name); })
      .Case<nn::BroadcastAddOp, nn::BroadcastSubOp, nn::BroadcastMulOp, nn::BroadcastDivOp,
            nn::BroadcastMaxOp, nn::BroadcastMinOp>(
          [&](mlir::Operation *e) { return lowerBroadcast(e, in, name); })
      .Case([&](nn::TransposeOp t) { return lowerTranspose(t, in[0], name); })
      .Case([&](nn::PadOp p) { return lowerPad(p, in[0], name); })
      .Case([&](nn::ConcatOp c) { return lowerConcat(c, in, name); })
      .Case([&](nn::FlattenOp flatten) { return lowerFlatten(flatten, in[0], name); })
      .Case([&](nn::SoftmaxOp s) { return lowerSoftmax(s, in[0], name, /*isLog=*/false); })
      .Case([&](nn::LogSoftmaxOp s) { return lowerSoftmax(s, in[0], name, /*isLog=*/true); })
      // Training ops: one `lower` overload each (Lowering.h says which file holds it).
      .Case<nn::ConvBackwardDataOp, nn::ConvBackwardFilterOp, nn::DenseBackwardDataOp,
            nn::DenseBackwardWeightOp, nn::MaxPoolBackwardOp, nn::AvgPoolBackwardOp,
            nn::GlobalAvgPoolBackwardOp, nn::GlobalMaxPoolBackwardOp, nn::ReduceToChannelOp,
            nn::ChannelMeanOp, nn::ChannelVarOp, nn::RunningUpdateOp, nn::BatchNormTrainOp,
            nn::BatchNormTrainBackwardDataOp, nn::BatchNormTrainBackwardWeightOp,
            nn::SoftmaxCrossEntropyOp, nn::SoftmaxCrossEntropyBackwardOp, nn::SoftmaxBackwardOp,
            nn::LogSoftmaxBackwardOp, nn::ReluBackwardOp, nn::TanhBackwardOp,
            nn::SigmoidBackwardOp, nn::LeakyReluBackwardOp, nn::ClipBackwardOp, nn::SumLikeOp,
            nn::ReshapeOp,
            nn::MomentumUpdateOp, nn::SgdStepOp,
            nn::AdamMomentOp, nn::AdamStepOp, nn::FoldBatchNormWeightOp, nn::FoldBatchNormBiasOp>(
          [&](auto training) { return lower(training, in, ctx); })
      .Default([&](mlir::Operation *other) -> FailureOr<LoweredOp> {
        return other->emitOpError() << "has no Halide code generation";
      });
}

} // namespace kiln::codegen
