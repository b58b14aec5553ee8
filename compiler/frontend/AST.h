// The syntax tree of a .kiln file, as the parser reads it: nothing is resolved or evaluated yet.
#ifndef KILN_FRONTEND_AST_H
#define KILN_FRONTEND_AST_H

#include "frontend/Lexer.h"

#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace kiln::ast {

// A value expression: attribute values, block arguments, conditions, repeat counts.
struct Expr {
  enum class Kind { Integer, Float, String, Bool, Name, Tuple, Unary, Binary };
  Kind kind;
  llvm::SMLoc loc;         // the first token
  int64_t intValue = 0;    // Integer
  double floatValue = 0.0; // Float
  bool boolValue = false;  // Bool
  std::string text;        // String, Name; the operator of Unary/Binary ("-", "not", "+", ...)
  std::vector<std::unique_ptr<Expr>> operands; // Tuple elements, Unary/Binary operands
  // How deep evaluation recurses, bounded by the parser. A binary operator's left operand counts
  // at its own level: a chain `1 + 1 + ... + 1` is evaluated by a loop, not by recursion.
  unsigned depth = 1;
  unsigned size = 1; // nodes in the tree, bounded by the parser
};

// `value` or `keyword=value` in a layer's or block's call.
struct Argument {
  std::string keyword; // empty when positional
  llvm::SMLoc keywordLoc;
  std::unique_ptr<Expr> value;
};

// A name in the input list `(a, b)` or in `output a`; `in` names a block's input.
struct SourceRef {
  std::string name;
  llvm::SMLoc loc;
  bool isBlockInput = false;
};

struct LayerExpr;

// An element of a sequence `[...]`, optionally repeated: `Bottleneck(64) * 3`.
struct SequenceElement {
  std::unique_ptr<LayerExpr> layer;
  std::unique_ptr<Expr> repeat; // null: once
};

// The right-hand side of a layer statement.
struct LayerExpr {
  enum class Kind { Call, Sequence };
  Kind kind;
  llvm::SMLoc loc; // the callee's name or the '['
  // Call: a built-in layer or a block.
  std::string callee;
  std::vector<Argument> args;
  // Sequence: elements applied one after another, named <name>.0, <name>.1, ...
  std::vector<SequenceElement> elements;
  // Explicit inputs `(a, b)` after the call; absent: the previous statement's output.
  std::optional<std::vector<SourceRef>> sources;
  llvm::SMLoc sourcesLoc;
};

struct Dim {
  int64_t size = 0;   // when not symbolic
  std::string symbol; // non-empty: a symbolic (dynamic) dimension such as N
  llvm::SMLoc loc;
};

struct Stmt {
  enum class Kind { Layer, If, Output, Input };
  Kind kind;
  llvm::SMLoc loc;
  // Layer: `[name =] layer`; Input: `input name: [dims]`.
  std::string name; // empty for an anonymous layer
  llvm::SMLoc nameLoc;
  std::unique_ptr<LayerExpr> layer;
  std::vector<Dim> dims;
  llvm::SMLoc shapeLoc;
  // If: `if cond { ... } else { ... }`.
  std::unique_ptr<Expr> condition;
  std::vector<Stmt> thenBody, elseBody;
  // Output: `output a, b`.
  std::vector<SourceRef> outputs;
};

struct BlockParam {
  std::string name;
  llvm::SMLoc loc;
  std::unique_ptr<Expr> defaultValue; // null: required
};

// `block Name(params) { body }`.
struct BlockDef {
  std::string name;
  llvm::SMLoc loc;
  std::vector<BlockParam> params;
  std::vector<Stmt> body;
};

struct LossDecl {
  std::string kind;
  llvm::SMLoc loc;
};

struct Model {
  std::vector<BlockDef> blocks;
  std::vector<Stmt> body; // top-level statements in file order
  std::optional<LossDecl> loss;
};

} // namespace kiln::ast

#endif // KILN_FRONTEND_AST_H
