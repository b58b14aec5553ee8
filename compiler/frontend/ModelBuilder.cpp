// The last step of the .kiln frontend and its entry point: the elaborated graph becomes
// func @forward (ops built in dependency order, each shape inferred as it is built, cycles
// reported) and, when a loss is declared, func @loss.
#include "frontend/KilnParser.h"

#include "frontend/Elaborator.h"
#include "frontend/LayerBuilders.h"
#include "frontend/Parser.h"
#include "kiln/Dialect/NN/NNDialect.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Verifier.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/Path.h"

using namespace kiln;
using namespace mlir;

void InstanceContext::attachNotes(Diagnostic &diag, const SourceLocator &locator) const {
  for (int i = current; graph && i >= 0; i = graph->instances[i].parent) {
    const Instance &instance = graph->instances[i];
    diag.attachNote(locator.location(instance.loc))
        << "in '" << instance.name << "', an instance of block '" << instance.block << "'";
  }
}

namespace {

class ModelBuilder {
public:
  ModelBuilder(const Graph &graph, const SourceLocator &locator, InstanceContext &instances)
      : graph(graph), locator(locator), instances(instances), builder(locator.getContext()) {}

  OwningOpRef<ModuleOp> build(StringRef moduleName);

private:
  LogicalResult buildForward(func::FuncOp forward);
  LogicalResult buildNode(unsigned id, std::vector<Value> &values);
  LogicalResult buildLoss(func::FuncOp forward);
  LogicalResult reportCycle(ArrayRef<std::pair<unsigned, unsigned>> stack, unsigned repeated);
  Location nameLoc(StringRef name, llvm::SMLoc at) {
    return NameLoc::get(builder.getStringAttr(name), locator.location(at));
  }

  const Graph &graph;
  const SourceLocator &locator;
  InstanceContext &instances;
  OpBuilder builder;
};

} // namespace

OwningOpRef<ModuleOp> ModelBuilder::build(StringRef moduleName) {
  MLIRContext *context = locator.getContext();
  Location fileLoc = FileLineColLoc::get(context, locator.getFilename(), 1, 1);
  OwningOpRef<ModuleOp> module = ModuleOp::create(fileLoc, moduleName);
  builder.setInsertionPointToEnd(module->getBody());

  SmallVector<Type> inputTypes;
  for (unsigned id : graph.inputs)
    inputTypes.push_back(RankedTensorType::get(graph.nodes[id].shape, builder.getF32Type()));
  auto forward =
      builder.create<func::FuncOp>(fileLoc, "forward", builder.getFunctionType(inputTypes, {}));
  if (failed(buildForward(forward)))
    return nullptr;
  if (graph.loss) {
    builder.setInsertionPointToEnd(module->getBody());
    if (failed(buildLoss(forward)))
      return nullptr;
  }
  if (failed(mlir::verify(*module)))
    return nullptr;
  return module;
}

// Builds every node after its inputs (an iterative depth-first walk, so a deep network cannot
// overflow the stack); an input still on the walk's stack closes a cycle.
LogicalResult ModelBuilder::buildForward(func::FuncOp forward) {
  Block *entry = forward.addEntryBlock();
  for (auto [index, id] : llvm::enumerate(graph.inputs))
    entry->getArgument(index).setLoc(nameLoc(graph.nodes[id].name, graph.nodes[id].loc));
  builder.setInsertionPointToStart(entry);

  enum : uint8_t { Unvisited, OnStack, Built };
  std::vector<uint8_t> state(graph.nodes.size(), Unvisited);
  std::vector<Value> values(graph.nodes.size());
  for (auto [index, id] : llvm::enumerate(graph.inputs)) {
    values[id] = entry->getArgument(index);
    state[id] = Built;
  }
  // (node, index of the next input to visit)
  std::vector<std::pair<unsigned, unsigned>> stack;
  for (unsigned root = 0; root < graph.nodes.size(); ++root) {
    if (state[root] != Unvisited)
      continue;
    stack.push_back({root, 0});
    state[root] = OnStack;
    while (!stack.empty()) {
      unsigned id = stack.back().first;
      const std::vector<unsigned> &inputs = graph.nodes[id].inputs;
      if (stack.back().second < inputs.size()) {
        unsigned input = inputs[stack.back().second++];
        if (state[input] == OnStack)
          return reportCycle(stack, input);
        if (state[input] == Unvisited) {
          state[input] = OnStack;
          stack.push_back({input, 0});
        }
        continue;
      }
      if (failed(buildNode(id, values)))
        return failure();
      state[id] = Built;
      stack.pop_back();
    }
  }

  SmallVector<Value> results;
  for (auto [id, loc] : graph.outputs)
    results.push_back(values[id]);
  builder.create<func::ReturnOp>(forward.getLoc(), results);
  forward.setFunctionType(
      builder.getFunctionType(forward.getArgumentTypes(), ValueRange(results).getTypes()));
  return success();
}

