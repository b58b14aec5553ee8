// The nn ops' fusion traits (FusionProperties.td), as C++ trait classes.
#ifndef KILN_DIALECT_NN_FUSIONPROPERTIES_H
#define KILN_DIALECT_NN_FUSIONPROPERTIES_H

#include "mlir/IR/OpDefinition.h"

namespace kiln::nn::OpTrait {

template <typename ConcreteType>
class Elementwise : public mlir::OpTrait::TraitBase<ConcreteType, Elementwise> {};

template <typename ConcreteType>
class FusionAnchor : public mlir::OpTrait::TraitBase<ConcreteType, FusionAnchor> {};

template <typename ConcreteType>
class Pooling : public mlir::OpTrait::TraitBase<ConcreteType, Pooling> {};

template <typename ConcreteType>
class View : public mlir::OpTrait::TraitBase<ConcreteType, View> {};

template <typename ConcreteType>
class ChannelsLast : public mlir::OpTrait::TraitBase<ConcreteType, ChannelsLast> {};

} // namespace kiln::nn::OpTrait

namespace kiln::nn {

// The questions fusion and the packager ask of an op (false for ops of other dialects).
bool isElementwise(mlir::Operation *op);
bool isFusionAnchor(mlir::Operation *op);
bool isPooling(mlir::Operation *op);
bool isView(mlir::Operation *op);
bool handlesChannelsLast(mlir::Operation *op);
bool isSampleIndependent(mlir::Operation *op);

} // namespace kiln::nn

#endif // KILN_DIALECT_NN_FUSIONPROPERTIES_H
