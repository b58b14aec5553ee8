// `lenet train` end to end, run as a subprocess: a CI-sized Fashion-MNIST run reaches 75% and
// `lenet eval` agrees with it; one-thread runs are bitwise reproducible and a resumed run equals
// an uninterrupted one; a non-finite loss stops training and keeps the last good checkpoint, and
// SIGKILL at any point never costs it; the
// curves come out as CSV and SVG; bad input fails before any training with a clear message.
#include "AppTestSupport.h"

#include "kiln/runtime.h"

#include <sys/stat.h>

#include <chrono>
#include <cmath>
#include <fstream>
#include <map>
#include <sstream>
#include <random>

namespace {

using namespace kiln::apptest;

// The numbers of the per-epoch lines "epoch E/N: train loss L, test accuracy A%, ...".
struct EpochLine {
  int epoch = -1, epochs = -1;
  double loss = NAN, accuracy = NAN;
};

std::vector<EpochLine> parseEpochs(const std::string &out) {
  std::vector<EpochLine> epochs;
  std::istringstream lines(out);
  for (std::string line; std::getline(lines, line);) {
    EpochLine e;
    if (std::sscanf(line.c_str(), "epoch %d/%d: train loss %lf, test accuracy %lf%%", &e.epoch,
                    &e.epochs, &e.loss, &e.accuracy) == 4)
      epochs.push_back(e);
  }
  return epochs;
}

std::vector<std::string> splitLines(const std::string &text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);)
    lines.push_back(line);
  return lines;
}

bool hasFashionMnist() {
  const std::string dir = KILN_FASHION_MNIST_DIR;
  return std::filesystem::exists(dir + "/train-images-idx3-ubyte.gz") ||
         std::filesystem::exists(dir + "/train-images-idx3-ubyte");
}

// A learnable synthetic dataset: each class is a bright 7x7 square at its own place on a dark
// 28x28 image, with a little per-image texture; `count` training and `count / 2` test images.
void writeLearnableDataset(const std::string &dir, int count) {
  for (const auto &[split, n] : {std::pair<std::string, int>{"train", count},
                                 std::pair<std::string, int>{"t10k", count / 2}}) {
    std::string pixels, labels;
    for (int i = 0; i < n; ++i) {
      int label = (i * 7 + (split == "t10k" ? 3 : 0)) % 10;
      int top = 2 + 7 * (label / 4 % 3), left = 2 + 6 * (label % 4);
      for (int y = 0; y < 28; ++y)
        for (int x = 0; x < 28; ++x) {
          bool inside = y >= top && y < top + 7 && x >= left && x < left + 7;
          pixels += static_cast<char>(inside ? 200 + (x * y + i) % 50 : (x + y + i) % 30);
        }
      labels += static_cast<char>(label);
    }
    writeFile(dir + "/" + split + "-images-idx3-ubyte",
              idx({uint32_t(n), 28u, 28u}, pixels), false);
    writeFile(dir + "/" + split + "-labels-idx1-ubyte", idx({uint32_t(n)}, labels), false);
  }
}

// The flags every small run here shares: one thread (bitwise reproducible), batch 16.
std::vector<std::string> smallRun(const std::string &data, const std::string &out, int epochs) {
  return {"train", "--data", data, "--out", out, "--epochs", std::to_string(epochs), "--batch",
          "16", "--threads", "1", "--seed", "7"};
}

std::vector<std::string> with(std::vector<std::string> args,
                              const std::vector<std::string> &more) {
  args.insert(args.end(), more.begin(), more.end());
  return args;
}

