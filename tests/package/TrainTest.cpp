// The generated training step: LeNet (SGD and Adam) and a residual network with batch norm
// match the reference interpreter's training step over several steps; training is bitwise
// deterministic; a checkpoint resumes exactly; a non-finite loss leaves the model unchanged.
#include "TrainTestSupport.h"

#include "lenet_adam.h"
#include "resbn.h"

namespace {

using namespace kiln::test;
namespace ref = kiln::reference;

const ModelApi kLenet = KILN_MODEL_API(lenet);
const ModelApi kLenetAdam = KILN_MODEL_API(lenet_adam);
const ModelApi kResbn = KILN_MODEL_API(resbn);
const std::string kLenetKiln = KILN_MODELS_DIR "/lenet.kiln";
const std::string kResbnKiln = KILN_RESBN_KILN;
const std::string kResbnWeights = KILN_RESBN_DIR "/resbn.safetensors";

// Runs `steps` steps of the compiled model and of the interpreter from the same weights on the
// same batch. Each loss agrees to a relative 1e-4; at the end every state tensor (parameters,
// running statistics, optimizer buffers) agrees to within 1e-4 of its scale, max|reference|:
// float32 kernels against the interpreter's doubles, with ten steps to accumulate differences.
void expectMatchesReference(const ModelApi &api, const std::string &kilnPath,
                            const std::string &optimizer, const std::string &weights,
                            Batch batch, const kiln_optimizer_params &params, int steps) {
  ReferenceModel reference(kilnPath, optimizer);
  ASSERT_TRUE(reference.trainStep()) << "cannot build the reference training step";
  ref::ParameterMap state = referenceState(weights);
  Instance model(api, weights.c_str());
  ASSERT_TRUE(model) << kiln_last_error();

  ref::Tensor data{batch.shape, std::vector<double>(batch.data.begin(), batch.data.end())};
  ref::Tensor labels{{static_cast<int64_t>(batch.labels.size())},
                     std::vector<double>(batch.labels.begin(), batch.labels.end())};
  for (int t = 1; t <= steps; ++t) {
    kiln_tensor x = batch.dataTensor(), y = batch.labelTensor();
    float loss = -1.0f;
    ASSERT_EQ(api.trainStep(model.get(), &x, &y, &params, &loss), KILN_OK) << kiln_last_error();
    mlir::FailureOr<double> expected =
        ref::runTrainStep(reference.trainStep(), {data, labels}, hyperFor(params, t), state);
    ASSERT_TRUE(mlir::succeeded(expected)) << "the interpreter failed at step " << t;
    EXPECT_NEAR(loss, *expected, 1e-4 * std::fabs(*expected)) << "loss of step " << t;
  }
  int64_t count = -1;
  ASSERT_EQ(api.stepCount(model.get(), &count), KILN_OK);
  EXPECT_EQ(count, steps);

  std::map<std::string, SavedTensor> saved = savedState(api, model.get(), tempPath("state"));
  for (const auto &[name, tensor] : state) {
    auto found = saved.find(name);
    ASSERT_NE(found, saved.end()) << "the checkpoint lacks " << name;
    std::vector<float> values = floats(found->second);
    ASSERT_EQ(values.size(), tensor.data.size()) << name;
    double scale = 0, diff = 0;
    for (size_t i = 0; i < values.size(); ++i) {
      scale = std::max(scale, std::fabs(tensor.data[i]));
      double d = std::fabs(values[i] - tensor.data[i]);
      diff = std::isnan(d) ? INFINITY : std::max(diff, d);
    }
    EXPECT_LE(diff, 1e-4 * scale) << name << " after " << steps << " steps (max|ref| " << scale
                                  << ")";
  }
  // The state is exactly the interpreter's tensors and the step count.
  EXPECT_EQ(saved.size(), state.size() + 1);
  ASSERT_TRUE(saved.count("optimizer.step"));
  int64_t step = -1;
  std::memcpy(&step, saved["optimizer.step"].bytes.data(), sizeof step);
  EXPECT_EQ(step, steps);
}

TEST(TrainStep, LenetSgdMatchesTheInterpreter) {
  expectMatchesReference(kLenet, kLenetKiln, "sgd", kLenetWeights, makeBatch(16, {1, 28, 28}, 10),
                         sgd(0.05f, 0.9f, 1e-3f), 10);
}

TEST(TrainStep, ResidualBatchNormSgdMatchesTheInterpreter) {
  expectMatchesReference(kResbn, kResbnKiln, "sgd", kResbnWeights, makeBatch(8, {3, 8, 8}, 4),
                         sgd(0.1f, 0.9f, 1e-3f), 10);
}

TEST(TrainStep, LenetAdamMatchesTheInterpreter) {
  kiln_optimizer_params adam;
  kiln_optimizer_params_init(&adam);
  adam.learning_rate = 1e-3f;
  adam.weight_decay = 1e-3f;
  // With epsilon 1e-8, Adam's first update is lr * sign(g) for every weight, so a gradient near
  // zero whose sign float32 rounding flips (|g| ~ 1e-9, weights fc1 barely reaches) moves the
  // weight by 2 lr: the comparison would measure that rounding, not the kernels (seen: 1e-4
  // differences on a few of fc1's 400,000 weights while the moments agree to 1e-6). With 1e-4
  // the update is continuous in g and the same tolerance as SGD's holds.
  adam.epsilon = 1e-4f;
  // The same model and seed: lenet_adam's initial weights are LeNet's.
  expectMatchesReference(kLenetAdam, kLenetKiln, "adam", kLenetWeights,
                         makeBatch(8, {1, 28, 28}, 10), adam, 4);
}

TEST(TrainStep, ForwardUsesTheTrainedState) {
  for (const auto &[api, weights, sample] :
       {std::make_tuple(&kLenet, kLenetWeights, std::vector<int64_t>{1, 28, 28}),
        std::make_tuple(&kResbn, kResbnWeights, std::vector<int64_t>{3, 8, 8})}) {
    int64_t classes = api == &kLenet ? 10 : 4;
    Instance model(*api, weights.c_str());
    ASSERT_TRUE(model) << kiln_last_error();
    Batch batch = makeBatch(4, sample, classes);
    std::vector<float> before(4 * classes), after(4 * classes), reloaded(4 * classes);
    int64_t outShape[2] = {4, classes};
    kiln_tensor x = batch.dataTensor(), y = batch.labelTensor();
    kiln_tensor out = kiln_tensor_view(before.data(), KILN_F32, 2, outShape);
    ASSERT_EQ(api->forward(model.get(), &x, &out), KILN_OK) << kiln_last_error();
    kiln_optimizer_params params = sgd(0.1f);
    float loss = 0;
    for (int step = 0; step < 3; ++step)
      ASSERT_EQ(api->trainStep(model.get(), &x, &y, &params, &loss), KILN_OK) << kiln_last_error();
    out.data = after.data();
    ASSERT_EQ(api->forward(model.get(), &x, &out), KILN_OK) << kiln_last_error();
    EXPECT_NE(before, after);
    // A model created from the checkpoint computes the same forward pass (running statistics
    // included): forward reads the buffers the training step updated.
    std::string path = tempPath("trained.safetensors");
    ASSERT_EQ(api->save(model.get(), path.c_str()), KILN_OK) << kiln_last_error();
    Instance copy(*api, path.c_str());
    ASSERT_TRUE(copy) << kiln_last_error();
    out.data = reloaded.data();
    ASSERT_EQ(api->forward(copy.get(), &x, &out), KILN_OK) << kiln_last_error();
    EXPECT_EQ(reloaded, after);
    std::remove(path.c_str());
  }
}

// The largest difference between float outputs and the interpreter's doubles, relative to the
// latter's largest magnitude.
double relativeDifference(const std::vector<float> &values, const ref::Tensor &expected) {
  EXPECT_EQ(values.size(), expected.data.size());
  double scale = 1e-30, diff = 0;
  for (size_t i = 0; i < values.size() && i < expected.data.size(); ++i) {
    scale = std::max(scale, std::fabs(expected.data[i]));
    double d = std::fabs(values[i] - expected.data[i]);
    diff = std::isnan(d) ? INFINITY : std::max(diff, d);
  }
  return diff / scale;
}

// resbn_set_training(model, 1): forward normalizes with the batch's statistics and updates the
// running ones, as the interpreter's @forward_train does; back in inference mode forward uses
// the updated running statistics, as the interpreter's @forward does with them.
TEST(TrainingMode, BatchNormForwardMatchesTheInterpreterInBothModes) {
  ReferenceModel reference(kResbnKiln, "sgd");
  mlir::func::FuncOp forwardTrain = reference.function("forward_train");
  mlir::func::FuncOp forward = reference.function("forward");
  ASSERT_TRUE(forwardTrain && forward) << "kiln-autodiff built no @forward_train for resbn";
  ref::ParameterMap state = referenceState(kResbnWeights);
  Instance model(kResbn, kResbnWeights.c_str());
  ASSERT_TRUE(model) << kiln_last_error();
  resbn *m = static_cast<resbn *>(model.get());
  EXPECT_EQ(resbn_is_training(m), 0);

  Batch batch = makeBatch(6, {3, 8, 8}, 4, /*seed=*/21);
  ref::Tensor data{batch.shape, std::vector<double>(batch.data.begin(), batch.data.end())};
  std::vector<float> logits(6 * 4);
  int64_t outShape[2] = {6, 4};
  kiln_tensor x = batch.dataTensor();
  kiln_tensor out = kiln_tensor_view(logits.data(), KILN_F32, 2, outShape);

  // Two training-mode passes: each uses batch statistics and moves the running ones.
  auto names = forwardTrain->getAttrOfType<mlir::ArrayAttr>("kiln.state_updates");
  ASSERT_TRUE(names && names.size() > 0);
  ASSERT_EQ(resbn_set_training(m, 1), KILN_OK) << kiln_last_error();
  EXPECT_EQ(resbn_is_training(m), 1);
  for (int pass = 0; pass < 2; ++pass) {
    ASSERT_EQ(resbn_forward(m, &x, &out), KILN_OK) << kiln_last_error();
    mlir::FailureOr<std::vector<ref::Tensor>> expected =
        ref::runFunction(forwardTrain, {data}, state);
    ASSERT_TRUE(mlir::succeeded(expected));
    ASSERT_EQ(expected->size(), 1 + names.size());
    EXPECT_LE(relativeDifference(logits, (*expected)[0]), 1e-4) << "pass " << pass;
    for (auto [k, name] : llvm::enumerate(names))
      state[mlir::cast<mlir::StringAttr>(name).getValue().str()] = (*expected)[1 + k];
  }
  std::map<std::string, SavedTensor> saved = savedState(kResbn, m, tempPath("tf-state"));
  for (mlir::Attribute name : names) {
    std::string key = mlir::cast<mlir::StringAttr>(name).getValue().str();
    ASSERT_TRUE(saved.count(key)) << key;
    EXPECT_LE(relativeDifference(floats(saved[key]), state[key]), 1e-4) << key;
  }
  // The step count is a training step's, not a forward pass's.
  int64_t steps = -1;
  ASSERT_EQ(resbn_step_count(m, &steps), KILN_OK);
  EXPECT_EQ(steps, 0);

  // Inference mode again: the running statistics just updated, nothing changes.
  ASSERT_EQ(resbn_set_training(m, 0), KILN_OK);
  std::vector<float> first(logits.size());
  out.data = first.data();
  ASSERT_EQ(resbn_forward(m, &x, &out), KILN_OK) << kiln_last_error();
  mlir::FailureOr<std::vector<ref::Tensor>> expected = ref::runFunction(forward, {data}, state);
  ASSERT_TRUE(mlir::succeeded(expected));
  EXPECT_LE(relativeDifference(first, (*expected)[0]), 1e-4);
  out.data = logits.data();
  ASSERT_EQ(resbn_forward(m, &x, &out), KILN_OK);
  EXPECT_EQ(first, logits);
  // Training mode again: batch statistics, which differ from the running ones, so the logits
  // differ from the inference-mode ones.
  ASSERT_EQ(resbn_set_training(m, 1), KILN_OK);
  ASSERT_EQ(resbn_forward(m, &x, &out), KILN_OK);
  EXPECT_NE(first, logits);
}

// A batch of two chunks and a partial third runs the kernels three times over views of the
// caller's tensors (and resizes the activations for the last chunk): every sample's outputs must
// still be the interpreter's, element by element (float32 against double: atol 1e-5 + rtol 1e-3).
TEST(ChunkedForward, TwoChunksAndAPartialOneMatchTheInterpreter) {
  ReferenceModel reference(kResbnKiln, "sgd");
  mlir::func::FuncOp forward = reference.function("forward");
  ASSERT_TRUE(forward);
  ref::ParameterMap state = referenceState(kResbnWeights);
  Instance model(kResbn, kResbnWeights.c_str());
  ASSERT_TRUE(model) << kiln_last_error();
  const int64_t chunk = RESBN_FORWARD_CHUNK, count = 2 * chunk + 5;
  ASSERT_GT(chunk, 1);
  ASSERT_LE(count, RESBN_MAX_BATCH);
  Batch batch = makeBatch(count, {3, 8, 8}, 4, /*seed=*/33);
  std::vector<float> logits(count * 4, NAN);
  int64_t outShape[2] = {count, 4};
  kiln_tensor x = batch.dataTensor();
  kiln_tensor out = kiln_tensor_view(logits.data(), KILN_F32, 2, outShape);
  ASSERT_EQ(resbn_forward(static_cast<resbn *>(model.get()), &x, &out), KILN_OK)
      << kiln_last_error();
  ref::Tensor data{batch.shape, std::vector<double>(batch.data.begin(), batch.data.end())};
  mlir::FailureOr<std::vector<ref::Tensor>> expected = ref::runFunction(forward, {data}, state);
  ASSERT_TRUE(mlir::succeeded(expected));
  ASSERT_EQ((*expected)[0].data.size(), logits.size());
  int mismatches = 0;
  for (size_t i = 0; i < logits.size(); ++i) {
    double want = (*expected)[0].data[i];
    if (!(std::fabs(logits[i] - want) <= 1e-5 + 1e-3 * std::fabs(want)) && ++mismatches <= 5)
      ADD_FAILURE() << "sample " << i / 4 << " (chunk " << i / 4 / chunk << "), logit " << i % 4
                    << ": " << logits[i] << ", the interpreter " << want;
  }
  EXPECT_EQ(mismatches, 0);
}

TEST(TrainingMode, WithoutBatchNormBothModesAgreeAndBadArgumentsFail) {
  Instance model(kLenet, kLenetWeights.c_str());
  ASSERT_TRUE(model) << kiln_last_error();
  lenet *m = static_cast<lenet *>(model.get());
  Batch batch = makeBatch(5, {1, 28, 28}, 10);
  std::vector<float> eval(50), train(50);
  int64_t outShape[2] = {5, 10};
  kiln_tensor x = batch.dataTensor();
  kiln_tensor out = kiln_tensor_view(eval.data(), KILN_F32, 2, outShape);
  ASSERT_EQ(lenet_forward(m, &x, &out), KILN_OK) << kiln_last_error();
  ASSERT_EQ(lenet_set_training(m, 1), KILN_OK);
  out.data = train.data();
  ASSERT_EQ(lenet_forward(m, &x, &out), KILN_OK) << kiln_last_error();
  EXPECT_EQ(eval, train);

  EXPECT_EQ(lenet_set_training(nullptr, 1), KILN_INVALID_ARGUMENT);
  EXPECT_STREQ(kiln_last_error(), "lenet_set_training: model is NULL");
  EXPECT_EQ(lenet_set_training(m, 2), KILN_INVALID_ARGUMENT);
  EXPECT_STREQ(kiln_last_error(), "lenet_set_training: training is 2; expected 0 (inference "
                                  "mode) or 1 (training mode)");
  EXPECT_EQ(lenet_is_training(m), 1); // unchanged by the failed call
  EXPECT_EQ(lenet_is_training(nullptr), 0);
  resbn *r = nullptr;
  ASSERT_EQ(resbn_create(nullptr, &r), KILN_OK) << kiln_last_error();
  EXPECT_EQ(resbn_set_training(r, -1), KILN_INVALID_ARGUMENT);
  // Too large a batch in training mode fails before touching anything.
  ASSERT_EQ(resbn_set_training(r, 1), KILN_OK);
  int64_t huge[4] = {RESBN_TRAIN_MAX_BATCH + 1, 3, 8, 8}, hugeOut[2] = {RESBN_TRAIN_MAX_BATCH + 1, 4};
  float dummy = 0;
  kiln_tensor bigIn = kiln_tensor_view(&dummy, KILN_F32, 4, huge);
  kiln_tensor bigOut = kiln_tensor_view(&dummy, KILN_F32, 2, hugeOut);
  EXPECT_EQ(resbn_forward(r, &bigIn, &bigOut), KILN_INVALID_ARGUMENT);
  EXPECT_NE(std::string(kiln_last_error()).find("exceeds the largest"), std::string::npos)
      << kiln_last_error();
  resbn_destroy(r);
}

// Runs `steps` steps with one kernel thread; the state after them.
std::map<std::string, SavedTensor> trainWithOneThread(const ModelApi &api, const char *weights,
                                                      int steps) {
  Instance model(api, weights, /*threads=*/1);
  EXPECT_TRUE(model) << kiln_last_error();
  Batch batch = makeBatch(32, {1, 28, 28}, 10, /*seed=*/5);
  kiln_tensor x = batch.dataTensor(), y = batch.labelTensor();
  kiln_optimizer_params params = sgd(0.05f);
  float loss = 0;
  for (int step = 0; step < steps; ++step)
    EXPECT_EQ(api.trainStep(model.get(), &x, &y, &params, &loss), KILN_OK) << kiln_last_error();
  return savedState(api, model.get(), tempPath("one-thread"));
}

TEST(TrainStep, IsBitwiseDeterministic) {
  std::map<std::string, SavedTensor> first = trainWithOneThread(kLenet, nullptr, 5);
  std::map<std::string, SavedTensor> second = trainWithOneThread(kLenet, nullptr, 5);
  ASSERT_EQ(first.size(), second.size());
  for (const auto &[name, tensor] : first) {
    ASSERT_EQ(tensor.bytes.size(), second[name].bytes.size()) << name;
    EXPECT_EQ(std::memcmp(tensor.bytes.data(), second[name].bytes.data(), tensor.bytes.size()), 0)
        << name << " differs between two identical runs";
  }
}

TEST(TrainStep, ResumesFromACheckpointExactly) {
  for (const ModelApi *api : {&kLenet, &kLenetAdam}) {
    Instance original(*api, nullptr, /*threads=*/1);
    ASSERT_TRUE(original) << kiln_last_error();
    Batch batch = makeBatch(16, {1, 28, 28}, 10, 7), next = makeBatch(16, {1, 28, 28}, 10, 8);
    kiln_tensor x = batch.dataTensor(), y = batch.labelTensor();
    kiln_optimizer_params params = sgd(api == &kLenetAdam ? 1e-3f : 0.05f);
    float loss = 0;
    for (int step = 0; step < 3; ++step)
      ASSERT_EQ(api->trainStep(original.get(), &x, &y, &params, &loss), KILN_OK);
    std::string checkpoint = tempPath("checkpoint.safetensors");
    ASSERT_EQ(api->save(original.get(), checkpoint.c_str()), KILN_OK) << kiln_last_error();

    Instance resumed(*api, checkpoint.c_str(), /*threads=*/1);
    ASSERT_TRUE(resumed) << kiln_last_error();
    int64_t steps = -1;
    ASSERT_EQ(api->stepCount(resumed.get(), &steps), KILN_OK);
    EXPECT_EQ(steps, 3);
    // The next step (Adam's bias corrections depend on the count) is the same bit for bit.
    kiln_tensor nx = next.dataTensor(), ny = next.labelTensor();
    float originalLoss = 0, resumedLoss = 1;
    ASSERT_EQ(api->trainStep(original.get(), &nx, &ny, &params, &originalLoss), KILN_OK);
    ASSERT_EQ(api->trainStep(resumed.get(), &nx, &ny, &params, &resumedLoss), KILN_OK);
    EXPECT_EQ(originalLoss, resumedLoss);
    std::map<std::string, SavedTensor> a = savedState(*api, original.get(), tempPath("a")),
                                       b = savedState(*api, resumed.get(), tempPath("b"));
    EXPECT_TRUE(a == b) << "the resumed model's state differs from the original's";
    std::remove(checkpoint.c_str());
  }
}

TEST(TrainStep, ANonFiniteLossLeavesTheModelUnchanged) {
  Instance model(kLenet, nullptr);
  ASSERT_TRUE(model) << kiln_last_error();
  Batch batch = makeBatch(16, {1, 28, 28}, 10);
  kiln_tensor x = batch.dataTensor(), y = batch.labelTensor();
  // A learning rate near FLT_MAX: the first step's update overflows, the next loss is not finite.
  kiln_optimizer_params params = sgd(1e38f);
  float loss = 0;
  kiln_status status = KILN_OK;
  int step = 0;
  std::map<std::string, SavedTensor> before;
  for (; step < 5 && status == KILN_OK; ++step) {
    before = savedState(kLenet, model.get(), tempPath("before"));
    status = kLenet.trainStep(model.get(), &x, &y, &params, &loss);
  }
  ASSERT_EQ(status, KILN_NUMERIC_ERROR) << "the loss stayed finite for 5 steps";
  EXPECT_FALSE(std::isfinite(loss));
  EXPECT_THAT(kiln_last_error(), testing::HasSubstr("lenet_train_step: the loss is"));
  EXPECT_THAT(kiln_last_error(), testing::HasSubstr("the model is unchanged"));
  int64_t steps = -1;
  ASSERT_EQ(lenet_step_count(static_cast<lenet *>(model.get()), &steps), KILN_OK);
  EXPECT_EQ(steps, step - 1);
  EXPECT_TRUE(before == savedState(kLenet, model.get(), tempPath("after")))
      << "a failed step changed the model's state";
}

TEST(TrainStep, AcceptsI32AndU8Labels) {
  Batch batch = makeBatch(8, {1, 28, 28}, 10);
  std::vector<int32_t> narrow(batch.labels.begin(), batch.labels.end());
  std::vector<uint8_t> bytes(batch.labels.begin(), batch.labels.end());
  int64_t n = 8;
  kiln_tensor x = batch.dataTensor();
  kiln_tensor labels[3] = {batch.labelTensor(), kiln_tensor_view(narrow.data(), KILN_I32, 1, &n),
                           kiln_tensor_view(bytes.data(), KILN_U8, 1, &n)};
  std::vector<std::map<std::string, SavedTensor>> states;
  std::vector<float> losses;
  for (const kiln_tensor &y : labels) {
    Instance model(kLenet, nullptr, 1);
    ASSERT_TRUE(model);
    float loss = 0;
    ASSERT_EQ(kLenet.trainStep(model.get(), &x, &y, nullptr, &loss), KILN_OK) << kiln_last_error();
    losses.push_back(loss);
    states.push_back(savedState(kLenet, model.get(), tempPath("labels")));
  }
  EXPECT_EQ(losses[1], losses[0]);
  EXPECT_EQ(losses[2], losses[0]);
  EXPECT_TRUE(states[1] == states[0]);
  EXPECT_TRUE(states[2] == states[0]);
}

TEST(TrainStep, AWeightsOnlyFileStartsTheOptimizerAtZero) {
  // kilnc's weights file holds no optimizer state: a model created from it trains exactly like
  // one created with the default initialization.
  Instance fromFile(kLenet, kLenetWeights.c_str(), 1), byDefault(kLenet, nullptr, 1);
  ASSERT_TRUE(fromFile && byDefault) << kiln_last_error();
  int64_t steps = -1;
  ASSERT_EQ(kLenet.stepCount(fromFile.get(), &steps), KILN_OK);
  EXPECT_EQ(steps, 0);
  Batch batch = makeBatch(8, {1, 28, 28}, 10);
  kiln_tensor x = batch.dataTensor(), y = batch.labelTensor();
  float a = 0, b = 1;
  ASSERT_EQ(kLenet.trainStep(fromFile.get(), &x, &y, nullptr, &a), KILN_OK);
  ASSERT_EQ(kLenet.trainStep(byDefault.get(), &x, &y, nullptr, &b), KILN_OK);
  EXPECT_EQ(a, b);
  EXPECT_TRUE(savedState(kLenet, fromFile.get(), tempPath("a")) ==
              savedState(kLenet, byDefault.get(), tempPath("b")));
}

} // namespace
