// Finds the C compiler and archiver for a target and runs them, reporting a failing command
// with its output.
#include "package/Toolchain.h"

#include "mlir/IR/Diagnostics.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Program.h"

using namespace mlir;

namespace kiln::package {

namespace {

// The first of `names` found on PATH (or, for LLVM's tools, in LLVM 19's bin directory).
std::string findFirst(std::initializer_list<llvm::StringRef> names) {
  for (llvm::StringRef name : names) {
    if (llvm::ErrorOr<std::string> path = llvm::sys::findProgramByName(name))
      return *path;
    if (llvm::ErrorOr<std::string> path =
            llvm::sys::findProgramByName(name, {"/usr/lib/llvm-19/bin"}))
      return *path;
  }
  return "";
}

} // namespace

FailureOr<Toolchain> findToolchain(llvm::StringRef arch, llvm::StringRef targetName,
                                   Location loc) {
  Toolchain toolchain;
  if (arch == "host") {
    toolchain.cc = findFirst({"cc", "gcc", "clang"});
    toolchain.ar = findFirst({"ar", "llvm-ar"});
    if (toolchain.cc.empty())
      return emitError(loc) << "no C compiler (cc, gcc or clang) on PATH to compile the "
                               "model's driver";
  } else {
    toolchain.cross = true;
    std::string gcc = (arch + "-gcc").str();
    toolchain.cc = findFirst({gcc});
    toolchain.ar = findFirst({(arch + "-ar").str(), "llvm-ar"});
    if (toolchain.cc.empty()) {
      InFlightDiagnostic diag = emitError(loc)
                                << "target " << targetName << " needs the C cross compiler " << gcc
                                << " to compile the model's driver, and it is not on PATH";
      if (arch == "aarch64-linux-gnu")
        diag.attachNote() << "install the Debian packages gcc-aarch64-linux-gnu and "
                             "libc6-dev-arm64-cross (scripts/setup.sh does)";
      return diag;
    }
  }
  if (toolchain.ar.empty())
    return emitError(loc) << "no archiver (ar or llvm-ar) on PATH to build the static library";
  return toolchain;
}

LogicalResult runTool(const std::string &program, const std::vector<std::string> &args,
                      const std::string &logPath, llvm::StringRef what, Location loc) {
  std::vector<llvm::StringRef> argv(args.begin(), args.end());
  std::optional<llvm::StringRef> redirects[] = {llvm::StringRef(""), llvm::StringRef(logPath),
                                                llvm::StringRef(logPath)};
  std::string error;
  bool failedToRun = false;
  int rc = llvm::sys::ExecuteAndWait(program, argv, /*Env=*/std::nullopt, redirects,
                                     /*SecondsToWait=*/0, /*MemoryLimit=*/0, &error,
                                     &failedToRun);
  if (rc == 0)
    return success();
  std::string command = program;
  for (size_t i = 1; i < args.size(); ++i)
    command += " " + args[i];
  InFlightDiagnostic diag = emitError(loc) << "cannot " << what << ": ";
  if (failedToRun)
    diag << "could not run " << program << ": " << error;
  else
    diag << program << " exited with status " << rc << (error.empty() ? "" : " (" + error + ")");
  diag.attachNote() << "command: " << command;
  llvm::ErrorOr<std::unique_ptr<llvm::MemoryBuffer>> log = llvm::MemoryBuffer::getFile(logPath);
  if (log && !(*log)->getBuffer().trim().empty())
    diag.attachNote() << "its output:\n" << (*log)->getBuffer().rtrim();
  return diag;
}

} // namespace kiln::package
