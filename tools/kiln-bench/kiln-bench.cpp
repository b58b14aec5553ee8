// kiln-bench: times models compiled by kilnc, with Google Benchmark, against the FMA peak it
// measures itself. `kiln-bench MODEL... --batch=1,8` times any model file (.kiln, .mlir):
// milliseconds per call, images/s, GFLOP/s (2 per multiply-add of its convolutions and dense
// layers, the peers' definition) and the fraction of the peak; `--train` adds the training step
// (3× the forward's FLOPs, as the peers count), `--profile` a line per kernel (its layers, time,
// GFLOP/s, % of peak). Without a model: LeNet (batch 1/64/256, training 64/256), the lecture's
// conv layer (batch 1), ResNet-18 and ResNet-50 (batch 1/8). Models are compiled with kilnc
// into a cache (--cache-dir), reused while the model file and kilnc are unchanged. Threads: 2
// unless --threads=N (the peers' setting). Other flags go to Google Benchmark.
#include "ModelCache.h"
#include "Peak.h"

#include "../kiln-run/ModelLibrary.h"

#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

namespace {

struct Case {
  std::string model; // the file
  int64_t batch = 1;
  bool train = false;
};

struct Flags {
  std::vector<std::string> models;
  std::vector<int64_t> batches{1, 8};
  bool train = false, profile = false;
  int threads = 2;
  kiln_bench::CompileOptions compile;
};

// The CPU's name as lscpu reports it, for the report.
std::string cpuName() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("model name", 0) == 0)
      return line.substr(line.find(':') + 2);
  return "unknown CPU";
}

bool parseBatches(const std::string &text, std::vector<int64_t> *out) {
  out->clear();
  size_t start = 0;
  while (start <= text.size()) {
    size_t comma = text.find(',', start);
    std::string item = text.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    char *end = nullptr;
    long long value = std::strtoll(item.c_str(), &end, 10);
    if (item.empty() || *end != '\0' || value < 1 || value > 1 << 20)
      return false;
    out->push_back(value);
    if (comma == std::string::npos)
      break;
    start = comma + 1;
  }
  return !out->empty();
}

// Our flags out of argv (the rest stays for Google Benchmark); false with a message on error.
bool parseFlags(int &argc, char **argv, Flags *flags) {
  int kept = 1;
  auto value = [](const char *arg, const char *name) -> const char * {
    size_t n = std::strlen(name);
    return std::strncmp(arg, name, n) == 0 && arg[n] == '=' ? arg + n + 1 : nullptr;
  };
  for (int i = 1; i < argc; ++i) {
    const char *arg = argv[i];
    if (const char *v = value(arg, "--batch")) {
      if (!parseBatches(v, &flags->batches)) {
        std::fprintf(stderr, "kiln-bench: --batch=%s: expected positive integers, e.g. 1,8\n", v);
        return false;
      }
    } else if (const char *v = value(arg, "--threads")) {
      flags->threads = std::atoi(v);
      if (flags->threads < 1 || flags->threads > 4096) {
        std::fprintf(stderr, "kiln-bench: --threads=%s: expected 1 to 4096\n", v);
        return false;
      }
    } else if (const char *v = value(arg, "--target")) {
      flags->compile.target = v;
    } else if (const char *v = value(arg, "--schedule")) {
      flags->compile.schedule = v;
    } else if (const char *v = value(arg, "--kilnc")) {
      flags->compile.kilnc = v;
    } else if (const char *v = value(arg, "--cache-dir")) {
      flags->compile.cacheDir = v;
    } else if (std::strcmp(arg, "--train") == 0) {
      flags->train = true;
    } else if (std::strcmp(arg, "--profile") == 0) {
      flags->profile = true;
    } else if (std::strncmp(arg, "--", 2) == 0) {
      argv[kept++] = argv[i]; // Google Benchmark's
    } else {
      flags->models.push_back(arg);
    }
  }
  argc = kept;
  return true;
}

std::vector<Case> defaultCases() {
  std::string dir = KILN_MODELS_DIR;
  return {{dir + "/lenet.kiln", 1, false},         {dir + "/lenet.kiln", 64, false},
          {dir + "/lenet.kiln", 256, false},       {dir + "/lenet.kiln", 64, true},
          {dir + "/lenet.kiln", 256, true},        {dir + "/bench/conv100.kiln", 1, false},
          {dir + "/resnet18.kiln", 1, false},      {dir + "/resnet18.kiln", 8, false},
          {dir + "/resnet50.kiln", 1, false},      {dir + "/resnet50.kiln", 8, false}};
}

