// From syntax tree to graph: static checks of names (layers, attributes, block parameters), then
// the expansion of blocks, sequences and conditionals into a flat graph of named layers.
#ifndef KILN_FRONTEND_ELABORATOR_H
#define KILN_FRONTEND_ELABORATOR_H

#include "frontend/Graph.h"

#include "llvm/ADT/StringMap.h"

namespace kiln {

using BlockTable = llvm::StringMap<const ast::BlockDef *>;

// Checks what does not depend on parameter values, in every block whether used or not: layer
// and block names, attribute and parameter names, argument counts, input counts, the loss.
// Fills blocks.
mlir::LogicalResult checkModel(const ast::Model &model, const SourceLocator &locator,
                               BlockTable &blocks);

// Expands the model into graph. Errors inside block instances get notes through instances.
mlir::LogicalResult elaborate(const ast::Model &model, const BlockTable &blocks,
                              const SourceLocator &locator, InstanceContext &instances,
                              Graph &graph);

} // namespace kiln

#endif // KILN_FRONTEND_ELABORATOR_H
