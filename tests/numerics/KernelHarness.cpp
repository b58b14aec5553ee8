// The numerics tests' harness: parse a one-op function, run the compiler's passes, build its
// kernel with the production code generator, JIT it for the host and run it.
#include "KernelHarness.h"

#include "codegen/Codegen.h"

#include "passes/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "llvm/Support/raw_ostream.h"


#include <cmath>
#include <cstdio>
#include <filesystem>
#include <unistd.h>
#include <sstream>

namespace kiln::testing {

std::string arrayText(const std::vector<int64_t> &values) {
  std::string s = "[";
  for (size_t i = 0; i < values.size(); ++i)
    s += (i ? ", " : "") + std::to_string(values[i]);
  return s + "]";
}

std::string mlirType(const std::vector<int64_t> &shape, bool dynamicBatch,
                     const std::string &element) {
  std::string s = "tensor<";
  for (size_t i = 0; i < shape.size(); ++i)
    s += (i == 0 && dynamicBatch ? std::string("?") : std::to_string(shape[i])) + "x";
  return s + element + ">";
}

Tensor integerTensor(const std::vector<int64_t> &values) {
  Tensor t{{static_cast<int64_t>(values.size())}, {}};
  for (int64_t v : values)
    t.data.push_back(static_cast<double>(v));
  return t;
}

Tensor randomTensor(std::vector<int64_t> shape, std::mt19937 &rng) {
  std::uniform_real_distribution<double> uniform(-1.0, 1.0);
  Tensor t{std::move(shape), {}};
  t.data.resize(t.numel());
  for (double &v : t.data)
    v = static_cast<float>(uniform(rng)); // representable in f32, so both sides see one value
  return t;
}

std::string compareTensors(const Tensor &out, const Tensor &ref, double atol, double rtol) {
  if (out.shape != ref.shape)
    return "shape " + arrayText(out.shape) + " differs from the reference's " +
           arrayText(ref.shape);
  double worst = 0;
  size_t at = 0;
  for (size_t i = 0; i < ref.data.size(); ++i) {
    double excess = std::abs(out.data[i] - ref.data[i]) - (atol + rtol * std::abs(ref.data[i]));
    if (!(excess <= worst)) { // NaN counts as a failure
      worst = std::isnan(excess) ? INFINITY : excess;
      at = i;
    }
  }
  if (worst <= 0)
    return "";
  std::ostringstream os;
  os << "element " << at << ": got " << out.data[at] << ", reference " << ref.data[at];
  return os.str();
}

namespace {

// One MLIR context for the whole test run: creating one and loading the dialects for every case
// would cost as much as a small kernel's JIT compile.
mlir::MLIRContext &sharedContext() {
  static mlir::MLIRContext *context = [] {
    mlir::DialectRegistry registry;
    registry.insert<kiln::nn::NNDialect, kiln::kernel::KernelDialect, mlir::func::FuncDialect>();
    auto *ctx = new mlir::MLIRContext(registry, mlir::MLIRContext::Threading::DISABLED);
    ctx->loadAllAvailableDialects();
    return ctx;
  }();
  return *context;
}

// The case's function through kiln-infer-shapes and kiln-form-kernels, its one kernel built by
// the production code generator for `targetName` (or, with `compileTo`, compiled to that object
// file by the production compileKernel instead).
struct BuiltKernel {
  mlir::OwningOpRef<mlir::ModuleOp> module;
  kiln::kernel::FusedOp kernel;
  codegen::TargetSpec target;
  codegen::KernelPipeline pipeline;
};

bool buildCase(const OpCase &c, const std::string &targetName, BuiltKernel &built,
               std::string *error, const std::string &compileTo = "",
               const std::string &dumpDir = "") {
  std::string text = "func.func @forward(";
  for (size_t i = 0; i < c.argTypes.size(); ++i)
    text += (i ? ", %a" : "%a") + std::to_string(i) + ": " + c.argTypes[i];
  text += ") -> " + c.resultType + " {\n  %r = " + c.op + "\n  return %r : " + c.resultType +
          "\n}\n";

  mlir::MLIRContext &context = sharedContext();
  std::string diagnostics;
  llvm::raw_string_ostream diagStream(diagnostics);
  mlir::ScopedDiagnosticHandler handler(&context, [&](mlir::Diagnostic &d) {
    diagStream << d << "\n";
    return mlir::success();
  });
  auto fail = [&](const std::string &what) {
    *error = what + "\n" + diagnostics + "\nIR:\n" + text;
    return false;
  };

  built.module = mlir::parseSourceString<mlir::ModuleOp>(text, &context);
  if (!built.module)
    return fail("the test's IR does not parse");
  mlir::PassManager pm(&context);
  pm.addPass(kiln::createInferShapes());
  pm.addPass(kiln::createFormKernels());
  pm.addPass(kiln::createChooseSchedules());
  if (mlir::failed(pm.run(*built.module)))
    return fail("the passes failed");
  built.module->walk([&](kiln::kernel::FusedOp k) { built.kernel = k; });
  if (!built.kernel)
    return fail("no kernel was formed");

  mlir::FailureOr<codegen::TargetSpec> target =
      codegen::parseTarget(targetName, mlir::UnknownLoc::get(&context));
  if (mlir::failed(target))
    return fail("no target " + targetName);
  built.target = *target;
  if (!compileTo.empty()) {
    if (mlir::failed(codegen::compileKernel(built.kernel, *target, "kernel", compileTo, dumpDir)))
      return fail("compiling for " + targetName + " failed");
    return true;
  }
  mlir::FailureOr<codegen::KernelPipeline> pipeline = codegen::buildKernel(built.kernel, *target);
  if (mlir::failed(pipeline))
    return fail("code generation failed");
  built.pipeline = *pipeline;
  return true;
}

// A Halide buffer of the MLIR element type holding t's values.
Halide::Buffer<> toBuffer(const Tensor &t, mlir::Type element) {
  std::vector<int> sizes(t.shape.rbegin(), t.shape.rend());
  if (element.isInteger(64)) {
    Halide::Buffer<int64_t> b(sizes);
    for (size_t j = 0; j < t.data.size(); ++j)
      b.data()[j] = static_cast<int64_t>(t.data[j]);
    return b;
  }
  if (element.isInteger(32)) {
    Halide::Buffer<int32_t> b(sizes);
    for (size_t j = 0; j < t.data.size(); ++j)
      b.data()[j] = static_cast<int32_t>(t.data[j]);
    return b;
  }
  if (element.isUnsignedInteger(8)) {
    Halide::Buffer<uint8_t> b(sizes);
    for (size_t j = 0; j < t.data.size(); ++j)
      b.data()[j] = static_cast<uint8_t>(t.data[j]);
    return b;
  }
  Halide::Buffer<float> b(sizes);
  for (size_t j = 0; j < t.data.size(); ++j)
    b.data()[j] = static_cast<float>(t.data[j]);
  return b;
}

} // namespace

namespace {

// Binds the built kernel's inputs to the case's tensors and allocates its result.
bool bindCase(const OpCase &c, BuiltKernel &built, Halide::Buffer<float> *result,
              std::vector<int64_t> *shape, std::string *error) {
  // Kernel operands are function arguments; bind each to its input buffer. The batch of a
  // dynamic result is the batch of the dynamic arguments.
  int64_t batch = -1;
  for (auto [i, operand] : llvm::enumerate(built.kernel.getInputs())) {
    auto arg = mlir::dyn_cast<mlir::BlockArgument>(operand);
    if (!arg) {
      *error = "a kernel operand is not a function argument\nop: " + c.op;
      return false;
    }
    const Tensor &t = c.inputs[arg.getArgNumber()];
    auto type = mlir::cast<mlir::RankedTensorType>(operand.getType());
    if (type.getRank() > 0 && type.isDynamicDim(0))
      batch = t.shape[0];
    built.pipeline.inputs[i].set(toBuffer(t, type.getElementType()));
  }
  auto resultType = mlir::cast<mlir::RankedTensorType>(built.kernel.getResult(0).getType());
  *shape = resultType.getShape().vec();
  if (!shape->empty() && (*shape)[0] == mlir::ShapedType::kDynamic)
    (*shape)[0] = batch;
  std::vector<int> sizes(shape->rbegin(), shape->rend());
  *result = Halide::Buffer<float>(sizes);
  return true;
}

} // namespace

OpCase typedCase(std::vector<std::string> argTypes, const std::string &op,
                 const std::string &resultType) {
  OpCase c;
  c.argTypes = std::move(argTypes);
  c.resultType = resultType;
  std::string operands, types;
  for (size_t i = 0; i < c.argTypes.size(); ++i) {
    operands += (i ? ", %a" : " %a") + std::to_string(i);
    types += (i ? ", " : "") + c.argTypes[i];
  }
  size_t attributes = op.find(' ');
  std::string name = op.substr(0, attributes);
  std::string rest = attributes == std::string::npos ? "" : op.substr(attributes);
  // One operand: `type -> type`; several: a functional type (the ops' assembly formats).
  if (c.argTypes.size() > 1)
    types = "(" + types + ")";
  c.op = "nn." + name + operands + rest + " : " + types + " -> " + resultType;
  return c;
}

namespace {

// Builds the case, runs it once (which JIT-compiles it), then again for as long as
// keepRunning() says; *out, when given, receives the result.
bool runCase(const OpCase &c, std::string *error, const std::function<bool()> &keepRunning,
             Tensor *out) {
  BuiltKernel built;
  Halide::Buffer<float> result;
  std::vector<int64_t> shape;
  if (!buildCase(c, "host", built, error) || !bindCase(c, built, &result, &shape, error))
    return false;
  try {
    do
      built.pipeline.output.realize(result, built.target.halide);
    while (keepRunning());
  } catch (const Halide::Error &e) {
    *error = std::string("the kernel failed: ") + e.what() + "\nop: " + c.op;
    return false;
  }
  if (out) {
    out->shape = shape;
    out->data.assign(result.data(), result.data() + result.number_of_elements());
  }
  return true;
}

} // namespace

bool runKernel(const OpCase &c, Tensor *out, std::string *error) {
  return runCase(c, error, [] { return false; }, out);
}

bool runKernelRepeatedly(const OpCase &c, std::string *error,
                         const std::function<bool()> &keepRunning) {
  return runCase(c, error, keepRunning, nullptr);
}

bool compileKernelFor(const OpCase &c, const std::string &target, std::string *error,
                      const std::string &dumpDir) {
  BuiltKernel built;
  std::string object =
      (std::filesystem::temp_directory_path() / ("kiln_kernel_" + std::to_string(::getpid()) +
                                                  ".o")).string();
  bool compiled = buildCase(c, target, built, error, object, dumpDir);
  std::remove(object.c_str());
  return compiled;
}

} // namespace kiln::testing
