// compare_libs A.so DEVICE_A B.so DEVICE_B STEPS: runs two libraries of one model (compiled for
// different targets, e.g. host and host-cuda) on the same inputs and compares, element by element
// (|a − b| ≤ 1e-4 + 1e-3·|b|): the forward outputs; then, when the model trains, the loss of each
// of STEPS SGD steps on one batch, every tensor of the state both save after them, and the
// outputs again. DEVICE is kiln_options.device (0: CPU; 1: the first GPU). Prints a line per
// comparison; exits 1 at the first that differs, 2 when a library cannot be used.
#include "kiln/runtime.h"

#include <dlfcn.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

namespace {

constexpr double kAtol = 1e-4, kRtol = 1e-3;
constexpr int64_t kBatch = 4;

[[noreturn]] void fail(int code, const std::string &message) {
  std::fprintf(stderr, "compare_libs: %s\n", message.c_str());
  std::exit(code);
}

struct Library {
  const kiln_model_desc *desc = nullptr;
  void *model = nullptr;
};

Library open(const char *path, int device) {
  void *handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
  if (!handle)
    fail(2, std::string("cannot load ") + path + ": " + dlerror());
  auto descriptor =
      reinterpret_cast<kiln_model_descriptor_fn>(dlsym(handle, "kiln_model_descriptor"));
  if (!descriptor)
    fail(2, std::string(path) + " has no kiln_model_descriptor");
  Library library;
  library.desc = descriptor();
  kiln_options options;
  kiln_options_init(&options);
  options.device = device;
  if (library.desc->create(&options, &library.model) != KILN_OK)
    fail(2, std::string(path) + ": create: " + kiln_last_error());
  return library;
}

std::vector<int64_t> concrete(const kiln_io_desc &io) {
  std::vector<int64_t> shape(io.shape, io.shape + io.rank);
  for (int64_t &extent : shape)
    if (extent < 0)
      extent = kBatch;
  return shape;
}

int64_t count(const std::vector<int64_t> &shape) {
  int64_t n = 1;
  for (int64_t extent : shape)
    n *= extent;
  return n;
}

// |a − b| ≤ atol + rtol·|b| everywhere; returns the largest |a − b|.
double compare(const std::string &what, const float *a, const float *b, int64_t n) {
  double worst = 0;
  for (int64_t i = 0; i < n; ++i) {
    double d = std::fabs(double(a[i]) - double(b[i]));
    if (!(d <= kAtol + kRtol * std::fabs(double(b[i]))))
      fail(1, what + ": element " + std::to_string(i) + " is " + std::to_string(a[i]) + " and " +
                  std::to_string(b[i]));
    worst = std::max(worst, d);
  }
  return worst;
}

// Runs forward on both and compares every output.
void compareForward(const std::string &when, Library &a, Library &b,
                    std::vector<kiln_tensor> &inputs) {
  const kiln_model_desc &desc = *a.desc;
  std::vector<std::vector<float>> outA, outB;
  std::vector<std::vector<int64_t>> shapes;
  std::vector<kiln_tensor> tensorsA, tensorsB;
  for (int32_t o = 0; o < desc.num_outputs; ++o)
    shapes.push_back(concrete(desc.outputs[o]));
  for (int32_t o = 0; o < desc.num_outputs; ++o) {
    outA.emplace_back(count(shapes[o]), NAN);
    outB.emplace_back(count(shapes[o]), NAN);
    int32_t rank = static_cast<int32_t>(shapes[o].size());
    tensorsA.push_back(kiln_tensor_view(outA.back().data(), KILN_F32, rank, shapes[o].data()));
    tensorsB.push_back(kiln_tensor_view(outB.back().data(), KILN_F32, rank, shapes[o].data()));
  }
  if (a.desc->forward(a.model, inputs.data(), tensorsA.data()) != KILN_OK ||
      b.desc->forward(b.model, inputs.data(), tensorsB.data()) != KILN_OK)
    fail(2, "forward: " + std::string(kiln_last_error()));
  for (int32_t o = 0; o < desc.num_outputs; ++o) {
    std::string what = when + ", output " + desc.outputs[o].name;
    double worst = compare(what, outA[o].data(), outB[o].data(), count(shapes[o]));
    std::printf("%s: close (largest difference %.3g)\n", what.c_str(), worst);
  }
}

} // namespace