TEST(LenetTrain, FashionMnistSmokeRunReaches75PercentAndEvalAgrees) {
  if (!hasFashionMnist())
    GTEST_SKIP() << "Fashion-MNIST is not installed in " << KILN_FASHION_MNIST_DIR
                 << " (scripts/setup.sh)";
  TempDir out;
  const std::string ckpt = out.file("lenet.safetensors"), csv = out.file("curves.csv"),
                    svg = out.file("curves.svg");
  // 6,000 training images, 3 epochs, the default optimizer and learning rate: a few seconds.
  AppRun run = runLenet({"train", "--data", KILN_FASHION_MNIST_DIR, "--epochs", "3", "--limit",
                         "6000", "--test-limit", "2000", "--batch", "64", "--threads", "2",
                         "--out", ckpt, "--csv", csv, "--plot", svg});
  ASSERT_EQ(run.exitCode, 0) << run.out << run.err;
  std::vector<EpochLine> epochs = parseEpochs(run.out);
  ASSERT_EQ(epochs.size(), 3u) << run.out;
  EXPECT_GE(epochs.back().accuracy, 75.0) << run.out;
  EXPECT_LT(epochs.back().loss, epochs.front().loss) << run.out;
  // The live progress line: epoch, batch, loss, images/s, ETA.
  EXPECT_NE(run.err.find("epoch 3/3  batch 94/94  loss "), std::string::npos) << run.err;
  EXPECT_NE(run.err.find(" img/s  ETA "), std::string::npos) << run.err;

  // The checkpoint evaluates to the accuracy training reported.
  AppRun eval = runLenet({"eval", "--data", KILN_FASHION_MNIST_DIR, "--weights", ckpt,
                          "--limit", "2000"});
  expectSaneReport(eval, 2000);
  EXPECT_NEAR(parseReport(eval.out).accuracy, epochs.back().accuracy, 0.006) << eval.out;

  // The curves: a header and one row per epoch whose numbers are those printed.
  std::vector<std::string> rows = splitLines(readFile(csv));
  ASSERT_EQ(rows.size(), 4u) << readFile(csv);
  EXPECT_EQ(rows[0], "kind,epoch,step,train_loss,test_accuracy,seconds");
  for (size_t e = 0; e < 3; ++e) {
    double epoch, loss, accuracy, seconds;
    long long step;
    ASSERT_EQ(std::sscanf(rows[e + 1].c_str(), "epoch,%lf,%lld,%lf,%lf,%lf", &epoch, &step, &loss,
                          &accuracy, &seconds),
              5)
        << rows[e + 1];
    EXPECT_EQ(epoch, double(e + 1));
    EXPECT_EQ(step, 94 * (long long)(e + 1));
    EXPECT_NEAR(loss, epochs[e].loss, 1e-4);
    EXPECT_NEAR(accuracy, epochs[e].accuracy, 0.006);
    EXPECT_GT(seconds, 0.0);
  }
  std::string plot = readFile(svg);
  EXPECT_EQ(plot.rfind("<svg xmlns=\"http://www.w3.org/2000/svg\"", 0), 0u) << plot.substr(0, 80);
  EXPECT_NE(plot.find("</svg>\n"), std::string::npos);
  EXPECT_NE(plot.find("class=\"accuracy\""), std::string::npos);
  // Written with the umask's permissions, like any other file (not a temporary's 0600).
  EXPECT_NE(std::filesystem::status(csv).permissions() & std::filesystem::perms::group_read,
            std::filesystem::perms::none);
}

TEST(LenetTrain, SameSeedOneThreadIsBitwiseReproducibleAndTheSeedMatters) {
  TempDir data, out;
  writeLearnableDataset(data.path(), 160);
  AppRun a = runLenet(smallRun(data.path(), out.file("a.safetensors"), 2));
  AppRun b = runLenet(smallRun(data.path(), out.file("b.safetensors"), 2));
  AppRun c = runLenet(with(smallRun(data.path(), out.file("c.safetensors"), 2), {"--seed", "8"}));
  ASSERT_EQ(a.exitCode, 0) << a.err;
  ASSERT_EQ(b.exitCode, 0) << b.err;
  ASSERT_EQ(c.exitCode, 0) << c.err;
  std::string weightsA = readFile(out.file("a.safetensors"));
  EXPECT_GT(weightsA.size(), 431080u * 4);
  EXPECT_TRUE(weightsA == readFile(out.file("b.safetensors")));
  // Another seed shuffles the batches differently.
  EXPECT_FALSE(weightsA == readFile(out.file("c.safetensors")));
  // A constant learning rate is another schedule than the default cosine one.
  AppRun d = runLenet(
      with(smallRun(data.path(), out.file("d.safetensors"), 2), {"--schedule", "constant"}));
  ASSERT_EQ(d.exitCode, 0) << d.err;
  EXPECT_NE(d.out.find("(lr 0.05 constant"), std::string::npos) << d.out;
  EXPECT_FALSE(weightsA == readFile(out.file("d.safetensors")));
}

