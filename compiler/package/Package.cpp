// Packages a model: builds its training step when it has a loss, lowers @forward and
// @train_step to kernels, compiles them with Halide, generates and compiles the C driver, builds
// the static and shared libraries and the initial weights in a temporary directory, and
// publishes them together.
#include "package/Package.h"

#include "codegen/Codegen.h"
#include "codegen/HostTarget.h"
#include "driver/Pipeline.h"
#include "package/BuildDir.h"
#include "package/Emitters.h"
#include "package/InitialWeights.h"
#include "package/LibraryProgram.h"
#include "package/Toolchain.h"
#include "passes/Passes.h"

#include "mlir/IR/Diagnostics.h"
#include "mlir/Pass/PassManager.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <thread>

using namespace mlir;

namespace kiln {

namespace {

std::string joinPath(llvm::StringRef dir, llvm::StringRef file) {
  llvm::SmallString<256> path(dir);
  llvm::sys::path::append(path, file);
  return std::string(path);
}

LogicalResult writeFile(const std::string &path, llvm::StringRef text, Location loc) {
  if (llvm::Error error = llvm::writeToOutput(path, [&](llvm::raw_ostream &os) {
        os << text;
        return llvm::Error::success();
      }))
    return emitError(loc) << "cannot write " << path << ": " << llvm::toString(std::move(error));
  return success();
}

// The GNU triple whose cross compiler builds C for the target, or "host" when the target is
// the machine kilnc runs on (same architecture, bits and OS; CPU features may differ).
FailureOr<std::string> compilerArch(const codegen::TargetSpec &target, Location loc) {
  Halide::Target host = codegen::resolveHostTarget();
  const Halide::Target &t = target.halide;
  if (t.arch == host.arch && t.bits == host.bits && t.os == host.os)
    return std::string("host");
  if (t.arch == Halide::Target::ARM && t.bits == 64 && t.os == Halide::Target::Linux)
    return std::string("aarch64-linux-gnu");
  return emitError(loc) << "no C compiler is known for target " << target.name
                        << "; the library's driver can be built for the host and for "
                           "arm-64-linux";
}

// The file name of the model: module's location, else its first op's.
std::string sourceName(ModuleOp module) {
  auto fileOf = [](Location loc) -> std::string {
    if (auto named = dyn_cast<NameLoc>(loc))
      loc = named.getChildLoc();
    if (auto file = dyn_cast<FileLineColLoc>(loc))
      return llvm::sys::path::filename(file.getFilename().getValue()).str();
    return "";
  };
  std::string name = fileOf(module.getLoc());
  if (name.empty())
    module.walk([&](Operation *op) {
      name = fileOf(op->getLoc());
      return name.empty() ? WalkResult::advance() : WalkResult::interrupt();
    });
  return name.empty() ? "<unknown>" : name;
}

// Moves `files` from `dir` into `outputDir`, all or none: a file already there is first linked
// into `dir` as a backup, and on a failure the files moved so far are put back (or removed).
LogicalResult publish(const std::vector<std::string> &files, const std::string &dir,
                      const std::string &outputDir, Location loc) {
  for (const std::string &file : files)
    if (llvm::sys::fs::is_directory(joinPath(outputDir, file)))
      return emitError(loc) << "cannot write " << joinPath(outputDir, file)
                            << ": a directory of that name is in the way";
  std::vector<bool> backedUp;
  for (const std::string &file : files) {
    std::string target = joinPath(outputDir, file);
    backedUp.push_back(llvm::sys::fs::exists(target) &&
                       !llvm::sys::fs::create_hard_link(target, joinPath(dir, file + ".previous")));
  }
  for (size_t i = 0; i < files.size(); ++i) {
    std::string target = joinPath(outputDir, files[i]);
    std::error_code ec = llvm::sys::fs::rename(joinPath(dir, files[i]), target);
    if (!ec)
      continue;
    for (size_t j = 0; j < i; ++j) {
      std::string moved = joinPath(outputDir, files[j]);
      if (backedUp[j])
        (void)llvm::sys::fs::rename(joinPath(dir, files[j] + ".previous"), moved);
      else
        (void)llvm::sys::fs::remove(moved);
    }
    return emitError(loc) << "cannot move " << files[i] << " into " << outputDir << ": "
                          << ec.message();
  }
  return success();
}

struct Build {
  ModuleOp module;
  const PackageOptions &options;
  const codegen::TargetSpec &target;
  const package::Toolchain &toolchain;
  const package::LibraryProgram &library;
  std::string dir; // the temporary directory
  Location loc;

