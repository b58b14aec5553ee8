// Builds each built-in layer's nn ops: parameters named as in PyTorch's state_dict, the op with
// its result type inferred at once (so the next layer sees the shape), then the activation.
#include "frontend/LayerBuilders.h"
#include "frontend/OpBuilders.h"

#include "kiln/Dialect/NN/NNDialect.h"
#include "kiln/Dialect/NN/ShapeFormulas.h"

#include <cstdio>
#include <limits>

using namespace kiln;
using namespace mlir;
using llvm::SMLoc;

namespace {

Type f32(OpBuilder &builder) { return builder.getF32Type(); }

// "N, C, H, W" for 2 spatial dimensions.
std::string layout(unsigned spatialRank) {
  static const char *const layouts[] = {"N, C", "N, C, W", "N, C, H, W", "N, C, D, H, W"};
  return layouts[spatialRank];
}

// The padding of a convolution or pooling window: given, or 'same' computed from the input
// extent with TensorFlow's rule (PyTorch's for stride 1; kiln::build::samePadding).
FailureOr<SmallVector<int64_t>> windowPadding(LayerBuildContext &ctx, ArrayRef<int64_t> kernel,
                                              ArrayRef<int64_t> strides,
                                              ArrayRef<int64_t> dilations) {
  unsigned rank = kernel.size();
  const AttrValue *padding = ctx.attr("padding");
  if (!padding)
    return SmallVector<int64_t>(2 * rank, 0);
  if (!padding->samePadding)
    return SmallVector<int64_t>(padding->ints.begin(), padding->ints.end());
  RankedTensorType input = ctx.inputType(0);
  for (unsigned i = 0; i < rank; ++i)
    if (input.isDynamicDim(2 + i) && strides[i] != 1) {
      ctx.emitError(padding->loc) << "padding='same' with a stride of " << strides[i]
                                  << " needs a static input extent, got " << formatShape(input);
      return failure();
    }
  std::string why;
  FailureOr<SmallVector<int64_t>> result =
      build::samePadding(input, kernel, strides, dilations, /*largerBefore=*/false, why);
  if (failed(result))
    ctx.emitError(padding->loc) << why;
  return result;
}

} // namespace

//===----------------------------------------------------------------------===//
// LayerBuildContext
//===----------------------------------------------------------------------===//

std::string kiln::formatShape(Type type) {
  auto ranked = dyn_cast<RankedTensorType>(type);
  if (!ranked) {
    std::string s;
    llvm::raw_string_ostream os(s);
    os << type;
    return s;
  }
  std::string s = "[";
  for (auto [i, d] : llvm::enumerate(ranked.getShape()))
    s += (i ? ", " : "") + (d == ShapedType::kDynamic ? std::string("?") : std::to_string(d));
  return s + "]";
}

const AttrValue *LayerBuildContext::attr(llvm::StringRef name) const {
  auto it = node.attrs.find(name);
  return it == node.attrs.end() ? nullptr : &it->second;
}

ArrayRef<int64_t> LayerBuildContext::ints(llvm::StringRef name, ArrayRef<int64_t> fallback) const {
  const AttrValue *value = attr(name);
  return value ? ArrayRef<int64_t>(value->ints) : fallback;
}

bool LayerBuildContext::flag(llvm::StringRef name, bool fallback) const {
  const AttrValue *value = attr(name);
  return value ? value->flag : fallback;
}

double LayerBuildContext::number(llvm::StringRef name, double fallback) const {
  const AttrValue *value = attr(name);
  return value ? value->number : fallback;
}

SMLoc LayerBuildContext::attrLoc(llvm::StringRef name) const {
  const AttrValue *value = attr(name);
  return value ? value->loc : node.kindLoc;
}

RankedTensorType LayerBuildContext::inputType(unsigned i) const {
  return cast<RankedTensorType>(inputs[i].getType());
}

LogicalResult LayerBuildContext::expectRank(int64_t rank, llvm::StringRef layout) const {
  RankedTensorType type = inputType(0);
  if (type.getRank() == rank)
    return success();
  emitError(node.kindLoc) << node.spec->kind << " expects a " << rank << "-D input (" << layout
                          << "), got " << formatShape(type);
  return failure();
}

