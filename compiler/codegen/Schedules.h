// Shared schedule pieces: vector lanes for an extent, elementwise CPU schedules, GPU tiling.
#ifndef KILN_CODEGEN_SCHEDULES_H
#define KILN_CODEGEN_SCHEDULES_H

#include "codegen/Codegen.h"

namespace kiln::codegen {

// Lanes to vectorize an innermost extent by: the target's width when the extent reaches it;
// otherwise the largest power of two ≤ extent, at least 4; otherwise 1 (scalar). Output extents
// are static, so splits use ShiftInwards and no vector loop needs a tail guard.
int lanesFor(int64_t extent, int targetWidth);

// Innermost dimension vectorized, the channel and batch dimensions fused and run in parallel.
// `shape` is the output's tensor-order shape.
void scheduleElementwise(Halide::Func output, const std::vector<int64_t> &shape,
                         const TargetSpec &target);

// GPU: the two innermost dimensions tiled over threads (32 × 4), every other one over blocks.
void scheduleGpu(Halide::Func output, int64_t rank);

} // namespace kiln::codegen

#endif // KILN_CODEGEN_SCHEDULES_H
