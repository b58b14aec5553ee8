// kiln-choose-layouts: convolution chains channels-innermost on CPUs, NCHW at the boundaries.
#include "passes/KernelFusion.h"
#include "passes/Passes.h"

#include "mlir/IR/Builders.h"
#include "llvm/ADT/DenseSet.h"

namespace kiln {
#define GEN_PASS_DEF_CHOOSELAYOUTS
#include "passes/Passes.h.inc"
} // namespace kiln

using namespace mlir;
namespace nn = kiln::nn;
using kiln::kernel::FusedOp;
using kiln::kernel::ScheduleAttr;

namespace {

// NCHW data stored as NHWC; an OIHW weight stored with the output channels innermost.
constexpr int64_t kChannelsLast[] = {0, 2, 3, 1};
constexpr int64_t kWeightOutputInner[] = {2, 3, 1, 0};
// A dense layer's [M, K] weight stored K-major, the outputs innermost.
constexpr int64_t kDenseOutputInner[] = {1, 0};

ScheduleAttr withLayouts(ScheduleAttr s, ArrayRef<int64_t> layout,
                         ArrayRef<DenseI64ArrayAttr> inputs) {
  return ScheduleAttr::get(s.getContext(), s.getVectorWidth(), s.getTile(), layout, inputs,
                           s.getOrder());
}

// Every op of the kernel computes channels-innermost data at full speed.
bool handlesChannelsLast(FusedOp kernel) {
  return llvm::all_of(kiln::bodyOps(kernel), nn::handlesChannelsLast);
}

// Every reader of the kernel's result is such a kernel, reading it as an activation (not as a
// convolution's weight), and nothing returns or views it.
bool readersTakeChannelsLast(FusedOp kernel) {
  for (OpOperand &use : kernel->getResult(0).getUses()) {
    auto reader = dyn_cast<FusedOp>(use.getOwner());
    if (!reader || !handlesChannelsLast(reader))
      return false;
    Value arg = reader.getBody().getArgument(use.getOperandNumber());
    for (OpOperand &inner : arg.getUses())
      if (isa<nn::ConvOp>(inner.getOwner()) && inner.getOperandNumber() != 0)
        return false;
  }
  return !kernel->getResult(0).use_empty();
}

// The vector width a 2-D convolution anchoring the kernel computes its output channels with,
// innermost (0: it keeps the NCHW schedule, vectors of x positions). Channels that fill the
// target's vectors take them. A layer whose rows fill whole x vectors and whose channels do not
// fill the target's vectors keeps NCHW: the lecture's conv (100 channels, 64 wide) ran at 104%
// of the FMA peak that way, 80% with channels padded to 112 (Zen 4). Other channels that do not
// fill the vectors (LeNet's 20 and 50) are padded to whole vectors of the width that does the
// most useful work per cycle:
//  - where the widest FMAs run at the rate of half-width ones (`splitWideFma`: Zen 4 executes a
//    512-bit FMA as two 256-bit halves), 8-lane vectors with at least 80% of their lanes useful
//    (20 and 50 channels: 3 and 7 vectors, 83% and 89%);
//  - elsewhere (Intel's AVX-512, Zen 5) a 16-lane FMA does twice the work of an 8-lane one, so
//    the target's vectors, padded, when at least half their lanes are useful (20 and 50
//    channels: 2 and 4 vectors, 62% and 78% useful, worth 1.25 and 1.56 8-lane vectors): LeNet
//    at batch 64 went from 2.44 to 2.07 ms, conv2 at batch 1 on one thread 45 to 34 us (Xeon
//    model 167, kiln-bench --profile).
int64_t channelsInnerWidth(FusedOp kernel, bool splitWideFma) {
  auto conv = dyn_cast_or_null<nn::ConvOp>(kiln::anchorOf(kernel));
  if (!conv || conv.getGroups() != 1)
    return 0;
  auto type = cast<RankedTensorType>(conv.getType());
  if (type.getRank() != 4)
    return 0;
  int64_t target = kernel.getSchedule().getVectorWidth();
  int64_t channels = type.getDimSize(1), width = type.getShape().back();
  if (channels % target == 0)
    return target;
  if (width % target == 0 && width >= 4 * target)
    return 0;
  auto useful = [&](int64_t lanes) { // the fraction of padded lanes that hold channels
    int64_t padded = (channels + lanes - 1) / lanes * lanes;
    return static_cast<double>(channels) / static_cast<double>(padded);
  };
  if (!splitWideFma && target > 8 && channels >= target && useful(target) >= 0.5)
    return target;
  if (target >= 8 && channels >= 8 && useful(8) >= 0.8)
    return 8;
  return 0;
}

ArrayRef<int64_t> layoutOf(Value value) {
  if (auto producer = value.getDefiningOp<FusedOp>())
    return producer.getSchedule().getLayout();
  return {};
}

// The anchor's weight operand (a kernel input) read in `layout`: the prepare kernel that
// computes it writes it so, or a relayout kernel is inserted for a parameter.
void relayoutWeight(FusedOp kernel, Value weightArg, ArrayRef<int64_t> layout,
                    OpBuilder &builder) {
  auto arg = dyn_cast<BlockArgument>(weightArg);
  if (!arg || arg.getOwner()->getParentOp() != kernel)
    return;
  Value weight = kernel->getOperand(arg.getArgNumber());
  if (auto producer = weight.getDefiningOp<FusedOp>()) {
    if (producer->getResult(0).hasOneUse() && producer.getSchedule().getLayout().empty())
      producer.setScheduleAttr(
          withLayouts(producer.getSchedule(), layout, producer.getSchedule().getInputLayouts()));
    return;
  }
  builder.setInsertionPoint(kernel);
  ScheduleAttr schedule = ScheduleAttr::get(builder.getContext(),
                                            kernel.getSchedule().getVectorWidth(), {}, layout,
                                            {}, "");
  auto relayout = builder.create<FusedOp>(
      weight.getLoc(), TypeRange{weight.getType()},
      builder.getStringAttr(kernel.getName().str() + "_weight"), ValueRange{weight},
      builder.getArrayAttr({}), schedule);
  Block *body = builder.createBlock(&relayout.getBody());
  Value copied = body->addArgument(weight.getType(), weight.getLoc());
  builder.setInsertionPointToStart(body);
  builder.create<kiln::kernel::YieldOp>(weight.getLoc(), copied);
  kernel->setOperand(arg.getArgNumber(), relayout->getResult(0));
}

ScheduleAttr withVectorWidth(ScheduleAttr s, int64_t width) {
  return ScheduleAttr::get(s.getContext(), width, s.getTile(), s.getLayout(), s.getInputLayouts(),
                           s.getOrder());
}

struct ChooseLayoutsPass : kiln::impl::ChooseLayoutsBase<ChooseLayoutsPass> {
  using ChooseLayoutsBase::ChooseLayoutsBase;

