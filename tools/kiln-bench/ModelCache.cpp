// Compiling a model for the benchmark: kilnc as a subprocess (the tool it measures, exactly as a
// user runs it), its library cached under a key of everything that determines it.
#include "ModelCache.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <dirent.h>
#include <fstream>
#include <sstream>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

namespace kiln_bench {
namespace {

std::string readFile(const std::string &path, bool *ok) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  *ok = static_cast<bool>(in) || in.eof();
  return text.str();
}

// FNV-1a, 64 bits: a cache key, not a security measure.
uint64_t fnv1a(const std::string &text, uint64_t hash = 1469598103934665603ull) {
  for (unsigned char c : text) {
    hash ^= c;
    hash *= 1099511628211ull;
  }
  return hash;
}

std::string stem(const std::string &path) {
  size_t slash = path.find_last_of('/');
  std::string name = slash == std::string::npos ? path : path.substr(slash + 1);
  size_t dot = name.find_last_of('.');
  return dot == std::string::npos ? name : name.substr(0, dot);
}

// The one lib*.so in dir, or "".
std::string findLibrary(const std::string &dir) {
  std::string found;
  if (DIR *d = opendir(dir.c_str())) {
    while (dirent *entry = readdir(d)) {
      std::string name = entry->d_name;
      if (name.rfind("lib", 0) == 0 && name.size() > 3 && name.substr(name.size() - 3) == ".so")
        found = dir + "/" + name;
    }
    closedir(d);
  }
  return found;
}

// Runs argv, its output captured into *output; returns the exit status (-1: not run).
int run(const std::vector<std::string> &argv, std::string *output) {
  std::string command;
  for (const std::string &arg : argv) {
    command += "'";
    for (char c : arg)
      command += c == '\'' ? std::string("'\\''") : std::string(1, c);
    command += "' ";
  }
  command += "2>&1";
  FILE *pipe = popen(command.c_str(), "r");
  if (!pipe)
    return -1;
  char buffer[4096];
  size_t n;
  while ((n = fread(buffer, 1, sizeof buffer, pipe)) > 0)
    output->append(buffer, n);
  int status = pclose(pipe);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// For an ONNX model, the name, size and modification time of every other regular file in its
// folder: its external data lives there (the importer refuses paths that leave the folder), so a
// changed weights file changes the key. Unrelated files cost a recompile at most.
std::string folderStamp(const std::string &modelPath) {
  size_t dot = modelPath.find_last_of('.'), slash = modelPath.find_last_of('/');
  if (dot == std::string::npos || modelPath.substr(dot) != ".onnx")
    return "";
  std::string dir = slash == std::string::npos ? "." : modelPath.substr(0, slash);
  std::string self = slash == std::string::npos ? modelPath : modelPath.substr(slash + 1);
  std::vector<std::string> entries;
  if (DIR *d = opendir(dir.c_str())) {
    while (dirent *entry = readdir(d)) {
      std::string name = entry->d_name;
      struct stat info;
      if (name == self || stat((dir + "/" + name).c_str(), &info) != 0 || !S_ISREG(info.st_mode))
        continue;
      entries.push_back(name + ":" + std::to_string(info.st_size) + ":" +
                        std::to_string(info.st_mtime));
    }
    closedir(d);
  }
  std::sort(entries.begin(), entries.end()); // readdir's order is the file system's
  std::string stamp;
  for (const std::string &entry : entries)
    stamp += entry + "\n";
  return stamp;
}

} // namespace

kiln_status cacheDirectory(const std::string &modelPath, const CompileOptions &options,
                           std::string *out_dir) {
  out_dir->clear();
  bool ok = false;
  std::string model = readFile(modelPath, &ok);
  if (!ok)
    return kiln_fail(KILN_IO_ERROR, "%s: cannot read the model file", modelPath.c_str());
  struct stat compiler;
  if (stat(options.kilnc.c_str(), &compiler) != 0)
    return kiln_fail(KILN_IO_ERROR, "%s: no kilnc there (use --kilnc=PATH)",
                     options.kilnc.c_str());
  uint64_t key = fnv1a(model);
  key = fnv1a(options.target + "/" + options.schedule, key);
  key = fnv1a(std::to_string(compiler.st_size) + ":" + std::to_string(compiler.st_mtime), key);
  key = fnv1a(folderStamp(modelPath), key);
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(key));
  *out_dir = options.cacheDir + "/" + stem(modelPath) +
             (options.schedule == "kiln" ? "" : "-" + options.schedule) + "-" + hex;
  return KILN_OK;
}

kiln_status compileModel(const std::string &modelPath, const CompileOptions &options,
                         std::string *out_library) {
  out_library->clear();
  std::string dir;
  if (kiln_status status = cacheDirectory(modelPath, options, &dir); status != KILN_OK)
    return status;
  std::string library = findLibrary(dir);
  if (!library.empty()) {
    *out_library = library;
    return KILN_OK;
  }
  mkdir(options.cacheDir.c_str(), 0777);
  if (options.verbose)
    std::fprintf(stderr, "kiln-bench: compiling %s (target %s) into %s/ ...\n",
                 modelPath.c_str(), options.target.c_str(), dir.c_str());
  auto start = std::chrono::steady_clock::now();
  std::string output;
  int status = run({options.kilnc, modelPath, "-o", dir + "/", "--target=" + options.target,
                    "--schedule=" + options.schedule},
                   &output);
  double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (status != 0)
    return kiln_fail(KILN_IO_ERROR, "kilnc failed on %s (exit status %d):\n%s",
                     modelPath.c_str(), status, output.c_str());
  if (options.verbose)
    std::fprintf(stderr, "kiln-bench: compiled %s in %.1f s\n", modelPath.c_str(), seconds);
  library = findLibrary(dir);
  if (library.empty())
    return kiln_fail(KILN_IO_ERROR, "kilnc wrote no shared library into %s", dir.c_str());
  *out_library = library;
  return KILN_OK;
}

} // namespace kiln_bench