int main(int argc, char **argv) {
  if (argc != 6)
    fail(2, "usage: compare_libs A.so DEVICE_A B.so DEVICE_B STEPS");
  Library a = open(argv[1], std::atoi(argv[2])), b = open(argv[3], std::atoi(argv[4]));
  int steps = std::atoi(argv[5]);
  const kiln_model_desc &desc = *a.desc;
  if (desc.num_inputs != b.desc->num_inputs || desc.num_outputs != b.desc->num_outputs)
    fail(2, "the libraries are not of one model");

  // Inputs uniform in [-1, 1) from a fixed linear congruential sequence.
  uint64_t state = 20261205;
  std::vector<std::vector<float>> data;
  std::vector<std::vector<int64_t>> shapes;
  std::vector<kiln_tensor> inputs;
  for (int32_t i = 0; i < desc.num_inputs; ++i) {
    shapes.push_back(concrete(desc.inputs[i]));
    data.emplace_back(count(shapes[i]));
    for (float &x : data.back()) {
      state = state * 6364136223846793005ull + 1442695040888963407ull;
      x = static_cast<float>((state >> 40) * (1.0 / (1ull << 24))) * 2.0f - 1.0f;
    }
  }
  for (int32_t i = 0; i < desc.num_inputs; ++i)
    inputs.push_back(kiln_tensor_view(data[i].data(), KILN_F32,
                                      static_cast<int32_t>(shapes[i].size()), shapes[i].data()));
  compareForward("forward", a, b, inputs);
  if (!desc.train_step || !b.desc->train_step || steps == 0)
    return 0;

  // SGD steps on one batch; labels cycle through the classes (the first output's extent).
  int64_t classes = desc.outputs[0].rank > 1 ? desc.outputs[0].shape[1] : 2;
  std::vector<int64_t> labels(kBatch);
  for (int64_t i = 0; i < kBatch; ++i)
    labels[i] = i % classes;
  int64_t labelShape[1] = {kBatch};
  kiln_tensor labelTensor = kiln_tensor_view(labels.data(), KILN_I64, 1, labelShape);
  kiln_optimizer_params params;
  kiln_optimizer_params_init(&params);
  params.learning_rate = 0.05f;
  for (int s = 1; s <= steps; ++s) {
    float lossA = NAN, lossB = NAN;
    if (a.desc->train_step(a.model, inputs.data(), &labelTensor, &params, &lossA) != KILN_OK ||
        b.desc->train_step(b.model, inputs.data(), &labelTensor, &params, &lossB) != KILN_OK)
      fail(2, "train_step: " + std::string(kiln_last_error()));
    std::string what = "step " + std::to_string(s) + " loss";
    double worst = compare(what, &lossA, &lossB, 1);
    std::printf("%s: close (%.6g and %.6g, difference %.3g)\n", what.c_str(), lossA, lossB,
                worst);
  }

  // The whole state both save: parameters, statistics, optimizer buffers.
  std::string pathA = std::string(argv[1]) + ".state-a.safetensors";
  std::string pathB = std::string(argv[3]) + ".state-b.safetensors";
  kiln_weights *stateA = nullptr, *stateB = nullptr;
  if (a.desc->save(a.model, pathA.c_str()) != KILN_OK ||
      b.desc->save(b.model, pathB.c_str()) != KILN_OK ||
      kiln_weights_load(pathA.c_str(), &stateA) != KILN_OK ||
      kiln_weights_load(pathB.c_str(), &stateB) != KILN_OK)
    fail(2, "save: " + std::string(kiln_last_error()));
  if (kiln_weights_count(stateA) != kiln_weights_count(stateB))
    fail(1, "the saved states hold different tensors");
  double worst = 0;
  size_t compared = 0;
  for (size_t t = 0; t < kiln_weights_count(stateA); ++t) {
    const char *name = kiln_weights_name(stateA, t);
    kiln_tensor x, y;
    if (kiln_weights_get(stateA, name, &x) != KILN_OK ||
        kiln_weights_get(stateB, name, &y) != KILN_OK)
      fail(1, std::string("tensor '") + name + "' is in one saved state only");
    if (x.dtype != KILN_F32)
      continue; // the step count: equal by construction
    if (kiln_tensor_numel(&x) != kiln_tensor_numel(&y))
      fail(1, std::string("tensor '") + name + "' differs in shape");
    worst = std::max(worst, compare(std::string("state '") + name + "'",
                                    static_cast<const float *>(x.data),
                                    static_cast<const float *>(y.data), kiln_tensor_numel(&x)));
    ++compared;
  }
  std::printf("state after %d steps: %zu tensors close (largest difference %.3g)\n", steps,
              compared, worst);
  kiln_weights_free(stateA);
  kiln_weights_free(stateB);
  std::remove(pathA.c_str());
  std::remove(pathB.c_str());
  compareForward("forward after training", a, b, inputs);
  a.desc->destroy(a.model);
  b.desc->destroy(b.model);
  return 0;
}
