// The reference implementation of the nn training ops: gradients of the forward ops, training-mode
// batch norm and its statistics, and the optimizers' updates. Plain double-precision loops, each
// gradient written as the transpose of its forward op's loops (never by calling the forward op),
// so that finite differences of Reference.h's functions check them independently. It is the
// oracle that the generated training kernels are tested against.
#ifndef KILN_REFERENCE_GRADIENTS_H
#define KILN_REFERENCE_GRADIENTS_H

#include "reference/Reference.h"

#include <cstdint>
#include <vector>

namespace kiln::reference {

// As in Reference.h, every function returns `Tensor{}` (check with valid()) when its inputs do not
// fit: wrong ranks, mismatched extents, a `dy` whose shape is not the forward op's output shape
// for the given parameters, a label out of range, a `hyper` that does not hold 8 values. Nothing
// here throws, asserts or reads out of bounds. `dy` is always the gradient of the forward op's
// output; the result is the gradient of one of its inputs and has that input's shape.

// Convolution (Reference.h's conv, same ConvParams). dx for an input of shape inputShape
// (which strides > 1 make ambiguous, hence explicit); positions no window reads get 0.
Tensor convBackwardData(const Tensor &dy, const Tensor &w, const ConvParams &p,
                        const std::vector<int64_t> &inputShape);
// dw[co, ci, k…] = Σ over n and output positions o of dy[n, co, o]·x at the position tap k of
// window o reads (0 where that is padding). The result has shape weightShape.
Tensor convBackwardFilter(const Tensor &x, const Tensor &dy, const ConvParams &p,
                          const std::vector<int64_t> &weightShape);
// Σ over every dimension but 1 of a rank ≥ 2 tensor → [C]: the gradient of a conv or dense bias,
// and of batch norm's beta.
Tensor reduceToChannel(const Tensor &x);

// Max pooling: each dy goes to the position of its window's maximum. Only input positions compete
// (padding never wins); on ties the first in window order (row-major over the kernel, i.e.
// increasing input index) wins, PyTorch's rule. A window with no input position, which the
// verifier excludes, routes nowhere.
Tensor maxPoolBackward(const Tensor &x, const Tensor &dy, const PoolParams &p);
// Average pooling: each dy spread over its window's input positions divided by the forward
// divisor (the window clipped to the padded input with countIncludePad, else its input count).
Tensor avgPoolBackward(const Tensor &dy, const PoolParams &p,
                       const std::vector<int64_t> &inputShape);
// dy [N, C, 1…] spread evenly over an input of shape inputShape (rank 3 to 5).
Tensor globalAvgPoolBackward(const Tensor &dy, const std::vector<int64_t> &inputShape);
// dy [N, C, 1…] to the first maximum of each (n, c) plane of x.
Tensor globalMaxPoolBackward(const Tensor &x, const Tensor &dy);

// Training-mode batch norm over a 2-D to 5-D x with C = x.shape[1]: per channel, μ and σ² are the
// mean and biased variance over the batch and every spatial position (count = numel/C ≥ 1), and
// y = (x − μ)/√(σ² + eps)·gamma + beta.
Tensor batchNormTrain(const Tensor &x, const Tensor &gamma, const Tensor &beta, double eps);
// dx = gamma/σ·(dy − mean(dy) − x̂·mean(dy·x̂)) per channel, σ = √(σ² + eps), x̂ = (x − μ)/σ: the
// gradient through the batch statistics.
Tensor batchNormTrainBackwardData(const Tensor &x, const Tensor &dy, const Tensor &gamma,
                                  double eps);
// dgamma = Σ dy·x̂ per channel. (dbeta is reduceToChannel(dy).)
Tensor batchNormTrainBackwardWeight(const Tensor &x, const Tensor &dy, double eps);
// Per-channel mean and variance of a 2-D to 5-D x; the variance divides by count − 1 when
// unbiased (then count ≥ 2 is required, else Tensor{}), by count otherwise.
Tensor channelMean(const Tensor &x);
Tensor channelVar(const Tensor &x, bool unbiased);
// (1 − momentum)·running + momentum·batch, elementwise; shapes must match.
Tensor runningUpdate(const Tensor &running, const Tensor &batch, double momentum);

// Dense (y = x·wᵀ): dx [N, K] = dy [N, M]·w [M, K]; dw [M, K] = dyᵀ·x.
Tensor denseBackwardData(const Tensor &dy, const Tensor &w);
Tensor denseBackwardWeight(const Tensor &x, const Tensor &dy);

// Activations, elementwise on equal shapes. reluBackward takes the input x (dy where x > 0, so 0
// at x = 0, as PyTorch); tanh and sigmoid take their output y.
Tensor reluBackward(const Tensor &x, const Tensor &dy);
Tensor tanhBackward(const Tensor &y, const Tensor &dy);    // dy·(1 − y²)
Tensor sigmoidBackward(const Tensor &y, const Tensor &dy); // dy·y·(1 − y)
// From the input x: dy where x > 0, else alpha·dy (PyTorch's leaky_relu_backward).
Tensor leakyReluBackward(const Tensor &x, const Tensor &dy, double alpha);
// From the input x: dy where lo ≤ x ≤ hi, else 0 (PyTorch's clamp_backward).
Tensor clipBackward(const Tensor &x, const Tensor &dy, double lo, double hi);

// The gradient of a broadcast operand of shape `like`: scale · dy summed over the elements that
// each of its elements was broadcast to (dy has the broadcast shape).
Tensor sumLike(const Tensor &dy, const std::vector<int64_t> &like, double scale);

// The same elements in `shape` (non-negative extents, equal element count): flatten's gradient.
Tensor reshape(const Tensor &x, const std::vector<int64_t> &shape);

// From the forward output y along `axis`: softmax dx = y·(dy − Σ dy·y); log-softmax
// dx = dy − exp(y)·Σ dy (sums along the axis).
Tensor softmaxBackward(const Tensor &y, const Tensor &dy, int64_t axis);
Tensor logSoftmaxBackward(const Tensor &y, const Tensor &dy, int64_t axis);
// The gradient of softmaxCrossEntropy (mean over the batch) w.r.t. logits [N, C]:
// (softmax(logits) − onehot(labels))/N. Tensor{} if a label is outside [0, C).
Tensor softmaxCrossEntropyBackward(const Tensor &logits, const std::vector<int64_t> &labels);

// Optimizers, elementwise on equal shapes. hyper = [lr, momentum, weight_decay, β1, β2, ε,
// 1 − β1^t, 1 − β2^t] (exactly 8 values), as @train_step's `hyper` argument.
// SGD (PyTorch's, dampening 0; v starts at 0): v' = momentum·v + g + wd·p, then p' = p − lr·v'.
Tensor momentumUpdate(const Tensor &v, const Tensor &g, const Tensor &p,
                      const std::vector<double> &hyper);
Tensor sgdStep(const Tensor &p, const Tensor &v, const std::vector<double> &hyper);
// Adam (PyTorch's, L2 weight decay; moments start at 0): with g' = g + wd·p and β = β1 (β2 if
// second), m' = β·m + (1 − β)·g' (g'² if second); p' = p − lr·(m/bc1)/(√(v/bc2) + ε) with
// bc1 = hyper[6], bc2 = hyper[7].
Tensor adamMoment(const Tensor &m, const Tensor &g, const Tensor &p,
                  const std::vector<double> &hyper, bool second);
Tensor adamStep(const Tensor &p, const Tensor &m, const Tensor &v,
                const std::vector<double> &hyper);

} // namespace kiln::reference

#endif // KILN_REFERENCE_GRADIENTS_H
