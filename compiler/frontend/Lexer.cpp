// The tokenizer of the Kiln model format and the mapping from buffer positions to locations.
#include "frontend/Lexer.h"

#include "mlir/IR/Diagnostics.h"
#include "llvm/ADT/StringExtras.h"

#include <cmath>
#include <cstdint>

using namespace kiln;
using llvm::SMLoc;
using llvm::StringRef;

//===----------------------------------------------------------------------===//
// SourceLocator
//===----------------------------------------------------------------------===//

SourceLocator::SourceLocator(llvm::SourceMgr &sourceMgr, mlir::MLIRContext *context)
    : sourceMgr(sourceMgr), context(context), bufferID(sourceMgr.getMainFileID()),
      filename(sourceMgr.getMemoryBuffer(bufferID)->getBufferIdentifier().str()) {}

mlir::Location SourceLocator::location(SMLoc loc) const {
  if (!loc.isValid()) // the file as a whole
    return mlir::FileLineColLoc::get(context, filename, 1, 1);
  auto [line, col] = sourceMgr.getLineAndColumn(loc, bufferID);
  return mlir::FileLineColLoc::get(context, filename, line, col);
}

mlir::InFlightDiagnostic SourceLocator::emitError(SMLoc loc) const {
  return mlir::emitError(location(loc));
}

//===----------------------------------------------------------------------===//
// Lexer
//===----------------------------------------------------------------------===//

std::string kiln::describeToken(const Token &token) {
  switch (token.kind) {
  case TokenKind::Eof:
    return "end of file";
  case TokenKind::Newline:
    return "end of line";
  case TokenKind::Identifier:
    return "'" + token.spelling.str() + "'";
  case TokenKind::Integer:
  case TokenKind::Float:
    return "number " + token.spelling.str();
  case TokenKind::String:
    return "string " + token.spelling.str();
  default:
    return "'" + token.spelling.str() + "'";
  }
}

Lexer::Lexer(llvm::SourceMgr &sourceMgr, const SourceLocator &locator) : locator(locator) {
  StringRef buffer = sourceMgr.getMemoryBuffer(sourceMgr.getMainFileID())->getBuffer();
  cur = buffer.begin();
  bufferEnd = buffer.end();
  if (buffer.starts_with("\xEF\xBB\xBF")) // a UTF-8 byte order mark, as some editors write
    cur += 3;
}

Token Lexer::make(TokenKind kind, const char *start) {
  Token token;
  token.kind = kind;
  token.spelling = StringRef(start, cur - start);
  return token;
}

Token Lexer::error(const char *at, const llvm::Twine &message) {
  locator.emitError(SMLoc::getFromPointer(at)) << message.str();
  cur = bufferEnd; // stop: the parser reports nothing further
  errorReported = true;
  Token token;
  token.kind = TokenKind::Error;
  token.spelling = StringRef(at, 0);
  return token;
}

static bool isIdentifierStart(char c) { return llvm::isAlpha(c) || c == '_'; }
static bool isIdentifierChar(char c) { return llvm::isAlnum(c) || c == '_'; }

static std::string describeChar(char c) {
  if (llvm::isPrint(c))
    return std::string("'") + c + "'";
  std::string hex = "'\\x";
  hex += llvm::hexdigit((static_cast<unsigned char>(c) >> 4) & 15, /*LowerCase=*/true);
  hex += llvm::hexdigit(static_cast<unsigned char>(c) & 15, /*LowerCase=*/true);
  return hex + "'";
}

void Lexer::skipSpaceAndComments() {
  while (cur < bufferEnd) {
    char c = *cur;
    if (c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v') {
      ++cur;
    } else if (c == '#') {
      while (cur < bufferEnd && *cur != '\n')
        ++cur;
    } else if (c == '\n' && nesting > 0) {
      ++cur;
    } else {
      return;
    }
  }
}

