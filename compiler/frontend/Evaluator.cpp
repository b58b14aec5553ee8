// Evaluation of .kiln expressions: integer arithmetic checked for overflow, floats, booleans,
// comparisons and tuples, with Python's meaning for every operator.
#include "frontend/Evaluator.h"

#include "kiln/Dialect/NN/ShapeFormulas.h"
#include "mlir/IR/Diagnostics.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/StringExtras.h"

#include <cmath>
#include <cstdio>

using namespace kiln;
using llvm::StringRef;
using mlir::failure;
using mlir::FailureOr;

std::string Constant::print() const {
  switch (kind) {
  case Kind::Int:
    return std::to_string(intValue);
  case Kind::Float: {
    char buffer[32];
    std::snprintf(buffer, sizeof(buffer), "%g", floatValue);
    std::string s = buffer;
    if (s.find_first_of(".e") == std::string::npos)
      s += ".0"; // 1.0, not 1: a float, not an integer
    return s;
  }
  case Kind::Bool:
    return boolValue ? "true" : "false";
  case Kind::String:
    return "'" + text + "'";
  case Kind::Name:
    return text;
  case Kind::Tuple: {
    std::string s = "(";
    for (size_t i = 0; i < elements.size(); ++i)
      s += (i ? ", " : "") + elements[i].print();
    return s + (elements.size() == 1 ? ",)" : ")");
  }
  }
  return "";
}

std::string Constant::describe() const {
  switch (kind) {
  case Kind::Int:
    return "integer " + print();
  case Kind::Float:
    return "number " + print();
  case Kind::Bool:
    return "boolean " + print();
  case Kind::String:
    return "string " + print();
  case Kind::Name:
    return "unknown name '" + text + "'";
  case Kind::Tuple:
    return "tuple " + print();
  }
  return "";
}