FailureOr<int64_t> LayerBuildContext::inputChannels() const {
  RankedTensorType type = inputType(0);
  if (type.getRank() < 2 || type.isDynamicDim(1)) {
    emitError(node.kindLoc) << node.spec->kind
                            << " needs a static channel dimension (dimension 1), got "
                            << formatShape(type);
    return failure();
  }
  return type.getDimSize(1);
}

FailureOr<Value> LayerBuildContext::parameter(llvm::StringRef suffix, ArrayRef<int64_t> shape,
                                              bool buffer) {
  auto type = RankedTensorType::get(shape, f32(builder));
  std::string name = node.name + "." + suffix.str();
  if (!kiln::shape::checkedProduct(std::vector<int64_t>(shape.begin(), shape.end()))) {
    emitError(node.loc) << "parameter '" << name << "' of shape " << formatShape(type)
                        << " has more elements than fit in 64 bits";
    return failure();
  }
  return builder.create<nn::ParameterOp>(loc, type, name, buffer).getResult();
}

FailureOr<Value> LayerBuildContext::finish(FailureOr<Value> result) {
  const AttrValue *activation = attr("activation");
  if (failed(result) || !activation)
    return result;
  return applyActivation(*result, activation->word);
}

FailureOr<Value> LayerBuildContext::applyActivation(Value value, llvm::StringRef name) {
  if (name == "none")
    return value;
  Location opLoc = NameLoc::get(builder.getStringAttr(node.name + "." + name.str()),
                                cast<NameLoc>(loc).getChildLoc());
  return build::activation(builder, opLoc, name, value);
}

//===----------------------------------------------------------------------===//
// Convolution and pooling
//===----------------------------------------------------------------------===//

FailureOr<Value> kiln::buildConv(LayerBuildContext &ctx) {
  unsigned rank = ctx.node.spec->spatialRank;
  if (failed(ctx.expectRank(rank + 2, layout(rank))))
    return failure();
  FailureOr<int64_t> inChannels = ctx.inputChannels();
  if (failed(inChannels))
    return failure();
  SmallVector<int64_t> ones(rank, 1);
  int64_t channels = ctx.ints("channels", {})[0];
  int64_t groups = ctx.ints("groups", {1})[0];
  ArrayRef<int64_t> kernel = ctx.ints("kernel_size", {});
  ArrayRef<int64_t> strides = ctx.ints("strides", ones);
  ArrayRef<int64_t> dilations = ctx.ints("dilation", ones);
  if (*inChannels % groups != 0) {
    ctx.emitError(ctx.attrLoc("groups"))
        << "groups (" << groups << ") must divide the input channels (" << *inChannels << ")";
    return failure();
  }
  if (channels % groups != 0) {
    ctx.emitError(ctx.attrLoc("groups"))
        << "groups (" << groups << ") must divide the output channels (" << channels << ")";
    return failure();
  }
  FailureOr<SmallVector<int64_t>> padding = windowPadding(ctx, kernel, strides, dilations);
  if (failed(padding))
    return failure();

  SmallVector<int64_t> weightShape{channels, *inChannels / groups};
  weightShape.append(kernel.begin(), kernel.end());
  FailureOr<Value> weight = ctx.parameter("weight", weightShape);
  if (failed(weight))
    return failure();
  Value bias;
  if (ctx.flag("use_bias", true)) {
    FailureOr<Value> b = ctx.parameter("bias", {channels});
    if (failed(b))
      return failure();
    bias = *b;
  }
  return ctx.finish(build::conv(ctx.builder, ctx.loc, ctx.inputs[0], *weight, bias, strides,
                                *padding, dilations, groups));
}

