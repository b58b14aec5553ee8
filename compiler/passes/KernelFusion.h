// What the fusion passes share: the layer names a location carries, the ops of a kernel's body,
// and the merge of a producer kernel into its consumer.
#ifndef KILN_PASSES_KERNELFUSION_H
#define KILN_PASSES_KERNELFUSION_H

#include "kiln/Dialect/Kernel/KernelDialect.h"

#include "mlir/IR/Location.h"

#include <string>
#include <vector>

namespace kiln {

// Every layer name in a location, in order: a NameLoc's, those inside a FusedLoc or a call site.
std::vector<std::string> layerNames(mlir::Location loc);

// The ops of a kernel's body, its terminator excluded.
std::vector<mlir::Operation *> bodyOps(kernel::FusedOp kernel);

// The first op of the body with the FusionAnchor trait, or null.
mlir::Operation *anchorOf(kernel::FusedOp kernel);

// The kernel that reads `kernel`'s single result and is its only user (it may read it more
// than once), or null.
kernel::FusedOp soleConsumer(kernel::FusedOp kernel);

// Replaces `producer` and `consumer` (its sole consumer, see soleConsumer) by one kernel at the
// consumer's place: the producer's inputs, then the consumer's other inputs; the producer's body
// then the consumer's; the producer's name and schedule; both kernels' layers. Returns it.
kernel::FusedOp mergeKernels(kernel::FusedOp producer, kernel::FusedOp consumer);

} // namespace kiln

#endif // KILN_PASSES_KERNELFUSION_H
