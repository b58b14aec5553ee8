// kiln-plan-buffers: each kernel result's buffer (slot), shared by liveness; derived kernels.
#include "passes/KernelFusion.h"
#include "passes/Passes.h"

#include "mlir/IR/Builders.h"
#include "llvm/ADT/DenseMap.h"

namespace kiln {
#define GEN_PASS_DEF_PLANBUFFERS
#include "passes/Passes.h.inc"
} // namespace kiln

using namespace mlir;
namespace nn = kiln::nn;
using kiln::kernel::FusedOp;

namespace {

struct Slot {
  bool batched = false;
  int64_t elements = 0;
};

// Elements per sample of a result (its static extents), and whether the batch scales it.
std::pair<int64_t, bool> perSample(Value value) {
  auto type = cast<RankedTensorType>(value.getType());
  int64_t elements = 1;
  for (int64_t extent : type.getShape())
    if (!ShapedType::isDynamic(extent))
      elements *= extent;
  return {elements, type.getRank() > 0 && type.isDynamicDim(0)};
}

class Planner {
public:
  Planner(func::FuncOp fn, bool share) : fn(fn), share(share) {}

  void run() {
    bool updatesState = fn->hasAttr("kiln.state_updates");
    llvm::DenseSet<Value> returned;
    fn.walk([&](func::ReturnOp ret) {
      for (Value v : ret.getOperands())
        returned.insert(v);
    });
    // Derived kernels, and each buffered value's root (itself, or a view's source).
    std::vector<Operation *> order;
    for (Operation &op : fn.getBody().front()) {
      if (auto kernel = dyn_cast<FusedOp>(op)) {
        bool derived = !updatesState && kernel->getNumOperands() > 0 &&
                       !returned.contains(kernel->getResult(0)) &&
                       llvm::all_of(kernel->getOperands(), [&](Value v) {
                         return v.getDefiningOp<nn::ParameterOp>() || derivedValues.contains(v);
                       });
        kernel->removeAttr("kiln.derived");
        if (derived) {
          kernel->setAttr("kiln.derived", UnitAttr::get(fn.getContext()));
          derivedValues.insert(kernel->getResult(0));
          continue;
        }
        order.push_back(kernel);
        for (Value result : kernel->getResults())
          if (!returned.contains(result))
            root[result] = result;
      } else if (nn::isView(&op) && root.count(op.getOperand(0))) {
        root[op.getResult(0)] = root[op.getOperand(0)];
        view.push_back(&op);
      }
    }
    // The last kernel that reads each root, through views too.
    llvm::DenseMap<Value, size_t> lastUse;
    for (auto [k, op] : llvm::enumerate(order))
      for (Value operand : op->getOperands())
        if (root.count(operand))
          lastUse[root[operand]] = k;
    std::vector<unsigned> freeSlots;
    for (auto [k, op] : llvm::enumerate(order)) {
      for (Value result : op->getResults()) {
        if (!root.count(result))
          continue;
        slotOf[result] = assign(result, freeSlots);
        if (!lastUse.count(result)) // never read: free at once
          lastUse[result] = k;
      }
      SmallVector<Value> released;
      for (Value operand : op->getOperands())
        if (root.count(operand) && lastUse[root[operand]] == k)
          released.push_back(root[operand]);
      for (Value result : op->getResults())
        if (root.count(result) && lastUse[result] == k)
          released.push_back(result);
      for (Value value : released)
        if (!llvm::is_contained(freeSlots, slotOf[value]))
          freeSlots.push_back(slotOf[value]);
    }
    write(order);
    chooseChunk(order, updatesState);
  }

private:
  // Best fit among free slots of the same kind, else the largest free one grows, else a new one.
  unsigned assign(Value value, std::vector<unsigned> &freeSlots) {
    auto [elements, batched] = perSample(value);
    int best = -1;
    if (share)
      for (auto [i, slot] : llvm::enumerate(freeSlots)) {
        const Slot &candidate = slots[slot];
        if (candidate.batched != batched)
          continue;
        if (best < 0) {
          best = static_cast<int>(i);
          continue;
        }
        const Slot &current = slots[freeSlots[best]];
        bool fits = candidate.elements >= elements, currentFits = current.elements >= elements;
        if ((fits && (!currentFits || candidate.elements < current.elements)) ||
            (!fits && !currentFits && candidate.elements > current.elements))
          best = static_cast<int>(i);
      }
    if (best < 0) {
      slots.push_back({batched, elements});
      return static_cast<unsigned>(slots.size() - 1);
    }
    unsigned slot = freeSlots[best];
    freeSlots.erase(freeSlots.begin() + best);
    slots[slot].elements = std::max(slots[slot].elements, elements);
    return slot;
  }