std::vector<float> randomData(size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(-1, 1);
  std::vector<float> v(n);
  for (float &x : v)
    x = dist(rng);
  return v;
}

// A model's inputs and outputs for one batch, random inputs; labels for its training step.
struct Tensors {
  std::vector<std::vector<float>> data;
  std::vector<kiln_tensor> inputs, outputs;
  std::vector<int64_t> labelValues;
  kiln_tensor labels{};

  Tensors(const kiln_model_desc &desc, int64_t batch) {
    auto make = [&](const kiln_io_desc &io, unsigned seed) {
      int64_t shape[KILN_MAX_RANK], n = 1;
      for (int32_t d = 0; d < io.rank; ++d) {
        shape[d] = io.shape[d] < 0 ? batch : io.shape[d];
        n *= shape[d];
      }
      data.push_back(randomData(static_cast<size_t>(n), seed));
      return kiln_tensor_view(data.back().data(), KILN_F32, io.rank, shape);
    };
    data.reserve(desc.num_inputs + desc.num_outputs);
    for (int32_t i = 0; i < desc.num_inputs; ++i)
      inputs.push_back(make(desc.inputs[i], 1 + i));
    for (int32_t i = 0; i < desc.num_outputs; ++i)
      outputs.push_back(make(desc.outputs[i], 100 + i));
    // Class labels from the first output's classes (the logits).
    int64_t classes = desc.num_outputs > 0 && desc.outputs[0].rank == 2 ? desc.outputs[0].shape[1] : 1;
    for (int64_t i = 0; i < batch; ++i)
      labelValues.push_back((i * 7) % classes);
    int64_t shape[1] = {batch};
    labels = kiln_tensor_view(labelValues.data(), KILN_I64, 1, shape);
  }
};

struct Bench {
  Flags flags;
  kiln_bench::Peak peak;
  std::map<std::string, std::unique_ptr<kiln_run::ModelLibrary>> libraries; // by model file
};

Bench *bench = nullptr;

const kiln_run::ModelLibrary *libraryFor(const std::string &model) {
  auto found = bench->libraries.find(model);
  if (found != bench->libraries.end())
    return found->second.get();
  std::string path;
  std::unique_ptr<kiln_run::ModelLibrary> library;
  if (kiln_bench::compileModel(model, bench->flags.compile, &path) != KILN_OK ||
      kiln_run::ModelLibrary::open(path, &library) != KILN_OK) {
    std::fprintf(stderr, "kiln-bench: %s\n", kiln_last_error());
    bench->libraries[model] = nullptr;
    return nullptr;
  }
  return (bench->libraries[model] = std::move(library)).get();
}

void *createModel(const kiln_run::ModelLibrary &library) {
  kiln_options options;
  kiln_options_init(&options);
  options.num_threads = bench->flags.threads;
  // The weights kilnc wrote beside the library (lib<model>.so, <model>.safetensors): the seed's
  // for a .kiln model, an ONNX model's own initializers (whose library requires the file).
  const std::string &so = library.path();
  size_t slash = so.rfind('/'), start = slash == std::string::npos ? 0 : slash + 1;
  std::string file = so.substr(start), weights = so.substr(0, start);
  if (file.rfind("lib", 0) == 0 && file.size() > 6 && file.compare(file.size() - 3, 3, ".so") == 0)
    weights += file.substr(3, file.size() - 6) + ".safetensors";
  options.weights_path = weights.c_str();
  void *model = nullptr;
  if (library.adoptError(library.desc().create(&options, &model), "create") != KILN_OK)
    return nullptr;
  return model;
}

// One call of the case: forward, or a training step with a small learning rate (so the loss
// stays finite however many iterations run).
kiln_status call(const kiln_model_desc &desc, void *model, Tensors &t, bool train) {
  if (!train)
    return desc.forward(model, t.inputs.data(), t.outputs.data());
  kiln_optimizer_params params;
  kiln_optimizer_params_init(&params);
  params.learning_rate = 0.001f;
  float loss = 0;
  return desc.train_step(model, t.inputs.data(), &t.labels, &params, &loss);
}

