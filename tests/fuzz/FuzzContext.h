// The MLIR context the frontend fuzz targets (FuzzKiln.cpp, FuzzOnnx.cpp) build into.
#ifndef KILN_TESTS_FUZZ_FUZZCONTEXT_H
#define KILN_TESTS_FUZZ_FUZZCONTEXT_H

#include "kiln/Dialect/NN/NNDialect.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/MLIRContext.h"

#include <memory>

namespace kiln::fuzz {

// Types, attributes and locations are uniqued in the context for its lifetime: a fresh one
// every so many inputs keeps a long run's memory bounded without paying for one per input.
inline mlir::MLIRContext &context() {
  constexpr int kInputsPerContext = 2000;
  static std::unique_ptr<mlir::MLIRContext> context;
  static int uses = 0;
  if (!context || ++uses == kInputsPerContext) {
    uses = 0;
    context = std::make_unique<mlir::MLIRContext>(mlir::MLIRContext::Threading::DISABLED);
    context->loadDialect<kiln::nn::NNDialect, mlir::func::FuncDialect>();
  }
  return *context;
}

} // namespace kiln::fuzz

#endif // KILN_TESTS_FUZZ_FUZZCONTEXT_H