TEST(LenetTrain, LearnsASyntheticTask) {
  TempDir data, out;
  writeLearnableDataset(data.path(), 400);
  AppRun run = runLenet(smallRun(data.path(), out.file("w.safetensors"), 3));
  ASSERT_EQ(run.exitCode, 0) << run.err;
  std::vector<EpochLine> epochs = parseEpochs(run.out);
  ASSERT_EQ(epochs.size(), 3u) << run.out;
  EXPECT_GE(epochs.back().accuracy, 90.0) << run.out;
}

// A checkpoint Kiln trained loads into PyTorch's LeNet (tests/lit/frontend/Inputs/torch/
// make_torch_files.py) by name: every tensor of that module's state_dict is in the checkpoint
// with its dtype and shape, and the checkpoint's other tensors are the optimizer's state.
TEST(LenetTrain, CheckpointIsTorchLeNetsStateDict) {
  TempDir data, out;
  writeLearnableDataset(data.path(), 64);
  const std::string ckpt = out.file("w.safetensors");
  AppRun run = runLenet(smallRun(data.path(), ckpt, 1));
  ASSERT_EQ(run.exitCode, 0) << run.err;
  kiln_weights *weights = nullptr;
  ASSERT_EQ(kiln_weights_load(ckpt.c_str(), &weights), KILN_OK) << kiln_last_error();
  std::map<std::string, std::string> have; // name → "float32 20x1x5x5"
  for (size_t i = 0; i < kiln_weights_count(weights); ++i) {
    std::string name = kiln_weights_name(weights, i);
    kiln_tensor t;
    ASSERT_EQ(kiln_weights_get(weights, name.c_str(), &t), KILN_OK);
    std::string shape;
    for (int32_t d = 0; d < t.rank; ++d)
      shape += (d ? "x" : "") + std::to_string(t.shape[d]);
    have[name] = std::string(t.dtype == KILN_F32 ? "float32" : kiln_dtype_name(t.dtype)) + " " +
                 shape;
  }
  kiln_weights_free(weights);
  std::ifstream expected(KILN_TORCH_LENET_STATE_DICT);
  ASSERT_TRUE(expected) << KILN_TORCH_LENET_STATE_DICT;
  std::string line;
  size_t count = 0;
  while (std::getline(expected, line)) {
    std::istringstream fields(line); // name, dtype, shape ("" for a scalar)
    std::string name, dtype, shape;
    fields >> name >> dtype >> shape;
    ++count;
    ASSERT_EQ(have.count(name), 1u) << name << " of PyTorch's LeNet is not in the checkpoint";
    EXPECT_EQ(have[name], dtype + " " + shape) << name;
    have.erase(name);
  }
  EXPECT_EQ(count, 8u);
  for (const auto &[rest, _] : have)
    EXPECT_EQ(rest.rfind("optimizer.", 0), 0u) << rest << " is neither LeNet's nor the optimizer's";
}

