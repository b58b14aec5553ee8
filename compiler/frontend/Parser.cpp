// The recursive-descent parser of the Kiln model format. It checks syntax only; names, layer
// kinds and attribute values are resolved by the elaborator (Elaborator.cpp).
#include "frontend/Parser.h"

#include "frontend/ParserImpl.h"

using namespace kiln;
using namespace kiln::ast;
using namespace kiln::detail;
using llvm::SMLoc;
using llvm::StringRef;
using mlir::failure;
using mlir::LogicalResult;
using mlir::success;

bool kiln::detail::isReservedWord(StringRef word) {
  return word == "in" || word == "if" || word == "else" || word == "and" || word == "or" ||
         word == "not" || word == "true" || word == "false";
}

//===----------------------------------------------------------------------===//
// Statements
//===----------------------------------------------------------------------===//

LogicalResult Parser::parseFile(Model &model) {
  skipNewlines();
  while (!tok.is(TokenKind::Eof)) {
    if (tok.is(TokenKind::Error) || failed(parseStatement(model.body, &model)))
      return failure();
    if (tok.is(TokenKind::RBrace))
      return emitExpected("a statement");
    skipNewlines();
  }
  return success();
}

// A statement keyword (`input`, `block`, ...) is one only where a name follows it, so layers
// may still be called `input` or `output`.
LogicalResult Parser::parseStatement(std::vector<Stmt> &body, Model *topLevel) {
  bool keywordForm = tok.is(TokenKind::Identifier) && peek().is(TokenKind::Identifier);
  if (keywordForm && (tok.isKeyword("block") || tok.isKeyword("input") || tok.isKeyword("loss"))) {
    if (!topLevel) {
      locator.emitError(tok.loc())
          << "'" << tok.spelling << "' is only allowed at the top level of the file";
      return failure();
    }
    if (tok.isKeyword("block"))
      return parseBlockDef(*topLevel);
    if (tok.isKeyword("input"))
      return parseInput(body);
    return parseLoss(*topLevel);
  }
  if (keywordForm && tok.isKeyword("output"))
    return parseOutput(body);
  if (tok.isKeyword("if"))
    return parseIf(body);
  return parseLayerStatement(body);
}

// `{` statements `}`; the '{' has been consumed.
LogicalResult Parser::parseBody(std::vector<Stmt> &body, SMLoc open) {
  NestingGuard guard(*this);
  if (failed(checkNesting()))
    return failure();
  skipNewlines();
  while (!tok.is(TokenKind::RBrace)) {
    if (tok.is(TokenKind::Eof))
      return expectClosing(TokenKind::RBrace, "}", open, "{");
    if (tok.is(TokenKind::Error) || failed(parseStatement(body, /*topLevel=*/nullptr)))
      return failure();
    skipNewlines();
  }
  consume(); // '}'
  return success();
}

LogicalResult Parser::parseBlockDef(Model &model) {
  consume(); // 'block'
  BlockDef block;
  block.name = tok.spelling.str();
  block.loc = tok.loc();
  consume();
  SMLoc open = tok.loc();
  if (failed(expect(TokenKind::LParen, "'(' and the block's parameters after its name")))
    return failure();
  if (!tok.is(TokenKind::RParen)) {
    while (true) {
      BlockParam param;
      param.name = tok.spelling.str();
      param.loc = tok.loc();
      if (!tok.is(TokenKind::Identifier) || isReservedWord(tok.spelling))
        return emitExpected("a parameter name");
      consume();
      if (tok.is(TokenKind::Equal)) {
        consume();
        param.defaultValue = parseExpr();
        if (!param.defaultValue)
          return failure();
      }
      block.params.push_back(std::move(param));
      if (!tok.is(TokenKind::Comma))
        break;
      consume();
      if (tok.is(TokenKind::RParen))
        break; // trailing comma
    }
  }
  if (failed(expectClosing(TokenKind::RParen, ")", open, "(")))
    return failure();
  SMLoc brace = tok.loc();
  if (failed(expect(TokenKind::LBrace, "'{' to begin the block's body")))
    return failure();
  inBlock = true;
  LogicalResult result = parseBody(block.body, brace);
  inBlock = false;
  if (failed(result))
    return failure();
  model.blocks.push_back(std::move(block));
  return expectEndOfStatement();
}