std::string kiln::suggestClosest(StringRef name, llvm::ArrayRef<StringRef> candidates) {
  StringRef best;
  unsigned bestDistance = 0;
  for (StringRef candidate : candidates) {
    unsigned distance = name.edit_distance_insensitive(candidate);
    if (best.empty() || distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  // Close: at most a third of the name changed (a typo or a different capitalization); a short
  // name is close to too much to guess.
  if (best.empty() || bestDistance * 3 > name.size() + 2 || (bestDistance > 0 && name.size() < 3))
    return "";
  return " (did you mean '" + best.str() + "'?)";
}

namespace {

class Evaluator {
public:
  Evaluator(const ParameterMap &params, const SourceLocator &locator)
      : params(params), locator(locator) {}

  FailureOr<Constant> eval(const ast::Expr &expr);

private:
  FailureOr<Constant> evalUnary(const ast::Expr &expr);
  FailureOr<Constant> evalBinary(const ast::Expr &expr);
  FailureOr<Constant> applyBinary(const ast::Expr &expr, Constant lhs);
  FailureOr<Constant> arithmetic(const ast::Expr &expr, const Constant &lhs, const Constant &rhs);
  FailureOr<Constant> compare(const ast::Expr &expr, const Constant &lhs, const Constant &rhs);

  mlir::LogicalResult error(llvm::SMLoc loc, const llvm::Twine &message) {
    locator.emitError(loc) << message.str();
    return failure();
  }

  const ParameterMap &params;
  const SourceLocator &locator;
};

Constant makeInt(int64_t value, llvm::SMLoc loc) {
  Constant c;
  c.kind = Constant::Kind::Int;
  c.intValue = value;
  c.loc = loc;
  return c;
}

Constant makeFloat(double value, llvm::SMLoc loc) {
  Constant c;
  c.kind = Constant::Kind::Float;
  c.floatValue = value;
  c.loc = loc;
  return c;
}

Constant makeBool(bool value, llvm::SMLoc loc) {
  Constant c;
  c.kind = Constant::Kind::Bool;
  c.boolValue = value;
  c.loc = loc;
  return c;
}

} // namespace

FailureOr<Constant> Evaluator::eval(const ast::Expr &expr) {
  Constant c;
  c.loc = expr.loc;
  switch (expr.kind) {
  case ast::Expr::Kind::Integer:
    return makeInt(expr.intValue, expr.loc);
  case ast::Expr::Kind::Float:
    return makeFloat(expr.floatValue, expr.loc);
  case ast::Expr::Kind::Bool:
    return makeBool(expr.boolValue, expr.loc);
  case ast::Expr::Kind::String:
    c.kind = Constant::Kind::String;
    c.text = expr.text;
    return c;
  case ast::Expr::Kind::Name: {
    auto it = params.find(expr.text);
    if (it != params.end()) {
      Constant bound = it->second;
      bound.loc = expr.loc;
      return bound;
    }
    c.kind = Constant::Kind::Name;
    c.text = expr.text;
    return c;
  }
  case ast::Expr::Kind::Tuple:
    c.kind = Constant::Kind::Tuple;
    for (const auto &element : expr.operands) {
      FailureOr<Constant> value = eval(*element);
      if (failed(value))
        return failure();
      c.elements.push_back(std::move(*value));
    }
    return c;
  case ast::Expr::Kind::Unary:
    return evalUnary(expr);
  case ast::Expr::Kind::Binary:
    return evalBinary(expr);
  }
  return failure();
}

FailureOr<Constant> Evaluator::evalUnary(const ast::Expr &expr) {
  FailureOr<Constant> operand = eval(*expr.operands[0]);
  if (failed(operand))
    return failure();
  if (expr.text == "not") {
    if (operand->kind != Constant::Kind::Bool)
      return error(expr.loc, "'not' expects a boolean, got " + operand->describe());
    return makeBool(!operand->boolValue, expr.loc);
  }
  if (!operand->isNumber())
    return error(expr.loc,
                 "unary '" + expr.text + "' expects a number, got " + operand->describe());
  if (expr.text == "+")
    return *operand;
  if (operand->kind == Constant::Kind::Float)
    return makeFloat(-operand->floatValue, expr.loc);
  if (operand->intValue == INT64_MIN)
    return error(expr.loc, "integer overflow: -(" + operand->print() + ") does not fit in 64 bits");
  return makeInt(-operand->intValue, expr.loc);
}

// A chain of binary operators (`a + b - c`, parsed left-associative) is evaluated by a loop over
// its left spine, so its length costs no stack: only right operands recurse.
FailureOr<Constant> Evaluator::evalBinary(const ast::Expr &expr) {
  llvm::SmallVector<const ast::Expr *> spine;
  const ast::Expr *leftmost = &expr;
  while (leftmost->kind == ast::Expr::Kind::Binary) {
    spine.push_back(leftmost);
    leftmost = leftmost->operands[0].get();
  }
  FailureOr<Constant> lhs = eval(*leftmost);
  if (failed(lhs))
    return failure();
  for (const ast::Expr *node : llvm::reverse(spine)) {
    lhs = applyBinary(*node, std::move(*lhs));
    if (failed(lhs))
      return failure();
  }
  return lhs;
}

FailureOr<Constant> Evaluator::applyBinary(const ast::Expr &expr, Constant lhs) {
  const std::string &op = expr.text;
  if (op == "and" || op == "or") {
    if (lhs.kind != Constant::Kind::Bool)
      return error(lhs.loc, "'" + op + "' expects booleans, got " + lhs.describe());
    // Short-circuit, as Python does.
    if (lhs.boolValue == (op == "or"))
      return makeBool(lhs.boolValue, expr.loc);
    FailureOr<Constant> rhs = eval(*expr.operands[1]);
    if (failed(rhs))
      return failure();
    if (rhs->kind != Constant::Kind::Bool)
      return error(rhs->loc, "'" + op + "' expects booleans, got " + rhs->describe());
    return makeBool(rhs->boolValue, expr.loc);
  }
  FailureOr<Constant> rhs = eval(*expr.operands[1]);
  if (failed(rhs))
    return failure();
  if (op == "==" || op == "!=" || op == "<" || op == "<=" || op == ">" || op == ">=")
    return compare(expr, lhs, *rhs);
  return arithmetic(expr, lhs, *rhs);
}

FailureOr<Constant> Evaluator::arithmetic(const ast::Expr &expr, const Constant &lhs,
                                          const Constant &rhs) {
  const std::string &op = expr.text;
  for (const Constant *operand : {&lhs, &rhs})
    if (!operand->isNumber())
      return error(operand->loc,
                   "operator '" + op + "' expects numbers, got " + operand->describe());

  if (lhs.kind == Constant::Kind::Float || rhs.kind == Constant::Kind::Float) {
    double a = lhs.asDouble(), b = rhs.asDouble(), r = 0.0;
    if ((op == "/" || op == "%") && b == 0.0)
      return error(rhs.loc, "division by zero");
    if (op == "+")
      r = a + b;
    else if (op == "-")
      r = a - b;
    else if (op == "*")
      r = a * b;
    else if (op == "/")
      r = a / b;
    else
      r = a - b * std::floor(a / b);
    if (!std::isfinite(r))
      return error(expr.loc, "'" + lhs.print() + " " + op + " " + rhs.print() +
                                 "' is out of range for a 64-bit float");
    return makeFloat(r, expr.loc);
  }

  int64_t a = lhs.intValue, b = rhs.intValue;
  std::optional<int64_t> r;
  if (op == "+") {
    r = kiln::shape::checkedAdd(a, b);
  } else if (op == "-") {
    int64_t d;
    if (!__builtin_sub_overflow(a, b, &d))
      r = d;
  } else if (op == "*") {
    r = kiln::shape::checkedMul(a, b);
  } else {
    if (b == 0)
      return error(rhs.loc, "division by zero");
    if (a == INT64_MIN && b == -1) {
      r = std::nullopt;
    } else {
      // Floor division and modulo, as in Python.
      int64_t q = a / b, m = a % b;
      if (m != 0 && ((m < 0) != (b < 0))) {
        --q;
        m += b;
      }
      r = op == "/" ? q : m;
    }
  }
  if (!r)
    return error(expr.loc, "integer overflow: " + lhs.print() + " " + op + " " + rhs.print() +
                               " does not fit in 64 bits");
  return makeInt(*r, expr.loc);
}

FailureOr<Constant> Evaluator::compare(const ast::Expr &expr, const Constant &lhs,
                                       const Constant &rhs) {
  const std::string &op = expr.text;
  int order = 0; // <0, 0, >0
  bool ordered = true;
  if (lhs.isNumber() && rhs.isNumber()) {
    if (lhs.kind == Constant::Kind::Int && rhs.kind == Constant::Kind::Int)
      order = lhs.intValue < rhs.intValue ? -1 : lhs.intValue > rhs.intValue;
    else
      order = lhs.asDouble() < rhs.asDouble() ? -1 : lhs.asDouble() > rhs.asDouble();
  } else if (lhs.isWord() && rhs.isWord()) {
    order = lhs.text.compare(rhs.text);
  } else if (lhs.kind == Constant::Kind::Bool && rhs.kind == Constant::Kind::Bool) {
    order = static_cast<int>(lhs.boolValue) - static_cast<int>(rhs.boolValue);
    ordered = false;
  } else {
    return error(expr.loc, "cannot compare " + lhs.describe() + " with " + rhs.describe());
  }
  if (!ordered && op != "==" && op != "!=")
    return error(expr.loc, "operator '" + op + "' expects numbers or strings, got booleans");
  bool result = op == "=="   ? order == 0
                : op == "!=" ? order != 0
                : op == "<"  ? order < 0
                : op == "<=" ? order <= 0
                : op == ">"  ? order > 0
                             : order >= 0;
  return makeBool(result, expr.loc);
}

FailureOr<Constant> kiln::evaluate(const ast::Expr &expr, const ParameterMap &params,
                                   const SourceLocator &locator) {
  Evaluator evaluator(params, locator);
  return evaluator.eval(expr);
}