Token Lexer::next() {
  skipSpaceAndComments();
  const char *start = cur;
  if (cur >= bufferEnd)
    return make(TokenKind::Eof, start);

  char c = *cur++;
  if (c == '\n') {
    // Blank lines and comment lines collapse into one end of statement.
    while (true) {
      skipSpaceAndComments();
      if (cur < bufferEnd && *cur == '\n')
        ++cur;
      else
        break;
    }
    Token token = make(TokenKind::Newline, start);
    token.spelling = StringRef(start, 1);
    return token;
  }
  if (isIdentifierStart(c))
    return lexIdentifier(start);
  if (llvm::isDigit(c))
    return lexNumber(start);
  if (c == '\'' || c == '"')
    return lexString(start);

  auto two = [&](char second, TokenKind both, TokenKind one) {
    if (cur < bufferEnd && *cur == second) {
      ++cur;
      return make(both, start);
    }
    return make(one, start);
  };
  switch (c) {
  case '(':
  case '[':
    ++nesting;
    return make(c == '(' ? TokenKind::LParen : TokenKind::LBracket, start);
  case ')':
  case ']':
    if (nesting > 0)
      --nesting;
    return make(c == ')' ? TokenKind::RParen : TokenKind::RBracket, start);
  case '{':
    return make(TokenKind::LBrace, start);
  case '}':
    return make(TokenKind::RBrace, start);
  case ',':
    return make(TokenKind::Comma, start);
  case ':':
    return make(TokenKind::Colon, start);
  case '+':
    return make(TokenKind::Plus, start);
  case '-':
    return make(TokenKind::Minus, start);
  case '*':
    return make(TokenKind::Star, start);
  case '/':
    return make(TokenKind::Slash, start);
  case '%':
    return make(TokenKind::Percent, start);
  case '=':
    return two('=', TokenKind::EqualEqual, TokenKind::Equal);
  case '<':
    return two('=', TokenKind::LessEqual, TokenKind::Less);
  case '>':
    return two('=', TokenKind::GreaterEqual, TokenKind::Greater);
  case '!':
    if (cur < bufferEnd && *cur == '=') {
      ++cur;
      return make(TokenKind::NotEqual, start);
    }
    break;
  default:
    break;
  }
  return error(start, "unexpected character " + describeChar(c));
}

Token Lexer::lexIdentifier(const char *start) {
  while (cur < bufferEnd && isIdentifierChar(*cur))
    ++cur;
  return make(TokenKind::Identifier, start);
}

Token Lexer::lexNumber(const char *start) {
  while (cur < bufferEnd && llvm::isDigit(*cur))
    ++cur;
  bool isFloat = false;
  if (cur + 1 < bufferEnd && *cur == '.' && llvm::isDigit(cur[1])) {
    isFloat = true;
    ++cur;
    while (cur < bufferEnd && llvm::isDigit(*cur))
      ++cur;
  }
  if (cur < bufferEnd && (*cur == 'e' || *cur == 'E')) {
    const char *exponent = cur + 1;
    if (exponent < bufferEnd && (*exponent == '+' || *exponent == '-'))
      ++exponent;
    if (exponent < bufferEnd && llvm::isDigit(*exponent)) {
      isFloat = true;
      cur = exponent;
      while (cur < bufferEnd && llvm::isDigit(*cur))
        ++cur;
    }
  }
  if (cur < bufferEnd && (isIdentifierChar(*cur) || *cur == '.')) {
    while (cur < bufferEnd && (isIdentifierChar(*cur) || *cur == '.'))
      ++cur;
    return error(start, "invalid number '" + StringRef(start, cur - start) + "'");
  }

  Token token = make(isFloat ? TokenKind::Float : TokenKind::Integer, start);
  if (isFloat) {
    double value;
    if (token.spelling.getAsDouble(value) || !std::isfinite(value))
      return error(start, "number '" + token.spelling + "' is out of range for a 64-bit float");
    token.floatValue = value;
  } else {
    // getAsInteger fails on overflow.
    if (token.spelling.getAsInteger(10, token.intValue))
      return error(start, "integer '" + token.spelling + "' does not fit in 64 bits (at most " +
                              std::to_string(INT64_MAX) + ")");
  }
  return token;
}

Token Lexer::lexString(const char *start) {
  char quote = *start;
  std::string value;
  while (true) {
    if (cur >= bufferEnd || *cur == '\n')
      return error(start, std::string("unterminated string; expected a closing ") + quote +
                              " before the end of the line");
    char c = *cur++;
    if (c == quote)
      break;
    if (c == '\\' && cur < bufferEnd && *cur != '\n') {
      char escaped = *cur++;
      switch (escaped) {
      case 'n':
        value += '\n';
        break;
      case 't':
        value += '\t';
        break;
      case '\\':
      case '\'':
      case '"':
        value += escaped;
        break;
      default:
        return error(cur - 2, "unknown escape sequence '\\" + StringRef(&escaped, 1) +
                                  "'; expected one of \\n \\t \\\\ \\' \\\"");
      }
      continue;
    }
    value += c;
  }
  Token token = make(TokenKind::String, start);
  token.stringValue = std::move(value);
  return token;
}
