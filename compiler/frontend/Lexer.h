// The tokenizer of the Kiln model format (.kiln): identifiers, numbers, strings, punctuation and
// newlines (which end statements except inside parentheses and brackets, as in Python).
#ifndef KILN_FRONTEND_LEXER_H
#define KILN_FRONTEND_LEXER_H

#include "mlir/IR/Location.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/SMLoc.h"
#include "llvm/Support/SourceMgr.h"

#include <string>

namespace kiln {

enum class TokenKind {
  Eof,
  Error, // a lexical error, already reported
  Newline,
  Identifier,
  Integer,
  Float,
  String,
  LParen,
  RParen,
  LBracket,
  RBracket,
  LBrace,
  RBrace,
  Comma,
  Colon,
  Equal,
  Plus,
  Minus,
  Star,
  Slash,
  Percent,
  EqualEqual,
  NotEqual,
  Less,
  LessEqual,
  Greater,
  GreaterEqual,
};

struct Token {
  TokenKind kind = TokenKind::Eof;
  llvm::StringRef spelling; // the token's text in the buffer
  int64_t intValue = 0;     // Integer
  double floatValue = 0.0;  // Float
  std::string stringValue;  // String, with escapes resolved

  llvm::SMLoc loc() const { return llvm::SMLoc::getFromPointer(spelling.data()); }
  bool is(TokenKind k) const { return kind == k; }
  bool isKeyword(llvm::StringRef word) const {
    return kind == TokenKind::Identifier && spelling == word;
  }
};

// A token described for a diagnostic: "identifier 'foo'", "')'", "end of file".
std::string describeToken(const Token &token);

// Maps buffer positions to MLIR locations (file:line:col) and emits diagnostics there.
class SourceLocator {
public:
  SourceLocator(llvm::SourceMgr &sourceMgr, mlir::MLIRContext *context);
  mlir::Location location(llvm::SMLoc loc) const;
  mlir::InFlightDiagnostic emitError(llvm::SMLoc loc) const;
  mlir::MLIRContext *getContext() const { return context; }
  llvm::StringRef getFilename() const { return filename; }

private:
  llvm::SourceMgr &sourceMgr;
  mlir::MLIRContext *context;
  unsigned bufferID;
  std::string filename;
};

class Lexer {
public:
  Lexer(llvm::SourceMgr &sourceMgr, const SourceLocator &locator);

  // Returns the next token; on a lexical error reports it and returns an Error token.
  Token next();
  // Whether a lexical error has been reported.
  bool hadError() const { return errorReported; }

private:
  Token make(TokenKind kind, const char *start);
  Token error(const char *at, const llvm::Twine &message);
  Token lexIdentifier(const char *start);
  Token lexNumber(const char *start);
  Token lexString(const char *start);
  void skipSpaceAndComments();

  const SourceLocator &locator;
  const char *cur;
  const char *bufferEnd;
  // Depth of open '(' and '['; newlines inside them do not end a statement.
  int nesting = 0;
  bool errorReported = false;
};

} // namespace kiln

#endif // KILN_FRONTEND_LEXER_H