void runCase(benchmark::State &state, const Case &c) {
  const kiln_run::ModelLibrary *library = libraryFor(c.model);
  if (!library)
    return state.SkipWithError("the model did not compile (see above)");
  const kiln_model_desc &desc = library->desc();
  if (c.train && !desc.train_step)
    return state.SkipWithError("the model has no loss, so no training step");
  kiln_run::ModelInstance model(desc, createModel(*library));
  if (!model.get())
    return state.SkipWithError(kiln_last_error());
  Tensors tensors(desc, c.batch);
  // One untimed call first, as the peers' scripts warm up: the first call prepares the derived
  // tensors (batch norm folded into the weights, weights relaid out) and the activations, a
  // one-time cost that, timed in a loop of 9 iterations, made ResNet-50 b1 read 66 ms instead of
  // 43 (Xeon, 2 threads).
  if (library->adoptError(call(desc, model.get(), tensors, c.train), "call") != KILN_OK)
    return state.SkipWithError(kiln_last_error());
  double start = kiln_seconds();
  for (auto _ : state)
    if (library->adoptError(call(desc, model.get(), tensors, c.train), "call") != KILN_OK)
      return state.SkipWithError(kiln_last_error());
  // Rates from the loop's own wall time, so they print as plain numbers.
  double perCall = (kiln_seconds() - start) / static_cast<double>(state.iterations());
  double gflops = desc.flops * static_cast<double>(c.batch) * (c.train ? 3 : 1) / perCall / 1e9;
  state.counters["img/s"] = static_cast<double>(c.batch) / perCall;
  state.counters["GFLOP/s"] = gflops;
  state.counters["%peak"] = 100 * gflops / bench->peak.gflops;
}

std::string caseName(const Case &c) {
  std::string model = c.model.substr(c.model.find_last_of('/') + 1);
  return model.substr(0, model.find_last_of('.')) + (c.train ? "/train" : "/forward") + "/b" +
         std::to_string(c.batch);
}

// --profile: each forward kernel's share of the time, its GFLOP/s and % of the peak.
void profile(const Case &c) {
  const kiln_run::ModelLibrary *library = libraryFor(c.model);
  if (!library || c.train)
    return;
  const kiln_model_desc &desc = library->desc();
  kiln_run::ModelInstance model(desc, createModel(*library));
  if (!model.get())
    return;
  Tensors tensors(desc, c.batch);
  std::vector<double> seconds(static_cast<size_t>(desc.num_kernels), 0.0);
  call(desc, model.get(), tensors, false); // warm-up: derived tensors, buffers
  desc.set_profile(model.get(), seconds.data());
  int calls = 0;
  double start = kiln_seconds();
  while (calls < 3 || kiln_seconds() - start < 1.0) {
    if (call(desc, model.get(), tensors, false) != KILN_OK)
      return;
    ++calls;
  }
  desc.set_profile(model.get(), nullptr);
  double total = 0;
  for (double s : seconds)
    total += s;
  std::printf("\nprofile %s: %d calls, %.3f ms per call in kernels\n", caseName(c).c_str(), calls,
              total / calls * 1e3);
  std::printf("%10s %7s %10s %7s  %s\n", "ms/call", "share", "GFLOP/s", "%peak", "kernel (layers)");
  for (int32_t k = 0; k < desc.num_kernels; ++k) {
    double perCall = seconds[k] / calls;
    double gflops = desc.kernels[k].flops * static_cast<double>(c.batch) / perCall / 1e9;
    std::printf("%10.4f %6.1f%% %10.1f %6.1f%%  %s\n", perCall * 1e3, 100 * seconds[k] / total,
                gflops, 100 * gflops / bench->peak.gflops, desc.kernels[k].layers);
  }
}

} // namespace

int main(int argc, char **argv) {
  Bench state;
  bench = &state;
  state.flags.compile.kilnc = KILN_KILNC_PATH;
  state.flags.compile.cacheDir = KILN_BENCH_CACHE_DIR;
  if (!parseFlags(argc, argv, &state.flags))
    return 2;
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv))
    return 2;

  std::vector<Case> cases;
  if (state.flags.models.empty()) {
    cases = defaultCases();
  } else {
    for (const std::string &model : state.flags.models)
      for (int64_t batch : state.flags.batches) {
        cases.push_back({model, batch, false});
        if (state.flags.train)
          cases.push_back({model, batch, true});
      }
  }
  state.peak = kiln_bench::measurePeak(state.flags.threads);
  std::printf("machine: %s; FMA peak %.1f GFLOP/s (%s, %d threads, measured now)\n",
              cpuName().c_str(), state.peak.gflops, state.peak.unit.c_str(), state.peak.threads);
  std::fflush(stdout);
  // Compile everything before timing anything: compiling is not what is measured.
  for (const Case &c : cases)
    libraryFor(c.model);
  for (const Case &c : cases)
    benchmark::RegisterBenchmark(caseName(c).c_str(), [c](benchmark::State &s) { runCase(s, c); })
        ->UseRealTime()
        ->Unit(benchmark::kMillisecond);
  benchmark::RunSpecifiedBenchmarks();
  if (state.flags.profile)
    for (const Case &c : cases)
      profile(c);
  benchmark::Shutdown();
  return 0;
}
