// kiln-fold-batch-norm: an inference batch norm after a convolution or dense layer becomes
// that layer with a folded weight and bias (computed from parameters, at weight-load time).
#include "passes/KernelFusion.h"
#include "passes/Passes.h"

#include "mlir/IR/Builders.h"

namespace kiln {
#define GEN_PASS_DEF_FOLDBATCHNORM
#include "passes/Passes.h.inc"
} // namespace kiln

using namespace mlir;
namespace nn = kiln::nn;

namespace {

// A name for an op derived from the batch norm's layer ("layer1.0.bn1.folded_weight").
Location derivedLoc(OpBuilder &builder, Location bnLoc, StringRef suffix) {
  std::vector<std::string> names = kiln::layerNames(bnLoc);
  std::string name = (names.empty() ? std::string("batch_norm") : names.front()) + "." +
                     suffix.str();
  return NameLoc::get(builder.getStringAttr(name), bnLoc);
}

// The folded weight and bias for `layer` (conv or dense, with `bias` possibly null) followed by
// `bn`.
std::pair<Value, Value> foldedParameters(OpBuilder &builder, nn::BatchNormOp bn, Value weight,
                                         Value bias) {
  FloatAttr eps = bn.getEpsilonAttr();
  Value foldedWeight = builder.create<nn::FoldBatchNormWeightOp>(
      derivedLoc(builder, bn.getLoc(), "folded_weight"), weight.getType(), weight,
      bn.getWeight(), bn.getRunningVar(), eps);
  Value foldedBias = builder.create<nn::FoldBatchNormBiasOp>(
      derivedLoc(builder, bn.getLoc(), "folded_bias"), bn.getWeight().getType(), bn.getWeight(),
      bn.getBias(), bn.getRunningMean(), bn.getRunningVar(), bias, eps);
  return {foldedWeight, foldedBias};
}

struct FoldBatchNormPass : kiln::impl::FoldBatchNormBase<FoldBatchNormPass> {
  void runOnOperation() override {
    SmallVector<nn::BatchNormOp> norms;
    getOperation().walk([&](nn::BatchNormOp bn) { norms.push_back(bn); });
    for (nn::BatchNormOp bn : norms) {
      Operation *layer = bn.getInput().getDefiningOp();
      if (!layer || !isa<nn::ConvOp, nn::DenseOp>(layer) || !layer->hasOneUse())
        continue;
      // Folded when the weights are loaded: every value folded must be a parameter (an
      // imported model may compute a weight or a statistic in the graph).
      auto isParameter = [](Value v) { return !v || v.getDefiningOp<nn::ParameterOp>(); };
      if (!llvm::all_of(ValueRange{bn.getWeight(), bn.getBias(), bn.getRunningMean(),
                                   bn.getRunningVar(), layer->getOperand(1)},
                        isParameter) ||
          (layer->getNumOperands() > 2 && !isParameter(layer->getOperand(2))))
        continue;
      // The folded layer replaces the batch norm where it stands: every parameter it reads is
      // defined by then.
      OpBuilder builder(bn);
      Location loc = builder.getFusedLoc({layer->getLoc(), bn.getLoc()});
      Value replacement;
      if (auto conv = dyn_cast<nn::ConvOp>(layer)) {
        auto [weight, bias] = foldedParameters(builder, bn, conv.getWeight(), conv.getBias());
        replacement = builder.create<nn::ConvOp>(
            loc, bn.getType(), conv.getInput(), weight, bias, conv.getStridesAttr(),
            conv.getPaddingAttr(), conv.getDilationsAttr(), conv.getGroupsAttr());
      } else {
        auto dense = cast<nn::DenseOp>(layer);
        auto [weight, bias] = foldedParameters(builder, bn, dense.getWeight(), dense.getBias());
        replacement =
            builder.create<nn::DenseOp>(loc, bn.getType(), dense.getInput(), weight, bias);
      }
      // The folded layer computes the batch norm's result: it carries its attributes.
      replacement.getDefiningOp()->setDiscardableAttrs(bn->getDiscardableAttrDictionary());
      bn.replaceAllUsesWith(replacement);
      bn.erase();
      layer->erase();
    }
  }
};

} // namespace
