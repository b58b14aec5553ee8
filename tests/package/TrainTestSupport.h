// Helpers of the training-step tests: one interface over the generated models' C APIs, fixed
// batches, checkpoints read back as tensors, and the reference interpreter's training step.
#ifndef KILN_TESTS_PACKAGE_TRAINTESTSUPPORT_H
#define KILN_TESTS_PACKAGE_TRAINTESTSUPPORT_H

#include "PackageTestSupport.h"

#include "driver/Pipeline.h"
#include "passes/Passes.h"
#include "reference/Interpreter.h"

#include "mlir/IR/MLIRContext.h"
#include "mlir/Pass/PassManager.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/SourceMgr.h"

#include <cmath>
#include <functional>

namespace kiln::test {

// A generated model's entry points behind void *, so one test body serves every model.
struct ModelApi {
  std::function<kiln_status(const kiln_options *, void **)> create;
  std::function<kiln_status(void *, const kiln_tensor *, const kiln_tensor *,
                            const kiln_optimizer_params *, float *)>
      trainStep;
  std::function<kiln_status(void *, const kiln_tensor *, kiln_tensor *)> forward;
  std::function<kiln_status(const void *, const char *)> save;
  std::function<kiln_status(const void *, int64_t *)> stepCount;
  std::function<void(void *)> destroy;
};

#define KILN_MODEL_API(m)                                                                      \
  ::kiln::test::ModelApi {                                                                     \
    [](const kiln_options *o, void **out) {                                                    \
      m *model = nullptr;                                                                      \
      kiln_status status = m##_create(o, &model);                                              \
      *out = model;                                                                            \
      return status;                                                                           \
    },                                                                                         \
        [](void *model, const kiln_tensor *x, const kiln_tensor *y,                            \
           const kiln_optimizer_params *p, float *loss) {                                      \
          return m##_train_step(static_cast<m *>(model), x, y, p, loss);                       \
        },                                                                                     \
        [](void *model, const kiln_tensor *x, kiln_tensor *out) {                              \
          return m##_forward(static_cast<m *>(model), x, out);                                 \
        },                                                                                     \
        [](const void *model, const char *path) {                                              \
          return m##_save(static_cast<const m *>(model), path);                                \
        },                                                                                     \
        [](const void *model, int64_t *steps) {                                                \
          return m##_step_count(static_cast<const m *>(model), steps);                         \
        },                                                                                     \
        [](void *model) { m##_destroy(static_cast<m *>(model)); }                              \
  }

// A model instance that frees itself.
class Instance {
public:
  Instance(const ModelApi &api, const char *weights, int32_t threads = 2) : api_(api) {
    kiln_options options;
    kiln_options_init(&options);
    options.weights_path = weights;
    options.num_threads = threads;
    status_ = api_.create(&options, &model_);
  }
  ~Instance() { api_.destroy(model_); }
  Instance(const Instance &) = delete;
  Instance &operator=(const Instance &) = delete;
  explicit operator bool() const { return model_ != nullptr; }
  kiln_status status() const { return status_; }
  void *get() const { return model_; }

private:
  const ModelApi &api_;
  void *model_ = nullptr;
  kiln_status status_ = KILN_INTERNAL_ERROR;
};

// A fixed batch: `count` samples of `sampleShape`, values in [0, 1), labels i % classes.
struct Batch {
  std::vector<int64_t> shape; // [N, sample...]
  std::vector<float> data;
  std::vector<int64_t> labels;

  kiln_tensor dataTensor() {
    return kiln_tensor_view(data.data(), KILN_F32, static_cast<int32_t>(shape.size()),
                            shape.data());
  }
  kiln_tensor labelTensor() {
    int64_t n = static_cast<int64_t>(labels.size());
    return kiln_tensor_view(labels.data(), KILN_I64, 1, &n);
  }
};

inline Batch makeBatch(int64_t count, std::vector<int64_t> sampleShape, int64_t classes,
                       uint64_t seed = 11) {
  Batch batch;
  batch.shape = {count};
  batch.shape.insert(batch.shape.end(), sampleShape.begin(), sampleShape.end());
  int64_t perSample = 1;
  for (int64_t extent : sampleShape)
    perSample *= extent;
  batch.data.resize(static_cast<size_t>(count * perSample));
  kiln_fill_uniform(batch.data.data(), count * perSample, 0.5f, seed, 0);
  for (float &value : batch.data)
    value += 0.5f;
  for (int64_t i = 0; i < count; ++i)
    batch.labels.push_back((i * 7 + 3) % classes);
  return batch;
}

inline kiln_optimizer_params sgd(float lr, float momentum = 0.9f, float decay = 0.0f) {
  kiln_optimizer_params p;
  kiln_optimizer_params_init(&p);
  p.learning_rate = lr;
  p.momentum = momentum;
  p.weight_decay = decay;
  return p;
}

// The model's saved state (parameters, statistics, optimizer buffers, step) as tensors.
inline std::map<std::string, SavedTensor> savedState(const ModelApi &api, void *model,
                                                     const std::string &path) {
  EXPECT_EQ(api.save(model, path.c_str()), KILN_OK) << kiln_last_error();
  std::map<std::string, SavedTensor> state = readTensors(path);
  std::remove(path.c_str());
  return state;
}

inline std::vector<float> floats(const SavedTensor &tensor) {
  std::vector<float> values(tensor.bytes.size() / sizeof(float));
  std::memcpy(values.data(), tensor.bytes.data(), values.size() * sizeof(float));
  return values;
}

// The model file with its training step built (kiln-autodiff), for the reference interpreter.
class ReferenceModel {
public:
  ReferenceModel(const std::string &kilnPath, const std::string &optimizer) {
    mlir::DialectRegistry registry;
    registerKilnDialects(registry);
    context_.appendDialectRegistry(registry);
    context_.loadAllAvailableDialects();
    auto buffer = llvm::MemoryBuffer::getFile(kilnPath);
    if (!buffer)
      return;
    sourceMgr_.AddNewSourceBuffer(std::move(*buffer), llvm::SMLoc());
    module_ = loadModel(sourceMgr_, &context_);
    if (!module_ || mlir::failed(runPipeline(*module_, PipelineOptions())))
      return;
    mlir::PassManager pm(&context_);
    AutodiffOptions autodiff;
    autodiff.optimizer = optimizer;
    pm.addPass(createAutodiff(autodiff));
    if (mlir::failed(pm.run(*module_)))
      return;
    trainStep_ = module_->lookupSymbol<mlir::func::FuncOp>("train_step");
  }
  mlir::func::FuncOp trainStep() const { return trainStep_; }
  // @forward, @forward_train (models with batch norm), ...; null when absent.
  mlir::func::FuncOp function(llvm::StringRef name) {
    mlir::ModuleOp module = module_ ? module_.get() : mlir::ModuleOp();
    return module ? module.lookupSymbol<mlir::func::FuncOp>(name) : mlir::func::FuncOp();
  }

private:
  mlir::MLIRContext context_;
  llvm::SourceMgr sourceMgr_;
  mlir::OwningOpRef<mlir::ModuleOp> module_;
  mlir::func::FuncOp trainStep_;
};

// The interpreter's state from a weights file (f32 tensors).
inline reference::ParameterMap referenceState(const std::string &weightsPath) {
  reference::ParameterMap state;
  for (const auto &[name, tensor] : readTensors(weightsPath)) {
    if (tensor.dtype != KILN_F32)
      continue;
    std::vector<float> values = floats(tensor);
    state[name] = reference::Tensor{tensor.shape, std::vector<double>(values.begin(), values.end())};
  }
  return state;
}

// The hyperparameters the generated driver passes for step t (1-based), in the same precision.
inline std::vector<double> hyperFor(const kiln_optimizer_params &p, int64_t t) {
  float c1 = static_cast<float>(1.0 - std::pow(static_cast<double>(p.beta1), double(t)));
  float c2 = static_cast<float>(1.0 - std::pow(static_cast<double>(p.beta2), double(t)));
  return {p.learning_rate, p.momentum, p.weight_decay, p.beta1, p.beta2, p.epsilon, c1, c2};
}

} // namespace kiln::test

#endif // KILN_TESTS_PACKAGE_TRAINTESTSUPPORT_H
