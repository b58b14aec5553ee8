// Expansion of a checked .kiln model into a flat graph: block instances get torchvision-style
// names (layer1.0.conv1), sequences index their elements, conditionals pick a branch, attribute
// values are evaluated and checked, and names are resolved per scope (used before defined is
// fine; the file is a graph).
#include "frontend/Elaborator.h"

#include "kiln/Dialect/NN/ShapeFormulas.h"
#include "mlir/IR/Diagnostics.h"
#include "llvm/ADT/StringSet.h"

using namespace kiln;
using namespace kiln::ast;
using llvm::SMLoc;
using llvm::StringRef;
using mlir::failure;
using mlir::FailureOr;
using mlir::LogicalResult;
using mlir::success;

namespace {

// Bounds the work a small file can ask for (`Relu() * 1000000000`); real networks have a few
// thousand layers at most.
constexpr size_t kMaxExpansionSteps = 100000;
// Bounds how deep block instances nest (each level is a few stack frames of the elaborator);
// real networks nest blocks two or three deep.
constexpr size_t kMaxBlockDepth = 256;
constexpr unsigned kUnresolved = ~0u;

// The names visible to one body: the top level, or one block instance.
struct Scope {
  std::string prefix;                 // "" or "layer1.0."
  const ParameterMap *params;         // the block's arguments
  std::optional<unsigned> blockInput; // what `in` names
  int instance = -1;
  llvm::StringMap<std::pair<unsigned, SMLoc>> names;
  llvm::StringSet<> explicitNames; // every name a statement of this body defines, any branch
  llvm::StringMap<unsigned> autoNameCounters;
  struct Pending {
    unsigned node;
    unsigned slot;
    const SourceRef *ref;
  };
  std::vector<Pending> pending;
  std::optional<unsigned> last; // the previous statement's output
  const Stmt *output = nullptr;
};

class Elaborator {
public:
  Elaborator(const Model &model, const BlockTable &blocks, const SourceLocator &locator,
             InstanceContext &instances, Graph &graph)
      : model(model), blocks(blocks), locator(locator), instances(instances), graph(graph) {}

  LogicalResult run();

private:
  LogicalResult expandBody(Scope &scope, const std::vector<Stmt> &body);
  LogicalResult expandInput(Scope &scope, const Stmt &stmt);
  FailureOr<unsigned> expandLayer(Scope &scope, const LayerExpr &layer, const std::string &name,
                                  SMLoc nameLoc, std::optional<unsigned> implicitInput);
  FailureOr<unsigned> expandBuiltin(Scope &scope, const LayerExpr &call, const LayerSpec &spec,
                                    const std::string &name, SMLoc nameLoc,
                                    std::optional<unsigned> implicitInput);
  FailureOr<unsigned> instantiate(Scope &outer, const LayerExpr &call, const BlockDef &block,
                                  const std::string &name, unsigned input);
  // The single input of a block instance or sequence: an alias of the named source, or the
  // implicit input.
  FailureOr<unsigned> singleInput(Scope &scope, const LayerExpr &layer, const std::string &name,
                                  SMLoc nameLoc, std::optional<unsigned> implicitInput);
  LogicalResult resolve(Scope &scope);
  FailureOr<unsigned> lookup(Scope &scope, const SourceRef &ref);
  LogicalResult define(Scope &scope, const std::string &name, unsigned node, SMLoc loc);
  std::string autoName(Scope &scope, StringRef base);
  FailureOr<unsigned> addNode(Node node);
  void reportNoInput(SMLoc at, StringRef what);

  const Model &model;
  const BlockTable &blocks;
  const SourceLocator &locator;
  InstanceContext &instances;
  Graph &graph;
  std::vector<const BlockDef *> activeBlocks;
  size_t steps = 0;
};

void collectNames(const std::vector<Stmt> &body, llvm::StringSet<> &names) {
  for (const Stmt &stmt : body) {
    if ((stmt.kind == Stmt::Kind::Layer || stmt.kind == Stmt::Kind::Input) && !stmt.name.empty())
      names.insert(stmt.name);
    collectNames(stmt.thenBody, names);
    collectNames(stmt.elseBody, names);
  }
}

} // namespace

