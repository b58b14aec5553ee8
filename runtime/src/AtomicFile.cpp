// Writing a file atomically: a uniquely named temporary beside the target, fsync, rename, then a
// best-effort fsync of the directory. A reader sees the old file or the whole new one, never a
// part, and a failure leaves the target as it was and no temporary behind; the temporary of a
// writer killed mid-write (SIGKILL) is removed by a later write of the same file.
#include "Internal.h"

#include <atomic>
#include <cerrno>
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

// "<name>.tmp.<digits>.<digits>": a temporary of writeAtomically for `prefix` = "<name>.tmp.".
bool isTemporaryName(const std::string &name, const std::string &prefix) {
  if (name.compare(0, prefix.size(), prefix) != 0)
    return false;
  size_t dot = name.find('.', prefix.size());
  auto digits = [&](size_t from, size_t to) {
    if (from >= to)
      return false;
    for (size_t i = from; i < to; ++i)
      if (name[i] < '0' || name[i] > '9')
        return false;
    return true;
  };
  return dot != std::string::npos && digits(prefix.size(), dot) &&
         digits(dot + 1, name.size());
}

// A whole-file lock on an open file description: held by a writer on its temporary while it
// writes, released by the kernel when the writer dies (SIGKILL included), in any PID namespace
// and across NFS clients. F_RDLCK (a reader's probe) conflicts with F_WRLCK (a writer's).
bool lockFile(int fd, short type, bool wait) {
  struct flock lock;
  std::memset(&lock, 0, sizeof lock);
  lock.l_type = type;
  lock.l_whence = SEEK_SET;
  int result;
  do
    result = ::fcntl(fd, wait ? F_OFD_SETLKW : F_OFD_SETLK, &lock);
  while (result != 0 && wait && errno == EINTR);
  return result == 0;
}

// Removes the temporaries that writers of `path` killed mid-write left behind (SIGKILL, a power
// cut: nothing ran to unlink them): regular files named like ours that no writer holds locked.
// A live writer's is locked and left alone, whatever its host or PID namespace; so is anything
// not named exactly like a temporary. (A writer between its create and its lock can lose its
// file here: it sees that and takes another name.) Best effort.
void sweepStaleTemporaries(const std::string &path) {
  size_t slash = path.rfind('/');
  std::string prefix = (slash == std::string::npos ? path : path.substr(slash + 1)) + ".tmp.";
  DIR *dir = ::opendir(directoryOf(path).c_str());
  if (!dir)
    return;
  while (const dirent *entry = ::readdir(dir)) {
    if (!isTemporaryName(entry->d_name, prefix))
      continue;
    int fd = ::openat(::dirfd(dir), entry->d_name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0)
      continue;
    struct stat info;
    if (::fstat(fd, &info) == 0 && S_ISREG(info.st_mode) && lockFile(fd, F_RDLCK, false))
      ::unlinkat(::dirfd(dir), entry->d_name, 0);
    ::close(fd);
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
  // The process id and a counter name the temporary: concurrent writers (processes or threads)
  // never share one, and O_EXCL refuses a stale file of the same name, which the sweep removes
  // first unless a live writer holds it.
  static std::atomic<unsigned> counter{0};
  sweepStaleTemporaries(path);
  std::string temporary;
  int fd = -1;
  for (int attempt = 0; attempt < 8; ++attempt) {
    temporary = std::string(path) + ".tmp." + std::to_string(::getpid()) + "." +
                std::to_string(counter.fetch_add(1));
    fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    // The lock is held until close, so other writers' sweeps leave the file alone (waiting out
    // a sweeper's probe). A file system without locks gets no such protection.
    if (fd < 0 || !lockFile(fd, F_WRLCK, true))
      break;
    struct stat info;
    if (::fstat(fd, &info) != 0 || info.st_nlink > 0)
      break;
    ::close(fd); // swept between the create and the lock: take another name
    fd = -1;
    errno = EAGAIN;
  }
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
