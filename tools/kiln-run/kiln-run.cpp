// kiln-run: runs any compiled Kiln model's shared library on .npy inputs (or random ones) with
// IREE's command-line conventions, timing the forward call and writing or previewing outputs.
//
//   kiln-run out/liblenet.so --input=@x.npy --output=@y.npy
//   kiln-run out/liblenet.so --random --batch=256 --threads=2 --repeat=20
#include "ModelLibrary.h"
#include "Npy.h"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

using namespace kiln_run;

namespace {

const char kUsage[] =
    "usage: kiln-run MODEL.so [options]\n"
    "\n"
    "Runs a model compiled by kilnc (its shared library) and prints the time per call and the\n"
    "outputs' shapes.\n"
    "\n"
    "  --input=@FILE.npy    one per model input, in order (C order, the input's dtype)\n"
    "  --random             random inputs instead: floats uniform in [-1, 1), integers in [0, 10)\n"
    "  --batch=N            the batch of random inputs (default 1)\n"
    "  --seed=S             the random inputs' seed (default 0)\n"
    "  --output=@FILE.npy   one per model output, in order; without, a preview is printed\n"
    "  --weights=FILE       a safetensors file (default: the model's initial weights)\n"
    "  --threads=N          kernel threads (default: $KILN_NUM_THREADS or all processors)\n"
    "  --device=N           0: CPU (default); k: GPU k-1, for CUDA libraries\n"
    "  --repeat=R           timed calls; the median is printed (default 1)\n"
    "  --help               this text\n";

struct Flags {
  std::string library;
  std::vector<std::string> inputs, outputs; // file paths, '@' removed
  bool random = false;
  int64_t batch = 0; // 0: not given
  int64_t seed = 0;
  std::string weights;
  int64_t threads = 0;
  int64_t device = 0;
  int64_t repeat = 1;
  bool help = false;
};

// An owned tensor, freed with the runtime.
struct OwnedTensor {
  kiln_tensor tensor{};
  OwnedTensor() = default;
  OwnedTensor(const OwnedTensor &) = delete;
  OwnedTensor &operator=(const OwnedTensor &) = delete;
  ~OwnedTensor() { kiln_tensor_free(&tensor); }
};

kiln_status usageError(const std::string &message) {
  return kiln_fail(KILN_INVALID_ARGUMENT, "%s (see kiln-run --help)", message.c_str());
}

kiln_status parseInteger(const std::string &flag, const std::string &text, int64_t min,
                         int64_t max, int64_t *out) {
  char *end = nullptr;
  errno = 0;
  long long value = std::strtoll(text.c_str(), &end, 10);
  if (text.empty() || *end != '\0' || errno == ERANGE || value < min || value > max)
    return usageError("--" + flag + "=" + text + ": expected an integer in [" +
                      std::to_string(min) + ", " + std::to_string(max) + "]");
  *out = value;
  return KILN_OK;
}

kiln_status parseFileFlag(const std::string &flag, const std::string &value,
                          std::vector<std::string> *files) {
  if (value.size() < 2 || value[0] != '@')
    return usageError("--" + flag + "=" + value + ": expected @FILE.npy (e.g. --" + flag +
                      "=@x.npy)");
  files->push_back(value.substr(1));
  return KILN_OK;
}

kiln_status parseFlags(int argc, char **argv, Flags *flags) {
  const int64_t kMaxInt = INT32_MAX;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg.rfind("--", 0) != 0 || arg == "--") {
      if (!flags->library.empty())
        return usageError("more than one model library: '" + flags->library + "' and '" + arg +
                          "'");
      flags->library = arg;
      continue;
    }
    std::string name = arg.substr(2), value;
    bool hasValue = false;
    if (size_t eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
      hasValue = true;
    }
    if (name == "help" || name == "random") {
      if (hasValue)
        return usageError("--" + name + " takes no value");
      (name == "help" ? flags->help : flags->random) = true;
      continue;
    }
    static const char *const kValued[] = {"input",   "output", "batch",  "seed",  "weights",
                                          "threads", "device", "repeat"};
    if (std::none_of(std::begin(kValued), std::end(kValued),
                     [&](const char *known) { return name == known; }))
      return usageError("unknown option '" + arg + "'");
    if (!hasValue) {
      if (i + 1 >= argc)
        return usageError("--" + name + " needs a value");
      value = argv[++i];
    }
    kiln_status status = KILN_OK;
    if (name == "input")
      status = parseFileFlag(name, value, &flags->inputs);
    else if (name == "output")
      status = parseFileFlag(name, value, &flags->outputs);
    else if (name == "weights")
      flags->weights = value;
    else if (name == "batch")
      status = parseInteger(name, value, 1, kMaxInt, &flags->batch);
    else if (name == "seed")
      status = parseInteger(name, value, 0, INT64_MAX, &flags->seed);
    else if (name == "threads")
      status = parseInteger(name, value, 0, 4096, &flags->threads);
    else if (name == "device")
      status = parseInteger(name, value, 0, 1024, &flags->device);
    else if (name == "repeat")
      status = parseInteger(name, value, 1, 1000000, &flags->repeat);
    if (status)
      return status;
  }
  if (flags->help)
    return KILN_OK;
  if (flags->library.empty())
    return usageError("no model library given");
  if (flags->random && !flags->inputs.empty())
    return usageError("--random and --input exclude each other");
  return KILN_OK;
}

