// The functions that build each built-in layer's nn ops, and what they share. Internal to the
// frontend: Layers.cpp lists them in its table, ModelBuilder.cpp calls them.
#ifndef KILN_FRONTEND_LAYERBUILDERS_H
#define KILN_FRONTEND_LAYERBUILDERS_H

#include "frontend/Graph.h"

namespace kiln {

// What a layer's build function gets: the node (name, attributes), its input values, a builder
// positioned in @forward, and the location every op of the layer carries.
struct LayerBuildContext {
  mlir::OpBuilder &builder;
  const SourceLocator &locator;
  const Node &node;
  llvm::ArrayRef<mlir::Value> inputs;
  mlir::Location loc; // NameLoc(node.name, FileLineColLoc of the name)

  const AttrValue *attr(llvm::StringRef name) const;
  llvm::ArrayRef<int64_t> ints(llvm::StringRef name, llvm::ArrayRef<int64_t> fallback) const;
  bool flag(llvm::StringRef name, bool fallback) const;
  double number(llvm::StringRef name, double fallback) const;
  llvm::SMLoc attrLoc(llvm::StringRef name) const; // the value, or the layer's kind when absent

  mlir::InFlightDiagnostic emitError(llvm::SMLoc at) const { return locator.emitError(at); }
  // The type of input i; ranked, since every op's result is refined as it is built.
  mlir::RankedTensorType inputType(unsigned i) const;
  // Fails with "<Kind> expects a <rank>-D input (<layout>), got [..]" unless input 0 has `rank`.
  mlir::LogicalResult expectRank(int64_t rank, llvm::StringRef layout) const;
  // Input channels (dimension 1), which must be static.
  mlir::FailureOr<int64_t> inputChannels() const;
  // An nn.parameter named "<node>.<suffix>".
  mlir::FailureOr<mlir::Value> parameter(llvm::StringRef suffix, llvm::ArrayRef<int64_t> shape,
                                         bool buffer = false);
  // The layer's op (from kiln::build), then the `activation=` attribute applied, if any.
  mlir::FailureOr<mlir::Value> finish(mlir::FailureOr<mlir::Value> result);
  // Applies activation `name` (none, relu, tanh, sigmoid) to value, as op "<node>.<name>".
  mlir::FailureOr<mlir::Value> applyActivation(mlir::Value value, llvm::StringRef name);
};

// "[?, 1, 28, 28]": a tensor shape as the format writes it.
std::string formatShape(mlir::Type type);

mlir::FailureOr<mlir::Value> buildConv(LayerBuildContext &ctx);
mlir::FailureOr<mlir::Value> buildMaxPool(LayerBuildContext &ctx);
mlir::FailureOr<mlir::Value> buildAvgPool(LayerBuildContext &ctx);
mlir::FailureOr<mlir::Value> buildGlobalAvgPool(LayerBuildContext &ctx);
mlir::FailureOr<mlir::Value> buildGlobalMaxPool(LayerBuildContext &ctx);
mlir::FailureOr<mlir::Value> buildBatchNorm(LayerBuildContext &ctx);
mlir::FailureOr<mlir::Value> buildDense(LayerBuildContext &ctx);
mlir::FailureOr<mlir::Value> buildActivation(LayerBuildContext &ctx);
mlir::FailureOr<mlir::Value> buildRelu(LayerBuildContext &ctx);
mlir::FailureOr<mlir::Value> buildTanh(LayerBuildContext &ctx);
mlir::FailureOr<mlir::Value> buildSigmoid(LayerBuildContext &ctx);
mlir::FailureOr<mlir::Value> buildLeakyRelu(LayerBuildContext &ctx);
mlir::FailureOr<mlir::Value> buildClip(LayerBuildContext &ctx);
mlir::FailureOr<mlir::Value> buildFlatten(LayerBuildContext &ctx);
mlir::FailureOr<mlir::Value> buildAdd(LayerBuildContext &ctx);
mlir::FailureOr<mlir::Value> buildSoftmax(LayerBuildContext &ctx);
mlir::FailureOr<mlir::Value> buildLogSoftmax(LayerBuildContext &ctx);

} // namespace kiln

#endif // KILN_FRONTEND_LAYERBUILDERS_H
