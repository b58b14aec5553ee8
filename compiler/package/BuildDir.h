// The temporary directory a build writes into, inside the output directory, so that publishing
// its files is a rename. It never outlives kilnc: it is removed when the build ends, when kilnc
// is interrupted (SIGINT, SIGTERM, SIGHUP) or crashes; one left by a process killed with SIGKILL
// is removed by the next build of the same model on the same host, since its name holds the
// builder's process id and host name: `.kilnc-<model>-<pid>@<host>-XXXXXX`.
#ifndef KILN_PACKAGE_BUILDDIR_H
#define KILN_PACKAGE_BUILDDIR_H

#include "llvm/ADT/StringRef.h"

#include <string>
#include <system_error>

namespace kiln::package {

// Creates the build directory of `model` in `outputDir` (which exists) and arms its removal on
// signals; first removes the build directories of `model` whose builder on this host is gone.
// Only one build directory is armed at a time. Returns "" and sets `ec` on failure.
std::string createBuildDir(llvm::StringRef outputDir, llvm::StringRef model, std::error_code &ec);

// Removes the directory createBuildDir returned, with its files, and disarms the signal handlers.
void removeBuildDir(const std::string &dir);

} // namespace kiln::package

#endif // KILN_PACKAGE_BUILDDIR_H