LogicalResult Elaborator::run() {
  instances.graph = &graph;
  if (llvm::none_of(model.body, [](const Stmt &s) { return s.kind == Stmt::Kind::Input; })) {
    SMLoc start = model.body.empty() ? SMLoc() : model.body.front().loc;
    locator.emitError(start) << "the model declares no input; declare one as in 'input data: "
                                "[N, 1, 28, 28]'";
    return failure();
  }
  ParameterMap noParams;
  Scope top;
  top.params = &noParams;
  collectNames(model.body, top.explicitNames);
  if (failed(expandBody(top, model.body)) || failed(resolve(top)))
    return failure();

  if (top.output) {
    for (const SourceRef &ref : top.output->outputs) {
      FailureOr<unsigned> node = lookup(top, ref);
      if (failed(node))
        return failure();
      graph.outputs.push_back({*node, ref.loc});
    }
  } else {
    graph.outputs.push_back({*top.last, graph.nodes[*top.last].loc});
  }
  graph.loss = model.loss;
  return success();
}

LogicalResult Elaborator::expandBody(Scope &scope, const std::vector<Stmt> &body) {
  for (const Stmt &stmt : body) {
    switch (stmt.kind) {
    case Stmt::Kind::Input:
      if (failed(expandInput(scope, stmt)))
        return failure();
      break;
    case Stmt::Kind::Layer: {
      const LayerExpr &layer = *stmt.layer;
      std::string local = stmt.name;
      if (local.empty())
        local = autoName(scope, layer.kind == LayerExpr::Kind::Sequence ? StringRef("sequential")
                                                                        : StringRef(layer.callee));
      FailureOr<unsigned> output =
          expandLayer(scope, layer, scope.prefix + local, stmt.nameLoc, scope.last);
      if (failed(output))
        return failure();
      if (!stmt.name.empty() && failed(define(scope, stmt.name, *output, stmt.nameLoc)))
        return failure();
      scope.last = *output;
      break;
    }
    case Stmt::Kind::If: {
      FailureOr<Constant> condition = evaluate(*stmt.condition, *scope.params, locator);
      if (failed(condition))
        return failure();
      if (condition->kind != Constant::Kind::Bool) {
        locator.emitError(stmt.condition->loc)
            << "the condition of 'if' must be a boolean, got " << condition->describe();
        return failure();
      }
      if (failed(expandBody(scope, condition->boolValue ? stmt.thenBody : stmt.elseBody)))
        return failure();
      break;
    }
    case Stmt::Kind::Output:
      if (scope.output) {
        mlir::InFlightDiagnostic diag = locator.emitError(stmt.loc);
        diag << "the output is declared twice";
        diag.attachNote(locator.location(scope.output->loc)) << "first declared here";
        return failure();
      }
      if (scope.instance >= 0 && stmt.outputs.size() != 1) {
        locator.emitError(stmt.outputs[1].loc)
            << "a block has one output, got " << stmt.outputs.size();
        return failure();
      }
      scope.output = &stmt;
      break;
    }
  }
  return success();
}

LogicalResult Elaborator::expandInput(Scope &scope, const Stmt &stmt) {
  Node node;
  node.kind = Node::Kind::Input;
  node.name = stmt.name;
  node.loc = node.kindLoc = stmt.nameLoc;
  for (const Dim &dim : stmt.dims) {
    if (!dim.symbol.empty()) {
      node.shape.push_back(kiln::shape::kDynamic);
      continue;
    }
    if (dim.size <= 0) {
      locator.emitError(dim.loc) << "dimension must be positive, got " << dim.size;
      return failure();
    }
    node.shape.push_back(dim.size);
  }
  if (static_cast<int64_t>(node.shape.size()) > kiln::shape::kMaxRank) {
    locator.emitError(stmt.shapeLoc) << "input '" << stmt.name << "' has " << node.shape.size()
                                     << " dimensions; a tensor has at most "
                                     << kiln::shape::kMaxRank;
    return failure();
  }
  if (!kiln::shape::checkedProduct(node.shape)) {
    locator.emitError(stmt.shapeLoc)
        << "the shape of input '" << stmt.name << "' has more elements than fit in 64 bits";
    return failure();
  }
  FailureOr<unsigned> id = addNode(std::move(node));
  if (failed(id) || failed(define(scope, stmt.name, *id, stmt.nameLoc)))
    return failure();
  graph.inputs.push_back(*id);
  scope.last = *id;
  return success();
}

