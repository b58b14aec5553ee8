// `lenet eval` end to end: the binary runs as a subprocess on tiny IDX datasets written here
// (plain and gzip'd), on the Fashion-MNIST test set when installed, and on bad input, whose
// messages are checked by text.
#include "AppTestSupport.h"

namespace {

using namespace kiln::apptest;

TEST(LenetEval, TinyPlainDataset) {
  TempDir data;
  writeDataset(data.path(), 7, /*gzip=*/false);
  AppRun run = runLenet({"eval", "--data", data.path(), "--weights", KILN_LENET_INITIAL_WEIGHTS});
  expectSaneReport(run, 7);
  EXPECT_NE(run.out.find("lenet eval: 7 images of " + data.path() + "/t10k"), std::string::npos)
      << run.out;
  // Labels are i % 10: one image of each class 0-6.
  Report report = parseReport(run.out);
  for (size_t c = 0; c < 10; ++c)
    EXPECT_EQ(report.rowSum(c), c < 7 ? 1 : 0) << "class " << c;
}

TEST(LenetEval, GzipDatasetMatchesPlain) {
  TempDir plain, gzipped;
  writeDataset(plain.path(), 12, /*gzip=*/false);
  writeDataset(gzipped.path(), 12, /*gzip=*/true);
  AppRun a = runLenet({"eval", "--data", plain.path()});
  AppRun b = runLenet({"eval", "--data=" + gzipped.path()});
  expectSaneReport(a, 12);
  expectSaneReport(b, 12);
  EXPECT_EQ(parseReport(a.out).matrix, parseReport(b.out).matrix);
}

TEST(LenetEval, BatchThreadsAndLimitDoNotChangePredictions) {
  TempDir data;
  writeDataset(data.path(), 11, /*gzip=*/true);
  AppRun whole = runLenet({"eval", "--data", data.path()});
  // 11 = 3 + 3 + 3 + 2: a partial last batch; one thread.
  AppRun batched = runLenet({"eval", "--data", data.path(), "--batch", "3", "--threads", "1"});
  expectSaneReport(whole, 11);
  expectSaneReport(batched, 11);
  EXPECT_EQ(parseReport(whole.out).matrix, parseReport(batched.out).matrix);
  EXPECT_NE(batched.out.find("batch 3, 1 thread"), std::string::npos) << batched.out;

  AppRun limited = runLenet({"eval", "--data", data.path(), "--limit", "4", "--batch", "1"});
  expectSaneReport(limited, 4);
  AppRun beyond = runLenet({"eval", "--data", data.path(), "--limit", "1000"});
  expectSaneReport(beyond, 11);
}

TEST(LenetEval, FashionMnistTestSet) {
  const std::string dir = KILN_FASHION_MNIST_DIR;
  if (!std::filesystem::exists(dir + "/t10k-images-idx3-ubyte.gz") &&
      !std::filesystem::exists(dir + "/t10k-images-idx3-ubyte"))
    GTEST_SKIP() << "Fashion-MNIST is not installed in " << dir << " (scripts/setup.sh)";
  AppRun run = runLenet({"eval", "--data", dir, "--weights", KILN_LENET_INITIAL_WEIGHTS, "--batch",
                      "256", "--threads", "2"});
  expectSaneReport(run, 10000);
  // The test set holds 1000 images of each class.
  Report report = parseReport(run.out);
  for (size_t c = 0; c < report.matrix.size(); ++c)
    EXPECT_EQ(report.rowSum(c), 1000) << kFashionNames[c];
}

// ---- errors: exit code 1, nothing on stdout, the message on stderr --------------------------

TEST(LenetEvalErrors, MissingDataDirectory) {
  TempDir scratch;
  std::string missing = scratch.file("no-such-dir");
  expectFailure(runLenet({"eval", "--data", missing}),
                "lenet eval: error: " + missing +
                    ": cannot open the data directory: No such file or directory");
}

TEST(LenetEvalErrors, DataIsAFile) {
  TempDir scratch;
  writeFile(scratch.file("plain"), "x", false);
  expectFailure(runLenet({"eval", "--data", scratch.file("plain")}),
                scratch.file("plain") + ": not a directory");
}

TEST(LenetEvalErrors, MissingFilesInDataDirectory) {
  TempDir empty;
  expectFailure(runLenet({"eval", "--data", empty.path()}),
                empty.file("t10k-images-idx3-ubyte") + ": no such file (nor " +
                    empty.file("t10k-images-idx3-ubyte.gz") + ")");
  writeDataset(empty.path(), 3, false);
  std::filesystem::remove(empty.file("t10k-labels-idx1-ubyte"));
  expectFailure(runLenet({"eval", "--data", empty.path()}),
                empty.file("t10k-labels-idx1-ubyte") + ": no such file");
}

TEST(LenetEvalErrors, TruncatedImages) {
  TempDir data;
  writeDataset(data.path(), 3, false);
  std::string images = readFile(data.file("t10k-images-idx3-ubyte"));
  writeFile(data.file("t10k-images-idx3-ubyte"), images.substr(0, images.size() - 100), false);
  expectFailure(runLenet({"eval", "--data", data.path()}),
                data.file("t10k-images-idx3-ubyte") + ": truncated");
}

TEST(LenetEvalErrors, WrongImageSize) {
  TempDir data;
  writeDataset(data.path(), 2, false, /*size=*/32);
  expectFailure(runLenet({"eval", "--data", data.path()}),
                "images are 32x32, the model takes 28x28");
}

TEST(LenetEvalErrors, MissingWeights) {
  TempDir data;
  writeDataset(data.path(), 2, false);
  std::string missing = data.file("missing.safetensors");
  expectFailure(runLenet({"eval", "--data", data.path(), "--weights", missing}),
                "lenet eval: error: " + missing + ": No such file or directory");
}

TEST(LenetEvalErrors, CorruptWeights) {
  TempDir data;
  writeDataset(data.path(), 2, false);
  std::string corrupt = data.file("corrupt.safetensors");
  writeFile(corrupt, std::string(64, '\xff'), false);
  expectFailure(runLenet({"eval", "--data", data.path(), "--weights", corrupt}),
                "lenet eval: error: " + corrupt + ": ");
  // A real weights file cut short.
  std::string weights = readFile(KILN_LENET_INITIAL_WEIGHTS);
  writeFile(corrupt, weights.substr(0, weights.size() / 2), false);
  expectFailure(runLenet({"eval", "--data", data.path(), "--weights", corrupt}),
                "lenet eval: error: " + corrupt + ": ");
}

TEST(LenetEvalErrors, CommandLine) {
  expectFailure(runLenet({}), "usage: lenet COMMAND");
  expectFailure(runLenet({"frobnicate"}), "lenet: error: unknown command 'frobnicate'");
  expectFailure(runLenet({"eval"}), "lenet eval: error: missing --data DIR");
  expectFailure(runLenet({"eval", "--data", "/tmp", "--batch", "0"}),
                "lenet eval: error: --batch 0: expected an integer in [1, ");
  expectFailure(runLenet({"eval", "--data", "/tmp", "--threads", "two"}),
                "lenet eval: error: --threads two: expected an integer in [0, 4096]");
  expectFailure(runLenet({"eval", "--data", "/tmp", "--shuffle"}),
                "lenet eval: error: unknown option '--shuffle'");
  expectFailure(runLenet({"eval", "--data"}), "lenet eval: error: --data needs a value");
  AppRun help = runLenet({"eval", "--help"});
  EXPECT_EQ(help.exitCode, 0);
  EXPECT_NE(help.out.find("usage: lenet eval --data DIR"), std::string::npos) << help.out;
}

} // namespace
