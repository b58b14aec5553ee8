// Prints MLIR diagnostics the way compilers do: `file:line:col: error: message`, the source
// line, and the offending token underlined (^~~~~); notes the same way. Used by kilnc for .kiln
// and .mlir input alike.
#ifndef KILN_FRONTEND_DIAGNOSTICS_H
#define KILN_FRONTEND_DIAGNOSTICS_H

#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/Location.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/raw_ostream.h"

#include <optional>

namespace kiln {

// Registers itself with the context's diagnostic engine for its lifetime (like
// mlir::SourceMgrDiagnosticHandler) and prints every diagnostic to os. A location is reduced to
// the FileLineColLoc it holds (through NameLoc, CallSiteLoc — whose caller becomes a "called
// from" note — FusedLoc and OpaqueLoc); one without a file prints the message only. Files not
// in sourceMgr are loaded from disk to show their lines.
class SourceDiagnosticHandler : public mlir::ScopedDiagnosticHandler {
public:
  SourceDiagnosticHandler(llvm::SourceMgr &sourceMgr, mlir::MLIRContext *context,
                          llvm::raw_ostream &os);

  void emitDiagnostic(mlir::Diagnostic &diag);

private:
  void emit(mlir::Location loc, mlir::DiagnosticSeverity severity, const llvm::Twine &message);
  // The buffer holding `filename` (loaded on first use), or 0 when it cannot be read.
  unsigned findBuffer(llvm::StringRef filename);

  llvm::SourceMgr &sourceMgr;
  llvm::raw_ostream &os;
  llvm::StringMap<unsigned> buffers;
};

// The FileLineColLoc inside loc, if any (the callee's for a call site).
std::optional<mlir::FileLineColLoc> findFileLineColLoc(mlir::Location loc);

} // namespace kiln

#endif // KILN_FRONTEND_DIAGNOSTICS_H
