// Helpers of the app tests: temporary directories, IDX datasets written on the fly, running the
// lenet binary as a subprocess, and parsing `lenet eval`'s report.
#ifndef KILN_TESTS_APPS_APPTESTSUPPORT_H
#define KILN_TESTS_APPS_APPTESTSUPPORT_H

#include "support/Files.h"

#include <gtest/gtest.h>

#include <zlib.h>

#include <csignal>
#include <cstdlib>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

namespace kiln::apptest {

using testsupport::TempDir;
using testsupport::readFile;

inline void writeFile(const std::string &path, const std::string &bytes, bool gzip) {
  if (gzip) {
    gzFile file = gzopen(path.c_str(), "wb");
    ASSERT_NE(file, nullptr) << path;
    ASSERT_EQ(gzwrite(file, bytes.data(), static_cast<unsigned>(bytes.size())),
              static_cast<int>(bytes.size()));
    ASSERT_EQ(gzclose(file), Z_OK);
    return;
  }
  testsupport::writeFile(path, bytes);
}

inline std::string bigEndian32(uint32_t value) {
  return {static_cast<char>(value >> 24), static_cast<char>(value >> 16),
          static_cast<char>(value >> 8), static_cast<char>(value)};
}

// An IDX u8 file's bytes: magic 00 00 08 rank, the extents, the data.
inline std::string idx(const std::vector<uint32_t> &shape, const std::string &data) {
  std::string bytes = {0, 0, 8, static_cast<char>(shape.size())};
  for (uint32_t extent : shape)
    bytes += bigEndian32(extent);
  return bytes + data;
}

// Writes `split` images (size x size, a different pattern per image) and labels (i % 10).
inline void writeDataset(const std::string &dir, int count, bool gzip, int size = 28,
                         const std::string &split = "t10k") {
  std::string pixels, labels;
  for (int i = 0; i < count; ++i) {
    for (int p = 0; p < size * size; ++p)
      pixels += static_cast<char>((p * (i + 3) + 17 * i) % 256);
    labels += static_cast<char>(i % 10);
  }
  std::string suffix = gzip ? ".gz" : "";
  writeFile(dir + "/" + split + "-images-idx3-ubyte" + suffix,
            idx({uint32_t(count), uint32_t(size), uint32_t(size)}, pixels), gzip);
  writeFile(dir + "/" + split + "-labels-idx1-ubyte" + suffix, idx({uint32_t(count)}, labels),
            gzip);
}

struct AppRun {
  int exitCode = -1; // -1: killed by a signal
  int signal = 0;    // the signal that killed it, if one did
  std::string out, err;
};

// Runs the lenet binary with `args`, capturing stdout and stderr; with `killAfterMicros` >= 0,
// sends it SIGKILL that long after starting it (unless it has exited by then).
inline AppRun runLenet(const std::vector<std::string> &args, long killAfterMicros = -1) {
  TempDir capture;
  std::string outPath = capture.file("stdout"), errPath = capture.file("stderr");
  std::vector<std::string> argvStrings = {KILN_LENET_APP};
  argvStrings.insert(argvStrings.end(), args.begin(), args.end());
  std::vector<char *> argv;
  for (std::string &arg : argvStrings)
    argv.push_back(arg.data());
  argv.push_back(nullptr);
  AppRun run;
  pid_t pid = fork();
  if (pid == 0) {
    int out = open(outPath.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    int err = open(errPath.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (out < 0 || err < 0 || dup2(out, 1) < 0 || dup2(err, 2) < 0)
      _exit(127);
    execv(argv[0], argv.data());
    _exit(127);
  }
  int status = 0;
  EXPECT_GT(pid, 0) << "fork failed";
  if (pid > 0 && killAfterMicros >= 0) {
    usleep(static_cast<useconds_t>(killAfterMicros));
    kill(pid, SIGKILL); // a no-op on a zombie that already exited
  }
  if (pid > 0 && waitpid(pid, &status, 0) == pid) {
    if (WIFEXITED(status))
      run.exitCode = WEXITSTATUS(status);
    else if (WIFSIGNALED(status))
      run.signal = WTERMSIG(status);
  }
  run.out = readFile(outPath);
  run.err = readFile(errPath);
  return run;
}

// What `lenet eval` reported: the accuracy line's numbers and the confusion matrix.
struct Report {
  double accuracy = -1;
  long long correct = -1, total = -1;
  std::vector<std::vector<long long>> matrix; // [true][predicted]
  std::vector<std::string> rowNames;
  double imagesPerSecond = -1;

  long long sum() const {
    long long total = 0;
    for (const auto &row : matrix)
      for (long long count : row)
        total += count;
    return total;
  }
  long long rowSum(size_t row) const {
    long long total = 0;
    for (long long count : matrix[row])
      total += count;
    return total;
  }
};

// Parses the report; a malformed one fails the test (and leaves fields at -1 / empty).
inline Report parseReport(const std::string &text) {
  Report report;
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.rfind("accuracy: ", 0) == 0) {
      EXPECT_EQ(std::sscanf(line.c_str(), "accuracy: %lf%% (%lld of %lld)", &report.accuracy,
                            &report.correct, &report.total),
                3)
          << line;
    } else if (line.rfind("throughput: ", 0) == 0) {
      EXPECT_EQ(std::sscanf(line.c_str(), "throughput: %lf images/s", &report.imagesPerSecond), 1)
          << line;
    } else if (line.rfind("confusion matrix", 0) == 0) {
      std::getline(lines, line); // the column indices
      std::istringstream header(line);
      int columns = 0;
      for (std::string token; header >> token && token != "recall";)
        ++columns;
      for (int row = 0; row < columns && std::getline(lines, line); ++row) {
        std::istringstream fields(line);
        std::vector<std::string> tokens;
        for (std::string token; fields >> token;)
          tokens.push_back(token);
        // "<index> <name words...> <columns counts> <recall>"
        if (tokens.size() < size_t(columns) + 2) {
          ADD_FAILURE() << "short confusion matrix row: " << line;
          return report;
        }
        std::vector<long long> counts;
        std::string name;
        size_t firstCount = tokens.size() - 1 - columns;
        for (size_t t = 1; t < firstCount; ++t)
          name += (name.empty() ? "" : " ") + tokens[t];
        for (size_t t = firstCount; t + 1 < tokens.size(); ++t)
          counts.push_back(std::stoll(tokens[t]));
        report.matrix.push_back(counts);
        report.rowNames.push_back(name);
      }
    }
  }
  return report;
}

inline const std::vector<std::string> kFashionNames = {
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};

inline void expectSaneReport(const AppRun &run, long long images) {
  ASSERT_EQ(run.exitCode, 0) << run.err;
  EXPECT_EQ(run.err, "");
  Report report = parseReport(run.out);
  EXPECT_EQ(report.total, images) << run.out;
  EXPECT_GE(report.accuracy, 0.0);
  EXPECT_LE(report.accuracy, 100.0);
  EXPECT_NEAR(report.accuracy, 100.0 * double(report.correct) / double(images), 0.006);
  ASSERT_EQ(report.matrix.size(), 10u) << run.out;
  EXPECT_EQ(report.sum(), images) << run.out;
  long long diagonal = 0;
  for (size_t c = 0; c < 10; ++c) {
    ASSERT_EQ(report.matrix[c].size(), 10u) << run.out;
    diagonal += report.matrix[c][c];
  }
  EXPECT_EQ(diagonal, report.correct);
  EXPECT_EQ(report.rowNames, kFashionNames);
  EXPECT_GT(report.imagesPerSecond, 0.0) << run.out;
}

// An error: exit code 1, nothing on stdout, the message on stderr.
inline void expectFailure(const AppRun &run, const std::string &message) {
  EXPECT_EQ(run.exitCode, 1) << run.out << run.err;
  EXPECT_EQ(run.out, "");
  EXPECT_NE(run.err.find(message), std::string::npos) << "stderr: " << run.err;
}

} // namespace kiln::apptest

#endif // KILN_TESTS_APPS_APPTESTSUPPORT_H