FailureOr<unsigned> Elaborator::expandLayer(Scope &scope, const LayerExpr &layer,
                                            const std::string &name, SMLoc nameLoc,
                                            std::optional<unsigned> implicitInput) {
  if (++steps > kMaxExpansionSteps) {
    locator.emitError(layer.loc) << "the model expands to more than " << kMaxExpansionSteps
                                 << " layers";
    return failure();
  }
  if (layer.kind == LayerExpr::Kind::Call) {
    if (const LayerSpec *spec = lookupLayer(layer.callee))
      return expandBuiltin(scope, layer, *spec, name, nameLoc, implicitInput);
    FailureOr<unsigned> input = singleInput(scope, layer, name, nameLoc, implicitInput);
    if (failed(input))
      return failure();
    return instantiate(scope, layer, *blocks.lookup(layer.callee), name, *input);
  }

  FailureOr<unsigned> current = singleInput(scope, layer, name, nameLoc, implicitInput);
  if (failed(current))
    return failure();
  unsigned index = 0;
  for (const SequenceElement &element : layer.elements) {
    int64_t repeat = 1;
    if (element.repeat) {
      FailureOr<Constant> count = evaluate(*element.repeat, *scope.params, locator);
      if (failed(count))
        return failure();
      if (count->kind != Constant::Kind::Int || count->intValue <= 0) {
        locator.emitError(element.repeat->loc)
            << "the repeat count must be a positive integer, got " << count->describe();
        return failure();
      }
      repeat = count->intValue;
    }
    // Each repetition is at least one expansion step: a count beyond what is left of the budget
    // fails now, not after building (and then freeing) a hundred thousand layers.
    if (static_cast<uint64_t>(repeat) > kMaxExpansionSteps - std::min(steps, kMaxExpansionSteps)) {
      locator.emitError(element.repeat->loc)
          << "the model expands to more than " << kMaxExpansionSteps << " layers";
      return failure();
    }
    for (int64_t i = 0; i < repeat; ++i) {
      std::string elementName = name + "." + std::to_string(index++);
      current = expandLayer(scope, *element.layer, elementName, element.layer->loc, *current);
      if (failed(current))
        return failure();
    }
  }
  return current;
}

FailureOr<unsigned> Elaborator::expandBuiltin(Scope &scope, const LayerExpr &call,
                                              const LayerSpec &spec, const std::string &name,
                                              SMLoc nameLoc,
                                              std::optional<unsigned> implicitInput) {
  Node node;
  node.kind = Node::Kind::Layer;
  node.name = name;
  node.loc = nameLoc;
  node.kindLoc = call.loc;
  node.spec = &spec;
  node.instance = scope.instance;
  // The checker has matched arguments to attributes; evaluate and convert them.
  for (auto [index, arg] : llvm::enumerate(call.args)) {
    const AttrSpec *attr = arg.keyword.empty() ? &spec.attrs[index] : spec.findAttr(arg.keyword);
    FailureOr<Constant> value = evaluate(*arg.value, *scope.params, locator);
    if (failed(value))
      return failure();
    FailureOr<AttrValue> converted = convertAttribute(*value, *attr, spec, locator);
    if (failed(converted))
      return failure();
    node.attrs[attr->name] = std::move(*converted);
  }
  std::vector<const SourceRef *> sources;
  if (call.sources) {
    for (const SourceRef &ref : *call.sources)
      sources.push_back(&ref);
    node.inputs.assign(sources.size(), kUnresolved);
  } else {
    if (!implicitInput) {
      reportNoInput(call.loc, spec.kind);
      return failure();
    }
    node.inputs.push_back(*implicitInput);
  }
  FailureOr<unsigned> id = addNode(std::move(node));
  if (failed(id))
    return failure();
  for (auto [slot, ref] : llvm::enumerate(sources))
    scope.pending.push_back({*id, static_cast<unsigned>(slot), ref});
  return *id;
}

FailureOr<unsigned> Elaborator::singleInput(Scope &scope, const LayerExpr &layer,
                                            const std::string &name, SMLoc nameLoc,
                                            std::optional<unsigned> implicitInput) {
  if (!layer.sources) {
    if (!implicitInput) {
      reportNoInput(layer.loc, layer.kind == LayerExpr::Kind::Sequence ? StringRef("the sequence")
                                                                       : StringRef(layer.callee));
      return failure();
    }
    return *implicitInput;
  }
  Node alias;
  alias.kind = Node::Kind::Alias;
  alias.name = name;
  alias.loc = nameLoc;
  alias.kindLoc = layer.loc;
  alias.instance = scope.instance;
  alias.inputs.push_back(kUnresolved);
  FailureOr<unsigned> id = addNode(std::move(alias));
  if (failed(id))
    return failure();
  scope.pending.push_back({*id, 0, &layer.sources->front()});
  return *id;
}

