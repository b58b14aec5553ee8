// Merging kernel.fused regions: what every fusion pass does once it has chosen a pair.
#include "passes/KernelFusion.h"

#include "kiln/Dialect/NN/NNDialect.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/IRMapping.h"

using namespace mlir;

namespace kiln {

std::vector<std::string> layerNames(Location loc) {
  std::vector<std::string> names;
  if (auto named = dyn_cast<NameLoc>(loc)) {
    names.push_back(named.getName().str());
  } else if (auto fused = dyn_cast<FusedLoc>(loc)) {
    for (Location inner : fused.getLocations())
      for (std::string &name : layerNames(inner))
        names.push_back(std::move(name));
  } else if (auto callSite = dyn_cast<CallSiteLoc>(loc)) {
    names = layerNames(callSite.getCallee());
  }
  return names;
}

std::vector<Operation *> bodyOps(kernel::FusedOp kernel) {
  std::vector<Operation *> ops;
  for (Operation &op : kernel.getBody().front().without_terminator())
    ops.push_back(&op);
  return ops;
}

Operation *anchorOf(kernel::FusedOp kernel) {
  for (Operation *op : bodyOps(kernel))
    if (nn::isFusionAnchor(op))
      return op;
  return nullptr;
}

kernel::FusedOp soleConsumer(kernel::FusedOp kernel) {
  if (kernel->getNumResults() != 1 || kernel->getResult(0).use_empty())
    return nullptr;
  Operation *user = *kernel->getResult(0).getUsers().begin();
  for (Operation *other : kernel->getResult(0).getUsers())
    if (other != user)
      return nullptr;
  return dyn_cast<kernel::FusedOp>(user);
}

kernel::FusedOp mergeKernels(kernel::FusedOp producer, kernel::FusedOp consumer) {
  Value produced = producer->getResult(0);
  SmallVector<Value> inputs(producer.getInputs().begin(), producer.getInputs().end());
  for (Value input : consumer.getInputs())
    if (input != produced && !llvm::is_contained(inputs, input))
      inputs.push_back(input);

  SmallVector<Attribute> layers(producer.getLayers().begin(), producer.getLayers().end());
  layers.append(consumer.getLayers().begin(), consumer.getLayers().end());

  OpBuilder builder(consumer);
  Location loc = builder.getFusedLoc({producer.getLoc(), consumer.getLoc()});
  auto merged = builder.create<kernel::FusedOp>(
      loc, consumer->getResultTypes(), producer.getNameAttr(), inputs,
      builder.getArrayAttr(layers), producer.getSchedule());
  Block *body = builder.createBlock(&merged.getBody());
  llvm::DenseMap<Value, Value> argumentOf;
  for (Value input : inputs)
    argumentOf[input] = body->addArgument(input.getType(), input.getLoc());

  builder.setInsertionPointToStart(body);
  IRMapping mapping;
  for (auto [arg, input] : llvm::zip(producer.getBody().getArguments(), producer.getInputs()))
    mapping.map(arg, argumentOf[input]);
  for (Operation *op : bodyOps(producer))
    builder.clone(*op, mapping);
  auto producerYield = cast<kernel::YieldOp>(producer.getBody().front().getTerminator());
  Value inner = mapping.lookup(producerYield.getValues()[0]);

  for (auto [arg, input] : llvm::zip(consumer.getBody().getArguments(), consumer.getInputs()))
    mapping.map(arg, input == produced ? inner : argumentOf[input]);
  for (Operation *op : bodyOps(consumer))
    builder.clone(*op, mapping);
  auto consumerYield = cast<kernel::YieldOp>(consumer.getBody().front().getTerminator());
  SmallVector<Value> results;
  for (Value value : consumerYield.getValues())
    results.push_back(mapping.lookup(value));
  builder.create<kernel::YieldOp>(consumerYield.getLoc(), results);

  consumer->replaceAllUsesWith(merged->getResults());
  consumer->erase();
  producer->erase();
  return merged;
}

} // namespace kiln
