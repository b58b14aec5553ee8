// kilnc: compiles a model file (.kiln, .onnx or .mlir) into IR text or, with `-o DIR/`, into the
// model's library. A thin main over compiler/driver and compiler/package.
#include "codegen/Codegen.h"
#include "codegen/HostTarget.h"
#include "driver/Check.h"
#include "driver/Pipeline.h"
#include "passes/Passes.h"
#include "mlir/Pass/PassManager.h"
#include "driver/Summary.h"
#include "frontend/Diagnostics.h"
#include "package/Package.h"

#include "mlir/IR/MLIRContext.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "mlir/Support/FileUtilities.h"
#include "llvm/Support/ToolOutputFile.h"
#include "llvm/Support/WithColor.h"

using namespace mlir;
namespace cl = llvm::cl;

namespace {

enum class Emit { NN, Kernel, Summary };

// kilnc's own options; --help lists only these, not the LLVM code generation options linked in.
cl::OptionCategory kilncCategory("kilnc options");

struct Flags {
  cl::opt<std::string> input{cl::cat(kilncCategory), cl::Positional, cl::desc("<model.kiln | model.onnx | model.mlir>")};
  cl::opt<std::string> output{cl::cat(kilncCategory), 
      "o",
      cl::desc("Output file (default: stdout); a directory (existing, or ending in '/') "
               "receives the model's library: lib<model>.a/.so, <model>.h, <model>.safetensors"),
      cl::value_desc("path"), cl::init("-")};
  cl::opt<Emit> emit{cl::cat(kilncCategory), "emit", cl::desc("What to produce"), cl::init(Emit::NN),
                     cl::values(clEnumValN(Emit::NN, "nn", "the nn dialect with inferred shapes"),
                                clEnumValN(Emit::Kernel, "kernel",
                                           "@forward as a program of kernel.fused ops"),
                                clEnumValN(Emit::Summary, "summary",
                                           "per-layer shapes, parameters and FLOPs"))};
  cl::opt<bool> summary{cl::cat(kilncCategory), "summary", cl::desc("Same as --emit=summary")};
  cl::opt<bool> check{cl::cat(kilncCategory), "check", cl::desc("Run the generated forward kernels and the reference interpreter "
                                        "on random inputs; every element within --check-atol + --check-rtol·|ref|")};
  cl::opt<int64_t> checkBatch{cl::cat(kilncCategory), "check-batch", cl::desc("Batch size for --check"), cl::init(2)};
  cl::opt<double> checkAtol{cl::cat(kilncCategory), "check-atol",
                            cl::desc("--check's absolute tolerance per element (default 1e-4)"),
                            cl::init(1e-4)};
  cl::opt<double> checkRtol{cl::cat(kilncCategory), "check-rtol",
                            cl::desc("--check's tolerance relative to each element of the "
                                     "reference (default 1e-3)"),
                            cl::init(1e-3)};
  cl::opt<bool> train{cl::cat(kilncCategory), "train", cl::desc("Build the training step (kiln-autodiff) before emitting")};
  cl::opt<std::string> optimizer{cl::cat(kilncCategory), 
      "optimizer",
      cl::desc("The training step's optimizer, sgd or adam: with --train, and for a library "
               "(-o DIR/) of a model with a loss"),
      cl::init("sgd")};
  cl::opt<bool> printIRAfterAll{cl::cat(kilncCategory), "print-ir-after-all",
                                cl::desc("Print the IR after every pass to stderr")};
  cl::opt<std::string> dumpIR{cl::cat(kilncCategory), "dump-ir", cl::desc("Write one numbered file per stage into DIR"),
                              cl::value_desc("DIR")};
  cl::opt<std::string> target{cl::cat(kilncCategory), 
      "target",
      cl::desc("Code generation target: host, x86-64-avx2, x86-64-avx512, x86-64-zen4, "
               "arm-64-linux, host-cuda or a Halide target string"),
      cl::value_desc("name"), cl::init("host")};
  cl::opt<std::string> schedule{cl::cat(kilncCategory), "schedule",
                                cl::desc("kiln (Kiln's schedules, default) or auto (Halide's "
                                         "Mullapudi2016 autoscheduler, a comparison point)"),
                                cl::value_desc("kiln|auto"), cl::init("kiln")};
  cl::opt<bool> printTarget{cl::cat(kilncCategory), "print-target",
                            cl::desc("Print the Halide target --target resolves to on this "
                                     "machine and the CPU features its code needs, then exit")};
  cl::opt<uint64_t> seed{cl::cat(kilncCategory), "seed", cl::desc("Seed of the initial weights"), cl::init(0)};
  cl::opt<bool> splitInputFile{cl::cat(kilncCategory), 
      "split-input-file",
      cl::desc("Compile each chunk between '# -----' (.kiln) or '// -----' (.mlir) lines "
               "separately (for tests)")};
};

// Whether -o names a directory, i.e. asks for the model's library.
bool wantsLibrary(const Flags &flags) {
  StringRef output = flags.output;
  return output != "-" && (output.ends_with("/") || llvm::sys::fs::is_directory(output));
}

kiln::PackageOptions packageOptions(const Flags &flags) {
  kiln::PackageOptions options;
  options.outputDir = flags.output;
  options.target = flags.target;
  options.seed = flags.seed;
  options.dumpDir = flags.dumpIR;
  options.printIRAfterAll = flags.printIRAfterAll;
  options.optimizer = flags.optimizer;
  options.schedule = flags.schedule;
  return options;
}

// Compiles one buffer: load, run the nn pipeline, then package the library or emit text.
// Diagnostics are printed by the handler.
LogicalResult compileBuffer(std::unique_ptr<llvm::MemoryBuffer> buffer, const Flags &flags,
                            llvm::raw_ostream &os) {
  MLIRContext context;
  DialectRegistry registry;
  kiln::registerKilnDialects(registry);
  context.appendDialectRegistry(registry);
  context.loadAllAvailableDialects();

  llvm::SourceMgr sourceMgr;
  sourceMgr.AddNewSourceBuffer(std::move(buffer), llvm::SMLoc());
  kiln::SourceDiagnosticHandler diagnostics(sourceMgr, &context, llvm::errs());

  kiln::InitialValues initialValues;
  OwningOpRef<ModuleOp> module = kiln::loadModel(sourceMgr, &context, &initialValues);
  if (!module)
    return failure();
  if (wantsLibrary(flags)) {
    kiln::PackageOptions options = packageOptions(flags);
    options.initialValues = &initialValues;
    return kiln::packageModel(*module, options);
  }
  kiln::PipelineOptions options;
  options.printIRAfterAll = flags.printIRAfterAll;
  options.dumpIRDir = flags.dumpIR;
  if (flags.check) {
    if (failed(kiln::runPipeline(*module, options)))
      return failure();
    kiln::CheckOptions check;
    check.batch = flags.checkBatch;
    check.atol = flags.checkAtol;
    check.rtol = flags.checkRtol;
    check.seed = flags.seed;
    check.target = flags.target;
    return kiln::checkModel(*module, check, os);
  }
  options.train = flags.train;
  options.optimizer = flags.optimizer;
  if (flags.emit == Emit::Kernel) {
    FailureOr<kiln::codegen::TargetSpec> target =
        kiln::codegen::parseTarget(flags.target, module->getLoc());
    if (failed(target))
      return failure();
    options.setKernelTarget(*target);
  }
  if (failed(kiln::runPipeline(*module, options)))
    return failure();

  if (flags.summary || flags.emit == Emit::Summary) {
    FailureOr<kiln::ModelSummary> summary = kiln::summarizeModel(*module);
    if (failed(summary))
      return failure();
    kiln::printSummary(*summary, os);
    return success();
  }
  module->print(os);
  os << "\n";
  return success();
}

// Splits on marker lines; each chunk keeps its line numbers (it is prefixed with the newlines
// that precede it), so diagnostics point at the original file's lines.
LogicalResult compileSplit(const llvm::MemoryBuffer &whole, StringRef marker, const Flags &flags,
                           llvm::raw_ostream &os) {
  StringRef text = whole.getBuffer();
  bool ok = true;
  size_t chunkStart = 0;
  unsigned chunkLine = 0, line = 0;
  auto flush = [&](size_t end) {
    std::string chunk(chunkLine, '\n');
    chunk += text.substr(chunkStart, end - chunkStart).str();
    auto buffer = llvm::MemoryBuffer::getMemBufferCopy(chunk, whole.getBufferIdentifier());
    if (failed(compileBuffer(std::move(buffer), flags, os)))
      ok = false;
  };
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t eol = text.find('\n', pos);
    size_t next = eol == StringRef::npos ? text.size() + 1 : eol + 1;
    StringRef lineText = text.slice(pos, eol == StringRef::npos ? text.size() : eol);
    if (lineText.trim() == marker) {
      flush(pos);
      os << marker << "\n";
      chunkStart = std::min(next, text.size());
      chunkLine = line + 1;
    }
    ++line;
    pos = next;
  }
  flush(text.size());
  return success(ok);
}