TEST(LenetTrain, ResumingEqualsAnUninterruptedRun) {
  TempDir data, out;
  writeLearnableDataset(data.path(), 160);
  const std::string whole = out.file("whole.safetensors"), part = out.file("part.safetensors"),
                    resumed = out.file("resumed.safetensors"), csv = out.file("curves.csv");
  ASSERT_EQ(runLenet(smallRun(data.path(), whole, 3)).exitCode, 0);
  // Interrupted after epoch 1 of 3 (the cosine schedule spans the 3 epochs).
  AppRun first = runLenet(with(smallRun(data.path(), part, 3), {"--csv", csv, "--stop-after", "1"}));
  EXPECT_NE(first.out.find("stopped after epoch 1 of 3"), std::string::npos) << first.out;
  ASSERT_EQ(first.exitCode, 0) << first.err;
  AppRun rest = runLenet(with(smallRun(data.path(), resumed, 3), {"--resume", part, "--csv", csv}));
  ASSERT_EQ(rest.exitCode, 0) << rest.err;
  EXPECT_NE(rest.out.find("resuming " + part + " after epoch 1 (step 10)"), std::string::npos)
      << rest.out;
  // Epochs 2 and 3 only, and the weights, optimizer state and step count of the whole run.
  std::vector<EpochLine> epochs = parseEpochs(rest.out);
  ASSERT_EQ(epochs.size(), 2u) << rest.out;
  EXPECT_EQ(epochs[0].epoch, 2);
  EXPECT_TRUE(readFile(whole) == readFile(resumed));
  // The CSV continues the first run's rows.
  std::vector<std::string> rows = splitLines(readFile(csv));
  ASSERT_EQ(rows.size(), 4u) << readFile(csv);
  EXPECT_EQ(rows[1].rfind("epoch,1.0000,10,", 0), 0u) << rows[1];
  EXPECT_EQ(rows[3].rfind("epoch,3.0000,30,", 0), 0u) << rows[3];

  // A checkpoint that already holds the epochs asked for: nothing to do, nothing written.
  AppRun done = runLenet(with(smallRun(data.path(), out.file("none.safetensors"), 3),
                              {"--resume", whole}));
  EXPECT_EQ(done.exitCode, 0) << done.err;
  EXPECT_NE(done.out.find("nothing to do"), std::string::npos) << done.out;
  EXPECT_FALSE(std::filesystem::exists(out.file("none.safetensors")));
}

TEST(LenetTrain, ANonFiniteLossStopsTrainingAndKeepsTheLastCheckpoint) {
  TempDir data, out;
  writeLearnableDataset(data.path(), 160);
  const std::string ckpt = out.file("ckpt.safetensors");
  ASSERT_EQ(runLenet(smallRun(data.path(), ckpt, 1)).exitCode, 0);
  std::string good = readFile(ckpt);

  // Continuing into the same file with a learning rate that overflows the weights.
  AppRun run = runLenet(with(smallRun(data.path(), ckpt, 3), {"--resume", ckpt, "--lr", "1e30"}));
  EXPECT_EQ(run.exitCode, 1) << run.out << run.err;
  EXPECT_NE(run.err.find("lenet train: error: the loss is "), std::string::npos) << run.err;
  EXPECT_NE(run.err.find("training stopped"), std::string::npos) << run.err;
  EXPECT_NE(run.err.find(ckpt + " is unchanged"), std::string::npos) << run.err;
  EXPECT_TRUE(readFile(ckpt) == good);
  // No temporary file is left beside it.
  int files = 0;
  for (const auto &entry : std::filesystem::directory_iterator(out.path()))
    files += entry.is_regular_file();
  EXPECT_EQ(files, 1);

  // A fresh run that diverges before its first epoch ends writes no checkpoint at all.
  const std::string fresh = out.file("fresh.safetensors");
  AppRun diverged = runLenet(with(smallRun(data.path(), fresh, 2), {"--lr", "1e30"}));
  EXPECT_EQ(diverged.exitCode, 1) << diverged.out << diverged.err;
  EXPECT_NE(diverged.err.find("epoch 1, batch "), std::string::npos) << diverged.err;
  EXPECT_NE(diverged.err.find("no checkpoint was written"), std::string::npos) << diverged.err;
  EXPECT_FALSE(std::filesystem::exists(fresh));
}

TEST(LenetTrain, WeightsThatDivergeInAnEpochsLastStepAreNotSaved) {
  // One batch per epoch: the step's loss is computed before its update, so it is finite while
  // the update makes the weights useless (the test set's logits are NaN or infinite); the
  // checkpoint of that epoch is refused, not written as a good one.
  TempDir data, out;
  writeLearnableDataset(data.path(), 16); // one batch of 16
  const std::string ckpt = out.file("ckpt.safetensors");
  // The largest learning rate and weight decay: the update overflows the weights to infinity.
  AppRun run = runLenet(
      with(smallRun(data.path(), ckpt, 2), {"--lr", "3e38", "--weight-decay", "1000"}));
  EXPECT_EQ(run.exitCode, 1) << run.out << run.err;
  EXPECT_NE(run.err.find("lenet train: error: the model has diverged at the end of epoch 1 "
                         "(sample 0: logit "),
            std::string::npos)
      << run.err;
  EXPECT_NE(run.err.find("no checkpoint was written"), std::string::npos) << run.err;
  EXPECT_FALSE(std::filesystem::exists(ckpt));
}

