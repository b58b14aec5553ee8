// The built-in layers of the Kiln format: each layer's attributes (names, PyTorch/Gluon aliases,
// types, positional order), its number of inputs and the function that builds its nn ops.
#ifndef KILN_FRONTEND_LAYERS_H
#define KILN_FRONTEND_LAYERS_H

#include "frontend/Evaluator.h"

#include "mlir/IR/Builders.h"
#include "llvm/ADT/StringMap.h"

namespace kiln {

enum class AttrType {
  PositiveInt, // channels, units, groups
  Spatial,     // kernel_size, strides, dilation, pool_size: an integer or one per spatial dim
  Padding,     // an integer, one per spatial dim (each an integer or a (before, after) pair),
               // 'same' or 'valid'
  Bool,
  PositiveFloat, // epsilon
  Fraction,      // momentum, in [0, 1]
  Float32,       // negative_slope, clip bounds: any number float32 holds
  Activation,    // none, relu, tanh, sigmoid (quoted or bare)
  Axis,          // an integer, negative counting from the end
};

struct AttrSpec {
  llvm::StringLiteral name;
  llvm::StringLiteral alias; // "" when none
  AttrType type;
  bool required;
};

// An attribute's value after checking it against its AttrSpec.
struct AttrValue {
  // PositiveInt/Axis: one value; Spatial: one per spatial dimension; Padding: the befores then
  // the afters (ONNX order).
  llvm::SmallVector<int64_t, 6> ints;
  bool samePadding = false;
  double number = 0.0;
  bool flag = false;
  std::string word; // Activation
  llvm::SMLoc loc;  // the value's expression
};

using LayerAttrs = llvm::StringMap<AttrValue>;

struct LayerBuildContext;
using LayerBuildFn = mlir::FailureOr<mlir::Value> (*)(LayerBuildContext &);

struct LayerSpec {
  llvm::StringLiteral kind;
  unsigned spatialRank; // 1 to 3 for convolution and pooling; 0 otherwise
  llvm::ArrayRef<AttrSpec> attrs;
  unsigned numPositional; // the first attrs may be given by position
  unsigned minInputs;
  unsigned maxInputs; // 0: any number
  LayerBuildFn build;

  const AttrSpec *findAttr(llvm::StringRef nameOrAlias) const;
  // "channels, kernel_size, strides, ..." for diagnostics.
  std::string attrList() const;
};

// The layer called `kind`, or null.
const LayerSpec *lookupLayer(llvm::StringRef kind);
llvm::ArrayRef<LayerSpec> allLayers();
// "Conv1D, Conv2D, ..." for diagnostics.
std::string layerList();

// Checks value against spec (of a layer of the given spatial rank) and converts it; reports a
// diagnostic at the value and fails when it does not fit.
mlir::FailureOr<AttrValue> convertAttribute(const Constant &value, const AttrSpec &spec,
                                            const LayerSpec &layer, const SourceLocator &locator);

// The activation functions `activation=` accepts.
bool isActivationName(llvm::StringRef name);

} // namespace kiln

#endif // KILN_FRONTEND_LAYERS_H
