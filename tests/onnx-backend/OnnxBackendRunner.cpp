// kiln-onnx-backend: ONNX's own backend test data (Debian's libonnx-testdata) as the oracle of
// the ONNX frontend. Each case is a folder with model.onnx and test_data_set_*/{input,output}_*.pb.
// A case whose inputs and outputs are all float32 is imported (kilnc --emit=nn: unsupported, with
// the importer's first reason, when that fails), compiled (kilnc -o), run on every stored input
// set and compared with the stored outputs: same shape, every element within
// atol + rtol·|expected| (1e-5 + 1e-3). Prints a line per case and a summary; exits 1 when a
// case that imports fails to compile or to match, or when a case listed in the --expect file (one
// label a line, `node/test_conv`; '#' starts a comment) does not pass, so a case that passed
// once cannot become unsupported unnoticed.
//
//   kiln-onnx-backend KILNC WORK_DIR [--expect=FILE] CASES_DIR...   (a CASES_DIR holds cases)
#include "kiln-run/ModelLibrary.h"

#include <onnx/onnx_pb.h>

#include "llvm/Support/Program.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

namespace fs = std::filesystem;

namespace {

constexpr double kRtol = 1e-3, kAtol = 1e-5;

// Runs argv with stdout and stderr to `log`; the exit status (-1 when it could not run).
// Through LLVM's ExecuteAndWait (posix_spawn), as kilnc runs its tools (package::runTool): the
// runner runs compiled models in-process, and a hand-written fork whose child allocated before
// exec hung on an allocator lock that a kernel thread held at the fork (a sanitized CI run).
int run(const std::vector<std::string> &argv, const std::string &log) {
  std::vector<llvm::StringRef> args(argv.begin(), argv.end());
  std::optional<llvm::StringRef> redirects[] = {llvm::StringRef(""), llvm::StringRef(log),
                                                llvm::StringRef(log)};
  int rc = llvm::sys::ExecuteAndWait(argv[0], args, /*Env=*/std::nullopt, redirects);
  return rc < 0 ? -1 : rc;
}

std::string firstLine(const std::string &path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  // "…/model.onnx: error: node …" → "node …"
  if (size_t at = line.find(": error: "); at != std::string::npos)
    line = line.substr(at + 9);
  return line;
}

bool readProto(const fs::path &path, google::protobuf::Message &message) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream data;
  data << in.rdbuf();
  return in.good() || in.eof() ? message.ParseFromString(data.str()) : false;
}

// A stored float32 tensor: raw_data or float_data.
bool decode(const onnx::TensorProto &t, std::vector<int64_t> &dims, std::vector<float> &values) {
  if (t.data_type() != onnx::TensorProto::FLOAT)
    return false;
  dims.assign(t.dims().begin(), t.dims().end());
  int64_t count = 1;
  for (int64_t d : dims)
    count *= d;
  if (t.has_raw_data()) {
    if (t.raw_data().size() != static_cast<size_t>(count) * 4)
      return false;
    values.resize(count);
    std::memcpy(values.data(), t.raw_data().data(), t.raw_data().size());
    return true;
  }
  if (t.float_data_size() != count)
    return false;
  values.assign(t.float_data().begin(), t.float_data().end());
  return true;
}

bool allFloat(const onnx::ModelProto &model) {
  std::vector<std::string> initializers;
  for (const onnx::TensorProto &t : model.graph().initializer())
    initializers.push_back(t.name());
  auto isFloat = [](const onnx::ValueInfoProto &v) {
    return v.type().has_tensor_type() &&
           v.type().tensor_type().elem_type() == onnx::TensorProto::FLOAT;
  };
  for (const onnx::ValueInfoProto &v : model.graph().input())
    if (std::find(initializers.begin(), initializers.end(), v.name()) == initializers.end() &&
        !isFloat(v))
      return false;
  for (const onnx::ValueInfoProto &v : model.graph().output())
    if (!isFloat(v))
      return false;
  return true;
}

struct Counts {
  int passed = 0, failed = 0, unsupported = 0;
  std::set<std::string> passedLabels;
};

