// Tile arithmetic shared by kiln-choose-schedules (which chooses tiles) and code generation
// (which applies them), so both agree on what a width means.
#ifndef KILN_DIALECT_KERNEL_TILING_H
#define KILN_DIALECT_KERNEL_TILING_H

#include <cstdint>

namespace kiln::kernel {

// Lanes to vectorize an innermost extent by: the target's width when the extent reaches it;
// otherwise the largest power of two ≤ extent, at least 4; otherwise 1 (scalar). Output extents
// are static, so splits shift inwards and no vector loop needs a tail guard.
inline int64_t lanesFor(int64_t extent, int64_t targetWidth) {
  if (extent >= targetWidth)
    return targetWidth;
  int64_t lanes = 1;
  while (lanes * 2 <= extent)
    lanes *= 2;
  return lanes >= 4 ? lanes : 1;
}

} // namespace kiln::kernel

#endif // KILN_DIALECT_KERNEL_TILING_H
