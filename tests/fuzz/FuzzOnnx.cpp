// libFuzzer target: the ONNX frontend (protobuf parsing, the graph checks, initializer decoding,
// the op table's builders with the nn dialect's shape inference) and the verifier of the module
// it builds. Any input must give diagnostics or a valid module, never a crash, a hang or an
// out-of-bounds access; a module the importer returns must verify.
#include "FuzzContext.h"
#include "frontend/OnnxImporter.h"
#include "kiln/Dialect/NN/NNDialect.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/Verifier.h"
#include "llvm/Support/MemoryBuffer.h"

#include <memory>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  mlir::MLIRContext &ctx = kiln::fuzz::context();
  llvm::SourceMgr sourceMgr;
  // A folder that does not exist: external data never reads a file of the machine.
  sourceMgr.AddNewSourceBuffer(
      llvm::MemoryBuffer::getMemBufferCopy(
          llvm::StringRef(reinterpret_cast<const char *>(data), size),
          "/nonexistent-kiln-fuzz/fuzz.onnx"),
      llvm::SMLoc());
  int errors = 0;
  mlir::ScopedDiagnosticHandler handler(&ctx, [&](mlir::Diagnostic &diag) {
    errors += diag.getSeverity() == mlir::DiagnosticSeverity::Error;
    return mlir::success();
  });
  kiln::InitialValues values;
  mlir::OwningOpRef<mlir::ModuleOp> module = kiln::importOnnxModel(sourceMgr, &ctx, values);
  if (module && failed(mlir::verify(*module)))
    __builtin_trap(); // the importer built a module that does not verify
  if (!module && errors == 0)
    __builtin_trap(); // a failure must say why
  return 0;
}