LogicalResult Parser::parseInput(std::vector<Stmt> &body) {
  Stmt stmt;
  stmt.kind = Stmt::Kind::Input;
  stmt.loc = tok.loc();
  consume(); // 'input'
  stmt.name = tok.spelling.str();
  stmt.nameLoc = tok.loc();
  if (isReservedWord(tok.spelling))
    return emitExpected("the input's name");
  consume();
  if (failed(expect(TokenKind::Colon, "':' and the input's shape, as in 'input data: [N, 1, 28, "
                                      "28]'")))
    return failure();
  stmt.shapeLoc = tok.loc();
  SMLoc open = tok.loc();
  if (failed(expect(TokenKind::LBracket, "'[' to begin the input's shape")))
    return failure();
  while (true) {
    Dim dim;
    dim.loc = tok.loc();
    if (tok.is(TokenKind::Integer)) {
      dim.size = tok.intValue;
    } else if (tok.is(TokenKind::Identifier) && !isReservedWord(tok.spelling)) {
      dim.symbol = tok.spelling.str();
    } else {
      return emitExpected("a dimension (a positive integer, or a name such as N for a size "
                          "known only at run time)");
    }
    consume();
    stmt.dims.push_back(std::move(dim));
    if (!tok.is(TokenKind::Comma))
      break;
    consume();
  }
  if (failed(expectClosing(TokenKind::RBracket, "]", open, "[")))
    return failure();
  body.push_back(std::move(stmt));
  return expectEndOfStatement();
}

LogicalResult Parser::parseOutput(std::vector<Stmt> &body) {
  Stmt stmt;
  stmt.kind = Stmt::Kind::Output;
  stmt.loc = tok.loc();
  consume(); // 'output'
  while (true) {
    SourceRef ref;
    if (failed(parseSourceRef(ref, "the name of a layer or input")))
      return failure();
    stmt.outputs.push_back(std::move(ref));
    if (!tok.is(TokenKind::Comma))
      break;
    consume();
  }
  body.push_back(std::move(stmt));
  return expectEndOfStatement();
}

LogicalResult Parser::parseLoss(Model &model) {
  SMLoc keywordLoc = tok.loc();
  consume(); // 'loss'
  if (model.loss) {
    mlir::InFlightDiagnostic diag = locator.emitError(keywordLoc);
    diag << "the loss is declared twice";
    diag.attachNote(locator.location(model.loss->loc)) << "first declared here";
    return failure();
  }
  model.loss = LossDecl{tok.spelling.str(), tok.loc()};
  consume();
  return expectEndOfStatement();
}

LogicalResult Parser::parseIf(std::vector<Stmt> &body) {
  NestingGuard guard(*this);
  if (failed(checkNesting()))
    return failure();
  Stmt stmt;
  stmt.kind = Stmt::Kind::If;
  stmt.loc = tok.loc();
  consume(); // 'if'
  stmt.condition = parseExpr();
  if (!stmt.condition)
    return failure();
  SMLoc brace = tok.loc();
  if (failed(expect(TokenKind::LBrace, "'{' after the condition")) ||
      failed(parseBody(stmt.thenBody, brace)))
    return failure();
  // `else` may follow the '}' on the same line or on the next.
  if (tok.is(TokenKind::Newline) && peek().isKeyword("else"))
    consume();
  if (tok.isKeyword("else")) {
    consume();
    if (tok.isKeyword("if")) {
      if (failed(parseIf(stmt.elseBody)))
        return failure();
    } else {
      brace = tok.loc();
      if (failed(expect(TokenKind::LBrace, "'{' or 'if' after 'else'")) ||
          failed(parseBody(stmt.elseBody, brace)))
        return failure();
      if (failed(expectEndOfStatement()))
        return failure();
    }
    body.push_back(std::move(stmt));
    return success();
  }
  body.push_back(std::move(stmt));
  return expectEndOfStatement();
}

LogicalResult Parser::parseLayerStatement(std::vector<Stmt> &body) {
  Stmt stmt;
  stmt.kind = Stmt::Kind::Layer;
  stmt.loc = tok.loc();
  if (tok.is(TokenKind::Identifier) && peek().is(TokenKind::Equal)) {
    if (isReservedWord(tok.spelling)) {
      locator.emitError(tok.loc())
          << "'" << tok.spelling << "' is a reserved word and cannot name a layer";
      return failure();
    }
    stmt.name = tok.spelling.str();
    stmt.nameLoc = tok.loc();
    consume();
    consume(); // '='
  }
  stmt.layer = parseLayerExpr(/*allowSources=*/true);
  if (!stmt.layer)
    return failure();
  if (stmt.name.empty())
    stmt.nameLoc = stmt.layer->loc;
  body.push_back(std::move(stmt));
  return expectEndOfStatement();
}

//===----------------------------------------------------------------------===//
// Layers
//===----------------------------------------------------------------------===//

