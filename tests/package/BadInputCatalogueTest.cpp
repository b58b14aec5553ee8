// A catalogue of bad input at every entry point of a generated library (LeNet, compiled by kilnc
// with SGD, and lenet_adam's training step): one table per entry point (lenet_create,
// lenet_forward, lenet_train_step, lenet_adam_train_step, lenet_save, lenet_set_training,
// lenet_step_count), each case a bad argument, option, environment or weights file (NULL
// pointers; wrong rank, extents, dtype; a batch of 0, a negative one, one beyond
// LENET_MAX_BATCH / LENET_TRAIN_MAX_BATCH; an output that overlaps the input; labels outside the
// classes; hyperparameters NaN, infinite or negative; files missing, truncated, bit-flipped, of
// the wrong kind, with a tensor of the wrong shape or dtype, missing, non-finite or extra; a
// diverged state to save) with the status and the message it must give, and a check that the
// failure changed nothing (no model returned, no step taken, no file written). Other tests cover
// the same ground by feature; this one is the list of what a caller can get wrong.
//
// Strides: kiln_tensor has none; tensors are dense C order by construction (runtime.h), so no
// stride can be wrong. A rank above KILN_MAX_RANK or below 0 (a malformed descriptor) is the
// nearest equivalent and is in the tables instead.
#include "PackageTestSupport.h"

#include "lenet_adam.h"

#include <algorithm>
#include <climits>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <functional>
#include <limits>
#include <optional>
#include <sys/stat.h>
#include <unistd.h>

using namespace kiln::test;
using testing::AllOf;
using testing::EndsWith;
using testing::HasSubstr;
using testing::Matcher;
using testing::StartsWith;

