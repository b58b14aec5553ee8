// Bad input to the generated training step and to its checkpoints: every case returns a status
// with a message naming what is wrong, and leaves the model as it was.
#include "TrainTestSupport.h"

#include "lenet_adam.h"

namespace {

using namespace kiln::test;
using testing::HasSubstr;

const ModelApi kLenet = KILN_MODEL_API(lenet);

class LenetTrainErrors : public testing::Test {
protected:
  void SetUp() override {
    model_ = createLenet();
    ASSERT_TRUE(model_);
    fresh_ = savedState(kLenet, model_.get(), tempPath("fresh"));
  }
  void TearDown() override {
    // No failed call changed the model.
    int64_t steps = -1;
    ASSERT_EQ(lenet_step_count(model_.get(), &steps), KILN_OK);
    EXPECT_EQ(steps, 0);
    EXPECT_TRUE(savedState(kLenet, model_.get(), tempPath("after")) == fresh_);
  }
  // lenet_train_step on `data` and `labels`; the status, with the message in `message_`.
  kiln_status step(const kiln_tensor *data, const kiln_tensor *labels,
                   const kiln_optimizer_params *params = nullptr) {
    float loss = -1.0f;
    kiln_status status = lenet_train_step(model_.get(), data, labels, params, &loss);
    message_ = kiln_last_error();
    return status;
  }

