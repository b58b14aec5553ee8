// Training in the reference interpreter, end to end: models go through the driver's pipeline and
// kiln-autodiff, and the interpreter runs @train_step. One step with lr = 1, momentum = 0 and
// weight decay 0 gives p' = p − g, so g = p − p' must match central differences of the loss the
// interpreter computes (|g − fd| ≤ 1e-6 + 1e-3·|fd|); a few optimizer steps on a fixed batch must
// lower the loss; batch norm's running statistics must follow PyTorch's update. Between LeNet,
// the residual network and a model of pools and softmaxes, every op's gradient rule is on a
// checked loss's path; an ONNX model trains from the weights it carries.
#include "driver/Pipeline.h"
#include "passes/Passes.h"
#include "reference/Interpreter.h"

#include "kiln/Dialect/NN/NNDialect.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Support/FileUtilities.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/SourceMgr.h"

#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <random>

using namespace kiln::reference;

namespace {

constexpr double kRtol = 1e-3, kAtol = 1e-6;

// conv-bn-relu-conv-bn plus a skip connection around them, global average pooling, dense.
constexpr const char *kResidualModel = R"kiln(
input data: [N, 3, 6, 6]

stem = Conv2D(4, 3, padding=1)
conv1 = Conv2D(4, 3, padding=1, use_bias=false)
bn1 = BatchNorm(activation=relu)
conv2 = Conv2D(4, 3, padding=1, use_bias=false)
bn2 = BatchNorm()
out = Add(activation=relu)(bn2, stem)
pool = GlobalAvgPool2D()
fc = Dense(5)

loss SoftmaxCrossEntropy
)kiln";

// [lr, momentum, weight_decay, β1, β2, ε, 1 − β1^t, 1 − β2^t].
std::vector<double> sgdHyper(double lr, double momentum, double decay) {
  return {lr, momentum, decay, 0.9, 0.999, 1e-8, 0.1, 0.001};
}

Tensor random(std::vector<int64_t> shape, std::mt19937 &rng, double lo, double hi) {
  std::uniform_real_distribution<double> uniform(lo, hi);
  Tensor t{std::move(shape), {}};
  for (int64_t i = 0; i < t.numel(); ++i)
    t.data.push_back(uniform(rng));
  return t;
}

// A batch of `batch` inputs of the model's input shape, values in [0, 1), and labels.
std::vector<Tensor> randomBatch(mlir::func::FuncOp loss, int64_t batch, unsigned seed) {
  std::mt19937 rng(seed);
  auto type = mlir::cast<mlir::RankedTensorType>(loss.getArgumentTypes()[0]);
  std::vector<int64_t> shape(type.getShape().begin(), type.getShape().end());
  shape[0] = batch;
  Tensor labels{{batch}, {}};
  for (int64_t n = 0; n < batch; ++n)
    labels.data.push_back(static_cast<double>(n % 5)); // every model here has ≥ 5 classes
  return {random(shape, rng, 0.0, 1.0), labels};
}

// PyTorch's default initialization, from a seed: weights and biases U(±1/√fan_in) with fan_in
// from the layer's weight; batch norm's weight 1, bias 0, running mean 0 and variance 1.
ParameterMap initialize(mlir::func::FuncOp forward, unsigned seed) {
  std::map<std::string, std::vector<int64_t>> shapes;
  forward.walk([&](kiln::nn::ParameterOp p) {
    auto type = mlir::cast<mlir::RankedTensorType>(p.getType());
    shapes[p.getName().str()] =
        std::vector<int64_t>(type.getShape().begin(), type.getShape().end());
  });
  std::mt19937 rng(seed);
  ParameterMap params;
  for (const auto &[name, shape] : shapes) {
    std::string layer = name.substr(0, name.rfind('.')), field = name.substr(name.rfind('.') + 1);
    Tensor t{shape, std::vector<double>(Tensor{shape, {}}.numel(), 0.0)};
    bool batchNorm = shapes.count(layer + ".running_mean") > 0;
    if (field == "running_var" || (batchNorm && field == "weight")) {
      t.data.assign(t.data.size(), 1.0);
    } else if (!batchNorm) {
      const std::vector<int64_t> &weight = shapes[layer + ".weight"];
      int64_t fanIn = 1;
      for (size_t i = 1; i < weight.size(); ++i)
        fanIn *= weight[i];
      double bound = 1.0 / std::sqrt(static_cast<double>(fanIn));
      t = random(shape, rng, -bound, bound);
    }
    params[name] = std::move(t);
  }
  return params;
}

