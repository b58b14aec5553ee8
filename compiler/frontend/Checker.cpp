// Static checks of a parsed .kiln file: everything about names and counts that holds whatever the
// blocks' parameters are, checked in every block and branch (used or not), in file order.
#include "frontend/Elaborator.h"

#include "mlir/IR/Diagnostics.h"
#include "llvm/ADT/StringExtras.h"

using namespace kiln;
using namespace kiln::ast;
using llvm::SMLoc;
using llvm::StringRef;
using mlir::failure;
using mlir::LogicalResult;
using mlir::success;

namespace {

class Checker {
public:
  Checker(const Model &model, const SourceLocator &locator, BlockTable &blocks)
      : model(model), locator(locator), blocks(blocks) {}

  LogicalResult run();

private:
  LogicalResult collectBlocks();
  LogicalResult checkBody(const std::vector<Stmt> &body);
  LogicalResult checkStatement(const Stmt &stmt);
  LogicalResult checkLayer(const LayerExpr &layer, bool inSequence);
  LogicalResult checkLayerCall(const LayerExpr &call, const LayerSpec &spec);
  LogicalResult checkBlockCall(const LayerExpr &call, const BlockDef &block);
  LogicalResult checkInputCount(const LayerExpr &layer, unsigned min, unsigned max,
                                bool inSequence);

  mlir::InFlightDiagnostic emitError(SMLoc loc) { return locator.emitError(loc); }

  const Model &model;
  const SourceLocator &locator;
  BlockTable &blocks;
};

// "1 input", "2 or more inputs", "1 to 3 inputs".
std::string countInputs(unsigned min, unsigned max) {
  std::string n = std::to_string(min);
  if (max == 0)
    return n + " or more inputs";
  if (min != max)
    return n + " to " + std::to_string(max) + " inputs";
  return n + (min == 1 ? " input" : " inputs");
}

} // namespace

LogicalResult Checker::run() {
  if (failed(collectBlocks()))
    return failure();
  // Blocks and top-level statements in file order, so the first error reported is the first in
  // the file.
  std::vector<std::pair<const char *, const BlockDef *>> order;
  for (const BlockDef &block : model.blocks)
    order.push_back({block.loc.getPointer(), &block});
  size_t next = 0;
  for (const Stmt &stmt : model.body) {
    for (; next < order.size() && order[next].first < stmt.loc.getPointer(); ++next)
      if (failed(checkBody(order[next].second->body)))
        return failure();
    if (failed(checkStatement(stmt)))
      return failure();
  }
  for (; next < order.size(); ++next)
    if (failed(checkBody(order[next].second->body)))
      return failure();

  if (model.loss && model.loss->kind != "SoftmaxCrossEntropy") {
    emitError(model.loss->loc) << "unknown loss '" << model.loss->kind
                               << "'; expected SoftmaxCrossEntropy"
                               << suggestClosest(model.loss->kind, {"SoftmaxCrossEntropy"});
    return failure();
  }
  return success();
}

LogicalResult Checker::collectBlocks() {
  for (const BlockDef &block : model.blocks) {
    if (lookupLayer(block.name)) {
      emitError(block.loc) << "block '" << block.name << "' has the name of a built-in layer";
      return failure();
    }
    auto [it, inserted] = blocks.try_emplace(block.name, &block);
    if (!inserted) {
      mlir::InFlightDiagnostic diag = emitError(block.loc);
      diag << "block '" << block.name << "' is defined twice";
      diag.attachNote(locator.location(it->second->loc)) << "first defined here";
      return failure();
    }
    for (size_t i = 0; i < block.params.size(); ++i)
      for (size_t j = 0; j < i; ++j)
        if (block.params[i].name == block.params[j].name) {
          emitError(block.params[i].loc) << "parameter '" << block.params[i].name << "' of block '"
                                         << block.name << "' is declared twice";
          return failure();
        }
  }
  return success();
}