template <typename PoolOp> static FailureOr<Value> buildPool(LayerBuildContext &ctx) {
  unsigned rank = ctx.node.spec->spatialRank;
  if (failed(ctx.expectRank(rank + 2, layout(rank))))
    return failure();
  SmallVector<int64_t> ones(rank, 1);
  ArrayRef<int64_t> kernel = ctx.ints("pool_size", {});
  ArrayRef<int64_t> strides = ctx.ints("strides", kernel); // Gluon: strides default to pool_size
  FailureOr<SmallVector<int64_t>> padding = windowPadding(ctx, kernel, strides, ones);
  if (failed(padding))
    return failure();
  bool ceilMode = ctx.flag("ceil_mode", false);
  if constexpr (std::is_same_v<PoolOp, nn::AvgPoolOp>)
    return ctx.finish(build::avgPool(ctx.builder, ctx.loc, ctx.inputs[0], kernel, strides,
                                     *padding, ceilMode, ctx.flag("count_include_pad", true)));
  else
    return ctx.finish(build::maxPool(ctx.builder, ctx.loc, ctx.inputs[0], kernel, strides,
                                     *padding, ceilMode));
}

FailureOr<Value> kiln::buildMaxPool(LayerBuildContext &ctx) {
  return buildPool<nn::MaxPoolOp>(ctx);
}

FailureOr<Value> kiln::buildAvgPool(LayerBuildContext &ctx) {
  return buildPool<nn::AvgPoolOp>(ctx);
}

template <typename GlobalPoolOp> static FailureOr<Value> buildGlobalPool(LayerBuildContext &ctx) {
  unsigned rank = ctx.node.spec->spatialRank;
  if (failed(ctx.expectRank(rank + 2, layout(rank))))
    return failure();
  return ctx.finish(build::create<GlobalPoolOp>(ctx.builder, ctx.loc, ctx.inputs[0]));
}

FailureOr<Value> kiln::buildGlobalAvgPool(LayerBuildContext &ctx) {
  return buildGlobalPool<nn::GlobalAvgPoolOp>(ctx);
}

FailureOr<Value> kiln::buildGlobalMaxPool(LayerBuildContext &ctx) {
  return buildGlobalPool<nn::GlobalMaxPoolOp>(ctx);
}

//===----------------------------------------------------------------------===//
// Batch norm, dense, elementwise
//===----------------------------------------------------------------------===//

FailureOr<Value> kiln::buildBatchNorm(LayerBuildContext &ctx) {
  FailureOr<int64_t> channels = ctx.inputChannels();
  if (failed(channels))
    return failure();
  FailureOr<Value> weight = ctx.parameter("weight", {*channels});
  FailureOr<Value> bias = ctx.parameter("bias", {*channels});
  FailureOr<Value> mean = ctx.parameter("running_mean", {*channels}, /*buffer=*/true);
  FailureOr<Value> var = ctx.parameter("running_var", {*channels}, /*buffer=*/true);
  if (failed(weight) || failed(bias) || failed(mean) || failed(var))
    return failure();
  return ctx.finish(build::batchNorm(ctx.builder, ctx.loc, ctx.inputs[0], *weight, *bias, *mean,
                                     *var, ctx.number("epsilon", 1e-5),
                                     ctx.number("momentum", 0.1)));
}

FailureOr<Value> kiln::buildDense(LayerBuildContext &ctx) {
  RankedTensorType type = ctx.inputType(0);
  Value input = ctx.inputs[0];
  if (type.getRank() < 2) {
    ctx.emitError(ctx.node.kindLoc)
        << "Dense expects at least a 2-D input (N, features), got " << formatShape(type);
    return failure();
  }
  if (type.getRank() > 2) {
    if (!ctx.flag("flatten", true)) {
      ctx.emitError(ctx.attrLoc("flatten"))
          << "Dense with flatten=false expects a 2-D input (N, features), got "
          << formatShape(type);
      return failure();
    }
    // Gluon's Dense flattens all but the batch dimension.
    Location flattenLoc = NameLoc::get(ctx.builder.getStringAttr(ctx.node.name + ".flatten"),
                                       cast<NameLoc>(ctx.loc).getChildLoc());
    FailureOr<Value> flat = build::create<nn::FlattenOp>(ctx.builder, flattenLoc, input);
    if (failed(flat))
      return failure();
    input = *flat;
    type = cast<RankedTensorType>(input.getType());
  }
  if (type.isDynamicDim(1)) {
    ctx.emitError(ctx.node.kindLoc)
        << "Dense needs a static number of input features, got " << formatShape(type);
    return failure();
  }
  int64_t units = ctx.ints("units", {})[0];
  FailureOr<Value> weight = ctx.parameter("weight", {units, type.getDimSize(1)});
  if (failed(weight))
    return failure();
  Value bias;
  if (ctx.flag("use_bias", true)) {
    FailureOr<Value> b = ctx.parameter("bias", {units});
    if (failed(b))
      return failure();
    bias = *b;
  }
  return ctx.finish(build::dense(ctx.builder, ctx.loc, input, *weight, bias));
}