class Training : public ::testing::Test {
protected:
  Training()
      : handler(&context, [this](mlir::Diagnostic &d) {
          diagnostics += d.str() + "\n";
          return mlir::success();
        }) {
    mlir::DialectRegistry registry;
    kiln::registerKilnDialects(registry);
    context.appendDialectRegistry(registry);
    context.loadAllAvailableDialects();
  }

  // Parses the model (its kind from the buffer's name), runs the nn pipeline and kiln-autodiff.
  // An ONNX model's initializers go to `values`.
  void load(std::unique_ptr<llvm::MemoryBuffer> buffer, const std::string &optimizer = "sgd",
            kiln::InitialValues *values = nullptr) {
    ASSERT_TRUE(buffer);
    llvm::SourceMgr sourceMgr;
    sourceMgr.AddNewSourceBuffer(std::move(buffer), llvm::SMLoc());
    module = kiln::loadModel(sourceMgr, &context, values);
    ASSERT_TRUE(module) << diagnostics;
    ASSERT_TRUE(mlir::succeeded(kiln::runPipeline(*module, {}))) << diagnostics;
    mlir::PassManager pm(&context, mlir::ModuleOp::getOperationName());
    pm.addPass(kiln::createAutodiff(kiln::AutodiffOptions{optimizer}));
    ASSERT_TRUE(mlir::succeeded(pm.run(*module))) << diagnostics;
    step = function("train_step");
    ASSERT_TRUE(step);
  }

  void loadFile(const std::string &file) {
    std::string error;
    auto buffer = mlir::openInputFile(std::string(KILN_MODELS_DIR) + "/" + file, &error);
    ASSERT_TRUE(buffer) << error;
    load(std::move(buffer));
  }

  mlir::func::FuncOp function(llvm::StringRef name) {
    return module->lookupSymbol<mlir::func::FuncOp>(name);
  }

  double trainLoss(const std::vector<Tensor> &batch, ParameterMap state,
                   const std::vector<double> &hyper) {
    mlir::FailureOr<double> loss = runTrainStep(step, batch, hyper, state);
    EXPECT_TRUE(mlir::succeeded(loss)) << diagnostics;
    return mlir::succeeded(loss) ? *loss : NAN;
  }

  double inferenceLoss(const std::vector<Tensor> &batch, const ParameterMap &params) {
    auto results = runFunction(function("loss"), batch, params);
    EXPECT_TRUE(mlir::succeeded(results)) << diagnostics;
    return mlir::succeeded(results) ? (*results)[0].data[0] : NAN;
  }

  // The parameters the optimizer trains: those with a momentum buffer among the state updates.
  std::vector<std::string> trainedParameters() {
    std::vector<std::string> names;
    auto updates = step->getAttrOfType<mlir::ArrayAttr>("kiln.state_updates");
    for (mlir::Attribute a : updates) {
      std::string name = mlir::cast<mlir::StringAttr>(a).str();
      for (mlir::Attribute b : updates)
        if (mlir::cast<mlir::StringAttr>(b).str() == "optimizer." + name + ".momentum_buffer")
          names.push_back(name);
    }
    return names;
  }