  std::string path(llvm::StringRef file) const { return joinPath(dir, file); }

  LogicalResult compileC(const std::string &source, const std::string &object) const {
    std::vector<std::string> args = {toolchain.cc,
                                     "-O2",
                                     "-fPIC",
                                     "-std=c99",
                                     "-Wall",
                                     // -iquote: "<model>.h" is found, but a model named
                                     // like a system header does not shadow <stdint.h>.
                                     "-iquote",
                                     dir,
                                     "-I" KILN_RUNTIME_INCLUDE_DIR,
                                     "-I" KILN_HALIDE_INCLUDE_DIR,
                                     "-c",
                                     path(source),
                                     "-o",
                                     path(object)};
    return package::runTool(toolchain.cc, args, path("cc.log"), "compile " + source, loc);
  }

  // Halide compiles independent kernels in as many threads as the machine has; the first
  // failure is reported (its diagnostic is emitted by the thread that hit it).
  LogicalResult compileKernels(const std::vector<const package::KernelCall *> &calls) const {
    std::atomic<size_t> next{0};
    std::atomic<bool> failedAny{false};
    auto work = [&] {
      for (size_t i = next++; i < calls.size() && !failedAny; i = next++) {
        const package::KernelCall *call = calls[i];
        auto start = std::chrono::steady_clock::now();
        if (failed(codegen::compileKernel(call->op, target, call->symbol,
                                          path(call->symbol + ".o"), options.dumpDir)))
          failedAny = true;
        // KILN_COMPILE_TIMES=1: each kernel's compile time, to find what makes a model slow
        // to compile.
        if (std::getenv("KILN_COMPILE_TIMES"))
          llvm::errs() << llvm::formatv(
              "kilnc: {0,6:f2} s  {1}\n",
              std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(),
              call->symbol);
      }
    };
    unsigned threads = std::max(1u, std::min<unsigned>(std::thread::hardware_concurrency(),
                                                       static_cast<unsigned>(calls.size())));
    std::vector<std::thread> workers;
    for (unsigned t = 1; t < threads; ++t)
      workers.emplace_back(work);
    work();
    for (std::thread &worker : workers)
      worker.join();
    return success(!failedAny);
  }

