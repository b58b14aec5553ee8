// Writing a file atomically: a uniquely named temporary beside the target, fsync, rename, then a
// best-effort fsync of the directory. A reader sees the old file or the whole new one, never a
// part, and a failure leaves the target as it was and no temporary behind.
#include "Internal.h"

#include <atomic>
#include <cerrno>
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
  // The process id and a counter name the temporary: concurrent writers (processes or threads)
  // never share one, and O_EXCL refuses a stale file of the same name.
  static std::atomic<unsigned> counter{0};
  std::string temporary = std::string(path) + ".tmp." + std::to_string(::getpid()) + "." +
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
