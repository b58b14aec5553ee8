// nn ops built from values and plain attributes, each with its result type inferred at once (so
// the next op sees the shape). What both frontends share: the .kiln layer builders
// (LayerBuilders.cpp) read a layer's attributes and name its parameters, the ONNX importer
// (OnnxImporter.cpp) reads a node's, and both build the ops through these functions, so an
// nn op is built one way. Errors are the ops' own (shape inference), emitted at `loc`.
#ifndef KILN_FRONTEND_OPBUILDERS_H
#define KILN_FRONTEND_OPBUILDERS_H

#include "kiln/Dialect/NN/NNDialect.h"

#include "mlir/IR/Builders.h"

#include <string>

namespace kiln::build {

// The element type every nn op's result has before shape inference refines it.
mlir::TensorType unranked(mlir::OpBuilder &b);

// OpT(args...) with its result type inferred; failure when shape inference refuses it.
template <typename OpT, typename... Args>
mlir::FailureOr<mlir::Value> create(mlir::OpBuilder &b, mlir::Location loc, Args &&...args) {
  auto op = b.create<OpT>(loc, unranked(b), std::forward<Args>(args)...);
  if (mlir::failed(nn::refineResultType(op)))
    return mlir::failure();
  return op->getResult(0);
}

// The padding 'same' gives a window over the spatial dimensions of `input` (N, C, spatial...):
// total = max((⌈n/s⌉−1)·s + d·(k−1) + 1 − n, 0) per dimension, half before and the rest after
// (TensorFlow's rule, ONNX's SAME_UPPER, PyTorch's for stride 1), or the larger half before
// (`largerBefore`: ONNX's SAME_LOWER); pads in nn's order (every dimension's before, then every
// after). A dynamic extent must have stride 1 (total = d·(k−1)): the caller checks, with its
// own message. Fails with `why` set (nothing emitted) when a window overflows 64 bits.
mlir::FailureOr<llvm::SmallVector<int64_t>>
samePadding(mlir::RankedTensorType input, llvm::ArrayRef<int64_t> kernel,
            llvm::ArrayRef<int64_t> strides, llvm::ArrayRef<int64_t> dilations, bool largerBefore,
            std::string &why);

mlir::FailureOr<mlir::Value> conv(mlir::OpBuilder &b, mlir::Location loc, mlir::Value input,
                                  mlir::Value weight, mlir::Value bias,
                                  llvm::ArrayRef<int64_t> strides,
                                  llvm::ArrayRef<int64_t> padding,
                                  llvm::ArrayRef<int64_t> dilations, int64_t groups);
mlir::FailureOr<mlir::Value> maxPool(mlir::OpBuilder &b, mlir::Location loc, mlir::Value input,
                                     llvm::ArrayRef<int64_t> kernel,
                                     llvm::ArrayRef<int64_t> strides,
                                     llvm::ArrayRef<int64_t> padding, bool ceilMode);
mlir::FailureOr<mlir::Value> avgPool(mlir::OpBuilder &b, mlir::Location loc, mlir::Value input,
                                     llvm::ArrayRef<int64_t> kernel,
                                     llvm::ArrayRef<int64_t> strides,
                                     llvm::ArrayRef<int64_t> padding, bool ceilMode,
                                     bool countIncludePad);
// `momentum` weighs the batch's statistic in the running update (PyTorch's convention).
mlir::FailureOr<mlir::Value> batchNorm(mlir::OpBuilder &b, mlir::Location loc, mlir::Value input,
                                       mlir::Value weight, mlir::Value bias, mlir::Value mean,
                                       mlir::Value var, double epsilon, double momentum);
mlir::FailureOr<mlir::Value> dense(mlir::OpBuilder &b, mlir::Location loc, mlir::Value input,
                                   mlir::Value weight, mlir::Value bias);
// "relu", "tanh" or "sigmoid" applied to `input`; "none" is `input` itself.
mlir::FailureOr<mlir::Value> activation(mlir::OpBuilder &b, mlir::Location loc,
                                        llvm::StringRef name, mlir::Value input);
mlir::FailureOr<mlir::Value> leakyRelu(mlir::OpBuilder &b, mlir::Location loc, mlir::Value input,
                                       double negativeSlope);
mlir::FailureOr<mlir::Value> clip(mlir::OpBuilder &b, mlir::Location loc, mlir::Value input,
                                  double lo, double hi);
// nn.softmax (nn.log_softmax when `log`) along `axis`, which is in [0, rank).
mlir::FailureOr<mlir::Value> softmax(mlir::OpBuilder &b, mlir::Location loc, mlir::Value input,
                                     int64_t axis, bool log);

} // namespace kiln::build

#endif // KILN_FRONTEND_OPBUILDERS_H
