// The parser's class, shared by Parser.cpp (statements and layers) and ParseExpr.cpp
// (expressions). Internal to the frontend.
#ifndef KILN_FRONTEND_PARSERIMPL_H
#define KILN_FRONTEND_PARSERIMPL_H

#include "frontend/AST.h"

#include "mlir/IR/Diagnostics.h"
#include "llvm/ADT/STLFunctionalExtras.h"

#include <deque>

namespace kiln::detail {

// Deeper nesting than this (parentheses, sequences, blocks) is an error, not a stack overflow.
constexpr unsigned kMaxNesting = 200;
// An expression of more nodes than this is an error (destroying its tree recurses along chains).
constexpr unsigned kMaxExprSize = 10000;

class Parser {
public:
  Parser(llvm::SourceMgr &sourceMgr, const SourceLocator &locator)
      : lexer(sourceMgr, locator), locator(locator) {
    tok = lexer.next();
  }

  mlir::LogicalResult parseFile(ast::Model &model);
  bool hadLexicalError() const { return lexer.hadError(); }

private:
  // Token stream.
  void consume() {
    if (lookahead.empty()) {
      tok = lexer.next();
    } else {
      tok = std::move(lookahead.front());
      lookahead.pop_front();
    }
  }
  const Token &peek() {
    if (lookahead.empty())
      lookahead.push_back(lexer.next());
    return lookahead.front();
  }
  void skipNewlines() {
    while (tok.is(TokenKind::Newline))
      consume();
  }

  // Reports "expected <what>, got <token>" at the current token (nothing more after a lexical
  // error, which the lexer has reported).
  mlir::LogicalResult emitExpected(const llvm::Twine &what) {
    if (tok.is(TokenKind::Error))
      return mlir::failure();
    locator.emitError(tok.loc()) << "expected " << what.str() << ", got " << describeToken(tok);
    return mlir::failure();
  }
  mlir::LogicalResult expect(TokenKind kind, const llvm::Twine &what) {
    if (!tok.is(kind))
      return emitExpected(what);
    consume();
    return mlir::success();
  }
  // Expects the closing token of a bracket opened at `open`, with a note pointing there.
  mlir::LogicalResult expectClosing(TokenKind kind, llvm::StringRef closing, llvm::SMLoc open,
                                    llvm::StringRef opening) {
    if (tok.is(kind)) {
      consume();
      return mlir::success();
    }
    if (tok.is(TokenKind::Error))
      return mlir::failure();
    mlir::InFlightDiagnostic diag = locator.emitError(tok.loc());
    diag << "expected '" << closing << "', got " << describeToken(tok);
    diag.attachNote(locator.location(open)) << "to match this '" << opening << "'";
    return mlir::failure();
  }
  mlir::LogicalResult expectEndOfStatement() {
    if (tok.is(TokenKind::Newline)) {
      consume();
      return mlir::success();
    }
    if (tok.is(TokenKind::Eof) || tok.is(TokenKind::RBrace))
      return mlir::success();
    return emitExpected("end of line after the statement");
  }

  // RAII guard against unbounded nesting.
  struct NestingGuard {
    Parser &parser;
    explicit NestingGuard(Parser &parser) : parser(parser) { ++parser.nesting; }
    ~NestingGuard() { --parser.nesting; }
  };
  mlir::LogicalResult checkNesting() {
    if (nesting <= kMaxNesting)
      return mlir::success();
    if (tok.is(TokenKind::Error))
      return mlir::failure();
    locator.emitError(tok.loc()) << "nesting is deeper than " << kMaxNesting << " levels";
    return mlir::failure();
  }

  // Statements.
  mlir::LogicalResult parseStatement(std::vector<ast::Stmt> &body, ast::Model *topLevel);
  mlir::LogicalResult parseBody(std::vector<ast::Stmt> &body, llvm::SMLoc open);
  mlir::LogicalResult parseBlockDef(ast::Model &model);
  mlir::LogicalResult parseInput(std::vector<ast::Stmt> &body);
  mlir::LogicalResult parseOutput(std::vector<ast::Stmt> &body);
  mlir::LogicalResult parseLoss(ast::Model &model);
  mlir::LogicalResult parseIf(std::vector<ast::Stmt> &body);
  mlir::LogicalResult parseLayerStatement(std::vector<ast::Stmt> &body);

  // Layers.
  std::unique_ptr<ast::LayerExpr> parseLayerExpr(bool allowSources);
  std::unique_ptr<ast::LayerExpr> parseLayerTerm();
  mlir::LogicalResult parseArguments(std::vector<ast::Argument> &args, llvm::SMLoc open);
  mlir::LogicalResult parseSources(ast::LayerExpr &layer);
  mlir::LogicalResult parseSourceRef(ast::SourceRef &ref, llvm::StringRef what);

  // Expressions.
  std::unique_ptr<ast::Expr> parseExpr();
  std::unique_ptr<ast::Expr> parseAnd();
  std::unique_ptr<ast::Expr> parseNot();
  std::unique_ptr<ast::Expr> parseComparison();
  std::unique_ptr<ast::Expr> parseSum();
  std::unique_ptr<ast::Expr> parseProduct();
  std::unique_ptr<ast::Expr> parseUnary();
  std::unique_ptr<ast::Expr> parsePrimary();
  // operand (op operand)*, left-associative, the operators being the tokens isOperator accepts.
  std::unique_ptr<ast::Expr>
  parseLeftAssociative(std::unique_ptr<ast::Expr> (Parser::*operand)(),
                       llvm::function_ref<bool(const Token &)> isOperator);
  std::unique_ptr<ast::Expr> makeBinary(std::string op, std::unique_ptr<ast::Expr> lhs,
                                        std::unique_ptr<ast::Expr> rhs);
  std::unique_ptr<ast::Expr> checkDepth(std::unique_ptr<ast::Expr> expr);

  Lexer lexer;
  const SourceLocator &locator;
  Token tok;
  std::deque<Token> lookahead;
  unsigned nesting = 0;
  bool inBlock = false;
};

// Words that cannot name a layer, input or parameter.
bool isReservedWord(llvm::StringRef word);

} // namespace kiln::detail

#endif // KILN_FRONTEND_PARSERIMPL_H