  void write(const std::vector<Operation *> &order) {
    Builder b(fn.getContext());
    for (Operation *op : order) {
      op->removeAttr("kiln.slot");
      if (slotOf.count(op->getResult(0)))
        op->setAttr("kiln.slot", b.getI64IntegerAttr(slotOf[op->getResult(0)]));
    }
    for (Operation *op : view)
      op->setAttr("kiln.slot", b.getI64IntegerAttr(slotOf[root[op->getOperand(0)]]));
    SmallVector<int64_t> elements, batched;
    for (const Slot &slot : slots) {
      elements.push_back(slot.elements);
      batched.push_back(slot.batched ? 1 : 0);
    }
    fn->setAttr("kiln.slot_elements", b.getDenseI64ArrayAttr(elements));
    fn->setAttr("kiln.slot_batched", b.getDenseI64ArrayAttr(batched));
  }

  // kiln.chunk: on CPUs, an inference function whose ops all compute each sample alone runs its
  // batch in chunks whose activations fit in kChunkBytes (LeNet at batch 256 went from 23k to
  // 28k images/s with 4 MiB, the L2 caches of 2-core EPYCs), but of at least kMinChunk samples:
  // a layer's weights are then read once for that many images (ResNet-18's last stage holds
  // 9.4 MB of weights, more than the caches). A multiple of 8 where possible.
  void chooseChunk(const std::vector<Operation *> &order, bool updatesState) {
    fn->removeAttr("kiln.chunk");
    bool batched = llvm::any_of(fn.getArgumentTypes(), [](Type t) {
      auto tensor = dyn_cast<RankedTensorType>(t);
      return tensor && tensor.getRank() > 0 && tensor.isDynamicDim(0);
    });
    if (!share || updatesState || !batched)
      return;
    for (Operation *op : order) {
      WalkResult walk = cast<FusedOp>(op).getBody().walk([](Operation *inner) {
        return isa<kiln::kernel::YieldOp>(inner) || nn::isSampleIndependent(inner)
                   ? WalkResult::advance()
                   : WalkResult::interrupt();
      });
      if (walk.wasInterrupted())
        return;
    }
    int64_t bytesPerSample = 0;
    for (const Slot &slot : slots)
      if (slot.batched)
        bytesPerSample += 4 * slot.elements;
    if (bytesPerSample == 0)
      return;
    constexpr int64_t kChunkBytes = int64_t(4) << 20, kMinChunk = 8;
    int64_t chunk = std::max(kChunkBytes / bytesPerSample, kMinChunk);
    chunk = chunk / 8 * 8;
    fn->setAttr("kiln.chunk", Builder(fn.getContext()).getI64IntegerAttr(chunk));
  }

  func::FuncOp fn;
  bool share;
  llvm::DenseSet<Value> derivedValues;
  llvm::DenseMap<Value, Value> root;
  llvm::DenseMap<Value, unsigned> slotOf;
  std::vector<Operation *> view;
  std::vector<Slot> slots;
};

struct PlanBuffersPass : kiln::impl::PlanBuffersBase<PlanBuffersPass> {
  using PlanBuffersBase::PlanBuffersBase;

  void runOnOperation() override {
    getOperation().walk([&](func::FuncOp fn) {
      bool hasKernels = false;
      fn.walk([&](FusedOp) { hasKernels = true; });
      if (hasKernels && !fn.isExternal())
        Planner(fn, share).run();
    });
  }
};

} // namespace
