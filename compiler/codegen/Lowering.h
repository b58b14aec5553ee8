// Internal to code generation: the Halide algorithm and schedule of each nn op.
#ifndef KILN_CODEGEN_LOWERING_H
#define KILN_CODEGEN_LOWERING_H

#include "codegen/Codegen.h"

#include <functional>

namespace kiln::codegen {

// A tensor as a Halide Func. Halide's dimension 0 is the innermost (the tensor's last), so
// Funcs take their arguments in reverse tensor order; `at` hides that.
struct TensorFunc {
  Halide::Func func;
  std::vector<int64_t> shape; // tensor order; mlir::ShapedType::kDynamic for the batch

  int64_t rank() const { return static_cast<int64_t>(shape.size()); }
  // The element at a tensor-order index.
  Halide::Expr at(const std::vector<Halide::Expr> &index) const;
};

// Vars named after the tensor dimensions they index (n, c, z, y, x), in tensor order.
std::vector<Halide::Var> tensorVars(int64_t rank);
// The same in Halide's (reversed) order, for Func definitions.
std::vector<Halide::Var> halideOrder(const std::vector<Halide::Var> &vars);

// An op lowered to Halide: its result Func, and the schedule to apply when `output` (a copy of
// the result with the kernel's output buffer) is the kernel's output.
struct LoweredOp {
  TensorFunc result;
  std::function<void(Halide::Func output, const TargetSpec &target)> schedule;
};

// The Halide algorithm of one nn op over its operands' Funcs. Emits an error at the op when the
// op has no code generation.
mlir::FailureOr<LoweredOp> lowerOp(mlir::Operation *op, const std::vector<TensorFunc> &operands,
                                   const std::string &name);

} // namespace kiln::codegen

#endif // KILN_CODEGEN_LOWERING_H
