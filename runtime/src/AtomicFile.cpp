// Writing a file atomically: a uniquely named temporary beside the target, fsync, rename, then a
// best-effort fsync of the directory. A reader sees the old file or the whole new one, never a
// part, and a failure leaves the target as it was and no temporary behind; the temporary of a
// writer killed mid-write (SIGKILL) is removed by the next write of the same file.
#include "Internal.h"

#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

using namespace kiln_rt;

namespace {

// What a non-regular file is, for messages.
const char *fileKind(mode_t mode) {
  if (S_ISDIR(mode))
    return "a directory";
  if (S_ISFIFO(mode))
    return "a FIFO";
  if (S_ISCHR(mode) || S_ISBLK(mode))
    return "a device";
  if (S_ISSOCK(mode))
    return "a socket";
  return "not a regular file";
}

std::string directoryOf(const std::string &path) {
  size_t slash = path.rfind('/');
  if (slash == std::string::npos)
    return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

// This machine's name as temporaries carry it (at most 64 bytes, no '/'); "" when unknown.
std::string hostName() {
  char name[256] = {0};
  if (::gethostname(name, sizeof name - 1) != 0)
    return "";
  std::string host(name, strnlen(name, 64));
  for (char &c : host)
    if (c == '/')
      c = '_';
  return host;
}

// Removes the temporaries a writer of `path` killed mid-write left behind (SIGKILL, a power
// cut: nothing ran to unlink them): "<name>.tmp.<pid>@<host>.<n>" of this host whose process is
// gone. Another host's (a shared file system) and a live writer's are left alone. Best effort.
void sweepStaleTemporaries(const std::string &path, const std::string &host) {
  if (host.empty())
    return;
  size_t slash = path.rfind('/');
  std::string prefix = (slash == std::string::npos ? path : path.substr(slash + 1)) + ".tmp.";
  DIR *dir = ::opendir(directoryOf(path).c_str());
  if (!dir)
    return;
  while (const dirent *entry = ::readdir(dir)) {
    std::string name = entry->d_name;
    if (name.compare(0, prefix.size(), prefix) != 0)
      continue;
    // <pid>@<host>.<n>
    const char *rest = name.c_str() + prefix.size();
    char *end = nullptr;
    errno = 0;
    long pid = std::strtol(rest, &end, 10);
    if (errno || end == rest || *end != '@' || pid <= 0 || pid == ::getpid())
      continue;
    std::string tail = end + 1;
    size_t dot = tail.rfind('.');
    if (dot == std::string::npos || tail.substr(0, dot) != host)
      continue;
    if (::kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH)
      ::unlinkat(::dirfd(dir), entry->d_name, 0);
  }
  ::closedir(dir);
}

} // namespace

bool kiln_rt::writeFully(int fd, const void *buffer, size_t size) {
  const auto *bytes = static_cast<const char *>(buffer);
  while (size > 0) {
    ssize_t wrote = ::write(fd, bytes, size);
    if (wrote < 0 && errno == EINTR)
      continue;
    if (wrote <= 0)
      return false;
    bytes += wrote;
    size -= static_cast<size_t>(wrote);
  }
  return true;
}

kiln_status kiln_rt::writeAtomically(const char *path, const char *verb,
                                     const std::function<bool(int)> &fill) {
  // Only a regular file is replaced: renaming over /dev/null, a FIFO or a socket would replace
  // the node itself (as root, /dev/null) with the file. stat follows links: /dev/stdout is
  // refused too when it is a pipe or a terminal.
  struct stat existing;
  if (::stat(path, &existing) == 0 && !S_ISREG(existing.st_mode))
    return kiln_fail(KILN_IO_ERROR, "%s: cannot %s: it is %s, and only a regular file is replaced",
                     path, verb, fileKind(existing.st_mode));
  // The process id, the host and a counter name the temporary: concurrent writers (processes or
  // threads) never share one, O_EXCL refuses a stale file of the same name, and those of
  // writers that died are found and removed here.
  static std::atomic<unsigned> counter{0};
  std::string host = hostName();
  sweepStaleTemporaries(path, host);
  std::string temporary = std::string(path) + ".tmp." + std::to_string(::getpid()) + "@" +
                          (host.empty() ? "unknown" : host) + "." +
                          std::to_string(counter.fetch_add(1));
  int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
  if (fd < 0)
    return kiln_fail(KILN_IO_ERROR, "%s: cannot create %s: %s", path, temporary.c_str(),
                     errnoMessage(errno).c_str());
  errno = 0;
  bool ok = fill(fd) && ::fsync(fd) == 0;
  int error = errno ? errno : EIO;
  // close() can report a delayed write error (NFS); it counts as a failure too.
  if (::close(fd) != 0 && ok) {
    ok = false;
    error = errno;
  }
  if (ok && ::rename(temporary.c_str(), path) != 0) {
    ok = false;
    error = errno;
  }
  if (!ok) {
    ::unlink(temporary.c_str());
    return kiln_fail(KILN_IO_ERROR, "%s: cannot %s: %s", path, verb, errnoMessage(error).c_str());
  }
  // Make the rename durable. Best effort: `path` already holds the complete new file, so a
  // failure here must not be reported as "path untouched".
  int directory = ::open(directoryOf(path).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (directory >= 0) {
    ::fsync(directory);
    ::close(directory);
  }
  return KILN_OK;
}

extern "C" kiln_status kiln_file_write_atomic(const char *path, const void *data, size_t size) {
  if (!path || !*path)
    return kiln_fail(KILN_INVALID_ARGUMENT, "kiln_file_write_atomic: path is NULL or empty");
  if (!data && size > 0)
    return kiln_fail(KILN_INVALID_ARGUMENT, "%s: cannot write: data is NULL", path);
  return writeAtomically(path, "write", [&](int fd) { return writeFully(fd, data, size); });
}