// --print-target: what `target` means on this machine, e.g. for host on AMD Zen 4
//   target host: x86-64-linux-avx-avx2-avx512-avx512_cannonlake-avx512_skylake-f16c-fma-sse41
//   cpu features: avx,avx2,...
bool printTarget(const std::string &target) {
  MLIRContext context;
  llvm::SourceMgr sourceMgr;
  kiln::SourceDiagnosticHandler diagnostics(sourceMgr, &context, llvm::errs());
  FailureOr<kiln::codegen::TargetSpec> spec =
      kiln::codegen::parseTarget(target, UnknownLoc::get(&context));
  if (failed(spec))
    return false;
  llvm::outs() << "target " << target << ": " << spec->halide.to_string() << "\n"
               << "cpu features: "
               << llvm::join(kiln::codegen::requiredCpuFeatures(spec->halide), ",") << "\n";
  if (spec->vectorWidth >= 16) // what kiln-choose-layouts weighs
    llvm::outs() << "512-bit FMAs: " << (spec->splitWideFma ? "half rate" : "full rate") << "\n";
  return true;
}

} // namespace

int main(int argc, char **argv) {
  llvm::InitLLVM init(argc, argv);
  Flags flags;
  cl::HideUnrelatedOptions(kilncCategory);
  cl::ParseCommandLineOptions(argc, argv, "Kiln: compiles a convolutional network\n");
  if (flags.printTarget)
    return printTarget(flags.target) ? 0 : 1;
  if (flags.input.empty()) {
    llvm::WithColor::error(llvm::errs(), "kilnc")
        << "no model file given (see kilnc --help)\n";
    return 1;
  }

  // --check's options without --check would be ignored: say so instead.
  const cl::Option *checkOptions[] = {&flags.checkBatch, &flags.checkAtol, &flags.checkRtol};
  for (const cl::Option *option : checkOptions)
    if (option->getNumOccurrences() && !flags.check) {
      llvm::WithColor::error(llvm::errs(), "kilnc")
          << "--" << option->ArgStr << " applies to --check, which is not given\n";
      return 1;
    }

  std::string error;
  std::unique_ptr<llvm::MemoryBuffer> input = openInputFile(flags.input, &error);
  if (!input) {
    llvm::WithColor::error(llvm::errs(), "kilnc") << error << "\n";
    return 1;
  }
  if (wantsLibrary(flags)) {
    // The library is written by the packager, atomically; there is no text output.
    StringRef conflict = flags.splitInputFile ? "--split-input-file"
                         : flags.summary || flags.emit.getNumOccurrences() ? "--emit/--summary"
                                                                           : "";
    if (!conflict.empty()) {
      llvm::WithColor::error(llvm::errs(), "kilnc")
          << "-o " << flags.output << " names a directory, which receives the model's library; "
          << conflict << " writes text: give -o a file name\n";
      return 1;
    }
    return failed(compileBuffer(std::move(input), flags, llvm::outs())) ? 1 : 0;
  }
  auto out = openOutputFile(flags.output, &error);
  if (!out) {
    llvm::WithColor::error(llvm::errs(), "kilnc") << error << "\n";
    return 1;
  }

  LogicalResult result = failure();
  if (flags.splitInputFile) {
    StringRef marker = llvm::sys::path::extension(flags.input) == ".kiln" ? "# -----" : "// -----";
    result = compileSplit(*input, marker, flags, out->os());
  } else {
    result = compileBuffer(std::move(input), flags, out->os());
  }
  if (failed(result))
    return 1;
  out->keep();
  return 0;
}
