// The expression part of the Kiln parser: values, tuples and Python's operators with Python's
// precedence (or < and < not < comparisons < + - < * / % < unary - +).
#include "frontend/ParserImpl.h"

using namespace kiln;
using namespace kiln::ast;
using namespace kiln::detail;
using llvm::SMLoc;
using mlir::failure;

//===----------------------------------------------------------------------===//
// Expressions
//===----------------------------------------------------------------------===//

std::unique_ptr<Expr> Parser::makeBinary(std::string op, std::unique_ptr<Expr> lhs,
                                         std::unique_ptr<Expr> rhs) {
  auto expr = std::make_unique<Expr>();
  expr->kind = Expr::Kind::Binary;
  expr->loc = lhs->loc;
  expr->text = std::move(op);
  expr->operands.push_back(std::move(lhs));
  expr->operands.push_back(std::move(rhs));
  return checkDepth(std::move(expr));
}

// Sets the depth and size of a composite expression from its operands'. Evaluation recurses
// `depth` deep; a binary operator's left operand is evaluated in a loop (Evaluator.cpp), so a
// long chain `a + b + c + ...` is as deep as its deepest right operand.
std::unique_ptr<Expr> Parser::checkDepth(std::unique_ptr<Expr> expr) {
  bool binary = expr->kind == Expr::Kind::Binary;
  for (auto [index, operand] : llvm::enumerate(expr->operands)) {
    unsigned level = binary && index == 0 ? operand->depth : operand->depth + 1;
    expr->depth = std::max(expr->depth, level);
    expr->size += operand->size;
  }
  if (expr->depth > kMaxNesting) {
    locator.emitError(expr->loc) << "expression is nested deeper than " << kMaxNesting << " levels";
    return nullptr;
  }
  if (expr->size > kMaxExprSize) {
    locator.emitError(expr->loc) << "expression has more than " << kMaxExprSize
                                 << " operands and operators";
    return nullptr;
  }
  return expr;
}

std::unique_ptr<Expr> Parser::parseLeftAssociative(
    std::unique_ptr<Expr> (Parser::*operand)(), llvm::function_ref<bool(const Token &)> isOperator) {
  std::unique_ptr<Expr> lhs = (this->*operand)();
  while (lhs && isOperator(tok)) {
    std::string op = tok.spelling.str();
    consume();
    std::unique_ptr<Expr> rhs = (this->*operand)();
    if (!rhs)
      return nullptr;
    lhs = makeBinary(op, std::move(lhs), std::move(rhs));
  }
  return lhs;
}

std::unique_ptr<Expr> Parser::parseExpr() {
  return parseLeftAssociative(&Parser::parseAnd,
                              [](const Token &t) { return t.isKeyword("or"); });
}

std::unique_ptr<Expr> Parser::parseAnd() {
  return parseLeftAssociative(&Parser::parseNot,
                              [](const Token &t) { return t.isKeyword("and"); });
}

std::unique_ptr<Expr> Parser::parseNot() {
  if (!tok.isKeyword("not"))
    return parseComparison();
  NestingGuard guard(*this);
  if (failed(checkNesting()))
    return nullptr;
  auto expr = std::make_unique<Expr>();
  expr->kind = Expr::Kind::Unary;
  expr->loc = tok.loc();
  expr->text = "not";
  consume();
  std::unique_ptr<Expr> operand = parseNot();
  if (!operand)
    return nullptr;
  expr->operands.push_back(std::move(operand));
  return checkDepth(std::move(expr));
}

std::unique_ptr<Expr> Parser::parseComparison() {
  std::unique_ptr<Expr> lhs = parseSum();
  if (!lhs)
    return nullptr;
  switch (tok.kind) {
  case TokenKind::EqualEqual:
  case TokenKind::NotEqual:
  case TokenKind::Less:
  case TokenKind::LessEqual:
  case TokenKind::Greater:
  case TokenKind::GreaterEqual: {
    std::string op = tok.spelling.str();
    consume();
    std::unique_ptr<Expr> rhs = parseSum();
    if (!rhs)
      return nullptr;
    return makeBinary(op, std::move(lhs), std::move(rhs));
  }
  default:
    return lhs;
  }
}

std::unique_ptr<Expr> Parser::parseSum() {
  return parseLeftAssociative(&Parser::parseProduct, [](const Token &t) {
    return t.is(TokenKind::Plus) || t.is(TokenKind::Minus);
  });
}

std::unique_ptr<Expr> Parser::parseProduct() {
  return parseLeftAssociative(&Parser::parseUnary, [](const Token &t) {
    return t.is(TokenKind::Star) || t.is(TokenKind::Slash) || t.is(TokenKind::Percent);
  });
}

std::unique_ptr<Expr> Parser::parseUnary() {
  if (!tok.is(TokenKind::Minus) && !tok.is(TokenKind::Plus))
    return parsePrimary();
  NestingGuard guard(*this);
  if (failed(checkNesting()))
    return nullptr;
  auto expr = std::make_unique<Expr>();
  expr->kind = Expr::Kind::Unary;
  expr->loc = tok.loc();
  expr->text = tok.spelling.str();
  consume();
  std::unique_ptr<Expr> operand = parseUnary();
  if (!operand)
    return nullptr;
  expr->operands.push_back(std::move(operand));
  return checkDepth(std::move(expr));
}

std::unique_ptr<Expr> Parser::parsePrimary() {
  auto expr = std::make_unique<Expr>();
  expr->loc = tok.loc();
  switch (tok.kind) {
  case TokenKind::Integer:
    expr->kind = Expr::Kind::Integer;
    expr->intValue = tok.intValue;
    consume();
    return expr;
  case TokenKind::Float:
    expr->kind = Expr::Kind::Float;
    expr->floatValue = tok.floatValue;
    consume();
    return expr;
  case TokenKind::String:
    expr->kind = Expr::Kind::String;
    expr->text = tok.stringValue;
    consume();
    return expr;
  case TokenKind::Identifier:
    if (tok.spelling == "true" || tok.spelling == "True" || tok.spelling == "false" ||
        tok.spelling == "False") {
      expr->kind = Expr::Kind::Bool;
      expr->boolValue = tok.spelling.starts_with_insensitive("t");
      consume();
      return expr;
    }
    if (isReservedWord(tok.spelling))
      break;
    expr->kind = Expr::Kind::Name;
    expr->text = tok.spelling.str();
    consume();
    return expr;
  case TokenKind::LParen: {
    NestingGuard guard(*this);
    if (failed(checkNesting()))
      return nullptr;
    SMLoc open = tok.loc();
    consume();
    std::unique_ptr<Expr> first = parseExpr();
    if (!first)
      return nullptr;
    if (!tok.is(TokenKind::Comma)) {
      if (failed(expectClosing(TokenKind::RParen, ")", open, "(")))
        return nullptr;
      return first; // parenthesized expression
    }
    expr->kind = Expr::Kind::Tuple;
    expr->operands.push_back(std::move(first));
    while (tok.is(TokenKind::Comma)) {
      consume();
      if (tok.is(TokenKind::RParen))
        break; // trailing comma: (3,)
      std::unique_ptr<Expr> element = parseExpr();
      if (!element)
        return nullptr;
      expr->operands.push_back(std::move(element));
    }
    if (failed(expectClosing(TokenKind::RParen, ")", open, "(")))
      return nullptr;
    return checkDepth(std::move(expr));
  }
  default:
    break;
  }
  (void)emitExpected("a value (a number, a string, a name or a tuple such as (3, 3))");
  return nullptr;
}