  // g = p − p' from a step with lr 1 and no momentum or decay, against central differences of
  // lossAt with step h: on each trained parameter's largest-gradient entry and `samples` random
  // ones.
  void expectLossGradient(const std::vector<Tensor> &batch, const ParameterMap &params,
                          const std::function<double(const ParameterMap &)> &lossAt, double h,
                          int samples) {
    ParameterMap next = params;
    ASSERT_TRUE(mlir::succeeded(runTrainStep(step, batch, sgdHyper(1, 0, 0), next))) << diagnostics;
    std::vector<std::string> trained = trainedParameters();
    ASSERT_FALSE(trained.empty());
    std::mt19937 rng(7);
    for (const std::string &name : trained) {
      const Tensor &p = params.at(name), &pNext = next.at(name);
      std::vector<size_t> entries;
      size_t largest = 0;
      for (size_t i = 0; i < p.data.size(); ++i)
        if (std::abs(p.data[i] - pNext.data[i]) > std::abs(p.data[largest] - pNext.data[largest]))
          largest = i;
      entries.push_back(largest);
      for (int s = 0; s < samples; ++s)
        entries.push_back(std::uniform_int_distribution<size_t>(0, p.data.size() - 1)(rng));
      for (size_t i : entries) {
        ParameterMap shifted = params;
        shifted[name].data[i] = p.data[i] + h;
        double plus = lossAt(shifted);
        shifted[name].data[i] = p.data[i] - h;
        double minus = lossAt(shifted);
        double fd = (plus - minus) / (2 * h), grad = p.data[i] - pNext.data[i];
        EXPECT_LE(std::abs(grad - fd), kAtol + kRtol * std::abs(fd))
            << name << "[" << i << "]: the train step's gradient is " << grad
            << ", finite differences give " << fd;
      }
    }
  }

  // `steps` steps from params on one batch; returns the losses, first (before any update) to last.
  std::vector<double> train(const std::vector<Tensor> &batch, ParameterMap &state, int steps,
                            const std::function<std::vector<double>(int)> &hyperAt) {
    std::vector<double> losses;
    for (int t = 1; t <= steps; ++t) {
      mlir::FailureOr<double> loss = runTrainStep(step, batch, hyperAt(t), state);
      EXPECT_TRUE(mlir::succeeded(loss)) << diagnostics;
      if (mlir::failed(loss))
        break;
      losses.push_back(*loss);
    }
    return losses;
  }

  mlir::MLIRContext context;
  std::string diagnostics;
  mlir::ScopedDiagnosticHandler handler;
  mlir::OwningOpRef<mlir::ModuleOp> module;
  mlir::func::FuncOp step;
};

TEST_F(Training, LeNetGradientsMatchFiniteDifferencesOfTheLoss) {
  loadFile("lenet.kiln");
  ParameterMap params = initialize(function("forward"), 11);
  std::vector<Tensor> batch = randomBatch(function("loss"), 3, 12);
  // Without batch norm, the train step's loss is @loss's.
  EXPECT_NEAR(trainLoss(batch, params, sgdHyper(1, 0, 0)), inferenceLoss(batch, params), 1e-12);
  expectLossGradient(
      batch, params, [&](const ParameterMap &p) { return inferenceLoss(batch, p); }, 1e-3, 3);
}

// The gradient rules LeNet and the residual network do not reach, on the loss's path: max
// pooling, sigmoid, global max pooling, softmax and log-softmax between dense layers. Every
// trained parameter's gradient is upstream of all five, so each rule is checked end to end.
constexpr const char *kPoolingAndSoftmaxModel = R"kiln(
input data: [N, 2, 6, 6]

conv = Conv2D(4, 3, padding=1)
sig = Sigmoid()
pool = MaxPool2D(2)
gmp = GlobalMaxPool2D()
fc1 = Dense(5)
probs = Softmax()
fc2 = Dense(4)
logp = LogSoftmax()
fc3 = Dense(3)

loss SoftmaxCrossEntropy
)kiln";

TEST_F(Training, MaxPoolSigmoidGlobalMaxPoolSoftmaxAndLogSoftmaxGradients) {
  load(llvm::MemoryBuffer::getMemBufferCopy(kPoolingAndSoftmaxModel, "pooling.kiln"));
  ParameterMap params = initialize(function("forward"), 51);
  std::vector<Tensor> batch = randomBatch(function("loss"), 3, 52);
  for (llvm::StringRef op : {"nn.max_pool", "nn.sigmoid", "nn.global_max_pool", "nn.softmax",
                             "nn.log_softmax"}) {
    bool found = false;
    step.walk([&](mlir::Operation *o) { found |= o->getName().getStringRef() == op; });
    EXPECT_TRUE(found) << op.str() << " is not in the train step";
  }
  EXPECT_NEAR(trainLoss(batch, params, sgdHyper(1, 0, 0)), inferenceLoss(batch, params), 1e-12);
  // A small step keeps the differences clear of the max pools' switches between inputs.
  expectLossGradient(
      batch, params, [&](const ParameterMap &p) { return inferenceLoss(batch, p); }, 1e-5, 4);
}

