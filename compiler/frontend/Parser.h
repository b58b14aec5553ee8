// The recursive-descent parser of the Kiln model format: tokens to a syntax tree (AST.h).
#ifndef KILN_FRONTEND_PARSER_H
#define KILN_FRONTEND_PARSER_H

#include "frontend/AST.h"

#include "mlir/Support/LogicalResult.h"

namespace kiln {

// Parses the main buffer of sourceMgr into model. Reports the first syntax error and fails.
mlir::LogicalResult parseModelSyntax(llvm::SourceMgr &sourceMgr, const SourceLocator &locator,
                                     ast::Model &model);

} // namespace kiln

#endif // KILN_FRONTEND_PARSER_H