LogicalResult Checker::checkBody(const std::vector<Stmt> &body) {
  for (const Stmt &stmt : body)
    if (failed(checkStatement(stmt)))
      return failure();
  return success();
}

LogicalResult Checker::checkStatement(const Stmt &stmt) {
  if (stmt.kind == Stmt::Kind::Layer)
    return checkLayer(*stmt.layer, /*inSequence=*/false);
  if (stmt.kind == Stmt::Kind::If)
    return success(succeeded(checkBody(stmt.thenBody)) && succeeded(checkBody(stmt.elseBody)));
  return success();
}

LogicalResult Checker::checkLayer(const LayerExpr &layer, bool inSequence) {
  if (layer.kind == LayerExpr::Kind::Sequence) {
    for (const SequenceElement &element : layer.elements)
      if (failed(checkLayer(*element.layer, /*inSequence=*/true)))
        return failure();
    return checkInputCount(layer, 1, 1, inSequence);
  }
  if (const LayerSpec *spec = lookupLayer(layer.callee)) {
    if (failed(checkLayerCall(layer, *spec)))
      return failure();
    return checkInputCount(layer, spec->minInputs, spec->maxInputs, inSequence);
  }
  auto block = blocks.find(layer.callee);
  if (block != blocks.end()) {
    if (failed(checkBlockCall(layer, *block->second)))
      return failure();
    return checkInputCount(layer, 1, 1, inSequence);
  }

  std::vector<StringRef> candidates;
  for (const LayerSpec &spec : allLayers())
    candidates.push_back(spec.kind);
  std::string blockNames;
  for (const BlockDef &def : model.blocks) {
    candidates.push_back(def.name);
    blockNames += (blockNames.empty() ? "" : ", ") + def.name;
  }
  mlir::InFlightDiagnostic diag = emitError(layer.loc);
  diag << "unknown layer '" << layer.callee << "'; expected one of " << layerList();
  if (!blockNames.empty())
    diag << ", or a block (" << blockNames << ")";
  diag << suggestClosest(layer.callee, candidates);
  return failure();
}

LogicalResult Checker::checkInputCount(const LayerExpr &layer, unsigned min, unsigned max,
                                       bool inSequence) {
  StringRef what =
      layer.kind == LayerExpr::Kind::Sequence ? StringRef("a sequence") : StringRef(layer.callee);
  if (!layer.sources) {
    if (min <= 1)
      return success();
    emitError(layer.loc) << what << " takes " << countInputs(min, max) << ", named after the call"
                         << (inSequence ? "; it cannot be an element of a sequence"
                                        : " as in Add()(a, b)");
    return failure();
  }
  unsigned given = layer.sources->size();
  if (given >= min && (max == 0 || given <= max))
    return success();
  // Too many: point at the first extra input; too few: at the list.
  SMLoc at = given < min ? layer.sourcesLoc : (*layer.sources)[max].loc;
  emitError(at) << what << " takes " << countInputs(min, max) << ", got " << given;
  return failure();
}

