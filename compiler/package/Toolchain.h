// The system tools that turn a model's generated C and kernel objects into libraries: the C
// compiler (native, or a cross compiler for another architecture) and the archiver.
#ifndef KILN_PACKAGE_TOOLCHAIN_H
#define KILN_PACKAGE_TOOLCHAIN_H

#include "mlir/IR/Location.h"
#include "mlir/Support/LogicalResult.h"

#include <string>
#include <vector>

namespace kiln::package {

struct Toolchain {
  std::string cc; // absolute path of the C compiler
  std::string ar; // absolute path of the archiver
  bool cross = false;
};

// The toolchain for code of the given architecture: `arch` is "host" for the machine kilnc runs
// on, or a GNU triple prefix ("aarch64-linux-gnu") whose cross compiler must be on PATH. Emits
// a diagnostic naming the missing program (and its Debian package) at loc on failure.
mlir::FailureOr<Toolchain> findToolchain(llvm::StringRef arch, llvm::StringRef targetName,
                                         mlir::Location loc);

// Runs program with args (args[0] is the program's name), its output captured in
// `logPath`. A non-zero exit becomes a diagnostic at loc with `what`, the command line and the
// tool's output.
mlir::LogicalResult runTool(const std::string &program, const std::vector<std::string> &args,
                            const std::string &logPath, llvm::StringRef what, mlir::Location loc);

} // namespace kiln::package

#endif // KILN_PACKAGE_TOOLCHAIN_H
