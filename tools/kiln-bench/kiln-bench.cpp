// kiln-bench: the benchmark cases of ../shared/bench, run through libraries kilnc generated:
// LeNet inference at batch 1/64/256, LeNet training steps at batch 64/256 and the lecture's conv
// layer (100→100, 5×5, 64×64, b1).
// Float32; threads from --threads-style env KILN_NUM_THREADS (default 2, as the peers use).
// Counters: images/s and GFLOP/s (2·MACs of conv and dense layers, the peers' definition).
#include "conv100.h"
#include "lenet.h"

#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstdlib>
#include <random>
#include <vector>

namespace {

int threads() {
  const char *env = std::getenv("KILN_NUM_THREADS");
  return env ? std::atoi(env) : 2;
}

std::vector<float> randomData(size_t n) {
  std::mt19937 rng(0);
  std::uniform_real_distribution<float> dist(-1, 1);
  std::vector<float> v(n);
  for (float &x : v)
    x = dist(rng);
  return v;
}

// A generated model for the length of a benchmark, or the benchmark skipped with the library's
// message; threads as threads() says.
template <typename M> class Model {
public:
  Model(benchmark::State &state, kiln_status (*create)(const kiln_options *, M **),
        void (*destroy)(M *))
      : destroy_(destroy) {
    kiln_options options;
    kiln_options_init(&options);
    options.num_threads = threads();
    if (create(&options, &model_) != KILN_OK)
      state.SkipWithError(kiln_last_error());
  }
  ~Model() { destroy_(model_); }
  Model(const Model &) = delete;
  Model &operator=(const Model &) = delete;
  M *get() const { return model_; }

private:
  M *model_ = nullptr;
  void (*destroy_)(M *);
};

// Times `call` (a kiln_status) per iteration; a failure stops the benchmark with its message.
// `images` and `flops` are per iteration (0: no such counter).
template <typename Call>
void timeCalls(benchmark::State &state, Call call, double images, double flops) {
  for (auto _ : state)
    if (call() != KILN_OK) {
      state.SkipWithError(kiln_last_error());
      return;
    }
  if (images > 0)
    state.counters["img/s"] =
        benchmark::Counter(images, benchmark::Counter::kIsIterationInvariantRate);
  state.counters["GFLOP/s"] =
      benchmark::Counter(flops / 1e9, benchmark::Counter::kIsIterationInvariantRate);
}

// LeNet: 2·MACs per image = 2·(20·24·24·25 + 50·8·8·500 + 800·500 + 500·10).
constexpr double kLenetFlops = 2.0 * (20 * 24 * 24 * 25 + 50 * 8 * 8 * 500 + 800 * 500 + 500 * 10);

void BM_LenetForward(benchmark::State &state) {
  int64_t n = state.range(0);
  Model<lenet> model(state, lenet_create, lenet_destroy);
  if (!model.get())
    return;
  std::vector<float> x = randomData(n * 28 * 28), y(n * 10);
  int64_t xs[] = {n, 1, 28, 28}, ys[] = {n, 10};
  kiln_tensor data = kiln_tensor_view(x.data(), KILN_F32, 4, xs);
  kiln_tensor logits = kiln_tensor_view(y.data(), KILN_F32, 2, ys);
  timeCalls(
      state, [&] { return lenet_forward(model.get(), &data, &logits); }, double(n),
      n * kLenetFlops);
}
BENCHMARK(BM_LenetForward)->Arg(1)->Arg(64)->Arg(256)->UseRealTime()->Unit(benchmark::kMillisecond);

// One SGD step (forward in training mode, loss, backward, update) per iteration, on a fixed
// random batch with random labels and a small learning rate, so the loss stays finite however
// many iterations Google Benchmark runs. GFLOP/s counts 3x the forward's, as the peers do.
void BM_LenetTrainStep(benchmark::State &state) {
  int64_t n = state.range(0);
  Model<lenet> model(state, lenet_create, lenet_destroy);
  if (!model.get())
    return;
  std::vector<float> x = randomData(n * 28 * 28);
  std::vector<int64_t> y(n);
  for (int64_t i = 0; i < n; ++i)
    y[i] = (i * 7) % 10;
  int64_t xs[] = {n, 1, 28, 28}, ys[] = {n};
  kiln_tensor data = kiln_tensor_view(x.data(), KILN_F32, 4, xs);
  kiln_tensor labels = kiln_tensor_view(y.data(), KILN_I64, 1, ys);
  kiln_optimizer_params params;
  kiln_optimizer_params_init(&params);
  params.learning_rate = 0.01f;
  params.momentum = 0.9f;
  float loss = 0;
  timeCalls(
      state, [&] { return lenet_train_step(model.get(), &data, &labels, &params, &loss); },
      double(n), 3 * n * kLenetFlops);
}
BENCHMARK(BM_LenetTrainStep)->Arg(64)->Arg(256)->UseRealTime()->Unit(benchmark::kMillisecond);

void BM_LectureConv(benchmark::State &state) {
  Model<conv100> model(state, conv100_create, conv100_destroy);
  if (!model.get())
    return;
  std::vector<float> x = randomData(100 * 68 * 68), y(100 * 64 * 64);
  int64_t xs[] = {1, 100, 68, 68}, ys[] = {1, 100, 64, 64};
  kiln_tensor in = kiln_tensor_view(x.data(), KILN_F32, 4, xs);
  kiln_tensor out = kiln_tensor_view(y.data(), KILN_F32, 4, ys);
  timeCalls(
      state, [&] { return conv100_forward(model.get(), &in, &out); }, 0,
      2.0 * 100 * 100 * 25 * 64 * 64);
}
BENCHMARK(BM_LectureConv)->UseRealTime()->Unit(benchmark::kMillisecond);

} // namespace

BENCHMARK_MAIN();