// The step count a checkpoint holds (its "optimizer.step"), or -1 when it does not load.
int64_t checkpointStep(const std::string &path) {
  kiln_weights *weights = nullptr;
  if (kiln_weights_load(path.c_str(), &weights) != KILN_OK)
    return -1;
  kiln_tensor step;
  int64_t value = -1;
  if (kiln_weights_get(weights, "optimizer.step", &step) == KILN_OK && step.dtype == KILN_I64 &&
      step.rank == 0)
    value = *static_cast<const int64_t *>(step.data);
  kiln_weights_free(weights);
  return value;
}

TEST(LenetTrain, SigkillAtRandomPointsNeverCostsTheLastCompleteCheckpoint) {
  // One batch of 16 images an epoch: each epoch is one step, a tiny evaluation and a checkpoint
  // save (written beside the file, fsync'd, renamed), so kills at random times land in saves
  // often. After every kill the checkpoint, if any epoch completed, loads, holds at least the
  // steps the previous one held, and training resumes from it; the temporaries of killed
  // saves are removed by the next save.
  TempDir data, out;
  writeLearnableDataset(data.path(), 16);
  const std::string ckpt = out.file("ckpt.safetensors");
  // The kill times are fractions of one whole run's time here (start-up, an epoch, a save), so
  // a slow machine (a sanitizer build, a loaded disk) still sees checkpoints complete.
  auto started = std::chrono::steady_clock::now();
  ASSERT_EQ(runLenet(smallRun(data.path(), out.file("timing.safetensors"), 1)).exitCode, 0);
  long oneRun = std::chrono::duration_cast<std::chrono::microseconds>(
                    std::chrono::steady_clock::now() - started).count();
  std::remove(out.file("timing.safetensors").c_str());
  std::mt19937 random(20261205); // fixed: the same kill times (as fractions) on every run
  std::uniform_int_distribution<long> delay(0, 4 * oneRun);
  int64_t steps = 0;
  int killed = 0;
  for (int round = 0; round < 20; ++round) {
    std::vector<std::string> args = smallRun(data.path(), ckpt, 100000);
    if (std::filesystem::exists(ckpt))
      args = with(args, {"--resume", ckpt});
    AppRun run = runLenet(args, delay(random));
    killed += run.signal == SIGKILL;
    EXPECT_TRUE(run.signal == SIGKILL || run.exitCode == 0) << run.err;
    if (!std::filesystem::exists(ckpt))
      continue; // killed before the first epoch ended
    int64_t now = checkpointStep(ckpt);
    ASSERT_GE(now, steps) << "round " << round << ": " << kiln_last_error();
    steps = now;
  }
  EXPECT_GE(killed, 15);
  ASSERT_GT(steps, 0) << "no epoch ever completed: the kills came too early to test anything";
  // The last checkpoint resumes and finishes two more epochs; nothing else is left beside it.
  AppRun finish = runLenet(with(smallRun(data.path(), ckpt, static_cast<int>(steps) + 2),
                                {"--resume", ckpt}));
  EXPECT_EQ(finish.exitCode, 0) << finish.err;
  EXPECT_EQ(checkpointStep(ckpt), steps + 2);
  EXPECT_EQ(out.list(), std::vector<std::string>{"ckpt.safetensors"});
}

// ---- errors: exit code 1, the message on stderr, nothing trained and nothing written --------