std::string plural(int64_t count, const char *noun) {
  return std::to_string(count) + " " + noun + (count == 1 ? "" : "s");
}

// "lenet takes 1 input (data: f32[N, 1, 28, 28])".
std::string listIOs(int32_t count, const kiln_io_desc *ios) {
  std::string text;
  for (int32_t i = 0; i < count; ++i)
    text += (i ? ", " : "") + describeIO(ios[i]);
  return text.empty() ? "" : " (" + text + ")";
}

std::string purposeOf(int32_t index, const kiln_io_desc &io) {
  return "input " + std::to_string(index) + " '" + (io.name ? io.name : "?") + "'";
}

// Checks a file's tensor against the model's input; agrees the dynamic batch with `batch` (0 when
// none is known yet, `batchSource` saying where a known one came from).
kiln_status checkInputShape(const std::string &file, const kiln_tensor &tensor, int32_t index,
                            const kiln_io_desc &io, int64_t *batch, std::string *batchSource) {
  std::string expectation = purposeOf(index, io) + " expects " + kiln_dtype_name(io.dtype) +
                            formatShape(io.rank, io.shape);
  std::string shape = formatNpyShape(tensor.rank, tensor.shape);
  if (tensor.rank != io.rank)
    return kiln_fail(KILN_SHAPE_MISMATCH, "%s: shape %s has %s; %s", file.c_str(), shape.c_str(),
                     plural(tensor.rank, "dimension").c_str(), expectation.c_str());
  for (int32_t d = 0; d < io.rank; ++d) {
    int64_t extent = tensor.shape[d];
    if (io.shape[d] >= 0 && extent != io.shape[d])
      return kiln_fail(KILN_SHAPE_MISMATCH, "%s: shape %s has %" PRId64 " in dimension %d; %s",
                       file.c_str(), shape.c_str(), extent, static_cast<int>(d),
                       expectation.c_str());
    if (io.shape[d] >= 0)
      continue;
    if (extent == 0)
      return kiln_fail(KILN_SHAPE_MISMATCH, "%s: shape %s has an empty batch; %s", file.c_str(),
                       shape.c_str(), expectation.c_str());
    if (*batch == 0) {
      *batch = extent;
      *batchSource = file;
    } else if (extent != *batch) {
      return kiln_fail(KILN_SHAPE_MISMATCH, "%s: batch %" PRId64 " differs from %s's %" PRId64,
                       file.c_str(), extent, batchSource->c_str(), *batch);
    }
  }
  return KILN_OK;
}

// The shape of an input or output with the dynamic batch set.
void concreteShape(const kiln_io_desc &io, int64_t batch, int64_t *shape) {
  for (int32_t d = 0; d < io.rank; ++d)
    shape[d] = io.shape[d] < 0 ? batch : io.shape[d];
}

kiln_status makeRandomInput(const kiln_io_desc &io, int64_t batch, int64_t seed, int32_t index,
                            kiln_tensor *out) {
  int64_t shape[KILN_MAX_RANK];
  concreteShape(io, batch, shape);
  if (kiln_status status = kiln_tensor_alloc(io.dtype, io.rank, shape, out))
    return status;
  int64_t count = kiln_tensor_numel(out);
  std::vector<float> uniform(static_cast<size_t>(count));
  kiln_fill_uniform(uniform.data(), count, 1.0f, static_cast<uint64_t>(seed),
                    static_cast<uint64_t>(index));
  for (int64_t i = 0; i < count; ++i) {
    float u = uniform[i];
    int64_t small = std::min<int64_t>(9, static_cast<int64_t>((u + 1.0f) * 5.0f));
    switch (io.dtype) {
    case KILN_F32: static_cast<float *>(out->data)[i] = u; break;
    case KILN_F64: static_cast<double *>(out->data)[i] = u; break;
    case KILN_I32: static_cast<int32_t *>(out->data)[i] = static_cast<int32_t>(small); break;
    case KILN_I64: static_cast<int64_t *>(out->data)[i] = small; break;
    case KILN_U8: static_cast<uint8_t *>(out->data)[i] = static_cast<uint8_t>(small); break;
    }
  }
  return KILN_OK;
}