  void runOnOperation() override {
    if (gpu)
      return;
    OpBuilder builder(&getContext());
    // Inference functions only: a training step (kiln.state_updates) reads its forward pass's
    // results in its gradient kernels, which compute NCHW, and would relay out its weights at
    // every step.
    SmallVector<FusedOp> kernels;
    getOperation().walk([&](FusedOp kernel) {
      if (!kernel->getParentOfType<func::FuncOp>()->hasAttr("kiln.state_updates"))
        kernels.push_back(kernel);
    });
    // Anchors: convolutions that compute channels innermost read their weight output-channels-
    // innermost ([2, 3, 1, 0]); dense layers read theirs output-innermost ([1, 0]: a vector of
    // outputs per input feature).
    llvm::DenseSet<Operation *> channelsInner;
    for (FusedOp kernel : kernels) {
      Operation *anchor = kiln::anchorOf(kernel);
      if (int64_t width = channelsInnerWidth(kernel, splitWideFma)) {
        channelsInner.insert(kernel);
        kernel.setScheduleAttr(withVectorWidth(kernel.getSchedule(), width));
        relayoutWeight(kernel, cast<nn::ConvOp>(anchor).getWeight(), kWeightOutputInner, builder);
      } else if (auto dense = dyn_cast_or_null<nn::DenseOp>(anchor);
                 dense && cast<RankedTensorType>(dense.getType()).getDimSize(1) >= 8) {
        relayoutWeight(kernel, dense.getWeight(), kDenseOutputInner, builder);
      }
    }
    // Results stored channels innermost: a channels-inner conv's (fused pooling included) when
    // every reader handles that layout; poolings and elementwise kernels continue their first
    // operand's. Producers come before readers: one pass in program order decides them all.
    for (FusedOp kernel : kernels) {
      if (kernel->getNumResults() != 1 || !readersTakeChannelsLast(kernel))
        continue;
      bool channelsLast = false;
      if (channelsInner.contains(kernel)) {
        channelsLast = true;
      } else if (handlesChannelsLast(kernel) && !kiln::anchorOf(kernel) &&
                 kernel->getNumOperands() > 0) {
        channelsLast = layoutOf(kernel->getOperand(0)) == ArrayRef<int64_t>(kChannelsLast) &&
                       cast<RankedTensorType>(kernel->getResult(0).getType()).getRank() == 4;
      }
      if (channelsLast)
        kernel.setScheduleAttr(
            withLayouts(kernel.getSchedule(), kChannelsLast, kernel.getSchedule().getInputLayouts()));
    }
    // Every kernel reads its operands as their producers wrote them.
    getOperation().walk([&](FusedOp kernel) {
      SmallVector<DenseI64ArrayAttr> inputs;
      bool any = false;
      for (Value operand : kernel->getOperands()) {
        ArrayRef<int64_t> layout = layoutOf(operand);
        any |= !layout.empty();
        inputs.push_back(DenseI64ArrayAttr::get(&getContext(), layout));
      }
      if (any)
        kernel.setScheduleAttr(withLayouts(kernel.getSchedule(), kernel.getSchedule().getLayout(), inputs));
    });
  }
};

} // namespace