std::unique_ptr<LayerExpr> Parser::parseLayerExpr(bool allowSources) {
  std::unique_ptr<LayerExpr> layer = parseLayerTerm();
  if (!layer)
    return nullptr;
  if (tok.is(TokenKind::LParen)) {
    if (!allowSources) {
      locator.emitError(tok.loc())
          << "an element of a sequence takes its input from the element before it; give the "
             "sequence's input after its closing ']'";
      return nullptr;
    }
    if (failed(parseSources(*layer)))
      return nullptr;
  }
  return layer;
}

std::unique_ptr<LayerExpr> Parser::parseLayerTerm() {
  NestingGuard guard(*this);
  if (failed(checkNesting()))
    return nullptr;
  auto layer = std::make_unique<LayerExpr>();
  layer->loc = tok.loc();
  if (tok.is(TokenKind::Identifier) && !isReservedWord(tok.spelling)) {
    layer->kind = LayerExpr::Kind::Call;
    layer->callee = tok.spelling.str();
    consume();
    SMLoc open = tok.loc();
    if (!tok.is(TokenKind::LParen)) {
      (void)emitExpected("'(' after '" + layer->callee + "' (a layer is written like Conv2D(...))");
      return nullptr;
    }
    consume();
    if (failed(parseArguments(layer->args, open)))
      return nullptr;
    return layer;
  }
  if (tok.is(TokenKind::LBracket)) {
    layer->kind = LayerExpr::Kind::Sequence;
    SMLoc open = tok.loc();
    consume();
    while (!tok.is(TokenKind::RBracket)) {
      SequenceElement element;
      element.layer = parseLayerExpr(/*allowSources=*/false);
      if (!element.layer)
        return nullptr;
      if (tok.is(TokenKind::Star)) {
        consume();
        element.repeat = parseUnary();
        if (!element.repeat)
          return nullptr;
      }
      layer->elements.push_back(std::move(element));
      if (!tok.is(TokenKind::Comma))
        break;
      consume();
    }
    if (layer->elements.empty()) {
      (void)emitExpected("a layer in the sequence");
      return nullptr;
    }
    if (failed(expectClosing(TokenKind::RBracket, "]", open, "[")))
      return nullptr;
    return layer;
  }
  (void)emitExpected("a layer such as Conv2D(...), a block, or a sequence [...]");
  return nullptr;
}

LogicalResult Parser::parseArguments(std::vector<Argument> &args, SMLoc open) {
  while (!tok.is(TokenKind::RParen)) {
    Argument arg;
    if (tok.is(TokenKind::Identifier) && peek().is(TokenKind::Equal)) {
      arg.keyword = tok.spelling.str();
      arg.keywordLoc = tok.loc();
      consume();
      consume(); // '='
    }
    if (tok.is(TokenKind::Eof))
      return expectClosing(TokenKind::RParen, ")", open, "(");
    arg.value = parseExpr();
    if (!arg.value)
      return failure();
    args.push_back(std::move(arg));
    if (!tok.is(TokenKind::Comma))
      break;
    consume();
  }
  return expectClosing(TokenKind::RParen, ")", open, "(");
}

LogicalResult Parser::parseSources(LayerExpr &layer) {
  layer.sourcesLoc = tok.loc();
  consume(); // '('
  layer.sources.emplace();
  while (true) {
    SourceRef ref;
    if (failed(parseSourceRef(ref, "the name of an input of the layer")))
      return failure();
    layer.sources->push_back(std::move(ref));
    if (!tok.is(TokenKind::Comma))
      break;
    consume();
  }
  return expectClosing(TokenKind::RParen, ")", layer.sourcesLoc, "(");
}

LogicalResult Parser::parseSourceRef(SourceRef &ref, StringRef what) {
  ref.loc = tok.loc();
  if (tok.isKeyword("in")) {
    if (!inBlock) {
      locator.emitError(tok.loc()) << "'in' names the input of a block and is only allowed "
                                      "inside one";
      return failure();
    }
    ref.isBlockInput = true;
    ref.name = "in";
    consume();
    return success();
  }
  if (!tok.is(TokenKind::Identifier) || isReservedWord(tok.spelling))
    return emitExpected(what);
  ref.name = tok.spelling.str();
  consume();
  return success();
}

LogicalResult kiln::parseModelSyntax(llvm::SourceMgr &sourceMgr, const SourceLocator &locator,
                                     Model &model) {
  Parser parser(sourceMgr, locator);
  // A lexical error always fails the parse; the check makes sure of it.
  return success(succeeded(parser.parseFile(model)) && !parser.hadLexicalError());
}
