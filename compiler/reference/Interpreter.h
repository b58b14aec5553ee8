// Runs a function of nn ops on concrete tensors with the reference implementation: the oracle a
// compiled model (whole, or layer by layer through onResult) is compared against.
#ifndef KILN_REFERENCE_INTERPRETER_H
#define KILN_REFERENCE_INTERPRETER_H

#include "reference/Reference.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Support/LogicalResult.h"
#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/STLFunctionalExtras.h"

#include <map>
#include <string>
#include <vector>

namespace kiln::reference {

// Parameter and buffer values by state_dict name (`conv1.weight`, `bn1.running_mean`, …).
using ParameterMap = std::map<std::string, Tensor>;

// Evaluates `fn`, a single-block function of nn ops, func.call and func.return, on `inputs` (one
// per argument; integer tensors such as labels hold integral doubles), taking each
// nn.parameter's value from `params` by name, and returns the returned tensors.
//
// nn.batch_norm is evaluated in inference mode (running statistics); nn.batch_norm_train and the
// other training ops (gradients, statistics, optimizer updates; Gradients.h) as documented there,
// so @train_step runs like any function: labels are i64 tensors of integral doubles, `hyper` an
// 8-element tensor, and every result is returned. A training op whose result extents cannot be
// recovered from its type and operands (a conv_backward_data whose type leaves the spatial
// extents dynamic) is an error. Every value is checked against the IR's type: an input,
// parameter or computed result whose shape differs from the static extents of its type is an
// error, as are a missing parameter, a label that is not an integer in [0, classes), an
// unsupported op, and a call nested deeper than 64 (recursion). Each error is emitted through
// MLIR's diagnostics at the op (or function) concerned, and the result is failure().
//
// A null `fn` fails without a diagnostic: there is no context to emit one in.
//
// onResult, when given, is called with every nn op (nn.parameter included) and its result, in
// program order, callees included: for layer-by-layer comparison with compiled kernels.
mlir::FailureOr<std::vector<Tensor>>
runFunction(mlir::func::FuncOp fn, llvm::ArrayRef<Tensor> inputs, const ParameterMap &params,
            llvm::function_ref<void(mlir::Operation *, const Tensor &)> onResult = nullptr);

// Runs one step of `trainStep`, a function built by kiln-autodiff, as a training loop would:
// `inputs` are the model's inputs followed by the labels (as @loss takes them) and `hyper` the
// step's hyperparameters [lr, momentum, weight_decay, β1, β2, ε, 1 − β1^t, 1 − β2^t]. Every
// parameter and buffer is read from `state` by name; an optimizer buffer ("optimizer.…") missing
// from it starts at zeros, as PyTorch's optimizers' buffers do. On success each state tensor named
// in the function's `kiln.state_updates` is replaced in `state` by its next value and the loss
// (computed before the update, with batch statistics) is returned; on failure `state` is left
// unchanged and the error is emitted as runFunction's are. onResult is passed to runFunction.
mlir::FailureOr<double>
runTrainStep(mlir::func::FuncOp trainStep, llvm::ArrayRef<Tensor> inputs,
             llvm::ArrayRef<double> hyper, ParameterMap &state,
             llvm::function_ref<void(mlir::Operation *, const Tensor &)> onResult = nullptr);

} // namespace kiln::reference

#endif // KILN_REFERENCE_INTERPRETER_H