namespace {

using kiln::testsupport::TempDir;

const float kNaN = std::numeric_limits<float>::quiet_NaN();
const float kInf = std::numeric_limits<float>::infinity();

// Clears the last error to a value no call sets, so that a message check cannot pass on a
// message left over from an earlier call.
void resetLastError() { kiln_fail(KILN_OK, "(no message was recorded)"); }

void expectFailure(kiln_status got, kiln_status status, const Matcher<std::string> &message) {
  EXPECT_EQ(got, status) << kiln_status_message(got) << ": " << kiln_last_error();
  EXPECT_THAT(std::string(kiln_last_error()), message);
}

// A dtype no kiln_dtype names but within the enum's range of values (0), stored as is.
kiln_dtype noDtype() {
  kiln_dtype dtype;
  int32_t zero = 0;
  static_assert(sizeof dtype == sizeof zero);
  std::memcpy(&dtype, &zero, sizeof zero);
  return dtype;
}

// A descriptor over `data` (no check of the rank, unlike kiln_tensor_view).
kiln_tensor tensorOf(void *data, kiln_dtype dtype, std::vector<int64_t> shape) {
  kiln_tensor tensor;
  std::memset(&tensor, 0, sizeof tensor);
  tensor.data = data;
  tensor.dtype = dtype;
  tensor.rank = static_cast<int32_t>(shape.size());
  std::copy(shape.begin(), shape.end(), tensor.shape);
  return tensor;
}

// `bytes` with bit `bit` of byte `index` inverted.
std::string flipBit(std::string bytes, size_t index, int bit) {
  bytes.at(index) = static_cast<char>(bytes.at(index) ^ (1 << bit));
  return bytes;
}

// The message of a writer that cannot create its temporary beside `path`: "<path>: cannot
// create <path>.tmp.<pid>.<counter>: <reason>"; the counter is the writer's own.
Matcher<std::string> cannotCreate(const std::string &path, const std::string &reason) {
  return AllOf(StartsWith(path + ": cannot create " + path + ".tmp." + std::to_string(getpid()) +
                          "."),
               EndsWith(": " + reason));
}

// LeNet's initial weights (kilnc's lenet.safetensors) as a list of named tensors, edited by
// `edit`, saved as `path`.
struct Named {
  std::string name;
  kiln_tensor tensor;
};
void saveEditedWeights(const std::string &path,
                       const std::function<void(std::vector<Named> &)> &edit) {
  kiln_weights *weights = nullptr;
  ASSERT_EQ(kiln_weights_load(kLenetWeights.c_str(), &weights), KILN_OK) << kiln_last_error();
  std::vector<Named> tensors;
  for (size_t i = 0; i < kiln_weights_count(weights); ++i) {
    Named named{kiln_weights_name(weights, i), {}};
    ASSERT_EQ(kiln_weights_get(weights, named.name.c_str(), &named.tensor), KILN_OK);
    tensors.push_back(named);
  }
  edit(tensors);
  std::vector<const char *> names;
  std::vector<kiln_tensor> descriptors;
  for (const Named &named : tensors) {
    names.push_back(named.name.c_str());
    descriptors.push_back(named.tensor);
  }
  EXPECT_EQ(kiln_weights_save(path.c_str(), names.size(), names.data(), descriptors.data()),
            KILN_OK)
      << kiln_last_error();
  kiln_weights_free(weights);
}

// The named tensor of `tensors`; fails the test (and returns a dummy) when there is none.
kiln_tensor &tensorNamed(std::vector<Named> &tensors, const std::string &name) {
  for (Named &named : tensors)
    if (named.name == name)
      return named.tensor;
  ADD_FAILURE() << "no tensor " << name;
  static kiln_tensor dummy;
  return dummy;
}

// Sets (or, for nullopt, unsets) an environment variable for a scope, restoring it after.
class ScopedEnv {
public:
  ScopedEnv(const char *name, std::optional<std::string> value) : name_(name) {
    if (const char *old = std::getenv(name))
      old_ = old;
    if (value)
      setenv(name, value->c_str(), 1);
    else
      unsetenv(name);
  }
  ~ScopedEnv() {
    if (old_)
      setenv(name_, old_->c_str(), 1);
    else
      unsetenv(name_);
  }
  ScopedEnv(const ScopedEnv &) = delete;
  ScopedEnv &operator=(const ScopedEnv &) = delete;

private:
  const char *name_;
  std::optional<std::string> old_;
};

// ---- lenet_create -----------------------------------------------------------------------------

TEST(BadInputCatalogue, LenetCreate) {
  TempDir dir;
  std::string good = readFile(kLenetWeights);
  ASSERT_GT(good.size(), 1000u);
  uint64_t headerSize = 0;
  for (int i = 7; i >= 0; --i)
    headerSize = headerSize << 8 | static_cast<unsigned char>(good[static_cast<size_t>(i)]);
  std::string half = good.substr(0, good.size() / 2);
  size_t extentAt = good.find("\"conv1.weight\":{\"dtype\":\"F32\",\"shape\":[20,1,5,5]");
  ASSERT_NE(extentAt, std::string::npos) << "kilnc's header layout changed";
  extentAt += std::strlen("\"conv1.weight\":{\"dtype\":\"F32\",\"shape\":[20,1,5,");
  auto file = [&](const std::string &name, const std::string &bytes) {
    std::string path = dir.file(name);
    writeFile(path, bytes);
    return path;
  };
  std::string fifoPath = dir.file("weights.fifo");
  ASSERT_EQ(mkfifo(fifoPath.c_str(), 0600), 0);
  std::vector<double> zeros(1 << 12, 0.0); // storage for replaced tensors
  auto poisoned = [&](float value, size_t index) {
    std::vector<float> bias(10, 0.1f);
    bias[index] = value;
    return bias;
  };
  std::vector<float> nanBias = poisoned(kNaN, 3), infBias = poisoned(-kInf, 0);
  double stepF64 = 3.0;
  int64_t stepNegative = -2;
  auto replaced = [&](const std::string &file, const std::string &name, kiln_dtype dtype,
                      std::vector<int64_t> shape, void *data) {
    std::string path = dir.file(file);
    saveEditedWeights(path, [&](std::vector<Named> &tensors) {
      tensorNamed(tensors, name) = tensorOf(data, dtype, shape);
    });
    return path;
  };
  auto added = [&](const std::string &file, const std::string &name, kiln_dtype dtype,
                   std::vector<int64_t> shape, void *data) {
    std::string path = dir.file(file);
    saveEditedWeights(path, [&](std::vector<Named> &tensors) {
      tensors.push_back({name, tensorOf(data, dtype, shape)});
    });
    return path;
  };
  std::string missing = dir.file("missing.safetensors");
  saveEditedWeights(missing, [](std::vector<Named> &tensors) {
    tensors.erase(std::remove_if(tensors.begin(), tensors.end(),
                                 [](const Named &n) { return n.name == "fc2.bias"; }),
                  tensors.end());
  });

  struct Case {
    const char *what;
    std::optional<std::string> weightsPath; // nullopt: NULL
    int32_t numThreads;
    int32_t device;
    std::optional<std::string> numThreadsEnv; // nullopt: unset
    bool nullOut;
    kiln_status status;
    Matcher<std::string> message;
  };
  auto device = [](int d) {
    return "lenet_create: device " + std::to_string(d) +
           " requested, but this library was compiled for the CPU (target host); use device 0";
  };
  auto threadsEnv = [](const std::string &value) {
    return "lenet_create: $KILN_NUM_THREADS is '" + value + "'; expected a count from 1 to 4096";
  };
  auto threads = [](const std::string &value) {
    return "lenet_create: num_threads is " + value +
           "; expected 0 (automatic) or a count from 1 to 4096";
  };
  std::string p;
  std::vector<Case> cases = {
      {"NULL out_model", std::nullopt, 2, 0, std::nullopt, true, KILN_INVALID_ARGUMENT,
       "lenet_create: out_model is NULL"},
      {"device 1 on a CPU library", std::nullopt, 2, 1, std::nullopt, false, KILN_DEVICE_ERROR,
       device(1)},
      {"device -1", std::nullopt, 2, -1, std::nullopt, false, KILN_DEVICE_ERROR, device(-1)},
      {"num_threads -1", std::nullopt, -1, 0, std::nullopt, false, KILN_INVALID_ARGUMENT,
       threads("-1")},
      {"num_threads KILN_MAX_THREADS + 1", std::nullopt, KILN_MAX_THREADS + 1, 0, std::nullopt,
       false, KILN_INVALID_ARGUMENT, threads("4097")},
      {"num_threads INT32_MIN", std::nullopt, INT32_MIN, 0, std::nullopt, false,
       KILN_INVALID_ARGUMENT, threads("-2147483648")},
      {"$KILN_NUM_THREADS not a number", std::nullopt, 0, 0, "abc", false,
       KILN_INVALID_ARGUMENT, threadsEnv("abc")},
      {"$KILN_NUM_THREADS 0", std::nullopt, 0, 0, "0", false, KILN_INVALID_ARGUMENT,
       threadsEnv("0")},
      {"$KILN_NUM_THREADS above KILN_MAX_THREADS", std::nullopt, 0, 0, "4097", false,
       KILN_INVALID_ARGUMENT, threadsEnv("4097")},
      {"$KILN_NUM_THREADS empty", std::nullopt, 0, 0, "", false, KILN_INVALID_ARGUMENT,
       threadsEnv("")},
      {"$KILN_NUM_THREADS with a trailing space", std::nullopt, 0, 0, "2 ", false,
       KILN_INVALID_ARGUMENT, threadsEnv("2 ")},
      {"bad num_threads and bad device: num_threads is named", std::nullopt, -1, 1, std::nullopt,
       false, KILN_INVALID_ARGUMENT, threads("-1")},
      {"weights_path empty", "", 2, 0, std::nullopt, false, KILN_INVALID_ARGUMENT,
       "lenet_create: weights_path is empty; give a safetensors file, or NULL for the model's "
       "initial weights"},
      {"weights_path missing", p = dir.file("absent.safetensors"), 2, 0, std::nullopt, false,
       KILN_IO_ERROR, p + ": No such file or directory"},
      {"weights_path a directory", p = dir.path(), 2, 0, std::nullopt, false, KILN_IO_ERROR,
       p + ": not a regular file"},
      {"weights_path a device", "/dev/null", 2, 0, std::nullopt, false, KILN_IO_ERROR,
       "/dev/null: not a regular file"},
      {"weights file empty", p = file("empty.safetensors", ""), 2, 0, std::nullopt, false,
       KILN_CORRUPT_FILE, p + ": 0 bytes, too short for the 8-byte header length"},
      {"weights file truncated to 5 bytes", p = file("five.safetensors", good.substr(0, 5)), 2, 0,
       std::nullopt, false, KILN_CORRUPT_FILE,
       p + ": 5 bytes, too short for the 8-byte header length"},
      {"weights file truncated in half", p = file("half.safetensors", half), 2, 0, std::nullopt,
       false, KILN_CORRUPT_FILE,
       AllOf(StartsWith(p + ": tensor '"),
             EndsWith(" extend past the end of the data (" +
                      std::to_string(half.size() - 8 - headerSize) + " bytes)"))},
      {"weights file a text file", p = file("text.safetensors", "hello, world\n"), 2, 0,
       std::nullopt, false, KILN_CORRUPT_FILE,
       p + ": header length 8583909746840200552 exceeds the limit of 100000000 bytes"},
      {"bit flipped in the header's '{'", p = file("flip-brace.safetensors", flipBit(good, 8, 0)),
       2, 0, std::nullopt, false, KILN_CORRUPT_FILE, p + ": the header is not valid JSON"},
      {"bit flipped in an extent (5 -> 4)",
       p = file("flip-extent.safetensors", flipBit(good, extentAt, 0)), 2, 0, std::nullopt, false,
       KILN_CORRUPT_FILE,
       AllOf(StartsWith(p + ": tensor 'conv1.weight': data_offsets ["),
             EndsWith("] hold 2000 bytes, but f32[20, 1, 5, 4] needs 1600"))},
      {"a tensor of the wrong shape",
       p = replaced("shape.safetensors", "conv1.weight", KILN_F32, {20, 1, 5, 4}, zeros.data()),
       2, 0, std::nullopt, false, KILN_SHAPE_MISMATCH,
       p + ": tensor 'conv1.weight' has shape [20, 1, 5, 4], expected [20, 1, 5, 5]"},
      {"a tensor of the wrong rank",
       p = replaced("rank.safetensors", "fc2.bias", KILN_F32, {10, 1}, zeros.data()), 2, 0,
       std::nullopt, false, KILN_SHAPE_MISMATCH,
       p + ": tensor 'fc2.bias' has shape [10, 1], expected [10]"},
      {"a tensor of the wrong dtype",
       p = replaced("dtype.safetensors", "fc2.bias", KILN_F64, {10}, zeros.data()), 2, 0,
       std::nullopt, false, KILN_DTYPE_MISMATCH,
       p + ": tensor 'fc2.bias' has dtype f64, expected f32"},
      {"a tensor missing", missing, 2, 0, std::nullopt, false, KILN_MISSING_TENSOR,
       missing + ": no tensor 'fc2.bias'"},
      {"a NaN weight", p = replaced("nan.safetensors", "fc2.bias", KILN_F32, {10}, nanBias.data()),
       2, 0, std::nullopt, false, KILN_NUMERIC_ERROR,
       p + ": tensor 'fc2.bias' holds 1 non-finite value (NaN or infinity), the first at index 3; "
           "a checkpoint saved after training diverged cannot be used"},
      {"an infinite weight",
       p = replaced("inf.safetensors", "fc2.bias", KILN_F32, {10}, infBias.data()), 2, 0,
       std::nullopt, false, KILN_NUMERIC_ERROR,
       p + ": tensor 'fc2.bias' holds 1 non-finite value (NaN or infinity), the first at index 0; "
           "a checkpoint saved after training diverged cannot be used"},
      {"an optimizer buffer of the wrong shape",
       p = added("buffer.safetensors", "optimizer.fc2.bias.momentum_buffer", KILN_F32, {5, 2},
                 zeros.data()),
       2, 0, std::nullopt, false, KILN_SHAPE_MISMATCH,
       p + ": tensor 'optimizer.fc2.bias.momentum_buffer' has shape [5, 2], expected [10]"},
      {"a step count of the wrong dtype",
       p = added("step-f64.safetensors", "optimizer.step", KILN_F64, {}, &stepF64), 2, 0,
       std::nullopt, false, KILN_DTYPE_MISMATCH,
       p + ": tensor 'optimizer.step' has dtype f64; expected i64 (or i32, f32)"},
      {"a negative step count",
       p = added("step-negative.safetensors", "optimizer.step", KILN_I64, {}, &stepNegative), 2,
       0, std::nullopt, false, KILN_CORRUPT_FILE,
       p + ": tensor 'optimizer.step' is -2; expected a count >= 0"},
      // Opened without blocking: a FIFO nobody writes to is refused at once.
      {"weights_path a FIFO", p = fifoPath, 0, 0, std::nullopt, false, KILN_IO_ERROR,
       p + ": not a regular file"},
  };
  for (const Case &c : cases) {
    SCOPED_TRACE(c.what);
    ScopedEnv env("KILN_NUM_THREADS", c.numThreadsEnv);
    kiln_options options;
    kiln_options_init(&options);
    options.weights_path = c.weightsPath ? c.weightsPath->c_str() : nullptr;
    options.num_threads = c.numThreads;
    options.device = c.device;
    lenet *model = reinterpret_cast<lenet *>(&options); // must be cleared
    resetLastError();
    expectFailure(lenet_create(&options, c.nullOut ? nullptr : &model), c.status, c.message);
    if (!c.nullOut) {
      EXPECT_EQ(model, nullptr) << "no model is returned";
    }
  }
  // An extra tensor (PyTorch's num_batches_tracked, say) is not an error: it is ignored.
  int64_t counter = 7;
  std::string extra = added("extra.safetensors", "bn.num_batches_tracked", KILN_I64, {},
                            &counter);
  LenetPtr model = createLenet(extra.c_str());
  EXPECT_TRUE(model);
  // Nor is a bad $KILN_NUM_THREADS when num_threads is given.
  ScopedEnv env("KILN_NUM_THREADS", "abc");
  EXPECT_TRUE(createLenet());
}

// ---- lenet_forward ----------------------------------------------------------------------------

class BadInputCatalogueLenet : public testing::Test {
protected:
  void SetUp() override {
    model = createLenet();
    ASSERT_TRUE(model);
  }
  LenetPtr model;
  std::vector<float> input = images(4);
  std::vector<float> output = std::vector<float>(4 * 10, -1.0f);
};

TEST_F(BadInputCatalogueLenet, Forward) {
  float *in = input.data(), *out = output.data();
  kiln_tensor data = tensorOf(in, KILN_F32, {2, 1, 28, 28});
  kiln_tensor logits = tensorOf(out, KILN_F32, {2, 10});
  kiln_tensor dataNoData = tensorOf(nullptr, KILN_F32, {2, 1, 28, 28});
  kiln_tensor logitsNoData = tensorOf(nullptr, KILN_F32, {2, 10});
  kiln_tensor dataRank3 = tensorOf(in, KILN_F32, {2, 28, 28});
  kiln_tensor dataRank9 = tensorOf(in, KILN_F32, {2, 1, 28, 28});
  dataRank9.rank = KILN_MAX_RANK + 1;
  kiln_tensor dataRankMinus1 = kiln_tensor_view(in, KILN_F32, KILN_MAX_RANK + 1, data.shape);
  kiln_tensor logitsRank3 = tensorOf(out, KILN_F32, {2, 10, 1});
  kiln_tensor dataChannels = tensorOf(in, KILN_F32, {2, 3, 28, 28});
  kiln_tensor dataWidth = tensorOf(in, KILN_F32, {2, 1, 28, 27});
  kiln_tensor dataTransposed = tensorOf(in, KILN_F32, {2, 28, 28, 1});
  kiln_tensor logits9 = tensorOf(out, KILN_F32, {2, 9});
  kiln_tensor dataF64 = tensorOf(in, KILN_F64, {2, 1, 28, 28});
  kiln_tensor dataNone = tensorOf(in, noDtype(), {2, 1, 28, 28});
  kiln_tensor logitsI32 = tensorOf(out, KILN_I32, {2, 10});
  kiln_tensor data0 = tensorOf(in, KILN_F32, {0, 1, 28, 28});
  kiln_tensor logits0 = tensorOf(out, KILN_F32, {0, 10});
  kiln_tensor dataMinus1 = tensorOf(in, KILN_F32, {-1, 1, 28, 28});
  kiln_tensor logitsMinus1 = tensorOf(out, KILN_F32, {-1, 10});
  kiln_tensor logits3 = tensorOf(out, KILN_F32, {3, 10});
  // Beyond the largest batch: the descriptors claim more than their buffers hold, which is safe
  // only because the batch is refused before any kernel reads them.
  kiln_tensor dataHuge = tensorOf(in, KILN_F32, {LENET_MAX_BATCH + 1, 1, 28, 28});
  kiln_tensor logitsHuge = tensorOf(out, KILN_F32, {LENET_MAX_BATCH + 1, 10});
  // Outputs that share storage with the input: inside it, at its start, over its start.
  kiln_tensor logitsInside = tensorOf(in + 100, KILN_F32, {2, 10});
  kiln_tensor logitsSame = tensorOf(in, KILN_F32, {2, 10});
  kiln_tensor dataAfter = tensorOf(in + 10, KILN_F32, {2, 1, 28, 28});
  kiln_tensor logitsBefore = tensorOf(in, KILN_F32, {2, 10});

  struct Case {
    const char *what;
    bool nullModel;
    const kiln_tensor *data;
    kiln_tensor *logits;
    kiln_status status;
    Matcher<std::string> message;
  };
  const std::string overlap = "lenet_forward: logits overlaps data in memory; an output must "
                              "not share its storage with an input or another output";
  std::vector<Case> cases = {
      {"NULL model", true, &data, &logits, KILN_INVALID_ARGUMENT, "lenet_forward: model is NULL"},
      {"NULL data", false, nullptr, &logits, KILN_INVALID_ARGUMENT,
       "lenet_forward: data: is NULL"},
      {"NULL logits", false, &data, nullptr, KILN_INVALID_ARGUMENT,
       "lenet_forward: logits: is NULL"},
      {"data with a NULL pointer", false, &dataNoData, &logits, KILN_INVALID_ARGUMENT,
       "lenet_forward: data: has NULL data"},
      {"logits with a NULL pointer", false, &data, &logitsNoData, KILN_INVALID_ARGUMENT,
       "lenet_forward: logits: has NULL data"},
      {"data of rank 3", false, &dataRank3, &logits, KILN_SHAPE_MISMATCH,
       "lenet_forward: data: expected rank 4, got 3"},
      {"data of a rank above KILN_MAX_RANK", false, &dataRank9, &logits, KILN_SHAPE_MISMATCH,
       "lenet_forward: data: expected rank 4, got 9"},
      {"data of rank -1 (kiln_tensor_view of a bad rank)", false, &dataRankMinus1, &logits,
       KILN_SHAPE_MISMATCH, "lenet_forward: data: expected rank 4, got -1"},
      {"logits of rank 3", false, &data, &logitsRank3, KILN_SHAPE_MISMATCH,
       "lenet_forward: logits: expected rank 2, got 3"},
      {"data with 3 channels", false, &dataChannels, &logits, KILN_SHAPE_MISMATCH,
       "lenet_forward: data: expected shape [N, 1, 28, 28], got [2, 3, 28, 28]"},
      {"data 27 wide", false, &dataWidth, &logits, KILN_SHAPE_MISMATCH,
       "lenet_forward: data: expected shape [N, 1, 28, 28], got [2, 1, 28, 27]"},
      {"data in NHWC order", false, &dataTransposed, &logits, KILN_SHAPE_MISMATCH,
       "lenet_forward: data: expected shape [N, 1, 28, 28], got [2, 28, 28, 1]"},
      {"logits of 9 classes", false, &data, &logits9, KILN_SHAPE_MISMATCH,
       "lenet_forward: logits: expected shape [N, 10], got [2, 9]"},
      {"data f64", false, &dataF64, &logits, KILN_DTYPE_MISMATCH,
       "lenet_forward: data: expected dtype f32, got f64"},
      {"data of no dtype (0)", false, &dataNone, &logits, KILN_DTYPE_MISMATCH,
       "lenet_forward: data: expected dtype f32, got unknown dtype 0"},
      {"logits i32", false, &data, &logitsI32, KILN_DTYPE_MISMATCH,
       "lenet_forward: logits: expected dtype f32, got i32"},
      {"batch 0", false, &data0, &logits0, KILN_SHAPE_MISMATCH,
       "lenet_forward: data: expected shape [N, 1, 28, 28], got [0, 1, 28, 28]"},
      {"batch -1, printed as given", false, &dataMinus1, &logitsMinus1, KILN_SHAPE_MISMATCH,
       "lenet_forward: data: expected shape [N, 1, 28, 28], got [-1, 1, 28, 28]"},
      {"batch beyond LENET_MAX_BATCH", false, &dataHuge, &logitsHuge, KILN_INVALID_ARGUMENT,
       "lenet_forward: batch " + std::to_string(LENET_MAX_BATCH + 1) +
           " exceeds the largest this library supports, " + std::to_string(LENET_MAX_BATCH) +
           " (a tensor would reach 2^31 bytes)"},
      {"batch of the logits differs", false, &data, &logits3, KILN_SHAPE_MISMATCH,
       "lenet_forward: logits has batch 3 but data has 2"},
      {"logits inside data", false, &data, &logitsInside, KILN_INVALID_ARGUMENT, overlap},
      {"logits the same storage as data", false, &data, &logitsSame, KILN_INVALID_ARGUMENT,
       overlap},
      {"logits overlapping the start of data", false, &dataAfter, &logitsBefore,
       KILN_INVALID_ARGUMENT, overlap},
  };
  std::vector<float> pristine = input;
  for (const Case &c : cases) {
    SCOPED_TRACE(c.what);
    resetLastError();
    expectFailure(lenet_forward(c.nullModel ? nullptr : model.get(), c.data, c.logits), c.status,
                  c.message);
    EXPECT_TRUE(input == pristine) << "the input is never written";
  }
  // The good tensors every case was made from pass.
  EXPECT_EQ(lenet_forward(model.get(), &data, &logits), KILN_OK) << kiln_last_error();
}

// ---- lenet_train_step -------------------------------------------------------------------------

TEST_F(BadInputCatalogueLenet, TrainStep) {
  float *in = input.data();
  std::vector<int64_t> labels = {3, 1, 4, 1};
  std::vector<int32_t> labelsI32 = {0, -1, 2, 3};
  std::vector<uint8_t> labelsU8 = {255, 0, 0, 0};
  std::vector<float> labelsF32 = {3, 1, 4, 1};
  std::vector<int64_t> labelsHigh = {0, 1, 2, 10};
  std::vector<float> nanInput = input;
  nanInput[5] = kNaN;
  kiln_tensor data = tensorOf(in, KILN_F32, {4, 1, 28, 28});
  kiln_tensor y = tensorOf(labels.data(), KILN_I64, {4});
  kiln_tensor dataNoData = tensorOf(nullptr, KILN_F32, {4, 1, 28, 28});
  kiln_tensor yNoData = tensorOf(nullptr, KILN_I64, {4});
  kiln_tensor dataRank3 = tensorOf(in, KILN_F32, {4, 28, 28});
  kiln_tensor dataRank9 = data;
  dataRank9.rank = KILN_MAX_RANK + 1;
  kiln_tensor dataHeight = tensorOf(in, KILN_F32, {4, 1, 27, 28});
  kiln_tensor dataF64 = tensorOf(in, KILN_F64, {4, 1, 28, 28});
  kiln_tensor data0 = tensorOf(in, KILN_F32, {0, 1, 28, 28});
  kiln_tensor y0 = tensorOf(labels.data(), KILN_I64, {0});
  kiln_tensor dataMinus4 = tensorOf(in, KILN_F32, {-4, 1, 28, 28});
  kiln_tensor yF32 = tensorOf(labelsF32.data(), KILN_F32, {4});
  kiln_tensor yF64 = tensorOf(labels.data(), KILN_F64, {4});
  kiln_tensor yNone = tensorOf(labels.data(), noDtype(), {4});
  kiln_tensor y3 = tensorOf(labels.data(), KILN_I64, {3});
  kiln_tensor yRank2 = tensorOf(labels.data(), KILN_I64, {4, 1});
  kiln_tensor yHigh = tensorOf(labelsHigh.data(), KILN_I64, {4});
  kiln_tensor yNegative = tensorOf(labelsI32.data(), KILN_I32, {4});
  kiln_tensor yByte = tensorOf(labelsU8.data(), KILN_U8, {4});
  // Beyond the largest batch: the descriptors claim more than their buffers hold, which is safe
  // only because the batch is refused before anything reads them.
  kiln_tensor dataHuge = tensorOf(in, KILN_F32, {LENET_TRAIN_MAX_BATCH + 1, 1, 28, 28});
  kiln_tensor yHuge = tensorOf(labels.data(), KILN_I64, {LENET_TRAIN_MAX_BATCH + 1});
  kiln_tensor dataNaN = tensorOf(nanInput.data(), KILN_F32, {4, 1, 28, 28});

  auto params = [](float lr, float momentum, float decay) {
    kiln_optimizer_params p;
    kiln_optimizer_params_init(&p);
    p.learning_rate = lr;
    p.momentum = momentum;
    p.weight_decay = decay;
    return p;
  };
  kiln_optimizer_params lrNaN = params(kNaN, 0.9f, 0), lrNegative = params(-0.1f, 0.9f, 0),
                        lrInf = params(kInf, 0.9f, 0), lrHuge = params(3.3e38f, 0.9f, 0),
                        momentumNegative = params(0.1f, -0.5f, 0),
                        momentumNaN = params(0.1f, kNaN, 0), decayNaN = params(0.1f, 0.9f, kNaN),
                        decayNegativeInf = params(0.1f, 0.9f, -kInf),
                        decayNegative = params(0.1f, 0.9f, -1e-4f);
  auto range = [](const std::string &name, const std::string &value) {
    return "lenet_train_step: optimizer->" + name + " is " + value +
           "; expected a value in [0, 3e+38]";
  };
  struct Case {
    const char *what;
    bool nullModel;
    const kiln_tensor *data;
    const kiln_tensor *labels;
    const kiln_optimizer_params *optimizer;
    bool nullLoss;
    kiln_status status;
    Matcher<std::string> message;
  };
  const char *badLabelDtype = "lenet_train_step: labels: expected class indices of dtype i64 (or "
                              "i32, u8), got ";
  std::vector<Case> cases = {
      {"NULL model", true, &data, &y, nullptr, false, KILN_INVALID_ARGUMENT,
       "lenet_train_step: model is NULL"},
      {"NULL loss", false, &data, &y, nullptr, true, KILN_INVALID_ARGUMENT,
       "lenet_train_step: loss is NULL"},
      {"NULL data", false, nullptr, &y, nullptr, false, KILN_INVALID_ARGUMENT,
       "lenet_train_step: data: is NULL"},
      {"NULL labels", false, &data, nullptr, nullptr, false, KILN_INVALID_ARGUMENT,
       "lenet_train_step: labels: is NULL"},
      {"data with a NULL pointer", false, &dataNoData, &y, nullptr, false, KILN_INVALID_ARGUMENT,
       "lenet_train_step: data: has NULL data"},
      {"labels with a NULL pointer", false, &data, &yNoData, nullptr, false,
       KILN_INVALID_ARGUMENT, "lenet_train_step: labels: has NULL data"},
      {"data of rank 3", false, &dataRank3, &y, nullptr, false, KILN_SHAPE_MISMATCH,
       "lenet_train_step: data: expected rank 4, got 3"},
      {"data of a rank above KILN_MAX_RANK", false, &dataRank9, &y, nullptr, false,
       KILN_SHAPE_MISMATCH, "lenet_train_step: data: expected rank 4, got 9"},
      {"data 27 high", false, &dataHeight, &y, nullptr, false, KILN_SHAPE_MISMATCH,
       "lenet_train_step: data: expected shape [N, 1, 28, 28], got [4, 1, 27, 28]"},
      {"data f64", false, &dataF64, &y, nullptr, false, KILN_DTYPE_MISMATCH,
       "lenet_train_step: data: expected dtype f32, got f64"},
      {"batch 0", false, &data0, &y0, nullptr, false, KILN_SHAPE_MISMATCH,
       "lenet_train_step: data: expected shape [N, 1, 28, 28], got [0, 1, 28, 28]"},
      {"batch -4, printed as given", false, &dataMinus4, &y, nullptr, false, KILN_SHAPE_MISMATCH,
       "lenet_train_step: data: expected shape [N, 1, 28, 28], got [-4, 1, 28, 28]"},
      {"batch beyond LENET_TRAIN_MAX_BATCH", false, &dataHuge, &yHuge, nullptr, false,
       KILN_INVALID_ARGUMENT,
       "lenet_train_step: batch " + std::to_string(LENET_TRAIN_MAX_BATCH + 1) +
           " exceeds the largest this library trains on, " +
           std::to_string(LENET_TRAIN_MAX_BATCH) + " (a tensor would reach 2^31 bytes)"},
      {"labels f32", false, &data, &yF32, nullptr, false, KILN_DTYPE_MISMATCH,
       std::string(badLabelDtype) + "f32"},
      {"labels f64", false, &data, &yF64, nullptr, false, KILN_DTYPE_MISMATCH,
       std::string(badLabelDtype) + "f64"},
      {"labels of no dtype (0)", false, &data, &yNone, nullptr, false, KILN_DTYPE_MISMATCH,
       std::string(badLabelDtype) + "unknown dtype 0"},
      {"labels fewer than the batch", false, &data, &y3, nullptr, false, KILN_SHAPE_MISMATCH,
       "lenet_train_step: labels: expected shape [4], got [3]"},
      {"labels of rank 2", false, &data, &yRank2, nullptr, false, KILN_SHAPE_MISMATCH,
       "lenet_train_step: labels: expected rank 1, got 2"},
      {"a label of 10 classes' 10", false, &data, &yHigh, nullptr, false, KILN_INVALID_ARGUMENT,
       "lenet_train_step: labels[3] is 10; expected a class index in [0, 10)"},
      {"a negative i32 label", false, &data, &yNegative, nullptr, false, KILN_INVALID_ARGUMENT,
       "lenet_train_step: labels[1] is -1; expected a class index in [0, 10)"},
      {"a u8 label of 255", false, &data, &yByte, nullptr, false, KILN_INVALID_ARGUMENT,
       "lenet_train_step: labels[0] is 255; expected a class index in [0, 10)"},
      {"learning rate NaN", false, &data, &y, &lrNaN, false, KILN_INVALID_ARGUMENT,
       range("learning_rate", "nan")},
      {"learning rate negative", false, &data, &y, &lrNegative, false, KILN_INVALID_ARGUMENT,
       range("learning_rate", "-0.1")},
      {"learning rate infinite", false, &data, &y, &lrInf, false, KILN_INVALID_ARGUMENT,
       range("learning_rate", "inf")},
      {"learning rate above the range", false, &data, &y, &lrHuge, false, KILN_INVALID_ARGUMENT,
       range("learning_rate", "3.3e+38")},
      {"momentum negative", false, &data, &y, &momentumNegative, false, KILN_INVALID_ARGUMENT,
       range("momentum", "-0.5")},
      {"momentum NaN", false, &data, &y, &momentumNaN, false, KILN_INVALID_ARGUMENT,
       range("momentum", "nan")},
      {"weight decay NaN", false, &data, &y, &decayNaN, false, KILN_INVALID_ARGUMENT,
       range("weight_decay", "nan")},
      {"weight decay -inf", false, &data, &y, &decayNegativeInf, false, KILN_INVALID_ARGUMENT,
       range("weight_decay", "-inf")},
      {"weight decay negative", false, &data, &y, &decayNegative, false, KILN_INVALID_ARGUMENT,
       range("weight_decay", "-0.0001")},
      {"a NaN in the data makes the loss NaN", false, &dataNaN, &y, nullptr, false,
       KILN_NUMERIC_ERROR,
       "lenet_train_step: the loss is nan at step 1; the model is unchanged (a smaller learning "
       "rate may help)"},
  };
  for (const Case &c : cases) {
    SCOPED_TRACE(c.what);
    float loss = -1.0f;
    resetLastError();
    expectFailure(lenet_train_step(c.nullModel ? nullptr : model.get(), c.data, c.labels,
                                   c.optimizer, c.nullLoss ? nullptr : &loss),
                  c.status, c.message);
    if (c.status == KILN_NUMERIC_ERROR) {
      EXPECT_TRUE(std::isnan(loss)) << "*loss holds the non-finite loss: " << loss;
    } else if (!c.nullLoss) {
      EXPECT_EQ(loss, 0.0f) << "*loss is cleared on entry";
    }
    int64_t steps = -1;
    ASSERT_EQ(lenet_step_count(model.get(), &steps), KILN_OK);
    EXPECT_EQ(steps, 0) << "no step was taken";
  }
  // The good arguments every case was made from train.
  float loss = 0;
  EXPECT_EQ(lenet_train_step(model.get(), &data, &y, nullptr, &loss), KILN_OK)
      << kiln_last_error();
}

// ---- lenet_adam_train_step: the hyperparameters Adam reads ------------------------------------

TEST(BadInputCatalogue, LenetAdamTrainStepHyperparameters) {
  lenet_adam *model = nullptr;
  ASSERT_EQ(lenet_adam_create(nullptr, &model), KILN_OK) << kiln_last_error();
  std::vector<float> input = images(2);
  std::vector<int64_t> labels = {7, 2};
  kiln_tensor data = tensorOf(input.data(), KILN_F32, {2, 1, 28, 28});
  kiln_tensor y = tensorOf(labels.data(), KILN_I64, {2});
  struct Case {
    const char *what;
    float kiln_optimizer_params::*field;
    float value;
    kiln_status status;
    Matcher<std::string> message;
  };
  auto range = [](const std::string &name, const std::string &value, const char *interval) {
    return "lenet_adam_train_step: optimizer->" + name + " is " + value +
           "; expected a value in " + interval;
  };
  using P = kiln_optimizer_params;
  std::vector<Case> cases = {
      {"beta1 1", &P::beta1, 1.0f, KILN_INVALID_ARGUMENT, range("beta1", "1", "[0, 1)")},
      {"beta1 negative", &P::beta1, -0.1f, KILN_INVALID_ARGUMENT,
       range("beta1", "-0.1", "[0, 1)")},
      {"beta1 NaN", &P::beta1, kNaN, KILN_INVALID_ARGUMENT, range("beta1", "nan", "[0, 1)")},
      {"beta2 1", &P::beta2, 1.0f, KILN_INVALID_ARGUMENT, range("beta2", "1", "[0, 1)")},
      {"beta2 infinite", &P::beta2, kInf, KILN_INVALID_ARGUMENT,
       range("beta2", "inf", "[0, 1)")},
      {"epsilon negative", &P::epsilon, -1e-8f, KILN_INVALID_ARGUMENT,
       range("epsilon", "-1e-08", "[0, 3e+38]")},
      {"epsilon NaN", &P::epsilon, kNaN, KILN_INVALID_ARGUMENT,
       range("epsilon", "nan", "[0, 3e+38]")},
      {"epsilon infinite", &P::epsilon, kInf, KILN_INVALID_ARGUMENT,
       range("epsilon", "inf", "[0, 3e+38]")},
      {"learning rate NaN", &P::learning_rate, kNaN, KILN_INVALID_ARGUMENT,
       range("learning_rate", "nan", "[0, 3e+38]")},
      {"weight decay negative", &P::weight_decay, -1.0f, KILN_INVALID_ARGUMENT,
       range("weight_decay", "-1", "[0, 3e+38]")},
  };
  for (const Case &c : cases) {
    SCOPED_TRACE(c.what);
    kiln_optimizer_params p;
    kiln_optimizer_params_init(&p);
    p.*c.field = c.value;
    float loss = -1.0f;
    resetLastError();
    expectFailure(lenet_adam_train_step(model, &data, &y, &p, &loss), c.status, c.message);
    int64_t steps = -1;
    ASSERT_EQ(lenet_adam_step_count(model, &steps), KILN_OK);
    EXPECT_EQ(steps, 0) << "no step was taken";
  }
  lenet_adam_destroy(model);
}

// ---- lenet_save -------------------------------------------------------------------------------

TEST_F(BadInputCatalogueLenet, Save) {
  // A diverged model: a learning rate and a weight decay at the top of their ranges overflow the
  // weights in the first update, whose loss (computed before it) is finite.
  LenetPtr diverged = createLenet();
  ASSERT_TRUE(diverged);
  {
    std::vector<int64_t> labels = {3, 1, 4, 1};
    kiln_tensor data = tensorOf(input.data(), KILN_F32, {4, 1, 28, 28});
    kiln_tensor y = tensorOf(labels.data(), KILN_I64, {4});
    kiln_optimizer_params p;
    kiln_optimizer_params_init(&p);
    p.learning_rate = 3.0e38f;
    p.momentum = 0.0f;
    p.weight_decay = 1.0e3f;
    float loss = 0;
    ASSERT_EQ(lenet_train_step(diverged.get(), &data, &y, &p, &loss), KILN_OK)
        << kiln_last_error();
  }
  TempDir dir;
  std::string target = dir.file("lenet.safetensors");
  writeFile(target, "previous");
  std::string subdir = dir.file("subdir"), fifo = dir.file("fifo");
  ASSERT_TRUE(std::filesystem::create_directory(subdir));
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  std::vector<std::string> before = dir.list();

  struct Case {
    const char *what;
    const lenet *model;
    std::optional<std::string> path; // nullopt: NULL
    kiln_status status;
    Matcher<std::string> message;
  };
  const Matcher<std::string> divergedMessage =
      AllOf(StartsWith("lenet_save: tensor '"), HasSubstr(" non-finite value"),
            HasSubstr(" (NaN or infinity), the first at index "),
            EndsWith("; training diverged, and the file is not written"));
  std::string p;
  std::vector<Case> cases = {
      {"NULL model", nullptr, target, KILN_INVALID_ARGUMENT, "lenet_save: model is NULL"},
      {"NULL path", model.get(), std::nullopt, KILN_INVALID_ARGUMENT,
       "lenet_save: safetensors_path is NULL"},
      {"NULL model and NULL path: the model is named", nullptr, std::nullopt,
       KILN_INVALID_ARGUMENT, "lenet_save: model is NULL"},
      {"empty path", model.get(), "", KILN_INVALID_ARGUMENT,
       "lenet_save: safetensors_path is empty"},
      {"path in a missing directory", model.get(), p = dir.file("no/such/dir/w.safetensors"),
       KILN_IO_ERROR, cannotCreate(p, "No such file or directory")},
      {"path under a regular file", model.get(), p = target + "/w.safetensors", KILN_IO_ERROR,
       cannotCreate(p, "Not a directory")},
      {"file name too long", model.get(), p = dir.file(std::string(300, 'n')), KILN_IO_ERROR,
       cannotCreate(p, "File name too long")},
      {"path a directory", model.get(), subdir, KILN_IO_ERROR,
       subdir + ": cannot save: it is a directory, and only a regular file is replaced"},
      {"path a FIFO", model.get(), fifo, KILN_IO_ERROR,
       fifo + ": cannot save: it is a FIFO, and only a regular file is replaced"},
      {"path a device", model.get(), "/dev/null", KILN_IO_ERROR,
       "/dev/null: cannot save: it is a device, and only a regular file is replaced"},
      {"a diverged state", diverged.get(), target, KILN_NUMERIC_ERROR, divergedMessage},
      {"a diverged state to a directory: the state is named first", diverged.get(), subdir,
       KILN_NUMERIC_ERROR, divergedMessage},
      {"a diverged state and NULL path: the path is named", diverged.get(), std::nullopt,
       KILN_INVALID_ARGUMENT, "lenet_save: safetensors_path is NULL"},
  };
  for (const Case &c : cases) {
    SCOPED_TRACE(c.what);
    resetLastError();
    expectFailure(lenet_save(c.model, c.path ? c.path->c_str() : nullptr), c.status, c.message);
    EXPECT_EQ(readFile(target), "previous") << "the file is untouched";
    EXPECT_EQ(dir.list(), before) << "no temporary is left";
  }
  // The good model saves over the same file.
  EXPECT_EQ(lenet_save(model.get(), target.c_str()), KILN_OK) << kiln_last_error();
}

// ---- lenet_set_training -----------------------------------------------------------------------

// Only two arguments, a model and a flag: NULL, and the flag's wrong values (either side of
// {0, 1} and the extremes) are every distinct bad input there is, fewer than ten.
TEST_F(BadInputCatalogueLenet, SetTraining) {
  ASSERT_EQ(lenet_set_training(model.get(), 1), KILN_OK) << kiln_last_error();
  struct Case {
    const char *what;
    bool nullModel;
    int training;
    kiln_status status;
    std::string message;
  } cases[] = {
      {"NULL model", true, 1, KILN_INVALID_ARGUMENT, "lenet_set_training: model is NULL"},
      {"NULL model and a bad flag: the model is named", true, 2, KILN_INVALID_ARGUMENT,
       "lenet_set_training: model is NULL"},
      {"training 2", false, 2, KILN_INVALID_ARGUMENT,
       "lenet_set_training: training is 2; expected 0 (inference mode) or 1 (training mode)"},
      {"training -1", false, -1, KILN_INVALID_ARGUMENT,
       "lenet_set_training: training is -1; expected 0 (inference mode) or 1 (training mode)"},
      {"training INT_MAX", false, INT_MAX, KILN_INVALID_ARGUMENT,
       "lenet_set_training: training is 2147483647; expected 0 (inference mode) or 1 (training "
       "mode)"},
      {"training INT_MIN", false, INT_MIN, KILN_INVALID_ARGUMENT,
       "lenet_set_training: training is -2147483648; expected 0 (inference mode) or 1 (training "
       "mode)"},
  };
  for (const Case &c : cases) {
    SCOPED_TRACE(c.what);
    resetLastError();
    expectFailure(lenet_set_training(c.nullModel ? nullptr : model.get(), c.training), c.status,
                  c.message);
    EXPECT_EQ(lenet_is_training(model.get()), 1) << "the mode is unchanged";
  }
}

// ---- lenet_step_count -------------------------------------------------------------------------

// Only two pointers: each NULL, and both, are every distinct bad input there is.
TEST_F(BadInputCatalogueLenet, StepCount) {
  struct Case {
    const char *what;
    bool nullModel;
    bool nullOut;
    kiln_status status;
    std::string message;
  } cases[] = {
      {"NULL out_steps", false, true, KILN_INVALID_ARGUMENT,
       "lenet_step_count: out_steps is NULL"},
      {"NULL model", true, false, KILN_INVALID_ARGUMENT, "lenet_step_count: model is NULL"},
      {"NULL model and NULL out_steps: out_steps is named", true, true, KILN_INVALID_ARGUMENT,
       "lenet_step_count: out_steps is NULL"},
  };
  for (const Case &c : cases) {
    SCOPED_TRACE(c.what);
    int64_t steps = -1;
    resetLastError();
    expectFailure(lenet_step_count(c.nullModel ? nullptr : model.get(),
                                   c.nullOut ? nullptr : &steps),
                  c.status, c.message);
    if (!c.nullOut) {
      EXPECT_EQ(steps, 0) << "the out-parameter is cleared";
    }
  }
}

} // namespace
