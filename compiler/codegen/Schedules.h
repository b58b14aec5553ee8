// Shared schedule pieces: vector lanes for an extent, elementwise CPU schedules, GPU tiling, the
// channel-tiled accumulation of convolutions (forward and input gradient).
#ifndef KILN_CODEGEN_SCHEDULES_H
#define KILN_CODEGEN_SCHEDULES_H

#include "codegen/Codegen.h"
#include "codegen/Lowering.h"

namespace kiln::codegen {

// kernel::lanesFor (kiln/Dialect/Kernel/Tiling.h) as an int.
int lanesFor(int64_t extent, int targetWidth);

// The largest power of two in [4, targetWidth] that divides `extent`, or 1: lanes that need no
// tail.
int dividingLanes(int64_t extent, int targetWidth);

// Halide 14 pitfall: a pure variable of an update definition split with GuardWithIf and
// vectorized is miscompiled when the update reads another Func at that variable (the guarded
// tail vector is dropped and the first vector's index used on every iteration: channel_var
// counted channels 0–3 twice and channel 4 never). Such updates are vectorized over a RoundUp
// split instead, their reads clamped to the real extent, or with lanes that divide the extent.

// Innermost dimension vectorized, the channel and batch dimensions fused and run in parallel.
// `shape` is the output's tensor-order shape.
void scheduleElementwise(Halide::Func output, const std::vector<int64_t> &shape,
                         const TargetSpec &target);

// A copy into the storage order `layout` (tensor dimensions outermost first): vectorized along
// the stored-innermost dimension, the outermost in parallel.
void scheduleCopy(Halide::Func output, const std::vector<int64_t> &shape,
                  llvm::ArrayRef<int64_t> layout, const TargetSpec &target);

// An elementwise or pooling result stored channels-innermost (NHWC of an NCHW tensor):
// vectors of channels, rows of every image in parallel.
void scheduleChannelsLast(Halide::Func output, const std::vector<int64_t> &shape,
                          const TargetSpec &target);

// A convolution stored channels-innermost: output tiles of anchor.tile = [x positions,
// channels], whose accumulators stay in registers through the whole reduction (input channels
// innermost, then the kernel window), walked in anchor.order (rows, rows_xo or co_outer, see
// kiln-choose-schedules); anchor.reduction is the conv's RDom innermost first, as lowerConv
// builds it.
void scheduleConvChannelsLast(Halide::Func output, const AnchorInfo &anchor,
                              const TargetSpec &target);

// A dense layer whose weight is stored output-innermost: tiles of up to 64 outputs (vectors)
// × 6 images, whose accumulators stay in registers; output tiles in parallel (each a block of
// weights reused over the batch). 800→500 at batch 64/256: 205–211 GFLOP/s, 93–96% of the
// FMA peak (Zen 4, /tmp/probe). A batch smaller than 6 runs image by image.
void scheduleDenseOutputInner(Halide::Func output, Halide::Func accumulator,
                              Halide::RVar reduction, const std::vector<int64_t> &shape,
                              const TargetSpec &target);

// GPU: the two innermost dimensions tiled over threads (32 × 4), every other one over blocks.
void scheduleGpu(Halide::Func output, int64_t rank);

// Output tiles of `lanes` x-positions × `channelTile` channels, computed by `accumulator` held
// in registers at the tile; the tiles' rows run in parallel. `output` and `accumulator` index
// (spatial..., c, n) in Halide order; `reductionInnerToOuter` are the accumulator's RVars. With
// 8 channels, 8 vector accumulators: AVX-512 has 32 vector registers, AVX2 16, which leaves room
// for the broadcast weights and the input vectors. CUDA: one thread per output element.
// `tile` is [x lanes, channels] (kiln-choose-schedules); empty: one vector × `channelTile`.
// With `parallel` false the tiles run serially: `output` is then a stage computed inside a
// consumer's loop (a fused pooling), which owns the parallelism.
void scheduleChannelTiled(Halide::Func output, Halide::Func accumulator,
                          const std::vector<int64_t> &shape, int64_t channelTile,
                          const TargetSpec &target,
                          const std::vector<Halide::RVar> &reductionInnerToOuter,
                          llvm::ArrayRef<int64_t> tile = {}, bool parallel = true);

// A convolution computed inside the pooling that consumes it (kiln-fuse-conv-pool): `output`
// is the pooling, `pooled` the Func it reads (the convolution with its epilogue), computed per
// row of pooled output (per sample for 1-D data) with the convolution's channel tiles; pooled
// rows and images run in parallel. `poolShape` is the output's tensor-order shape.
// `window` is the pooling's window, which is also its stride (kiln-fuse-conv-pool): the
// convolution's x tiles must fit in the columns the pooling reads.
void schedulePooledAnchor(Halide::Func output, Halide::Func pooled, const AnchorInfo &anchor,
                          const std::vector<int64_t> &poolShape, llvm::ArrayRef<int64_t> window,
                          const TargetSpec &target);

} // namespace kiln::codegen

#endif // KILN_CODEGEN_SCHEDULES_H