FailureOr<Value> kiln::buildActivation(LayerBuildContext &ctx) {
  return build::activation(ctx.builder, ctx.loc, ctx.attr("activation")->word, ctx.inputs[0]);
}

FailureOr<Value> kiln::buildRelu(LayerBuildContext &ctx) {
  return build::activation(ctx.builder, ctx.loc, "relu", ctx.inputs[0]);
}

FailureOr<Value> kiln::buildTanh(LayerBuildContext &ctx) {
  return build::activation(ctx.builder, ctx.loc, "tanh", ctx.inputs[0]);
}

FailureOr<Value> kiln::buildSigmoid(LayerBuildContext &ctx) {
  return build::activation(ctx.builder, ctx.loc, "sigmoid", ctx.inputs[0]);
}

FailureOr<Value> kiln::buildLeakyRelu(LayerBuildContext &ctx) {
  return ctx.finish(build::leakyRelu(ctx.builder, ctx.loc, ctx.inputs[0],
                                     ctx.number("negative_slope", 0.01)));
}

FailureOr<Value> kiln::buildClip(LayerBuildContext &ctx) {
  double lo = ctx.number("min", -std::numeric_limits<double>::infinity());
  double hi = ctx.number("max", std::numeric_limits<double>::infinity());
  if (lo > hi) {
    auto text = [](double v) {
      char buffer[32];
      std::snprintf(buffer, sizeof buffer, "%g", v);
      return std::string(buffer);
    };
    ctx.emitError(ctx.attrLoc("min"))
        << "Clip's min (" << text(lo) << ") is above its max (" << text(hi) << ")";
    return failure();
  }
  return ctx.finish(build::clip(ctx.builder, ctx.loc, ctx.inputs[0], lo, hi));
}

FailureOr<Value> kiln::buildFlatten(LayerBuildContext &ctx) {
  return build::create<nn::FlattenOp>(ctx.builder, ctx.loc, ctx.inputs[0]);
}

FailureOr<Value> kiln::buildAdd(LayerBuildContext &ctx) {
  Value sum = ctx.inputs[0];
  for (Value operand : ctx.inputs.drop_front()) {
    FailureOr<Value> next = build::create<nn::AddOp>(ctx.builder, ctx.loc, sum, operand);
    if (failed(next))
      return failure();
    sum = *next;
  }
  const AttrValue *activation = ctx.attr("activation");
  return activation ? ctx.applyActivation(sum, activation->word) : FailureOr<Value>(sum);
}

static FailureOr<Value> buildSoftmaxLike(LayerBuildContext &ctx, bool log) {
  int64_t rank = ctx.inputType(0).getRank();
  int64_t given = ctx.ints("axis", {1})[0];
  int64_t axis = given < 0 ? given + rank : given; // Python's negative axes
  if (axis < 0 || axis >= rank) {
    ctx.emitError(ctx.attrLoc("axis")) << "axis " << given << " is out of range for a " << rank
                                       << "-D input " << formatShape(ctx.inputType(0));
    return failure();
  }
  return ctx.finish(build::softmax(ctx.builder, ctx.loc, ctx.inputs[0], axis, log));
}

FailureOr<Value> kiln::buildSoftmax(LayerBuildContext &ctx) {
  return buildSoftmaxLike(ctx, /*log=*/false);
}

FailureOr<Value> kiln::buildLogSoftmax(LayerBuildContext &ctx) {
  return buildSoftmaxLike(ctx, /*log=*/true);
}