// Runs the compiled case on one data set; "" on a match, else why not.
std::string runSet(const kiln_run::ModelLibrary &library, void *model, const fs::path &set) {
  const kiln_model_desc &desc = library.desc();
  std::vector<std::vector<int64_t>> dims(desc.num_inputs + desc.num_outputs);
  std::vector<std::vector<float>> data(desc.num_inputs + desc.num_outputs);
  std::vector<std::vector<float>> expected(desc.num_outputs);
  std::vector<kiln_tensor> inputs, outputs;
  for (int i = 0; i < desc.num_inputs + desc.num_outputs; ++i) {
    bool isInput = i < desc.num_inputs;
    int k = isInput ? i : i - desc.num_inputs;
    fs::path file = set / ((isInput ? "input_" : "output_") + std::to_string(k) + ".pb");
    onnx::TensorProto tensor;
    std::vector<float> values;
    if (!readProto(file, tensor) || !decode(tensor, dims[i], values))
      return "cannot read " + file.filename().string() + " as float32";
    const kiln_io_desc &io = isInput ? desc.inputs[k] : desc.outputs[k];
    bool sameShape = io.rank == static_cast<int32_t>(dims[i].size());
    for (int32_t d = 0; sameShape && d < io.rank; ++d)
      sameShape = io.shape[d] < 0 || io.shape[d] == dims[i][d];
    if (!sameShape)
      return (isInput ? "input " : "output ") + std::to_string(k) + " " + file.filename().string() +
             " does not have the library's shape " + kiln_run::describeIO(io);
    if (isInput) {
      data[i] = std::move(values);
    } else {
      expected[k] = std::move(values);
      data[i].assign(expected[k].size(), NAN);
    }
  }
  for (int i = 0; i < desc.num_inputs + desc.num_outputs; ++i) {
    kiln_tensor t = kiln_tensor_view(data[i].data(), KILN_F32,
                                     static_cast<int32_t>(dims[i].size()), dims[i].data());
    (i < desc.num_inputs ? inputs : outputs).push_back(t);
  }
  if (library.adoptError(desc.forward(model, inputs.data(), outputs.data()), "forward") != KILN_OK)
    return std::string("forward failed: ") + kiln_last_error();
  for (int k = 0; k < desc.num_outputs; ++k) {
    const std::vector<float> &got = data[desc.num_inputs + k];
    double worst = 0;
    size_t bad = 0;
    for (size_t j = 0; j < got.size(); ++j) {
      double diff = std::fabs(double(got[j]) - expected[k][j]);
      if (!(diff <= kAtol + kRtol * std::fabs(expected[k][j])))
        ++bad;
      if (!(diff <= worst))
        worst = diff;
    }
    if (bad) {
      char text[160];
      std::snprintf(text, sizeof text, "output %d: %zu of %zu elements differ (max |diff| %.3g)",
                    k, bad, got.size(), worst);
      return text;
    }
  }
  return "";
}