TEST(LenetTrainErrors, CommandLine) {
  TempDir data, out;
  writeLearnableDataset(data.path(), 20);
  const std::string ckpt = out.file("w.safetensors");
  expectFailure(runLenet({"train", "--out", ckpt}), "--data");
  expectFailure(runLenet({"train", "--data", data.path()}), "--out");
  expectFailure(runLenet({"train", "--data", data.path(), "--out", ckpt, "--batch", "0"}),
                "--batch 0: expected an integer in [1, ");
  expectFailure(runLenet({"train", "--data", data.path(), "--out", ckpt, "--epochs", "x"}),
                "--epochs x: expected an integer");
  expectFailure(runLenet({"train", "--data", data.path(), "--out", ckpt, "--lr", "nan"}),
                "--lr nan: expected a number");
  expectFailure(runLenet({"train", "--data", data.path(), "--out", ckpt, "--lr", "-1"}),
                "--lr -1: expected a number");
  expectFailure(runLenet({"train", "--data", data.path(), "--out", ckpt, "--schedule", "step"}),
                "--schedule step: expected cosine or constant");
  expectFailure(runLenet({"train", "--data", data.path(), "--out", ckpt, "--frobnicate", "1"}),
                "--frobnicate");
  EXPECT_FALSE(std::filesystem::exists(ckpt));
}

TEST(LenetTrainErrors, OutputsThatCannotBeWrittenFailBeforeTraining) {
  TempDir data, out;
  writeLearnableDataset(data.path(), 20);
  std::string missing = out.file("no-such-dir") + "/w.safetensors";
  AppRun run = runLenet({"train", "--data", data.path(), "--out", missing});
  expectFailure(run, "--out " + missing + ": directory " + out.file("no-such-dir") +
                         ": No such file or directory");
  EXPECT_EQ(run.err.find("epoch"), std::string::npos) << "trained anyway: " << run.err;
  expectFailure(runLenet({"train", "--data", data.path(), "--out", out.path()}),
                "--out " + out.path() + ": is a directory");
  expectFailure(runLenet({"train", "--data", data.path(), "--out", out.file("w.safetensors"),
                          "--csv", missing}),
                "--csv " + missing);
  expectFailure(runLenet({"train", "--data", data.path(), "--out", out.file("w.safetensors"),
                          "--plot", out.path() + "/"}),
                "--plot");
  // A FIFO (as a device node would be) is not replaced by the checkpoint, the CSV or the plot.
  std::string fifo = out.file("pipe");
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  for (const char *flag : {"--out", "--csv", "--plot"}) {
    std::vector<std::string> args = {"train", "--data", data.path(), "--out",
                                     out.file("w.safetensors")};
    if (std::string(flag) == "--out")
      args.back() = fifo;
    else
      args.insert(args.end(), {flag, fifo});
    AppRun fifoRun = runLenet(args);
    expectFailure(fifoRun, std::string(flag) + " " + fifo +
                               ": exists and is not a regular file (a device, FIFO or socket)");
    EXPECT_EQ(fifoRun.err.find("epoch"), std::string::npos) << "trained anyway: " << fifoRun.err;
  }
  struct stat info;
  ASSERT_EQ(lstat(fifo.c_str(), &info), 0);
  EXPECT_TRUE(S_ISFIFO(info.st_mode));
  EXPECT_FALSE(std::filesystem::exists(out.file("w.safetensors")));
}

TEST(LenetTrainErrors, BadDataOrCheckpoint) {
  TempDir data, out;
  const std::string ckpt = out.file("w.safetensors");
  // Only the test split: the training split is missing.
  writeDataset(data.path(), 10, /*gzip=*/false);
  expectFailure(runLenet({"train", "--data", data.path(), "--out", ckpt}),
                "train-images-idx3-ubyte");

  TempDir good;
  writeLearnableDataset(good.path(), 20);
  // A truncated checkpoint.
  std::string weights = readFile(KILN_LENET_INITIAL_WEIGHTS);
  writeFile(out.file("cut.safetensors"), weights.substr(0, weights.size() / 2), false);
  expectFailure(runLenet({"train", "--data", good.path(), "--out", ckpt, "--resume",
                          out.file("cut.safetensors")}),
                out.file("cut.safetensors") + ": ");
  // A file that is not a checkpoint at all.
  writeFile(out.file("text.safetensors"), "hello, world\n", false);
  expectFailure(runLenet({"train", "--data", good.path(), "--out", ckpt, "--resume",
                          out.file("text.safetensors")}),
                out.file("text.safetensors") + ": ");
  expectFailure(runLenet({"train", "--data", good.path(), "--out", ckpt, "--resume",
                          out.file("missing.safetensors")}),
                out.file("missing.safetensors"));
  EXPECT_FALSE(std::filesystem::exists(ckpt));
}

} // namespace
