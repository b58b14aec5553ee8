// kiln_file_write_atomic: the whole new contents or the old file, never a part; no temporary
// left behind on failure; the permissions of an ordinary new file.
#include "TestSupport.h"

#include "kiln/runtime.h"

#include <algorithm>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace {

using namespace kiln_test;

bool contains(const std::string &text, const std::string &part) {
  return text.find(part) != std::string::npos;
}

TEST(AtomicFile, WritesAndReplacesWholeFiles) {
  TempDir dir;
  std::string path = dir.file("curves.csv");
  std::string first = "a,b\n1,2\n", second(100000, 'x');
  ASSERT_EQ(kiln_file_write_atomic(path.c_str(), first.data(), first.size()), KILN_OK)
      << kiln_last_error();
  EXPECT_EQ(readFile(path), first);
  ASSERT_EQ(kiln_file_write_atomic(path.c_str(), second.data(), second.size()), KILN_OK);
  EXPECT_EQ(readFile(path), second);
  ASSERT_EQ(kiln_file_write_atomic(path.c_str(), nullptr, 0), KILN_OK);
  EXPECT_EQ(readFile(path), "");
  EXPECT_EQ(dir.list(), std::vector<std::string>{"curves.csv"});
}

TEST(AtomicFile, UsesTheUmasksPermissions) {
  TempDir dir;
  std::string path = dir.file("plot.svg");
  mode_t old = umask(022);
  kiln_status status = kiln_file_write_atomic(path.c_str(), "<svg/>", 6);
  umask(old);
  ASSERT_EQ(status, KILN_OK) << kiln_last_error();
  struct stat info;
  ASSERT_EQ(stat(path.c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0644u);
}

TEST(AtomicFile, FailuresLeaveTheTargetAndNoTemporary) {
  TempDir dir;
  std::string missing = dir.file("no/such/dir/x.csv");
  EXPECT_EQ(kiln_file_write_atomic(missing.c_str(), "x", 1), KILN_IO_ERROR);
  EXPECT_TRUE(contains(kiln_last_error(), missing + ": cannot create " + missing + ".tmp."))
      << kiln_last_error();
  // The rename fails: a non-empty directory is in the way.
  std::string occupied = dir.file("occupied");
  ASSERT_TRUE(std::filesystem::create_directory(occupied));
  writeFile(occupied + "/keep", "kept");
  EXPECT_EQ(kiln_file_write_atomic(occupied.c_str(), "x", 1), KILN_IO_ERROR);
  EXPECT_TRUE(contains(kiln_last_error(), occupied + ": cannot write: ")) << kiln_last_error();
  EXPECT_EQ(dir.list(), std::vector<std::string>{"occupied"});
  EXPECT_EQ(readFile(occupied + "/keep"), "kept");
}

// Only a regular file is replaced: a FIFO (or, through a link, what the link names) is left as
// it was, and no temporary is created beside it (`lenet train --out /dev/null` once replaced the
// device node with a checkpoint when run as root).
TEST(AtomicFile, ReplacesOnlyRegularFiles) {
  TempDir dir;
  std::string fifo = dir.file("pipe");
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  EXPECT_EQ(kiln_file_write_atomic(fifo.c_str(), "x", 1), KILN_IO_ERROR);
  EXPECT_TRUE(contains(kiln_last_error(),
                       fifo + ": cannot write: it is a FIFO, and only a regular file is replaced"))
      << kiln_last_error();
  std::string link = dir.file("link");
  std::filesystem::create_symlink(fifo, link);
  EXPECT_EQ(kiln_file_write_atomic(link.c_str(), "x", 1), KILN_IO_ERROR);
  EXPECT_TRUE(contains(kiln_last_error(), link + ": cannot write: it is a FIFO")) << kiln_last_error();
  struct stat info;
  ASSERT_EQ(lstat(fifo.c_str(), &info), 0);
  EXPECT_TRUE(S_ISFIFO(info.st_mode));
  ASSERT_EQ(lstat(link.c_str(), &info), 0);
  EXPECT_TRUE(S_ISLNK(info.st_mode));
  std::string subdir = dir.file("empty");
  ASSERT_TRUE(std::filesystem::create_directory(subdir));
  EXPECT_EQ(kiln_file_write_atomic(subdir.c_str(), "x", 1), KILN_IO_ERROR);
  EXPECT_TRUE(contains(kiln_last_error(), subdir + ": cannot write: it is a directory"))
      << kiln_last_error();
  EXPECT_EQ(dir.list(), (std::vector<std::string>{"empty", "link", "pipe"}));
}

TEST(AtomicFile, RemovesTheTemporariesOfWritersThatDied) {
  // A writer killed mid-write (SIGKILL) leaves "<name>.tmp.<pid>.<n>", unlocked once it is dead:
  // the next write of the same file removes it, even one that carries this process's pid (a
  // restarted container's trainer is pid 1 again). A live writer holds a lock on its own and
  // keeps it, whatever host or PID namespace it is in; files merely named alike, symbolic links
  // and other targets' temporaries are left alone.
  TempDir dir;
  std::string path = dir.file("ckpt.safetensors"), outside = dir.file("outside");
  writeFile(outside, "not a temporary");
  std::string own = "ckpt.safetensors.tmp." + std::to_string(getpid()) + ".1000000";
  for (const std::string &name :
       std::vector<std::string>{"ckpt.safetensors.tmp.123.0", own, "ckpt.safetensors.tmp.456.7",
                                "ckpt.safetensors.tmp.notes", "ckpt.safetensors.tmp.123.old",
                                "ckpt.safetensors.tmp.+123.0", "other.safetensors.tmp.123.0"})
    writeFile(dir.file(name), "partial");
  ASSERT_EQ(symlink(outside.c_str(), dir.file("ckpt.safetensors.tmp.9.9").c_str()), 0);
  // The live writer: an open file description holding a write lock on its temporary.
  int live = open(dir.file("ckpt.safetensors.tmp.456.7").c_str(), O_WRONLY | O_CLOEXEC);
  ASSERT_GE(live, 0);
  struct flock lock;
  std::memset(&lock, 0, sizeof lock);
  lock.l_type = F_WRLCK;
  lock.l_whence = SEEK_SET;
  ASSERT_EQ(fcntl(live, F_OFD_SETLK, &lock), 0);

  ASSERT_EQ(kiln_file_write_atomic(path.c_str(), "new", 3), KILN_OK) << kiln_last_error();
  EXPECT_EQ(readFile(path), "new");
  std::vector<std::string> expected = {"ckpt.safetensors",
                                       "ckpt.safetensors.tmp.+123.0",
                                       "ckpt.safetensors.tmp.123.old",
                                       "ckpt.safetensors.tmp.456.7",
                                       "ckpt.safetensors.tmp.9.9",
                                       "ckpt.safetensors.tmp.notes",
                                       "other.safetensors.tmp.123.0",
                                       "outside"};
  EXPECT_EQ(dir.list(), expected);
  EXPECT_EQ(readFile(outside), "not a temporary");
  // Once the writer is gone (its lock with it), the next write removes its file.
  close(live);
  ASSERT_EQ(kiln_file_write_atomic(path.c_str(), "newer", 5), KILN_OK) << kiln_last_error();
  expected.erase(std::find(expected.begin(), expected.end(), "ckpt.safetensors.tmp.456.7"));
  EXPECT_EQ(dir.list(), expected);
}

TEST(AtomicFile, RejectsBadArguments) {
  EXPECT_EQ(kiln_file_write_atomic(nullptr, "x", 1), KILN_INVALID_ARGUMENT);
  EXPECT_EQ(kiln_file_write_atomic("", "x", 1), KILN_INVALID_ARGUMENT);
  TempDir dir;
  std::string path = dir.file("f");
  EXPECT_EQ(kiln_file_write_atomic(path.c_str(), nullptr, 3), KILN_INVALID_ARGUMENT);
  EXPECT_TRUE(contains(kiln_last_error(), path + ": cannot write: data is NULL"));
  EXPECT_TRUE(dir.list().empty());
}

} // namespace