// Leaky ReLU's and clip's gradient rules on the loss's path (ONNX's LeakyRelu and Clip). The
// clip's bounds are narrow, so some of its inputs are clipped (gradient 0) and some pass.
constexpr const char *kLeakyClipModel = R"kiln(
input data: [N, 2, 5, 5]

conv = Conv2D(4, 3, padding=1)
leak = LeakyRelu(0.2)
clip = Clip(-0.15, 0.15)
fc = Dense(3)

loss SoftmaxCrossEntropy
)kiln";

TEST_F(Training, LeakyReluAndClipGradients) {
  load(llvm::MemoryBuffer::getMemBufferCopy(kLeakyClipModel, "leaky.kiln"));
  ParameterMap params = initialize(function("forward"), 61);
  std::vector<Tensor> batch = randomBatch(function("loss"), 3, 62);
  for (llvm::StringRef op : {"nn.leaky_relu_backward", "nn.clip_backward"}) {
    bool found = false;
    step.walk([&](mlir::Operation *o) { found |= o->getName().getStringRef() == op; });
    EXPECT_TRUE(found) << op.str() << " is not in the train step";
  }
  // Not every input of the clip is clipped: the convolution's weights get a gradient.
  ParameterMap next = params;
  ASSERT_TRUE(mlir::succeeded(runTrainStep(step, batch, sgdHyper(1, 0, 0), next))) << diagnostics;
  const Tensor &before = params.at("conv.weight"), &after = next.at("conv.weight");
  EXPECT_NE(before.data, after.data);
  expectLossGradient(
      batch, params, [&](const ParameterMap &p) { return inferenceLoss(batch, p); }, 1e-5, 6);
}

// The broadcasting ops' and transpose's gradients (ONNX's Add, Sub, Mul, Div with a bias or a
// scale, Transpose): each
// trained parameter is broadcast along the batch, the spatial dimensions or both, and the
// divisor is kept away from 0 (1.5 + a square) so the differences are smooth.
constexpr const char *kBroadcastModel = R"mlir(
module @broadcast {
  func.func @forward(%x: tensor<?x2x3x3xf32>) -> tensor<?x4xf32> {
    %w = nn.parameter "c.weight" : tensor<3x2x2x2xf32>
    %c = nn.conv %x, %w strides = [1, 1] padding = [0, 0, 0, 0] dilations = [1, 1] groups = 1 : (tensor<?x2x3x3xf32>, tensor<3x2x2x2xf32>) -> tensor<?x3x2x2xf32>
    %bias = nn.parameter "bias" : tensor<3x1x1xf32>
    %a = nn.broadcast_add %c, %bias : (tensor<?x3x2x2xf32>, tensor<3x1x1xf32>) -> tensor<?x3x2x2xf32>
    %scale = nn.parameter "scale" : tensor<2xf32>
    %m = nn.broadcast_mul %scale, %a : (tensor<2xf32>, tensor<?x3x2x2xf32>) -> tensor<?x3x2x2xf32>
    %shift = nn.parameter "shift" : tensor<1x3x2x1xf32>
    %s = nn.broadcast_sub %shift, %m : (tensor<1x3x2x1xf32>, tensor<?x3x2x2xf32>) -> tensor<?x3x2x2xf32>
    %d = nn.parameter "divisor" : tensor<3x2x2xf32>
    %dd = nn.broadcast_mul %d, %d : (tensor<3x2x2xf32>, tensor<3x2x2xf32>) -> tensor<3x2x2xf32>
    %one = nn.parameter "one" buffer : tensor<1xf32>
    %den = nn.broadcast_add %dd, %one : (tensor<3x2x2xf32>, tensor<1xf32>) -> tensor<3x2x2xf32>
    %q = nn.broadcast_div %s, %den : (tensor<?x3x2x2xf32>, tensor<3x2x2xf32>) -> tensor<?x3x2x2xf32>
    %sq = nn.broadcast_mul %q, %q : (tensor<?x3x2x2xf32>, tensor<?x3x2x2xf32>) -> tensor<?x3x2x2xf32>
    %t = nn.transpose %sq perm = [0, 3, 1, 2] : tensor<?x3x2x2xf32> -> tensor<?x2x3x2xf32>
    %f = nn.flatten %t : tensor<?x2x3x2xf32> -> tensor<?x12xf32>
    %fw = nn.parameter "fc.weight" : tensor<4x12xf32>
    %y = nn.dense %f, %fw : (tensor<?x12xf32>, tensor<4x12xf32>) -> tensor<?x4xf32>
    return %y : tensor<?x4xf32>
  }
  func.func @loss(%x: tensor<?x2x3x3xf32>, %labels: tensor<?xi64>) -> tensor<f32> {
    %y = call @forward(%x) : (tensor<?x2x3x3xf32>) -> tensor<?x4xf32>
    %l = nn.softmax_cross_entropy %y, %labels : (tensor<?x4xf32>, tensor<?xi64>) -> tensor<f32>
    return %l : tensor<f32>
  }
}
)mlir";