  // Every file, then the list of those that are published.
  FailureOr<std::vector<std::string>> run() const {
    const std::string &name = library.forward.name;
    std::vector<std::string> objects;
    // One object per distinct symbol (identical kernels share one), compiled in parallel.
    std::vector<const package::KernelCall *> calls;
    llvm::StringSet<> symbols;
    for (const package::ModelProgram *program : library.programs())
      for (const package::KernelCall *call : program->allKernels())
        if (symbols.insert(call->symbol).second)
          calls.push_back(call);
    for (const package::KernelCall *call : calls)
      objects.push_back(path(call->symbol + ".o"));
    if (failed(compileKernels(calls)))
      return failure();
    std::string runtime = name + "_halide_runtime.o";
    if (failed(codegen::compileRuntime(target, path(runtime), loc)))
      return failure();
    objects.push_back(path(runtime));

    package::EmitInfo info{sourceName(module), target.name,
                           target.halide.to_string(),
                           llvm::join(codegen::requiredCpuFeatures(target.halide), ","),
                           options.seed, target.gpu,
                           options.initialValues && !options.initialValues->empty()};
    std::string header = name + ".h", driver = name + "_driver.c",
                exporter = name + "_export.c";
    std::string driverText = package::emitDriver(library, info);
    if (failed(writeFile(path(header), package::emitHeader(library, info), loc)) ||
        failed(writeFile(path(driver), driverText, loc)) ||
        failed(compileC(driver, name + "_driver.o")))
      return failure();
    // The driver is a stage too: the C that calls the kernels.
    if (!options.dumpDir.empty() &&
        failed(writeFile(joinPath(options.dumpDir, driver), driverText, loc)))
      return failure();
    objects.push_back(path(name + "_driver.o"));

    std::string archive = "lib" + name + ".a";
    std::vector<std::string> arArgs = {toolchain.ar, "rcs", path(archive)};
    arArgs.insert(arArgs.end(), objects.begin(), objects.end());
    if (failed(package::runTool(toolchain.ar, arArgs, path("ar.log"), "archive " + archive, loc)))
      return failure();
    std::vector<std::string> published = {archive, header};

    if (!toolchain.cross) {
      std::string shared = "lib" + name + ".so", exports = name + ".exports";
      // Only the model's API and the descriptor are exported: the Halide runtime inside stays
      // private, so two models' libraries in one process never share or swap it.
      std::string versionScript =
          "{\n  global: " + name + "_*; kiln_model_descriptor;\n  local: *;\n};\n";
      if (failed(writeFile(path(exporter), package::emitDescriptorExport(library.forward), loc)) ||
          failed(compileC(exporter, name + "_export.o")) ||
          failed(writeFile(path(exports), versionScript, loc)))
        return failure();
      std::string runtimeLibrary = KILN_RUNTIME_SHARED_LIBRARY;
      std::vector<std::string> ldArgs = {toolchain.cc, "-shared", "-o", path(shared),
                                         "-Wl,-soname," + shared};
      ldArgs.insert(ldArgs.end(), objects.begin(), objects.end());
      // Paths go through -Xlinker, which passes its argument whole: -Wl, splits at commas, and
      // an output folder "a,b/" made the linker look for a script named "a".
      ldArgs.insert(ldArgs.end(),
                    {path(name + "_export.o"), runtimeLibrary, "-Xlinker", "-rpath", "-Xlinker",
                     llvm::sys::path::parent_path(runtimeLibrary).str(), "-Xlinker",
                     "--version-script=" + path(exports), "-Wl,-z,defs", "-lpthread", "-ldl",
                     "-lm"});
      if (failed(package::runTool(toolchain.cc, ldArgs, path("ld.log"), "link " + shared, loc)))
        return failure();
      published.push_back(shared);
    }

    std::string weights = name + ".safetensors";
    // The parameters and statistics only: optimizer state starts at zeros, and the file stays
    // a state_dict PyTorch's load_state_dict takes.
    std::vector<package::Parameter> parameters(library.state.begin(),
                                               library.state.begin() + library.numRequired());
    std::vector<std::vector<float>> initial = package::initialWeights(parameters, options.seed);
    if (options.initialValues)
      for (auto [i, parameter] : llvm::enumerate(parameters)) {
        auto given = options.initialValues->find(parameter.name);
        if (given == options.initialValues->end())
          continue;
        if (given->second.size() != initial[i].size()) {
          emitError(loc) << "the initial value of '" << parameter.name << "' holds "
                         << given->second.size() << " values; the parameter has "
                         << initial[i].size();
          return failure();
        }
        initial[i] = given->second;
      }
    if (failed(package::writeWeights(path(weights), parameters, initial, loc)))
      return failure();
    published.push_back(weights);
    return published;
  }
};

} // namespace

std::string modelName(ModuleOp module) {
  std::string name = "model";
  if (std::optional<StringRef> symbol = module.getSymName())
    name = package::cIdentifier(*symbol);
  else if (std::string source = sourceName(module); source != "<unknown>")
    name = package::cIdentifier(llvm::sys::path::stem(source));
  // The model's symbols are <name>_*: keep them out of the runtime's and Halide's prefixes.
  for (llvm::StringRef reserved : {"kiln", "halide"})
    if (name == reserved || llvm::StringRef(name).starts_with(reserved.str() + "_"))
      return "model_" + name;
  // The header is <name>.h: one named like a C or POSIX header (errno.h, stdint.h) would be
  // included instead of the system's by a program that puts the output directory on its include
  // path, so such a model gets the same prefix.
  static constexpr llvm::StringLiteral kSystemHeaders[] = {
      // C17
      "assert", "complex", "ctype", "errno", "fenv", "float", "inttypes", "iso646", "limits",
      "locale", "math", "setjmp", "signal", "stdalign", "stdarg", "stdatomic", "stdbool",
      "stddef", "stdint", "stdio", "stdlib", "stdnoreturn", "string", "tgmath", "threads", "time",
      "uchar", "wchar", "wctype",
      // POSIX and glibc headers a program linking a library is likely to include
      "alloca", "dirent", "dlfcn", "fcntl", "features", "getopt", "glob", "grp", "malloc",
      "memory", "netdb", "poll", "pthread", "pwd", "regex", "sched", "search", "semaphore",
      "spawn", "strings", "syslog", "termios", "unistd", "utime", "wordexp",
      // the Halide runtime the header includes
      "HalideRuntime"};
  for (llvm::StringRef header : kSystemHeaders)
    if (name == header)
      return "model_" + name;
  return name;
}

PipelineOptions pipelineOptions(const PackageOptions &options,
                                const codegen::TargetSpec &target, ModuleOp module) {
  PipelineOptions pipeline;
  pipeline.printIRAfterAll = options.printIRAfterAll;
  pipeline.dumpIRDir = options.dumpDir;
  pipeline.setKernelTarget(target);
  // The training step, when the model has a loss and no step yet.
  pipeline.train = module.lookupSymbol<func::FuncOp>("loss") && !module.lookupSymbol("train_step");
  pipeline.optimizer = options.optimizer;
  return pipeline;
}

LogicalResult packageModel(ModuleOp module, const PackageOptions &options) {
  Location loc = module.getLoc();
  // Everything that can be checked is checked before outputDir is touched.
  FailureOr<codegen::TargetSpec> target = codegen::parseTarget(options.target, loc);
  if (failed(target))
    return failure();
  FailureOr<std::string> arch = compilerArch(*target, loc);
  if (failed(arch))
    return failure();
  if (options.optimizer != "sgd" && options.optimizer != "adam")
    return emitError(loc) << "unknown optimizer '" << options.optimizer
                          << "'; expected sgd or adam";
  if (options.schedule != "kiln" && options.schedule != "auto")
    return emitError(loc) << "unknown schedule '" << options.schedule
                          << "'; expected kiln or auto";
  if (options.schedule == "auto" && target->gpu)
    return emitError(loc) << "--schedule=auto (Halide's Mullapudi2016 autoscheduler) schedules "
                             "CPU targets only";
  target->autoSchedule = options.schedule == "auto";
  FailureOr<package::Toolchain> toolchain = package::findToolchain(*arch, target->name, loc);
  if (failed(toolchain))
    return failure();
  if (!module.lookupSymbol<func::FuncOp>("forward"))
    return module.emitError() << "the model has no @forward function to compile";
  if (failed(runPipeline(module, pipelineOptions(options, *target, module))))
    return failure();
  std::string name = modelName(module);
  FailureOr<package::LibraryProgram> program =
      package::analyzeLibrary(module, name, target->gpu);
  if (failed(program))
    return failure();
  if (!options.dumpDir.empty())
    if (std::error_code ec = llvm::sys::fs::create_directories(options.dumpDir))
      return emitError(loc) << "cannot create directory " << options.dumpDir << ": "
                            << ec.message();

  bool createdOutputDir = !llvm::sys::fs::exists(options.outputDir);
  if (std::error_code ec = llvm::sys::fs::create_directories(options.outputDir))
    return emitError(loc) << "cannot create directory " << options.outputDir << ": "
                          << ec.message();
  std::error_code tempError;
  std::string pattern = package::createBuildDir(options.outputDir, name, tempError);
  if (pattern.empty()) {
    if (createdOutputDir)
      llvm::sys::fs::remove(options.outputDir);
    return emitError(loc) << "cannot create a temporary directory in " << options.outputDir
                          << ": " << tempError.message();
  }
  Build build{module, options, *target, *toolchain, *program, pattern, loc};
  FailureOr<std::vector<std::string>> published = build.run();
  LogicalResult result = failure();
  if (succeeded(published))
    result = publish(*published, build.dir, options.outputDir, loc);
  package::removeBuildDir(pattern);
  if (failed(result)) {
    if (createdOutputDir)
      llvm::sys::fs::remove(options.outputDir); // only if empty, which it then is
    return failure();
  }
  if (toolchain->cross)
    emitRemark(loc) << "target " << target->name << ": wrote lib" << name << ".a, " << name
                    << ".h and " << name
                    << ".safetensors but no shared library; link the static library on the "
                       "target with Kiln's runtime (runtime/src) built for it";
  return success();
}

} // namespace kiln