FailureOr<unsigned> Elaborator::instantiate(Scope &outer, const LayerExpr &call,
                                            const BlockDef &block, const std::string &name,
                                            unsigned input) {
  auto active = llvm::find(activeBlocks, &block);
  if (active != activeBlocks.end()) {
    mlir::InFlightDiagnostic diag = locator.emitError(call.loc);
    diag << "block '" << block.name << "' instantiates itself: ";
    for (; active != activeBlocks.end(); ++active)
      diag << (*active)->name << " -> ";
    diag << block.name;
    return failure();
  }
  if (activeBlocks.size() >= kMaxBlockDepth) {
    locator.emitError(call.loc) << "blocks nest more than " << kMaxBlockDepth
                                << " deep here (instantiating '" << block.name << "' inside '"
                                << activeBlocks.front()->name << "' -> ... -> '"
                                << activeBlocks.back()->name << "')";
    return failure();
  }
  // Arguments are evaluated in the caller's scope; defaults on their own.
  ParameterMap params;
  ParameterMap noParams;
  for (auto [index, arg] : llvm::enumerate(call.args)) {
    FailureOr<Constant> value = evaluate(*arg.value, *outer.params, locator);
    if (failed(value))
      return failure();
    StringRef param =
        arg.keyword.empty() ? StringRef(block.params[index].name) : StringRef(arg.keyword);
    params[param] = std::move(*value);
  }
  for (const BlockParam &param : block.params) {
    if (params.count(param.name))
      continue;
    FailureOr<Constant> value = evaluate(*param.defaultValue, noParams, locator);
    if (failed(value))
      return failure();
    params[param.name] = std::move(*value);
  }

  graph.instances.push_back({name, block.name, call.loc, outer.instance});
  Scope scope;
  scope.prefix = name + ".";
  scope.params = &params;
  scope.blockInput = input;
  scope.last = input;
  scope.instance = static_cast<int>(graph.instances.size()) - 1;
  collectNames(block.body, scope.explicitNames);

  activeBlocks.push_back(&block);
  int savedInstance = instances.current;
  instances.current = scope.instance;
  LogicalResult expanded =
      success(succeeded(expandBody(scope, block.body)) && succeeded(resolve(scope)));
  FailureOr<unsigned> output = *scope.last;
  if (succeeded(expanded) && scope.output)
    output = lookup(scope, scope.output->outputs.front());
  instances.current = savedInstance;
  activeBlocks.pop_back();
  if (failed(expanded))
    return failure();
  return output;
}

LogicalResult Elaborator::resolve(Scope &scope) {
  for (const Scope::Pending &pending : scope.pending) {
    FailureOr<unsigned> node = lookup(scope, *pending.ref);
    if (failed(node))
      return failure();
    graph.nodes[pending.node].inputs[pending.slot] = *node;
  }
  scope.pending.clear();
  return success();
}

FailureOr<unsigned> Elaborator::lookup(Scope &scope, const SourceRef &ref) {
  if (ref.isBlockInput)
    return *scope.blockInput; // the parser allows `in` only inside blocks
  auto it = scope.names.find(ref.name);
  if (it != scope.names.end())
    return it->second.first;
  std::vector<StringRef> candidates;
  for (const auto &entry : scope.names)
    candidates.push_back(entry.getKey());
  llvm::sort(candidates);
  locator.emitError(ref.loc) << "undefined name '" << ref.name << "'"
                             << suggestClosest(ref.name, candidates);
  return failure();
}

LogicalResult Elaborator::define(Scope &scope, const std::string &name, unsigned node, SMLoc loc) {
  auto [it, inserted] = scope.names.try_emplace(name, node, loc);
  if (inserted)
    return success();
  mlir::InFlightDiagnostic diag = locator.emitError(loc);
  diag << "duplicate name '" << name << "'";
  diag.attachNote(locator.location(it->second.second)) << "previously defined here";
  return failure();
}

// Anonymous layers are named like Gluon's: the lower-cased kind and a counter per body (relu0,
// conv2d1), skipping names the body defines itself.
std::string Elaborator::autoName(Scope &scope, StringRef base) {
  std::string lower = base.lower();
  unsigned &counter = scope.autoNameCounters[lower];
  while (true) {
    std::string candidate = lower + std::to_string(counter++);
    if (!scope.explicitNames.contains(candidate) && !scope.names.count(candidate))
      return candidate;
  }
}

FailureOr<unsigned> Elaborator::addNode(Node node) {
  graph.nodes.push_back(std::move(node));
  return static_cast<unsigned>(graph.nodes.size() - 1);
}

void Elaborator::reportNoInput(SMLoc at, StringRef what) {
  locator.emitError(at) << what
                        << " has no input: no statement comes before it; declare the "
                           "model's input first, as in 'input data: [N, 1, 28, 28]'";
}

LogicalResult kiln::elaborate(const Model &model, const BlockTable &blocks,
                              const SourceLocator &locator, InstanceContext &instances,
                              Graph &graph) {
  return Elaborator(model, blocks, locator, instances, graph).run();
}