// Reads (or, with --random, makes) the model's inputs, checked against its descriptor; `*batch`
// is the dynamic batch they agree on (1 when no input has one).
kiln_status prepareInputs(const Flags &flags, const kiln_model_desc &desc,
                          std::vector<OwnedTensor> *inputs, int64_t *batch) {
  *batch = flags.random ? std::max<int64_t>(flags.batch, 1) : 0;
  std::string batchSource = "--batch";
  // --batch sets the dynamic batch; a model whose every extent is fixed has none to set.
  bool dynamic = false;
  for (int32_t i = 0; i < desc.num_inputs; ++i)
    for (int32_t d = 0; d < desc.inputs[i].rank; ++d)
      dynamic |= desc.inputs[i].shape[d] < 0;
  if (flags.batch > 0 && !dynamic)
    return kiln_fail(KILN_INVALID_ARGUMENT,
                     "--batch=%" PRId64 ": %s has no dynamic batch (every extent of its inputs "
                     "is fixed), so --batch does not apply",
                     flags.batch, desc.name ? desc.name : "the model");
  // Refused before the inputs are made or read (a batch of 10^6 LeNet images is 3 GB).
  if (flags.batch > desc.max_batch)
    return kiln_fail(KILN_INVALID_ARGUMENT,
                     "--batch=%" PRId64 " exceeds the largest batch %s accepts, %" PRId64
                     " (a tensor would reach 2^31 bytes)",
                     flags.batch, desc.name ? desc.name : "the model", desc.max_batch);
  for (int32_t i = 0; i < desc.num_inputs; ++i) {
    const kiln_io_desc &io = desc.inputs[i];
    kiln_tensor *tensor = &(*inputs)[i].tensor;
    if (flags.random) {
      if (kiln_status status = makeRandomInput(io, *batch, flags.seed, i, tensor))
        return status;
      continue;
    }
    if (kiln_status status = readNpy(flags.inputs[i], io.dtype, purposeOf(i, io), tensor))
      return status;
    if (kiln_status status =
            checkInputShape(flags.inputs[i], *tensor, i, io, batch, &batchSource))
      return status;
  }
  if (!flags.random && flags.batch != 0 && *batch != 0 && flags.batch != *batch)
    return kiln_fail(KILN_SHAPE_MISMATCH,
                     "--batch=%" PRId64 " differs from the batch %" PRId64 " of %s", flags.batch,
                     *batch, batchSource.c_str());
  if (*batch == 0)
    *batch = 1; // no input has a dynamic batch; outputs with one take 1
  return KILN_OK;
}

double elementAt(const kiln_tensor &tensor, int64_t i) {
  switch (tensor.dtype) {
  case KILN_F32: return static_cast<const float *>(tensor.data)[i];
  case KILN_F64: return static_cast<const double *>(tensor.data)[i];
  case KILN_I32: return static_cast<const int32_t *>(tensor.data)[i];
  case KILN_I64: return static_cast<double>(static_cast<const int64_t *>(tensor.data)[i]);
  case KILN_U8: return static_cast<const uint8_t *>(tensor.data)[i];
  }
  return 0;
}

// Up to 4 rows of up to 10 values (rows along the last dimension).
void printPreview(const kiln_tensor &tensor) {
  int64_t numel = kiln_tensor_numel(&tensor);
  int64_t rowLength = tensor.rank > 0 ? tensor.shape[tensor.rank - 1] : 1;
  if (numel == 0 || rowLength == 0)
    return;
  int64_t rows = numel / rowLength;
  const int64_t kRows = 4, kColumns = 10;
  for (int64_t r = 0; r < std::min(rows, kRows); ++r) {
    std::printf("  [");
    for (int64_t c = 0; c < std::min(rowLength, kColumns); ++c)
      std::printf("%s%.6g", c ? ", " : "", elementAt(tensor, r * rowLength + c));
    std::printf("%s]\n", rowLength > kColumns ? ", ..." : "");
  }
  if (rows > kRows)
    std::printf("  ... (%" PRId64 " more rows)\n", rows - kRows);
}

int fail() {
  const char *message = kiln_last_error();
  std::fprintf(stderr, "kiln-run: error: %s\n", *message ? message : "unknown failure");
  return 1;
}

} // namespace

