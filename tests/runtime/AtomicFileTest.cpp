// kiln_file_write_atomic: the whole new contents or the old file, never a part; no temporary
// left behind on failure; the permissions of an ordinary new file.
#include "TestSupport.h"

#include "kiln/runtime.h"

#include <algorithm>
#include <sys/stat.h>
#include <sys/wait.h>
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
  // A writer killed mid-write (SIGKILL) leaves "<name>.tmp.<pid>@<host>.<n>": the next write of
  // the same file removes it when that process is gone from this host, and leaves alone a live
  // writer's, another host's (a shared file system) and any other file.
  TempDir dir;
  std::string path = dir.file("ckpt.safetensors");
  char host[256] = {0};
  ASSERT_EQ(gethostname(host, sizeof host - 1), 0);
  pid_t dead = fork();
  if (dead == 0)
    _exit(0);
  ASSERT_GT(dead, 0);
  ASSERT_EQ(waitpid(dead, nullptr, 0), dead); // reaped: the pid names no process now
  std::string h = host, d = std::to_string(dead), live = std::to_string(getppid());
  for (const std::string &name : std::vector<std::string>{
           "ckpt.safetensors.tmp." + d + "@" + h + ".0", "ckpt.safetensors.tmp." + d + "@" + h + ".7",
        "ckpt.safetensors.tmp." + live + "@" + h + ".0",
        "ckpt.safetensors.tmp." + d + "@another-host.0", "ckpt.safetensors.tmp.notes",
        "other.safetensors.tmp." + d + "@" + h + ".0"})
    writeFile(dir.file(name), "partial");
  ASSERT_EQ(kiln_file_write_atomic(path.c_str(), "new", 3), KILN_OK) << kiln_last_error();
  EXPECT_EQ(readFile(path), "new");
  std::vector<std::string> expected = {"ckpt.safetensors",
                                       "ckpt.safetensors.tmp." + d + "@another-host.0",
                                       "ckpt.safetensors.tmp." + live + "@" + h + ".0",
                                       "ckpt.safetensors.tmp.notes",
                                       "other.safetensors.tmp." + d + "@" + h + ".0"};
  std::sort(expected.begin(), expected.end());
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
