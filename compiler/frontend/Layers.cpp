// The table of built-in layers (attributes, aliases, positional order, inputs, builders) and the
// checking of attribute values against it. docs/model-format.md documents the same table.
#include "frontend/Layers.h"

#include "frontend/LayerBuilders.h"

#include <cmath>
#include <limits>

using namespace kiln;
using llvm::StringRef;
using mlir::failure;
using mlir::FailureOr;

namespace {

constexpr AttrType kInt = AttrType::PositiveInt;
constexpr AttrType kSpatial = AttrType::Spatial;
constexpr AttrType kPadding = AttrType::Padding;
constexpr AttrType kBool = AttrType::Bool;
constexpr AttrType kActivation = AttrType::Activation;

const AttrSpec kConvAttrs[] = {
    {"channels", "out_channels", kInt, true},   {"kernel_size", "", kSpatial, true},
    {"strides", "stride", kSpatial, false},     {"padding", "", kPadding, false},
    {"dilation", "dilations", kSpatial, false}, {"groups", "", kInt, false},
    {"use_bias", "bias", kBool, false},         {"activation", "", kActivation, false},
};

const AttrSpec kMaxPoolAttrs[] = {
    {"pool_size", "kernel_size", kSpatial, true},
    {"strides", "stride", kSpatial, false},
    {"padding", "", kPadding, false},
    {"ceil_mode", "", kBool, false},
};

const AttrSpec kAvgPoolAttrs[] = {
    {"pool_size", "kernel_size", kSpatial, true},
    {"strides", "stride", kSpatial, false},
    {"padding", "", kPadding, false},
    {"ceil_mode", "", kBool, false},
    {"count_include_pad", "", kBool, false},
};

const AttrSpec kBatchNormAttrs[] = {
    {"momentum", "", AttrType::Fraction, false},
    {"epsilon", "eps", AttrType::PositiveFloat, false},
    {"activation", "", kActivation, false},
};

const AttrSpec kDenseAttrs[] = {
    {"units", "out_features", kInt, true},
    {"use_bias", "bias", kBool, false},
    {"activation", "", kActivation, false},
    {"flatten", "", kBool, false},
};

const AttrSpec kActivationAttrs[] = {{"activation", "act_type", kActivation, true}};
const AttrSpec kAddAttrs[] = {{"activation", "", kActivation, false}};
const AttrSpec kLeakyReluAttrs[] = {{"negative_slope", "alpha", AttrType::Float32, false}};
const AttrSpec kClipAttrs[] = {
    {"min", "min_val", AttrType::Float32, false},
    {"max", "max_val", AttrType::Float32, false},
};
const AttrSpec kSoftmaxAttrs[] = {{"axis", "dim", AttrType::Axis, false}};

const LayerSpec kLayers[] = {
    {"Conv1D", 1, kConvAttrs, 2, 1, 1, buildConv},
    {"Conv2D", 2, kConvAttrs, 2, 1, 1, buildConv},
    {"Conv3D", 3, kConvAttrs, 2, 1, 1, buildConv},
    {"MaxPool1D", 1, kMaxPoolAttrs, 1, 1, 1, buildMaxPool},
    {"MaxPool2D", 2, kMaxPoolAttrs, 1, 1, 1, buildMaxPool},
    {"MaxPool3D", 3, kMaxPoolAttrs, 1, 1, 1, buildMaxPool},
    {"AvgPool1D", 1, kAvgPoolAttrs, 1, 1, 1, buildAvgPool},
    {"AvgPool2D", 2, kAvgPoolAttrs, 1, 1, 1, buildAvgPool},
    {"AvgPool3D", 3, kAvgPoolAttrs, 1, 1, 1, buildAvgPool},
    {"GlobalAvgPool1D", 1, {}, 0, 1, 1, buildGlobalAvgPool},
    {"GlobalAvgPool2D", 2, {}, 0, 1, 1, buildGlobalAvgPool},
    {"GlobalAvgPool3D", 3, {}, 0, 1, 1, buildGlobalAvgPool},
    {"GlobalMaxPool1D", 1, {}, 0, 1, 1, buildGlobalMaxPool},
    {"GlobalMaxPool2D", 2, {}, 0, 1, 1, buildGlobalMaxPool},
    {"GlobalMaxPool3D", 3, {}, 0, 1, 1, buildGlobalMaxPool},
    {"BatchNorm", 0, kBatchNormAttrs, 0, 1, 1, buildBatchNorm},
    {"Dense", 0, kDenseAttrs, 1, 1, 1, buildDense},
    {"Activation", 0, kActivationAttrs, 1, 1, 1, buildActivation},
    {"Relu", 0, {}, 0, 1, 1, buildRelu},
    {"Tanh", 0, {}, 0, 1, 1, buildTanh},
    {"Sigmoid", 0, {}, 0, 1, 1, buildSigmoid},
    {"LeakyRelu", 0, kLeakyReluAttrs, 1, 1, 1, buildLeakyRelu},
    {"Clip", 0, kClipAttrs, 2, 1, 1, buildClip},
    {"Flatten", 0, {}, 0, 1, 1, buildFlatten},
    {"Add", 0, kAddAttrs, 0, 2, 0, buildAdd},
    {"Softmax", 0, kSoftmaxAttrs, 1, 1, 1, buildSoftmax},
    {"LogSoftmax", 0, kSoftmaxAttrs, 1, 1, 1, buildLogSoftmax},
};

} // namespace

const AttrSpec *LayerSpec::findAttr(StringRef nameOrAlias) const {
  for (const AttrSpec &spec : attrs)
    if (spec.name == nameOrAlias || (!spec.alias.empty() && spec.alias == nameOrAlias))
      return &spec;
  return nullptr;
}