int main(int argc, char **argv) {
  Flags flags;
  if (parseFlags(argc, argv, &flags))
    return fail();
  if (flags.help) {
    std::fputs(kUsage, stdout);
    return 0;
  }

  std::unique_ptr<ModelLibrary> library;
  if (ModelLibrary::open(flags.library, &library))
    return fail();
  const kiln_model_desc &desc = library->desc();
  std::string name = desc.name ? desc.name : flags.library;

  // Counts first, before any file is read.
  std::string takes = name + " takes " + plural(desc.num_inputs, "input") +
                      listIOs(desc.num_inputs, desc.inputs);
  if (!flags.random && flags.inputs.empty() && desc.num_inputs > 0) {
    usageError("no inputs: " + takes + "; give one --input=@FILE.npy per input, or --random");
    return fail();
  }
  if (!flags.random && flags.inputs.size() != static_cast<size_t>(desc.num_inputs)) {
    usageError(takes + ", " + plural(flags.inputs.size(), "--input flag") + " given");
    return fail();
  }
  if (!flags.outputs.empty() && flags.outputs.size() != static_cast<size_t>(desc.num_outputs)) {
    usageError(name + " has " + plural(desc.num_outputs, "output") +
               listIOs(desc.num_outputs, desc.outputs) + ", " +
               plural(flags.outputs.size(), "--output flag") + " given");
    return fail();
  }

  std::vector<OwnedTensor> inputs(desc.num_inputs);
  int64_t batch = 0;
  if (prepareInputs(flags, desc, &inputs, &batch))
    return fail();

  std::vector<OwnedTensor> outputs(desc.num_outputs);
  for (int32_t i = 0; i < desc.num_outputs; ++i) {
    int64_t shape[KILN_MAX_RANK];
    concreteShape(desc.outputs[i], batch, shape);
    if (kiln_tensor_alloc(desc.outputs[i].dtype, desc.outputs[i].rank, shape,
                          &outputs[i].tensor))
      return fail();
  }

  kiln_options options;
  kiln_options_init(&options);
  options.weights_path = flags.weights.empty() ? nullptr : flags.weights.c_str();
  options.num_threads = static_cast<int32_t>(flags.threads);
  options.device = static_cast<int32_t>(flags.device);
  void *rawModel = nullptr;
  if (library->adoptError(desc.create(&options, &rawModel), "create"))
    return fail();
  if (!rawModel) {
    kiln_fail(KILN_INTERNAL_ERROR, "%s: create succeeded but returned no model", name.c_str());
    return fail();
  }
  ModelInstance model(desc, rawModel);

  std::printf("%s: %s, %s (%s), %s, weights %s\n", name.c_str(),
              plural(desc.num_inputs, "input").c_str(), plural(desc.num_outputs, "output").c_str(),
              library->path().c_str(),
              plural(kiln_resolve_num_threads(options.num_threads), "thread").c_str(),
              flags.weights.empty() ? "built in" : flags.weights.c_str());
  for (int32_t i = 0; i < desc.num_inputs; ++i) {
    const kiln_tensor &t = inputs[i].tensor;
    std::printf("input %d %s: %s%s %s\n", i, desc.inputs[i].name ? desc.inputs[i].name : "?",
                kiln_dtype_name(t.dtype), formatShape(t.rank, t.shape).c_str(),
                flags.random ? ("random, seed " + std::to_string(flags.seed)).c_str()
                             : ("from " + flags.inputs[i]).c_str());
  }

  std::vector<kiln_tensor> inputViews, outputViews;
  for (const OwnedTensor &t : inputs)
    inputViews.push_back(t.tensor);
  for (const OwnedTensor &t : outputs)
    outputViews.push_back(t.tensor);
  std::vector<double> millis;
  for (int64_t r = 0; r < flags.repeat; ++r) {
    auto start = std::chrono::steady_clock::now();
    kiln_status status = desc.forward(model.get(), inputViews.data(), outputViews.data());
    auto stop = std::chrono::steady_clock::now();
    if (library->adoptError(status, "forward"))
      return fail();
    millis.push_back(std::chrono::duration<double, std::milli>(stop - start).count());
  }
  std::vector<double> sorted = millis;
  std::sort(sorted.begin(), sorted.end());
  size_t n = sorted.size();
  double median = n % 2 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
  if (n == 1)
    std::printf("time per call: %.4f ms (1 call)\n", median);
  else
    std::printf("time per call: %.4f ms (median of %zu calls; min %.4f, max %.4f)\n", median, n,
                sorted.front(), sorted.back());

  for (int32_t i = 0; i < desc.num_outputs; ++i) {
    const kiln_tensor &t = outputs[i].tensor;
    if (!flags.outputs.empty() && writeNpy(flags.outputs[i], t))
      return fail();
    std::printf("output %d %s: %s%s%s\n", i, desc.outputs[i].name ? desc.outputs[i].name : "?",
                kiln_dtype_name(t.dtype), formatShape(t.rank, t.shape).c_str(),
                flags.outputs.empty() ? "" : (" -> " + flags.outputs[i]).c_str());
    if (flags.outputs.empty())
      printPreview(t);
  }
  return 0;
}
