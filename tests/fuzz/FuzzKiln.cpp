// libFuzzer target: the .kiln frontend (lexer, parser, checker, elaborator, layer builders with
// the nn dialect's shape inference) and the verifier of the module it builds. Any input must
// give diagnostics or a valid module, never a crash, a hang, unbounded recursion or an
// out-of-bounds access; a module the frontend returns must verify.
#include "FuzzContext.h"
#include "frontend/KilnParser.h"
#include "kiln/Dialect/NN/NNDialect.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/Verifier.h"
#include "llvm/Support/MemoryBuffer.h"

#include <memory>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  mlir::MLIRContext &ctx = kiln::fuzz::context();
  llvm::SourceMgr sourceMgr;
  sourceMgr.AddNewSourceBuffer(
      llvm::MemoryBuffer::getMemBufferCopy(
          llvm::StringRef(reinterpret_cast<const char *>(data), size), "fuzz.kiln"),
      llvm::SMLoc());
  // Diagnostics are the expected outcome of most inputs: counted, not printed.
  int errors = 0;
  mlir::ScopedDiagnosticHandler handler(&ctx, [&](mlir::Diagnostic &diag) {
    errors += diag.getSeverity() == mlir::DiagnosticSeverity::Error;
    return mlir::success();
  });
  mlir::OwningOpRef<mlir::ModuleOp> module = kiln::parseKilnModel(sourceMgr, &ctx);
  if (module && failed(mlir::verify(*module)))
    __builtin_trap(); // the frontend built a module that does not verify
  if (!module && errors == 0)
    __builtin_trap(); // a failure must say why
  return 0;
}