LogicalResult Checker::checkLayerCall(const LayerExpr &call, const LayerSpec &spec) {
  llvm::StringMap<SMLoc> given;
  bool sawKeyword = false;
  auto record = [&](const AttrSpec &attr, SMLoc loc) -> LogicalResult {
    auto [it, inserted] = given.try_emplace(attr.name, loc);
    if (inserted)
      return success();
    mlir::InFlightDiagnostic diag = emitError(loc);
    diag << "attribute '" << attr.name << "' of " << spec.kind << " is given twice";
    diag.attachNote(locator.location(it->second)) << "first given here";
    return failure();
  };
  for (auto [index, arg] : llvm::enumerate(call.args)) {
    if (arg.keyword.empty()) {
      if (sawKeyword) {
        emitError(arg.value->loc) << "positional argument follows a keyword argument";
        return failure();
      }
      if (index >= spec.numPositional) {
        mlir::InFlightDiagnostic diag = emitError(arg.value->loc);
        if (spec.attrs.empty()) {
          diag << spec.kind << " takes no attributes";
        } else if (spec.numPositional == 0) {
          diag << spec.kind << " takes its attributes by name (" << spec.attrList() << ")";
        } else {
          diag << spec.kind << " takes at most " << spec.numPositional << " positional argument"
               << (spec.numPositional == 1 ? "" : "s") << " (";
          for (unsigned i = 0; i < spec.numPositional; ++i)
            diag << (i ? ", " : "") << spec.attrs[i].name;
          diag << "), got " << call.args.size();
        }
        return failure();
      }
      if (failed(record(spec.attrs[index], arg.value->loc)))
        return failure();
      continue;
    }
    sawKeyword = true;
    const AttrSpec *attr = spec.findAttr(arg.keyword);
    if (!attr) {
      std::vector<StringRef> names;
      for (const AttrSpec &a : spec.attrs)
        names.push_back(a.name);
      mlir::InFlightDiagnostic diag = emitError(arg.keywordLoc);
      diag << "unknown attribute '" << arg.keyword << "' for " << spec.kind;
      if (spec.attrs.empty())
        diag << "; " << spec.kind << " takes no attributes";
      else
        diag << "; expected one of " << spec.attrList() << suggestClosest(arg.keyword, names);
      return failure();
    }
    if (failed(record(*attr, arg.keywordLoc)))
      return failure();
  }
  for (const AttrSpec &attr : spec.attrs)
    if (attr.required && !given.count(attr.name)) {
      emitError(call.loc) << "missing required attribute '" << attr.name << "' of " << spec.kind;
      return failure();
    }
  return success();
}

LogicalResult Checker::checkBlockCall(const LayerExpr &call, const BlockDef &block) {
  llvm::StringMap<SMLoc> given;
  bool sawKeyword = false;
  std::vector<StringRef> names;
  for (const BlockParam &param : block.params)
    names.push_back(param.name);
  for (auto [index, arg] : llvm::enumerate(call.args)) {
    SMLoc loc = arg.keyword.empty() ? arg.value->loc : arg.keywordLoc;
    StringRef name;
    if (arg.keyword.empty()) {
      if (sawKeyword) {
        emitError(loc) << "positional argument follows a keyword argument";
        return failure();
      }
      if (index >= block.params.size()) {
        emitError(loc) << "block '" << block.name << "' takes " << block.params.size()
                       << " argument" << (block.params.size() == 1 ? "" : "s") << " ("
                       << llvm::join(names, ", ") << "), got " << call.args.size();
        return failure();
      }
      name = block.params[index].name;
    } else {
      sawKeyword = true;
      name = arg.keyword;
      if (!llvm::is_contained(names, name)) {
        mlir::InFlightDiagnostic diag = emitError(loc);
        diag << "unknown parameter '" << name << "' of block '" << block.name << "'";
        if (names.empty())
          diag << "; it takes no parameters";
        else
          diag << "; expected one of " << llvm::join(names, ", ") << suggestClosest(name, names);
        return failure();
      }
    }
    auto [it, inserted] = given.try_emplace(name, loc);
    if (!inserted) {
      mlir::InFlightDiagnostic diag = emitError(loc);
      diag << "parameter '" << name << "' of block '" << block.name << "' is given twice";
      diag.attachNote(locator.location(it->second)) << "first given here";
      return failure();
    }
  }
  for (const BlockParam &param : block.params)
    if (!param.defaultValue && !given.count(param.name)) {
      mlir::InFlightDiagnostic diag = emitError(call.loc);
      diag << "missing required parameter '" << param.name << "' of block '" << block.name << "'";
      diag.attachNote(locator.location(param.loc)) << "declared here";
      return failure();
    }
  return success();
}

LogicalResult kiln::checkModel(const Model &model, const SourceLocator &locator,
                               BlockTable &blocks) {
  return Checker(model, locator, blocks).run();
}