TEST_F(Training, BroadcastAddSubMulDivAndTransposeGradients) {
  load(llvm::MemoryBuffer::getMemBufferCopy(kBroadcastModel, "broadcast.mlir"));
  ParameterMap params = initialize(function("forward"), 71);
  params["one"].data.assign(1, 1.5);
  std::vector<Tensor> batch = randomBatch(function("loss"), 3, 72);
  bool sums = false;
  step.walk([&](mlir::Operation *o) { sums |= o->getName().getStringRef() == "nn.sum_like"; });
  EXPECT_TRUE(sums) << "no nn.sum_like in the train step";
  EXPECT_NEAR(trainLoss(batch, params, sgdHyper(1, 0, 0)), inferenceLoss(batch, params), 1e-12);
  expectLossGradient(
      batch, params, [&](const ParameterMap &p) { return inferenceLoss(batch, p); }, 1e-5, 6);
}

// Max's and min's gradients (ONNX's Max, Min, and Clip with computed bounds): a floor broadcast
// along the batch and the spatial dimensions, a ceiling along the batch and the columns; each
// takes part of the elements (random values make ties, where the rule picks rhs, unlikely). A
// rank-0 gain then scales everything (a scalar operand's gradient sums every element).
constexpr const char *kMaxMinModel = R"mlir(
module @max_min {
  func.func @forward(%x: tensor<?x2x3x3xf32>) -> tensor<?x4xf32> {
    %w = nn.parameter "c.weight" : tensor<3x2x2x2xf32>
    %c = nn.conv %x, %w strides = [1, 1] padding = [0, 0, 0, 0] dilations = [1, 1] groups = 1 : (tensor<?x2x3x3xf32>, tensor<3x2x2x2xf32>) -> tensor<?x3x2x2xf32>
    %floor = nn.parameter "floor" : tensor<3x1x1xf32>
    %lo = nn.broadcast_max %c, %floor : (tensor<?x3x2x2xf32>, tensor<3x1x1xf32>) -> tensor<?x3x2x2xf32>
    %ceiling = nn.parameter "ceiling" : tensor<1x3x2x1xf32>
    %hi = nn.broadcast_min %ceiling, %lo : (tensor<1x3x2x1xf32>, tensor<?x3x2x2xf32>) -> tensor<?x3x2x2xf32>
    %gain = nn.parameter "gain" : tensor<f32>
    %g = nn.broadcast_mul %hi, %gain : (tensor<?x3x2x2xf32>, tensor<f32>) -> tensor<?x3x2x2xf32>
    %f = nn.flatten %g : tensor<?x3x2x2xf32> -> tensor<?x12xf32>
    %fw = nn.parameter "fc.weight" : tensor<4x12xf32>
    %y = nn.dense %f, %fw : (tensor<?x12xf32>, tensor<4x12xf32>) -> tensor<?x4xf32>
    return %y : tensor<?x4xf32>
  }
  func.func @loss(%x: tensor<?x2x3x3xf32>, %labels: tensor<?xi64>) -> tensor<f32> {
    %y = call @forward(%x) : (tensor<?x2x3x3xf32>) -> tensor<?x4xf32>
    %l = nn.softmax_cross_entropy %y, %labels : (tensor<?x4xf32>, tensor<?xi64>) -> tensor<f32>
    return %l : tensor<f32>
  }
}
)mlir";