  LenetPtr model_;
  std::map<std::string, SavedTensor> fresh_;
  std::string message_;
  Batch batch_ = makeBatch(4, {1, 28, 28}, 10);
};

TEST_F(LenetTrainErrors, NullPointers) {
  kiln_tensor x = batch_.dataTensor(), y = batch_.labelTensor();
  float loss = -1.0f;
  EXPECT_EQ(lenet_train_step(nullptr, &x, &y, nullptr, &loss), KILN_INVALID_ARGUMENT);
  EXPECT_STREQ(kiln_last_error(), "lenet_train_step: model is NULL");
  EXPECT_EQ(loss, 0.0f) << "*loss is cleared on entry";
  EXPECT_EQ(lenet_train_step(model_.get(), &x, &y, nullptr, nullptr), KILN_INVALID_ARGUMENT);
  EXPECT_STREQ(kiln_last_error(), "lenet_train_step: loss is NULL");
  EXPECT_EQ(step(nullptr, &y), KILN_INVALID_ARGUMENT);
  EXPECT_EQ(message_, "lenet_train_step: data: is NULL");
  EXPECT_EQ(step(&x, nullptr), KILN_INVALID_ARGUMENT);
  EXPECT_EQ(message_, "lenet_train_step: labels: is NULL");
  y.data = nullptr;
  EXPECT_EQ(step(&x, &y), KILN_INVALID_ARGUMENT);
  EXPECT_EQ(message_, "lenet_train_step: labels: has NULL data");
  int64_t steps = 0;
  EXPECT_EQ(lenet_step_count(model_.get(), nullptr), KILN_INVALID_ARGUMENT);
  EXPECT_EQ(lenet_step_count(nullptr, &steps), KILN_INVALID_ARGUMENT);
  EXPECT_STREQ(kiln_last_error(), "lenet_step_count: model is NULL");
}

TEST_F(LenetTrainErrors, DataOfTheWrongShapeOrDtype) {
  kiln_tensor y = batch_.labelTensor(), x = batch_.dataTensor();
  x.shape[2] = 27;
  EXPECT_EQ(step(&x, &y), KILN_SHAPE_MISMATCH);
  EXPECT_THAT(message_, HasSubstr("lenet_train_step: data: expected shape"));
  x = batch_.dataTensor();
  x.rank = 3;
  EXPECT_EQ(step(&x, &y), KILN_SHAPE_MISMATCH);
  EXPECT_EQ(message_, "lenet_train_step: data: expected rank 4, got 3");
  x = batch_.dataTensor();
  x.dtype = KILN_F64;
  EXPECT_EQ(step(&x, &y), KILN_DTYPE_MISMATCH);
  EXPECT_EQ(message_, "lenet_train_step: data: expected dtype f32, got f64");
  // The batch is limited like forward's, before anything is allocated.
  x = batch_.dataTensor();
  x.shape[0] = LENET_TRAIN_MAX_BATCH + 1;
  std::vector<int64_t> many(1, 0);
  int64_t n = x.shape[0];
  kiln_tensor manyLabels = kiln_tensor_view(many.data(), KILN_I64, 1, &n);
  EXPECT_EQ(step(&x, &manyLabels), KILN_INVALID_ARGUMENT);
  EXPECT_THAT(message_, HasSubstr("exceeds the largest this library trains on"));
}

TEST_F(LenetTrainErrors, LabelsOfTheWrongShapeOrDtype) {
  kiln_tensor x = batch_.dataTensor(), y = batch_.labelTensor();
  y.shape[0] = 3;
  EXPECT_EQ(step(&x, &y), KILN_SHAPE_MISMATCH);
  EXPECT_EQ(message_, "lenet_train_step: labels: expected shape [4], got [3]");
  y = batch_.labelTensor();
  y.rank = 2;
  y.shape[1] = 1;
  EXPECT_EQ(step(&x, &y), KILN_SHAPE_MISMATCH);
  EXPECT_EQ(message_, "lenet_train_step: labels: expected rank 1, got 2");
  std::vector<float> real(4, 1.0f);
  int64_t n = 4;
  kiln_tensor floatLabels = kiln_tensor_view(real.data(), KILN_F32, 1, &n);
  EXPECT_EQ(step(&x, &floatLabels), KILN_DTYPE_MISMATCH);
  EXPECT_EQ(message_, "lenet_train_step: labels: expected class indices of dtype i64 (or i32, "
                      "u8), got f32");
}

TEST_F(LenetTrainErrors, LabelsOutsideTheClasses) {
  kiln_tensor x = batch_.dataTensor();
  int64_t n = 4;
  std::vector<int64_t> wide = {0, 1, 2, 10};
  kiln_tensor y = kiln_tensor_view(wide.data(), KILN_I64, 1, &n);
  EXPECT_EQ(step(&x, &y), KILN_INVALID_ARGUMENT);
  EXPECT_EQ(message_, "lenet_train_step: labels[3] is 10; expected a class index in [0, 10)");
  std::vector<int32_t> negative = {0, -1, 2, 3};
  y = kiln_tensor_view(negative.data(), KILN_I32, 1, &n);
  EXPECT_EQ(step(&x, &y), KILN_INVALID_ARGUMENT);
  EXPECT_EQ(message_, "lenet_train_step: labels[1] is -1; expected a class index in [0, 10)");
  std::vector<uint8_t> bytes = {255, 0, 0, 0};
  y = kiln_tensor_view(bytes.data(), KILN_U8, 1, &n);
  EXPECT_EQ(step(&x, &y), KILN_INVALID_ARGUMENT);
  EXPECT_EQ(message_, "lenet_train_step: labels[0] is 255; expected a class index in [0, 10)");
}

TEST_F(LenetTrainErrors, HyperparametersOutOfRange) {
  kiln_tensor x = batch_.dataTensor(), y = batch_.labelTensor();
  kiln_optimizer_params p = sgd(-0.1f);
  EXPECT_EQ(step(&x, &y, &p), KILN_INVALID_ARGUMENT);
  EXPECT_THAT(message_, HasSubstr("lenet_train_step: optimizer->learning_rate is -0.1; expected "
                                  "a value in [0, "));
  p = sgd(NAN);
  EXPECT_EQ(step(&x, &y, &p), KILN_INVALID_ARGUMENT);
  EXPECT_THAT(message_, HasSubstr("optimizer->learning_rate is nan"));
  p = sgd(0.1f, -0.5f);
  EXPECT_EQ(step(&x, &y, &p), KILN_INVALID_ARGUMENT);
  EXPECT_THAT(message_, HasSubstr("optimizer->momentum is -0.5"));
  p = sgd(0.1f, 0.9f, INFINITY);
  EXPECT_EQ(step(&x, &y, &p), KILN_INVALID_ARGUMENT);
  EXPECT_THAT(message_, HasSubstr("optimizer->weight_decay is inf"));
  // SGD reads no Adam field (on another model: TearDown checks this one is untouched).
  p = sgd(0.1f);
  p.beta1 = 7.0f;
  LenetPtr other = createLenet();
  float loss = 0;
  EXPECT_EQ(lenet_train_step(other.get(), &x, &y, &p, &loss), KILN_OK) << kiln_last_error();
}

TEST(LenetAdamTrainErrors, AdamHyperparametersOutOfRange) {
  lenet_adam *model = nullptr;
  ASSERT_EQ(lenet_adam_create(nullptr, &model), KILN_OK) << kiln_last_error();
  Batch batch = makeBatch(2, {1, 28, 28}, 10);
  kiln_tensor x = batch.dataTensor(), y = batch.labelTensor();
  kiln_optimizer_params p;
  kiln_optimizer_params_init(&p);
  p.beta1 = 1.0f;
  float loss = 0;
  EXPECT_EQ(lenet_adam_train_step(model, &x, &y, &p, &loss), KILN_INVALID_ARGUMENT);
  EXPECT_THAT(kiln_last_error(), HasSubstr("optimizer->beta1 is 1; expected a value in [0, 1)"));
  kiln_optimizer_params_init(&p);
  p.epsilon = -1e-8f;
  EXPECT_EQ(lenet_adam_train_step(model, &x, &y, &p, &loss), KILN_INVALID_ARGUMENT);
  EXPECT_THAT(kiln_last_error(), HasSubstr("optimizer->epsilon is -1e-08"));
  // Adam ignores momentum.
  kiln_optimizer_params_init(&p);
  p.momentum = -3.0f;
  EXPECT_EQ(lenet_adam_train_step(model, &x, &y, &p, &loss), KILN_OK) << kiln_last_error();
  EXPECT_STREQ(LENET_ADAM_OPTIMIZER, "adam");
  lenet_adam_destroy(model);
}

TEST(LenetCheckpoint, ADivergedStateIsNotSaved) {
  // A learning rate and a weight decay at the top of their ranges overflow the weights in the
  // first update, whose loss (computed before it) is finite: lenet_save refuses the state and
  // writes nothing, so no later load mistakes it for a checkpoint.
  LenetPtr model = createLenet();
  Batch batch = makeBatch(4, {1, 28, 28}, 10);
  kiln_tensor x = batch.dataTensor(), y = batch.labelTensor();
  kiln_optimizer_params p = sgd(3.0e38f, 0.0f, 1.0e3f);
  float loss = 0;
  ASSERT_EQ(lenet_train_step(model.get(), &x, &y, &p, &loss), KILN_OK) << kiln_last_error();
  EXPECT_TRUE(std::isfinite(loss));
  std::string path = tempPath("diverged.safetensors");
  std::remove(path.c_str());
  EXPECT_EQ(lenet_save(model.get(), path.c_str()), KILN_NUMERIC_ERROR);
  EXPECT_THAT(kiln_last_error(), HasSubstr("lenet_save: tensor '"));
  EXPECT_THAT(kiln_last_error(), HasSubstr("non-finite value"));
  EXPECT_THAT(kiln_last_error(), HasSubstr("training diverged, and the file is not written"));
  EXPECT_FALSE(std::ifstream(path).good());
}

// A fresh checkpoint with one tensor replaced (or added).
std::string checkpointWith(const std::string &name, const std::string &file, kiln_dtype dtype,
                           std::vector<int64_t> shape, const void *data) {
  std::string fresh = tempPath("fresh.safetensors"), path = tempPath(file);
  LenetPtr model = createLenet();
  EXPECT_EQ(lenet_save(model.get(), fresh.c_str()), KILN_OK);
  kiln_weights *weights = nullptr;
  EXPECT_EQ(kiln_weights_load(fresh.c_str(), &weights), KILN_OK);
  std::vector<const char *> names;
  std::vector<kiln_tensor> tensors;
  for (size_t i = 0; i < kiln_weights_count(weights); ++i) {
    names.push_back(kiln_weights_name(weights, i));
    kiln_tensor tensor;
    EXPECT_EQ(kiln_weights_get(weights, names.back(), &tensor), KILN_OK);
    if (name == names.back())
      tensor = kiln_tensor_view(const_cast<void *>(data), dtype,
                                static_cast<int32_t>(shape.size()), shape.data());
    tensors.push_back(tensor);
  }
  EXPECT_EQ(kiln_weights_save(path.c_str(), names.size(), names.data(), tensors.data()), KILN_OK)
      << kiln_last_error();
  kiln_weights_free(weights);
  std::remove(fresh.c_str());
  return path;
}

TEST(LenetCheckpoint, RejectsABadStepCount) {
  double real = 3.0;
  int64_t negative = -2;
  float fraction = 1.5f;
  int64_t pair[2] = {3, 3};
  struct Case {
    std::string file;
    kiln_dtype dtype;
    std::vector<int64_t> shape;
    const void *data;
    kiln_status status;
    std::string message;
  } cases[] = {
      {"f64.safetensors", KILN_F64, {}, &real, KILN_DTYPE_MISMATCH,
       "tensor 'optimizer.step' has dtype f64; expected i64 (or i32, f32)"},
      {"negative.safetensors", KILN_I64, {}, &negative, KILN_CORRUPT_FILE,
       "tensor 'optimizer.step' is -2; expected a count >= 0"},
      {"fraction.safetensors", KILN_F32, {}, &fraction, KILN_CORRUPT_FILE,
       "tensor 'optimizer.step' is 1.5; expected a whole number of steps"},
      {"vector.safetensors", KILN_I64, {2}, pair, KILN_SHAPE_MISMATCH,
       "tensor 'optimizer.step' has rank 1 and 2 elements; expected a scalar"},
  };
  for (const Case &c : cases) {
    std::string path = checkpointWith("optimizer.step", c.file, c.dtype, c.shape, c.data);
    lenet *model = nullptr;
    EXPECT_EQ(lenet_create(nullptr, &model), KILN_OK);
    lenet_destroy(model);
    kiln_options options;
    kiln_options_init(&options);
    options.weights_path = path.c_str();
    EXPECT_EQ(lenet_create(&options, &model), c.status) << c.file;
    EXPECT_EQ(model, nullptr);
    EXPECT_THAT(kiln_last_error(), HasSubstr(c.message)) << c.file;
    std::remove(path.c_str());
  }
  // A float step count (as PyTorch keeps it) is accepted.
  float three = 3.0f;
  std::string path = checkpointWith("optimizer.step", "f32.safetensors", KILN_F32, {}, &three);
  LenetPtr model = createLenet(path.c_str());
  ASSERT_TRUE(model);
  int64_t steps = -1;
  ASSERT_EQ(lenet_step_count(model.get(), &steps), KILN_OK);
  EXPECT_EQ(steps, 3);
  std::remove(path.c_str());
}

TEST(LenetCheckpoint, RejectsAnOptimizerBufferOfTheWrongShape) {
  std::vector<float> values(10, 0.0f);
  std::string path = checkpointWith("optimizer.fc2.bias.momentum_buffer", "buffer.safetensors",
                                    KILN_F32, {5, 2}, values.data());
  kiln_options options;
  kiln_options_init(&options);
  options.weights_path = path.c_str();
  lenet *model = nullptr;
  EXPECT_EQ(lenet_create(&options, &model), KILN_SHAPE_MISMATCH);
  EXPECT_THAT(kiln_last_error(), HasSubstr("optimizer.fc2.bias.momentum_buffer"));
  std::remove(path.c_str());
}

} // namespace
