// Shared schedule pieces used by the per-op schedules in OpLowering.cpp.
#include "codegen/Schedules.h"

using namespace Halide;

namespace kiln::codegen {

int lanesFor(int64_t extent, int targetWidth) {
  if (extent >= targetWidth)
    return targetWidth;
  int lanes = 1;
  while (lanes * 2 <= extent)
    lanes *= 2;
  return lanes >= 4 ? lanes : 1;
}

void scheduleElementwise(Func output, const std::vector<int64_t> &shape, const TargetSpec &target) {
  if (target.gpu)
    return scheduleGpu(output, static_cast<int64_t>(shape.size()));
  std::vector<Var> args = output.args(); // Halide order: innermost first, batch last
  int64_t rank = static_cast<int64_t>(args.size());
  int lanes = lanesFor(shape.back(), target.vectorWidth);
  if (lanes > 1)
    output.vectorize(args[0], lanes, TailStrategy::ShiftInwards);
  if (rank >= 3) {
    Var task("task");
    output.fuse(args[rank - 2], args[rank - 1], task).parallel(task);
  } else if (rank == 2) {
    output.parallel(args[1]);
  }
}

void scheduleGpu(Func output, int64_t rank) {
  std::vector<Var> args = output.args();
  if (rank == 0)
    return;
  if (rank == 1) {
    Var xo("xo"), xi("xi");
    output.gpu_tile(args[0], xo, xi, 64, TailStrategy::GuardWithIf);
    return;
  }
  Var xo("xo"), xi("xi"), yo("yo"), yi("yi");
  output.gpu_tile(args[0], args[1], xo, yo, xi, yi, 32, 4, TailStrategy::GuardWithIf);
  if (rank > 2) {
    // Fuse the remaining outer dimensions into one block dimension.
    Var outer = args[2];
    for (int64_t i = 3; i < rank; ++i) {
      Var fused("outer" + std::to_string(i));
      output.fuse(outer, args[i], fused);
      outer = fused;
    }
    output.gpu_blocks(outer);
  }
}

} // namespace kiln::codegen