TEST_F(Training, BroadcastMaxAndMinGradients) {
  load(llvm::MemoryBuffer::getMemBufferCopy(kMaxMinModel, "max_min.mlir"));
  ParameterMap params = initialize(function("forward"), 91);
  // Floor and ceiling inside the conv's range, so each takes some elements and leaves others.
  params["floor"].data = {-0.2, 0.0, 0.1};
  for (double &v : params["ceiling"].data)
    v = 0.3 + 0.1 * v;
  params["gain"].data = {1.3};
  std::vector<Tensor> batch = randomBatch(function("loss"), 3, 92);
  EXPECT_NEAR(trainLoss(batch, params, sgdHyper(1, 0, 0)), inferenceLoss(batch, params), 1e-12);
  // Both bounds and the conv below them receive gradient (each takes some elements).
  ParameterMap next = params;
  ASSERT_TRUE(mlir::succeeded(runTrainStep(step, batch, sgdHyper(1, 0, 0), next))) << diagnostics;
  for (const char *name : {"floor", "ceiling", "c.weight", "gain"})
    EXPECT_NE(next[name].data, params[name].data) << name << " got no gradient";
  expectLossGradient(
      batch, params, [&](const ParameterMap &p) { return inferenceLoss(batch, p); }, 1e-5, 6);
}

// Pad's and concat's gradients (ONNX's Pad and Concat): a pad that adds channels and rows and
// crops a column, then the padded tensor joined with its tanh along the rows.
constexpr const char *kPadConcatModel = R"mlir(
module @pad_concat {
  func.func @forward(%x: tensor<?x2x3x3xf32>) -> tensor<?x4xf32> {
    %w = nn.parameter "c.weight" : tensor<3x2x2x2xf32>
    %c = nn.conv %x, %w strides = [1, 1] padding = [0, 0, 0, 0] dilations = [1, 1] groups = 1 : (tensor<?x2x3x3xf32>, tensor<3x2x2x2xf32>) -> tensor<?x3x2x2xf32>
    %p = nn.pad %c pads = [0, 0, 1, -1, 0, 1, 0, 1] {value = 0.5 : f32} : tensor<?x3x2x2xf32> -> tensor<?x4x3x2xf32>
    %t = nn.tanh %p : tensor<?x4x3x2xf32> -> tensor<?x4x3x2xf32>
    %j = nn.concat %p, %t axis = 2 : (tensor<?x4x3x2xf32>, tensor<?x4x3x2xf32>) -> tensor<?x4x6x2xf32>
    %f = nn.flatten %j : tensor<?x4x6x2xf32> -> tensor<?x48xf32>
    %fw = nn.parameter "fc.weight" : tensor<4x48xf32>
    %y = nn.dense %f, %fw : (tensor<?x48xf32>, tensor<4x48xf32>) -> tensor<?x4xf32>
    return %y : tensor<?x4xf32>
  }
  func.func @loss(%x: tensor<?x2x3x3xf32>, %labels: tensor<?xi64>) -> tensor<f32> {
    %y = call @forward(%x) : (tensor<?x2x3x3xf32>) -> tensor<?x4xf32>
    %l = nn.softmax_cross_entropy %y, %labels : (tensor<?x4xf32>, tensor<?xi64>) -> tensor<f32>
    return %l : tensor<f32>
  }
}
)mlir";

TEST_F(Training, PadAndConcatGradients) {
  load(llvm::MemoryBuffer::getMemBufferCopy(kPadConcatModel, "pad_concat.mlir"));
  ParameterMap params = initialize(function("forward"), 81);
  std::vector<Tensor> batch = randomBatch(function("loss"), 3, 82);
  EXPECT_NEAR(trainLoss(batch, params, sgdHyper(1, 0, 0)), inferenceLoss(batch, params), 1e-12);
  expectLossGradient(
      batch, params, [&](const ParameterMap &p) { return inferenceLoss(batch, p); }, 1e-5, 6);
}

TEST_F(Training, LeNetLearnsAFixedBatchWithSgd) {
  loadFile("lenet.kiln");
  ParameterMap state = initialize(function("forward"), 21);
  std::vector<Tensor> batch = randomBatch(function("loss"), 8, 22);
  std::vector<double> losses =
      train(batch, state, 10, [](int) { return sgdHyper(0.05, 0.9, 1e-4); });
  ASSERT_EQ(losses.size(), 10u);
  // Momentum makes the descent uneven (2.32 → 1.60 here, not monotone): only the overall drop is
  // checked, with the loss after the last update.
  EXPECT_LT(inferenceLoss(batch, state), 0.8 * losses.front());
  EXPECT_EQ(state.count("optimizer.fc2.weight.momentum_buffer"), 1u);
}