void runCase(const std::string &kilnc, const fs::path &work, const fs::path &dir,
             const std::string &label, Counts &counts) {
  fs::path model = dir / "model.onnx";
  onnx::ModelProto proto;
  if (!readProto(model, proto)) {
    std::printf("UNSUPPORTED %s: model.onnx does not parse\n", label.c_str());
    ++counts.unsupported;
    return;
  }
  if (!allFloat(proto)) {
    std::printf("UNSUPPORTED %s: not float32\n", label.c_str());
    ++counts.unsupported;
    return;
  }
  fs::path out = work / label;
  fs::create_directories(out);
  std::string log = (out / "kilnc.log").string();
  if (run({kilnc, model.string(), "--emit=nn", "-o", (out / "model.mlir").string()}, log) != 0) {
    std::printf("UNSUPPORTED %s: %s\n", label.c_str(), firstLine(log).c_str());
    ++counts.unsupported;
    return;
  }
  auto fail = [&](const std::string &why) {
    std::printf("FAIL %s: %s\n", label.c_str(), why.c_str());
    ++counts.failed;
  };
  if (run({kilnc, model.string(), "-o", out.string() + "/"}, log) != 0)
    return fail("kilnc -o: " + firstLine(log));
  // lib<name>.so and <name>.safetensors, <name> the model's C identifier (model_ for model).
  std::string name;
  for (const fs::directory_entry &entry : fs::directory_iterator(out)) {
    std::string file = entry.path().filename().string();
    if (file.size() > 6 && file.rfind("lib", 0) == 0 && file.compare(file.size() - 3, 3, ".so") == 0)
      name = file.substr(3, file.size() - 6);
  }
  std::unique_ptr<kiln_run::ModelLibrary> library;
  if (name.empty())
    return fail("kilnc -o wrote no shared library");
  if (kiln_run::ModelLibrary::open((out / ("lib" + name + ".so")).string(), &library) != KILN_OK)
    return fail(kiln_last_error());
  kiln_options options;
  kiln_options_init(&options);
  options.num_threads = 2;
  std::string weights = (out / (name + ".safetensors")).string();
  options.weights_path = weights.c_str();
  void *handle = nullptr;
  if (library->adoptError(library->desc().create(&options, &handle), "create") != KILN_OK)
    return fail(kiln_last_error());
  kiln_run::ModelInstance instance(library->desc(), handle);
  std::vector<fs::path> sets;
  for (const fs::directory_entry &entry : fs::directory_iterator(dir))
    if (entry.is_directory() && entry.path().filename().string().rfind("test_data_set_", 0) == 0)
      sets.push_back(entry.path());
  std::sort(sets.begin(), sets.end());
  if (sets.empty())
    return fail("no test_data_set_*");
  for (const fs::path &set : sets)
    if (std::string why = runSet(*library, instance.get(), set); !why.empty())
      return fail(set.filename().string() + ": " + why);
  std::printf("PASS %s (%zu data sets)\n", label.c_str(), sets.size());
  ++counts.passed;
  counts.passedLabels.insert(label);
}

} // namespace

int main(int argc, char **argv) {
  if (argc < 4) {
    std::fprintf(stderr, "usage: kiln-onnx-backend KILNC WORK_DIR [--expect=FILE] CASES_DIR...\n");
    return 2;
  }
  std::string kilnc = argv[1];
  fs::path work = argv[2];
  int first = 3;
  std::vector<std::string> expected;
  if (std::string_view arg = argv[3]; arg.substr(0, 9) == "--expect=") {
    std::ifstream in(std::string(arg.substr(9)));
    if (!in) {
      std::fprintf(stderr, "kiln-onnx-backend: cannot read %s\n", argv[3] + 9);
      return 2;
    }
    for (std::string line; std::getline(in, line);) {
      line = line.substr(0, line.find('#'));
      line.erase(line.find_last_not_of(" \t\r") + 1);
      line.erase(0, line.find_first_not_of(" \t"));
      if (!line.empty())
        expected.push_back(line);
    }
    first = 4;
  }
  Counts counts;
  for (int i = first; i < argc; ++i) {
    fs::path root = argv[i];
    std::vector<fs::path> cases;
    std::error_code error;
    for (const fs::directory_entry &entry : fs::directory_iterator(root, error))
      if (entry.is_directory() && fs::exists(entry.path() / "model.onnx"))
        cases.push_back(entry.path());
    if (error) {
      std::fprintf(stderr, "kiln-onnx-backend: %s: %s\n", root.c_str(), error.message().c_str());
      return 2;
    }
    std::sort(cases.begin(), cases.end());
    for (const fs::path &dir : cases) {
      std::string label = root.filename().string() + "/" + dir.filename().string();
      runCase(kilnc, work, dir, label, counts);
      std::fflush(stdout);
    }
  }
  std::printf("onnx backend: %d passed, %d failed, %d unsupported\n", counts.passed,
              counts.failed, counts.unsupported);
  int regressed = 0;
  for (const std::string &label : expected)
    if (!counts.passedLabels.count(label)) {
      std::printf("EXPECTED TO PASS %s (see its line above)\n", label.c_str());
      ++regressed;
    }
  if (regressed)
    std::printf("onnx backend: %d of the %zu expected cases did not pass\n", regressed,
                expected.size());
  return counts.failed || regressed ? 1 : 0;
}