LogicalResult ModelBuilder::buildNode(unsigned id, std::vector<Value> &values) {
  const Node &node = graph.nodes[id];
  if (node.kind == Node::Kind::Alias) {
    values[id] = values[node.inputs.front()];
    return success();
  }
  SmallVector<Value> inputs;
  for (unsigned input : node.inputs)
    inputs.push_back(values[input]);
  LayerBuildContext context{builder, locator, node, inputs, nameLoc(node.name, node.loc)};
  instances.current = node.instance;
  FailureOr<Value> result = node.spec->build(context);
  instances.current = -1;
  if (failed(result))
    return failure();
  values[id] = *result;
  return success();
}

// Reports the cycle closed by `repeated` in data-flow order: "a -> b -> a" when a feeds b and b
// feeds a. Aliases (a block's or sequence's input) are not layers and are left out.
LogicalResult ModelBuilder::reportCycle(ArrayRef<std::pair<unsigned, unsigned>> stack,
                                        unsigned repeated) {
  size_t start = 0;
  while (stack[start].first != repeated)
    ++start;
  // stack[k + 1] is an input of stack[k]: data flows from the top of the stack down to start.
  SmallVector<const Node *> cycle{&graph.nodes[repeated]};
  for (size_t k = stack.size() - 1; k > start; --k)
    cycle.push_back(&graph.nodes[stack[k].first]);
  SmallVector<const Node *> layers;
  for (const Node *node : cycle)
    if (node->kind != Node::Kind::Alias)
      layers.push_back(node);
  if (layers.empty()) // only a block that outputs its own input, fed by itself
    layers = cycle;
  std::string text;
  for (const Node *node : layers)
    text += node->name + " -> ";
  text += layers.front()->name;
  const Node *first = layers.front();
  instances.current = first->instance;
  locator.emitError(first->loc) << "the layers form a cycle: " << text;
  instances.current = -1;
  return failure();
}

// func @loss(inputs..., labels) = softmax cross-entropy of @forward's (first) output.
LogicalResult ModelBuilder::buildLoss(func::FuncOp forward) {
  Location loc = nameLoc("loss", graph.loss->loc);
  SmallVector<Type> argTypes(forward.getArgumentTypes());
  Type logitsType = forward.getResultTypes().front();
  int64_t batch = ShapedType::kDynamic;
  if (auto ranked = dyn_cast<RankedTensorType>(logitsType); ranked && ranked.getRank() > 0)
    batch = ranked.getDimSize(0);
  argTypes.push_back(RankedTensorType::get({batch}, builder.getI64Type()));
  auto lossType = RankedTensorType::get({}, builder.getF32Type());
  auto lossFunc =
      builder.create<func::FuncOp>(loc, "loss", builder.getFunctionType(argTypes, {lossType}));
  Block *entry = lossFunc.addEntryBlock();
  for (unsigned i = 0; i < forward.getNumArguments(); ++i)
    entry->getArgument(i).setLoc(forward.getArgument(i).getLoc());
  entry->getArguments().back().setLoc(nameLoc("labels", graph.loss->loc));
  builder.setInsertionPointToStart(entry);
  auto call = builder.create<func::CallOp>(loc, forward, entry->getArguments().drop_back());
  auto loss =
      builder.create<nn::SoftmaxCrossEntropyOp>(loc, UnrankedTensorType::get(builder.getF32Type()),
                                                call.getResult(0), entry->getArguments().back());
  if (failed(nn::refineResultType(loss)))
    return failure();
  builder.create<func::ReturnOp>(loc, loss.getResult());
  return success();
}

std::string kiln::modelNameForFile(StringRef filename) {
  std::string name = llvm::sys::path::stem(filename).str();
  for (char &c : name)
    if (!llvm::isAlnum(c) && c != '_')
      c = '_';
  if (name.empty() || llvm::isDigit(name.front()))
    name = "model_" + name;
  return name;
}

OwningOpRef<ModuleOp> kiln::parseKilnModel(llvm::SourceMgr &sourceMgr, MLIRContext *context) {
  context->loadDialect<nn::NNDialect, func::FuncDialect>();
  SourceLocator locator(sourceMgr, context);
  Graph graph;
  InstanceContext instances;
  instances.graph = &graph;
  // Errors raised inside a block instance (ours or the nn dialect's shape errors) get notes
  // naming the instance chain, then go on to the caller's handler.
  ScopedDiagnosticHandler instanceNotes(context, [&](Diagnostic &diag) {
    if (diag.getSeverity() == DiagnosticSeverity::Error)
      instances.attachNotes(diag, locator);
    return failure();
  });

  ast::Model model;
  BlockTable blocks;
  if (failed(parseModelSyntax(sourceMgr, locator, model)) ||
      failed(checkModel(model, locator, blocks)) ||
      failed(elaborate(model, blocks, locator, instances, graph)))
    return nullptr;
  // The nn dialect's shape errors speak of the layer; the op's generic form ("see current
  // operation") would only confuse a .kiln reader.
  bool printOp = context->shouldPrintOpOnDiagnostic();
  context->printOpOnDiagnostic(false);
  OwningOpRef<ModuleOp> module =
      ModelBuilder(graph, locator, instances).build(modelNameForFile(locator.getFilename()));
  context->printOpOnDiagnostic(printOp);
  return module;
}
