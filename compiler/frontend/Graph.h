// The model after elaboration: blocks, sequences and conditionals expanded into a flat graph of
// layers with full (state_dict) names, checked attributes and resolved inputs.
#ifndef KILN_FRONTEND_GRAPH_H
#define KILN_FRONTEND_GRAPH_H

#include "frontend/AST.h"
#include "frontend/Layers.h"

namespace kiln {

struct Node {
  enum class Kind {
    Input, // a model input: an argument of @forward
    Layer, // a built-in layer
    Alias, // forwards its one input: a block instance's or a sequence's input
  };
  Kind kind = Kind::Layer;
  std::string name;    // full name: layer1.0.conv1
  llvm::SMLoc loc;     // the statement's name (or the layer's kind when anonymous)
  llvm::SMLoc kindLoc; // the layer's kind: Conv2D
  const LayerSpec *spec = nullptr;
  LayerAttrs attrs;
  std::vector<unsigned> inputs; // node ids
  int instance = -1;            // the innermost block instance it belongs to, or -1
  std::vector<int64_t> shape;   // Input: kDynamic for a symbolic dimension
};

// One instantiation of a block, for "in instance ..." notes on diagnostics.
struct Instance {
  std::string name;  // layer1.0
  std::string block; // Bottleneck
  llvm::SMLoc loc;   // where it is instantiated
  int parent = -1;
};

struct Graph {
  std::vector<Node> nodes;
  std::vector<Instance> instances;
  std::vector<unsigned> inputs; // Input nodes in declaration order
  std::vector<std::pair<unsigned, llvm::SMLoc>> outputs;
  std::optional<ast::LossDecl> loss;
};

// Which block instance the frontend is working in, so every error (including the nn dialect's
// shape errors) gets notes naming the instance chain. Shared by elaboration and building.
struct InstanceContext {
  const Graph *graph = nullptr;
  int current = -1;
  // Appends "in 'layer1.0', an instance of block 'Bottleneck'" notes for `current`.
  void attachNotes(mlir::Diagnostic &diag, const SourceLocator &locator) const;
};

} // namespace kiln

#endif // KILN_FRONTEND_GRAPH_H