TEST_F(Training, ResidualNetworkWithBatchNormGradients) {
  load(llvm::MemoryBuffer::getMemBufferCopy(kResidualModel, "residual.kiln"));
  ParameterMap params = initialize(function("forward"), 31);
  std::vector<Tensor> batch = randomBatch(function("loss"), 4, 32);
  // The train step normalizes with batch statistics, so its own loss is differentiated; a small
  // step keeps the differences clear of ReLU's kinks.
  expectLossGradient(
      batch, params, [&](const ParameterMap &p) { return trainLoss(batch, p, sgdHyper(1, 0, 0)); },
      1e-5, 4);
}

TEST_F(Training, ResidualNetworkLearnsAndUpdatesRunningStatistics) {
  load(llvm::MemoryBuffer::getMemBufferCopy(kResidualModel, "residual.kiln"));
  ParameterMap state = initialize(function("forward"), 41);
  std::vector<Tensor> batch = randomBatch(function("loss"), 8, 42);

  // One step, recording every value, then each running statistic against its update from the
  // normalized tensor: (1 − 0.1)·running + 0.1·statistic, the variance unbiased.
  llvm::DenseMap<mlir::Value, Tensor> values;
  ParameterMap before = state;
  ASSERT_TRUE(mlir::succeeded(
      runTrainStep(step, batch, sgdHyper(0.1, 0.9, 0), state,
                   [&](mlir::Operation *op, const Tensor &t) { values[op->getResult(0)] = t; })))
      << diagnostics;
  int checked = 0;
  step.walk([&](kiln::nn::RunningUpdateOp update) {
    std::string name = update.getRunning().getDefiningOp<kiln::nn::ParameterOp>().getName().str();
    const Tensor &x = values[update.getBatch().getDefiningOp()->getOperand(0)];
    bool isVar = name.size() > 4 && name.substr(name.size() - 4) == "_var";
    int64_t n = x.shape[0], channels = x.shape[1], plane = x.numel() / (n * channels);
    for (int64_t c = 0; c < channels; ++c) {
      double sum = 0, squares = 0;
      for (int64_t i = 0; i < n; ++i)
        for (int64_t j = 0; j < plane; ++j)
          sum += x.data[(i * channels + c) * plane + j];
      double mean = sum / static_cast<double>(n * plane);
      for (int64_t i = 0; i < n; ++i)
        for (int64_t j = 0; j < plane; ++j)
          squares += std::pow(x.data[(i * channels + c) * plane + j] - mean, 2);
      double statistic = isVar ? squares / static_cast<double>(n * plane - 1) : mean;
      EXPECT_NEAR(state[name].data[c], 0.9 * before[name].data[c] + 0.1 * statistic, 1e-12)
          << name << "[" << c << "]";
    }
    ++checked;
  });
  EXPECT_EQ(checked, 4); // bn1 and bn2, mean and variance

  std::vector<double> losses = train(batch, state, 10, [](int) { return sgdHyper(0.1, 0.9, 0); });
  ASSERT_EQ(losses.size(), 10u);
  EXPECT_LT(losses.back(), 0.9 * losses.front()); // 1.67 → 1.41 here
}

TEST_F(Training, ResidualNetworkLearnsWithAdam) {
  load(llvm::MemoryBuffer::getMemBufferCopy(kResidualModel, "residual.kiln"), "adam");
  ParameterMap state = initialize(function("forward"), 51);
  std::vector<Tensor> batch = randomBatch(function("loss"), 8, 52);
  std::vector<double> losses = train(batch, state, 10, [](int t) {
    return std::vector<double>{
        0.01, 0, 0, 0.9, 0.999, 1e-8, 1 - std::pow(0.9, t), 1 - std::pow(0.999, t)};
  });
  ASSERT_EQ(losses.size(), 10u);
  EXPECT_LT(losses.back(), 0.9 * losses.front()); // 1.69 → 1.40 here
  EXPECT_EQ(state.count("optimizer.fc.weight.exp_avg_sq"), 1u);
}

