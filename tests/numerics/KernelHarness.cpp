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
#include <sstream>

namespace kiln::testing {

std::string arrayText(const std::vector<int64_t> &values) {
  std::string s = "[";
  for (size_t i = 0; i < values.size(); ++i)
    s += (i ? ", " : "") + std::to_string(values[i]);
  return s + "]";
}

std::string mlirType(const std::vector<int64_t> &shape, bool dynamicBatch) {
  std::string s = "tensor<";
  for (size_t i = 0; i < shape.size(); ++i)
    s += (i == 0 && dynamicBatch ? std::string("?") : std::to_string(shape[i])) + "x";
  return s + "f32>";
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

bool runKernel(const OpCase &c, Tensor *out, std::string *error) {
  std::string text = "func.func @forward(";
  for (size_t i = 0; i < c.argTypes.size(); ++i)
    text += (i ? ", %a" : "%a") + std::to_string(i) + ": " + c.argTypes[i];
  text += ") -> tensor<*xf32> {\n  %r = " + c.op + "\n  return %r : tensor<*xf32>\n}\n";

  mlir::MLIRContext context;
  mlir::DialectRegistry registry;
  registry.insert<kiln::nn::NNDialect, kiln::kernel::KernelDialect, mlir::func::FuncDialect>();
  context.appendDialectRegistry(registry);
  context.loadAllAvailableDialects();
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

  mlir::OwningOpRef<mlir::ModuleOp> module = mlir::parseSourceString<mlir::ModuleOp>(text, &context);
  if (!module)
    return fail("the test's IR does not parse");
  mlir::PassManager pm(&context);
  pm.addPass(kiln::createInferShapes());
  pm.addNestedPass<mlir::func::FuncOp>(kiln::createFormKernels());
  if (mlir::failed(pm.run(*module)))
    return fail("the passes failed");
  kiln::kernel::FusedOp kernel;
  module->walk([&](kiln::kernel::FusedOp k) { kernel = k; });
  if (!kernel)
    return fail("no kernel was formed");

  mlir::FailureOr<codegen::TargetSpec> target =
      codegen::parseTarget("host", mlir::UnknownLoc::get(&context));
  if (mlir::failed(target))
    return fail("no host target");
  mlir::FailureOr<codegen::KernelPipeline> pipeline = codegen::buildKernel(kernel, *target);
  if (mlir::failed(pipeline))
    return fail("code generation failed");

  // Kernel operands are function arguments; bind each to its input buffer.
  std::vector<Halide::Buffer<float>> buffers;
  for (auto [i, operand] : llvm::enumerate(kernel.getInputs())) {
    auto arg = mlir::dyn_cast<mlir::BlockArgument>(operand);
    if (!arg)
      return fail("a kernel operand is not a function argument");
    const Tensor &t = c.inputs[arg.getArgNumber()];
    std::vector<int> sizes(t.shape.rbegin(), t.shape.rend());
    Halide::Buffer<float> b(sizes);
    float *p = b.data();
    for (size_t j = 0; j < t.data.size(); ++j)
      p[j] = static_cast<float>(t.data[j]);
    buffers.push_back(b);
    pipeline->inputs[i].set(b);
  }
  auto resultType = mlir::cast<mlir::RankedTensorType>(kernel.getResult(0).getType());
  std::vector<int64_t> shape = resultType.getShape().vec();
  if (!shape.empty() && shape[0] == mlir::ShapedType::kDynamic)
    shape[0] = c.inputs[0].shape[0];
  std::vector<int> sizes(shape.rbegin(), shape.rend());
  Halide::Buffer<float> result(sizes);
  try {
    pipeline->output.realize(result, target->halide);
  } catch (const Halide::Error &e) {
    return fail(std::string("the kernel failed: ") + e.what());
  }
  out->shape = shape;
  out->data.assign(result.data(), result.data() + result.number_of_elements());
  return true;
}

} // namespace kiln::testing
