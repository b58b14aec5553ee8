// Compile-time values of a .kiln file (attribute values, block arguments, conditions) and the
// evaluation of expressions over a block's parameters.
#ifndef KILN_FRONTEND_EVALUATOR_H
#define KILN_FRONTEND_EVALUATOR_H

#include "frontend/AST.h"

#include "llvm/ADT/StringMap.h"

namespace kiln {

struct Constant {
  enum class Kind { Int, Float, Bool, String, Name, Tuple };
  Kind kind = Kind::Int;
  int64_t intValue = 0;
  double floatValue = 0.0;
  bool boolValue = false;
  std::string text; // String; Name: a bare word that is not a parameter (relu, same, none)
  std::vector<Constant> elements; // Tuple
  llvm::SMLoc loc;                // where it was written

  bool isNumber() const { return kind == Kind::Int || kind == Kind::Float; }
  bool isWord() const { return kind == Kind::String || kind == Kind::Name; }
  double asDouble() const { return kind == Kind::Int ? static_cast<double>(intValue) : floatValue; }
  // For diagnostics: "integer 3", "string 'relu'", "unknown name 'x'", "tuple (3, 3)".
  std::string describe() const;
  // As written in the format: 3, 'relu', (3, 3).
  std::string print() const;
};

using ParameterMap = llvm::StringMap<Constant>;

// Evaluates expr with the names in params bound; a name that is not a parameter becomes a bare
// word (Kind::Name). Reports the first error at its token and fails.
mlir::FailureOr<Constant> evaluate(const ast::Expr &expr, const ParameterMap &params,
                                   const SourceLocator &locator);

// " (did you mean 'x'?)" for the candidate closest to `name`, or "" when none is close.
std::string suggestClosest(llvm::StringRef name, llvm::ArrayRef<llvm::StringRef> candidates);

} // namespace kiln

#endif // KILN_FRONTEND_EVALUATOR_H
