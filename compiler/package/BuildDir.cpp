// Build directories that are removed on interrupts and crashes (BuildDir.h). The signal path is
// async-signal-safe: the armed path is a static buffer, and removal uses open, getdents64,
// unlinkat and rmdir only.
#include "package/BuildDir.h"

#include "llvm/ADT/SmallString.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Signals.h"

#include <cerrno>
#include <climits>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

namespace kiln::package {

namespace {

constexpr int kInterrupts[] = {SIGINT, SIGTERM, SIGHUP};

char armedDir[PATH_MAX];
volatile sig_atomic_t armed = 0;
struct sigaction previous[std::size(kInterrupts)];
bool installed = false;

// Removes `dir`'s entries (files; empty subdirectories) and then `dir`. Async-signal-safe.
void removeTree(const char *dir) {
  int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd >= 0) {
    alignas(8) char buffer[4096];
    // Each pass reads the directory from its start again, until a pass removes nothing.
    for (bool removed = true; removed;) {
      removed = false;
      if (lseek(fd, 0, SEEK_SET) != 0)
        break;
      ssize_t n;
      while ((n = getdents64(fd, buffer, sizeof buffer)) > 0) {
        for (ssize_t offset = 0; offset < n;) {
          auto *entry = reinterpret_cast<struct dirent64 *>(buffer + offset);
          offset += entry->d_reclen;
          const char *name = entry->d_name;
          if (name[0] == '.' && (name[1] == '\0' || (name[1] == '.' && name[2] == '\0')))
            continue;
          if (unlinkat(fd, name, 0) == 0 || unlinkat(fd, name, AT_REMOVEDIR) == 0)
            removed = true;
        }
      }
    }
    close(fd);
  }
  rmdir(dir);
}

void removeArmed() {
  if (!armed)
    return;
  armed = 0;
  removeTree(armedDir);
}

// On SIGINT, SIGTERM or SIGHUP: remove the build directory, then let the signal do what it did
// before (LLVM's handlers, or the default: terminate).
void onInterrupt(int signal) {
  int saved = errno;
  removeArmed();
  for (size_t i = 0; i < std::size(kInterrupts); ++i)
    if (kInterrupts[i] == signal)
      sigaction(signal, &previous[i], nullptr);
  errno = saved;
  raise(signal);
}

void installHandlers() {
  if (installed)
    return;
  installed = true;
  struct sigaction action {};
  action.sa_handler = onInterrupt;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESETHAND;
  // A signal the caller ignores (nohup, a background job's SIGINT) stays ignored.
  for (size_t i = 0; i < std::size(kInterrupts); ++i)
    if (sigaction(kInterrupts[i], nullptr, &previous[i]) == 0 &&
        previous[i].sa_handler != SIG_IGN)
      sigaction(kInterrupts[i], &action, nullptr);
  // Crashes (SIGSEGV, SIGABRT, ...) run LLVM's signal handlers.
  llvm::sys::AddSignalHandler([](void *) { removeArmed(); }, nullptr);
}

std::string hostName() {
  char host[256] = {0};
  if (gethostname(host, sizeof host - 1) != 0 || !host[0])
    return "localhost";
  return host;
}

// Removes `outputDir`'s build directories of `model` whose builder is this host's process that
// no longer exists (killed with SIGKILL). Others, and anything else, are left alone.
void removeStale(llvm::StringRef outputDir, llvm::StringRef model, const std::string &host) {
  std::string prefix = ".kilnc-" + model.str() + "-";
  std::error_code ec;
  for (llvm::sys::fs::directory_iterator it(outputDir, ec), end; it != end && !ec;
       it.increment(ec)) {
    llvm::StringRef name = llvm::sys::path::filename(it->path());
    if (!name.consume_front(prefix) || name.size() < 7 || name[name.size() - 7] != '-')
      continue;
    name = name.drop_back(7); // "-XXXXXX"
    auto [pidText, builderHost] = name.split('@');
    long long pid;
    if (builderHost != host || pidText.getAsInteger(10, pid) || pid <= 0 || pid > INT_MAX)
      continue;
    if (kill(static_cast<pid_t>(pid), 0) == 0 || errno != ESRCH)
      continue; // alive, or not ours to know
    removeTree(it->path().c_str());
  }
}

} // namespace

std::string createBuildDir(llvm::StringRef outputDir, llvm::StringRef model, std::error_code &ec) {
  std::string host = hostName();
  for (char &c : host)
    if (c == '/' || c == '@')
      c = '_';
  removeStale(outputDir, model, host);
  llvm::SmallString<256> pattern(outputDir);
  llvm::sys::path::append(pattern, ".kilnc-" + model + "-" + std::to_string(getpid()) + "@" +
                                       host + "-XXXXXX");
  std::string dir(pattern);
  if (dir.size() >= sizeof armedDir) {
    ec = std::make_error_code(std::errc::filename_too_long);
    return "";
  }
  installHandlers();
  armed = 0;
  if (!mkdtemp(dir.data())) {
    ec = std::error_code(errno, std::generic_category());
    return "";
  }
  std::memcpy(armedDir, dir.c_str(), dir.size() + 1);
  armed = 1;
  return dir;
}

void removeBuildDir(const std::string &dir) {
  if (armed && dir == armedDir)
    armed = 0;
  removeTree(dir.c_str());
}

} // namespace kiln::package
