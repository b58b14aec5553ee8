// The readers under fuzzing take a path; MemoryFile gives them one whose contents are the
// fuzzer's bytes, without touching the disk: a memfd, rewritten for each input and opened by
// the reader as /proc/self/fd/N (a fresh open file description, read from offset 0).
#ifndef KILN_TESTS_FUZZ_MEMORYFILE_H
#define KILN_TESTS_FUZZ_MEMORYFILE_H

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <sys/mman.h>
#include <unistd.h>

namespace kiln::fuzz {

class MemoryFile {
public:
  MemoryFile() : fd_(memfd_create("kiln-fuzz", MFD_CLOEXEC)) {
    if (fd_ < 0) {
      std::perror("memfd_create");
      std::abort(); // the harness cannot run at all: not a finding
    }
    path_ = "/proc/self/fd/" + std::to_string(fd_);
  }
  MemoryFile(const MemoryFile &) = delete;
  MemoryFile &operator=(const MemoryFile &) = delete;
  ~MemoryFile() { ::close(fd_); }

  // Replaces the contents with `size` bytes; returns the path to open.
  const std::string &write(const uint8_t *data, size_t size) {
    if (::ftruncate(fd_, 0) != 0) {
      std::perror("ftruncate");
      std::abort();
    }
    for (size_t done = 0; done < size;) {
      ssize_t n = ::pwrite(fd_, data + done, size - done, static_cast<off_t>(done));
      if (n <= 0) {
        std::perror("pwrite");
        std::abort();
      }
      done += static_cast<size_t>(n);
    }
    return path_;
  }

private:
  int fd_;
  std::string path_;
};

} // namespace kiln::fuzz

#endif // KILN_TESTS_FUZZ_MEMORYFILE_H