std::string LayerSpec::attrList() const {
  std::string list;
  for (const AttrSpec &spec : attrs)
    list += (list.empty() ? "" : ", ") + spec.name.str();
  return list;
}

const LayerSpec *kiln::lookupLayer(StringRef kind) {
  for (const LayerSpec &spec : kLayers)
    if (spec.kind == kind)
      return &spec;
  return nullptr;
}

llvm::ArrayRef<LayerSpec> kiln::allLayers() { return kLayers; }

std::string kiln::layerList() {
  std::string list;
  for (const LayerSpec &spec : kLayers)
    list += (list.empty() ? "" : ", ") + spec.kind.str();
  return list;
}

bool kiln::isActivationName(StringRef name) {
  return name == "none" || name == "relu" || name == "tanh" || name == "sigmoid";
}

namespace {

// An integer, or a tuple of exactly `count` integers, each at least `minimum`.
bool toInts(const Constant &value, unsigned count, int64_t minimum,
            llvm::SmallVectorImpl<int64_t> &out) {
  if (value.kind == Constant::Kind::Int) {
    if (value.intValue < minimum)
      return false;
    out.assign(count, value.intValue);
    return true;
  }
  if (value.kind != Constant::Kind::Tuple || value.elements.size() != count)
    return false;
  for (const Constant &element : value.elements) {
    if (element.kind != Constant::Kind::Int || element.intValue < minimum)
      return false;
    out.push_back(element.intValue);
  }
  return true;
}

// Padding: an integer for every side; one entry per dimension, each an integer (both sides) or a
// (before, after) pair. Produces the befores then the afters.
bool toPadding(const Constant &value, unsigned rank, llvm::SmallVectorImpl<int64_t> &out) {
  if (value.kind == Constant::Kind::Int) {
    if (value.intValue < 0)
      return false;
    out.assign(2 * rank, value.intValue);
    return true;
  }
  if (value.kind != Constant::Kind::Tuple || value.elements.size() != rank)
    return false;
  out.assign(2 * rank, 0);
  for (unsigned i = 0; i < rank; ++i) {
    const Constant &entry = value.elements[i];
    llvm::SmallVector<int64_t, 2> sides;
    if (entry.kind == Constant::Kind::Int) {
      if (entry.intValue < 0)
        return false;
      sides = {entry.intValue, entry.intValue};
    } else if (!toInts(entry, 2, 0, sides) || entry.kind != Constant::Kind::Tuple) {
      return false;
    }
    out[i] = sides[0];
    out[rank + i] = sides[1];
  }
  return true;
}

} // namespace

FailureOr<AttrValue> kiln::convertAttribute(const Constant &value, const AttrSpec &spec,
                                            const LayerSpec &layer, const SourceLocator &locator) {
  AttrValue result;
  result.loc = value.loc;
  unsigned rank = layer.spatialRank;
  auto mismatch = [&](StringRef expected) -> FailureOr<AttrValue> {
    locator.emitError(value.loc) << "attribute '" << spec.name << "' of " << layer.kind
                                 << " expects " << expected << ", got " << value.describe();
    return failure();
  };

  switch (spec.type) {
  case AttrType::PositiveInt:
    if (value.kind != Constant::Kind::Int || value.intValue <= 0)
      return mismatch("a positive integer");
    result.ints.push_back(value.intValue);
    return result;
  case AttrType::Axis:
    if (value.kind != Constant::Kind::Int)
      return mismatch("an integer");
    result.ints.push_back(value.intValue);
    return result;
  case AttrType::Spatial:
    if (!toInts(value, rank, 1, result.ints))
      return mismatch("a positive integer or a tuple of " + std::to_string(rank) +
                      " positive integers");
    return result;
  case AttrType::Padding:
    if (value.isWord() && (value.text == "same" || value.text == "valid")) {
      result.samePadding = value.text == "same";
      result.ints.assign(2 * rank, 0);
      return result;
    }
    if (!toPadding(value, rank, result.ints))
      return mismatch("a non-negative integer, a tuple of " + std::to_string(rank) +
                      " entries (each an integer or a (before, after) pair), 'same' or 'valid'");
    return result;
  case AttrType::Bool:
    if (value.kind != Constant::Kind::Bool)
      return mismatch("true or false");
    result.flag = value.boolValue;
    return result;
  case AttrType::PositiveFloat:
    if (!value.isNumber() || !(value.asDouble() > 0.0))
      return mismatch("a positive number");
    result.number = value.asDouble();
    return result;
  case AttrType::Float32:
    if (!value.isNumber() || !(std::fabs(value.asDouble()) <= std::numeric_limits<float>::max()))
      return mismatch("a number within float32's range");
    result.number = value.asDouble();
    return result;
  case AttrType::Fraction:
    if (!value.isNumber() || !(value.asDouble() >= 0.0 && value.asDouble() <= 1.0))
      return mismatch("a number between 0 and 1");
    result.number = value.asDouble();
    return result;
  case AttrType::Activation: {
    if (!value.isWord())
      return mismatch("an activation (none, relu, tanh or sigmoid)");
    std::string name = StringRef(value.text).lower();
    if (!isActivationName(name)) {
      locator.emitError(value.loc)
          << "unknown activation '" << value.text << "'; expected one of relu, tanh, sigmoid, none"
          << suggestClosest(value.text, {"relu", "tanh", "sigmoid", "none"});
      return failure();
    }
    result.word = name;
    return result;
  }
  }
  return failure();
}
