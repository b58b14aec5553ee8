// kiln-choose-layouts: convolution chains channels-innermost on CPUs, NCHW at the boundaries.
#include "passes/KernelFusion.h"
#include "passes/Passes.h"

#include "mlir/IR/Builders.h"

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

ScheduleAttr withLayouts(ScheduleAttr s, ArrayRef<int64_t> layout,
                         ArrayRef<DenseI64ArrayAttr> inputs) {
  return ScheduleAttr::get(s.getContext(), s.getVectorWidth(), s.getTile(), layout, inputs);
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

// A 2-D convolution anchoring the kernel, with groups = 1 and output channels in whole vectors.
nn::ConvOp channelsLastConv(FusedOp kernel) {
  auto conv = dyn_cast_or_null<nn::ConvOp>(kiln::anchorOf(kernel));
  // A fused pooling keeps the NCHW schedule (LeNet's layers are narrower than the vectors).
  if (!conv || conv.getGroups() != 1 || llvm::any_of(kiln::bodyOps(kernel), nn::isPooling))
    return nullptr;
  auto type = cast<RankedTensorType>(conv.getType());
  int64_t width = kernel.getSchedule().getVectorWidth();
  if (type.getRank() != 4 || type.getDimSize(1) % width != 0)
    return nullptr;
  return conv;
}

ArrayRef<int64_t> layoutOf(Value value) {
  if (auto producer = value.getDefiningOp<FusedOp>())
    return producer.getSchedule().getLayout();
  return {};
}

// The conv's weight operand (a kernel input) read with the output channels innermost: the
// prepare kernel that computes it writes it so, or a relayout kernel is inserted for a
// parameter.
void relayoutWeight(FusedOp kernel, nn::ConvOp conv, OpBuilder &builder) {
  auto arg = dyn_cast<BlockArgument>(conv.getWeight());
  if (!arg || arg.getOwner()->getParentOp() != kernel)
    return;
  Value weight = kernel->getOperand(arg.getArgNumber());
  if (auto producer = weight.getDefiningOp<FusedOp>()) {
    if (producer->getResult(0).hasOneUse() && producer.getSchedule().getLayout().empty())
      producer.setScheduleAttr(
          withLayouts(producer.getSchedule(), kWeightOutputInner, producer.getSchedule().getInputLayouts()));
    return;
  }
  builder.setInsertionPoint(kernel);
  ScheduleAttr schedule = ScheduleAttr::get(builder.getContext(),
                                            kernel.getSchedule().getVectorWidth(), {},
                                            kWeightOutputInner, {});
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

struct ChooseLayoutsPass : kiln::impl::ChooseLayoutsBase<ChooseLayoutsPass> {
  using ChooseLayoutsBase::ChooseLayoutsBase;

  void runOnOperation() override {
    if (gpu)
      return;
    OpBuilder builder(&getContext());
    SmallVector<FusedOp> kernels;
    getOperation().walk([&](FusedOp kernel) { kernels.push_back(kernel); });
    // Producers come before their readers: one pass in program order decides every layout.
    for (FusedOp kernel : kernels) {
      if (kernel->getNumResults() != 1 || !readersTakeChannelsLast(kernel))
        continue;
      bool channelsLast = false;
      if (nn::ConvOp conv = channelsLastConv(kernel)) {
        channelsLast = true;
      } else if (handlesChannelsLast(kernel) && !kiln::anchorOf(kernel) &&
                 kernel->getNumOperands() > 0) {
        // Poolings and elementwise kernels continue their (first) operand's layout.
        channelsLast = layoutOf(kernel->getOperand(0)) == ArrayRef<int64_t>(kChannelsLast) &&
                       cast<RankedTensorType>(kernel->getResult(0).getType()).getRank() == 4;
      }
      if (channelsLast)
        kernel.setScheduleAttr(
            withLayouts(kernel.getSchedule(), kChannelsLast, kernel.getSchedule().getInputLayouts()));
    }
    // Channels-innermost convolutions read their weights output-channels-innermost.
    for (FusedOp kernel : kernels)
      if (nn::ConvOp conv = channelsLastConv(kernel);
          conv && kernel.getSchedule().getLayout() == ArrayRef<int64_t>(kChannelsLast))
        relayoutWeight(kernel, conv, builder);
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