// An ONNX model exported from PyTorch (tests/lit/frontend/Inputs/onnx/tinyresnet.onnx: stem,
// max pooling, a basic and a strided residual block, adaptive pooling, Gemm) trains from the
// weights it carries: the train step's loss is @loss's and its gradients match finite
// differences, as for a .kiln model.
TEST_F(Training, ImportedOnnxModelTrainsFromItsWeights) {
  std::string error;
  auto buffer = mlir::openInputFile(
      std::string(KILN_TESTS_DIR) + "/lit/frontend/Inputs/onnx/tinyresnet.onnx", &error);
  ASSERT_TRUE(buffer) << error;
  kiln::InitialValues values;
  load(std::move(buffer), "sgd", &values);
  ParameterMap params;
  function("forward").walk([&](kiln::nn::ParameterOp p) {
    auto type = mlir::cast<mlir::RankedTensorType>(p.getType());
    const std::vector<float> &data = values.at(p.getName().str());
    params[p.getName().str()] =
        Tensor{std::vector<int64_t>(type.getShape().begin(), type.getShape().end()),
               std::vector<double>(data.begin(), data.end())};
  });
  // Every initializer is a weight the optimizer trains (the export folded batch norm).
  EXPECT_EQ(trainedParameters().size(), params.size());
  ASSERT_EQ(params.size(), 14u);
  std::vector<Tensor> batch = randomBatch(function("loss"), 2, 92);
  EXPECT_NEAR(trainLoss(batch, params, sgdHyper(1, 0, 0)), inferenceLoss(batch, params), 1e-12);
  expectLossGradient(
      batch, params, [&](const ParameterMap &p) { return inferenceLoss(batch, p); }, 1e-5, 1);
}

TEST_F(Training, ReportsWhatItCannotRun) {
  load(llvm::MemoryBuffer::getMemBufferCopy(kResidualModel, "residual.kiln"));
  ParameterMap state = initialize(function("forward"), 61), before = state;
  std::vector<Tensor> batch = randomBatch(function("loss"), 2, 62);
  diagnostics.clear();
  EXPECT_TRUE(mlir::failed(runTrainStep(function("loss"), batch, sgdHyper(1, 0, 0), state)));
  EXPECT_EQ(diagnostics, "'loss' has no kiln.state_updates list of state names\n");
  diagnostics.clear();
  batch[1].data[1] = 7; // a label out of range
  EXPECT_TRUE(mlir::failed(runTrainStep(step, batch, sgdHyper(1, 0, 0), state)));
  EXPECT_EQ(diagnostics, "'nn.softmax_cross_entropy' op expects every label to be an integer in "
                         "[0, 5), got 7 at index 1\n");
  EXPECT_EQ(state.size(), before.size()); // nothing added or replaced on failure
  EXPECT_EQ(state["fc.weight"].data, before["fc.weight"].data);

  // A transposed convolution whose spatial extents the types leave open (the verifier allows it).
  auto parsed = mlir::parseSourceString<mlir::ModuleOp>(R"mlir(
    func.func @f(%dy: tensor<?x2x?x?xf32>, %w: tensor<2x3x3x3xf32>) -> tensor<?x3x?x?xf32> {
      %dx = nn.conv_backward_data %dy, %w strides = [1, 1] padding = [0, 0, 0, 0]
          dilations = [1, 1] groups = 1
          : (tensor<?x2x?x?xf32>, tensor<2x3x3x3xf32>) -> tensor<?x3x?x?xf32>
      return %dx : tensor<?x3x?x?xf32>
    })mlir",
                                                        &context);
  ASSERT_TRUE(parsed) << diagnostics;
  diagnostics.clear();
  Tensor dy{{1, 2, 2, 2}, std::vector<double>(8)}, w{{2, 3, 3, 3}, std::vector<double>(54)};
  EXPECT_TRUE(mlir::failed(
      runFunction(parsed->lookupSymbol<mlir::func::FuncOp>("f"), {dy, w}, ParameterMap{})));
  EXPECT_EQ(diagnostics, "'nn.conv_backward_data' op cannot infer dimension 2 of its result "
                         "type 'tensor<?x3x?x?xf32>' from its operands\n");
}

} // namespace
