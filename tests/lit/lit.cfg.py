# lit configuration for Kiln's FileCheck tests (parser, dialect, shape inference, tools).
import os
import platform
import lit.formats

config.name = "Kiln"
config.test_format = lit.formats.ShTest(execute_external=False)
config.suffixes = [".mlir", ".kiln", ".test"]
config.excludes = ["Inputs", "lit.cfg.py", "lit.site.cfg.py.in"]
config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = os.path.join(config.kiln_obj_root, "tests", "lit")

tool_dirs = [os.path.join(config.kiln_obj_root, "tools", t) for t in ("kilnc", "kiln-opt", "kiln-run")]
config.environment["PATH"] = os.pathsep.join(tool_dirs + [config.llvm_tools_dir,
                                                          config.environment.get("PATH", os.environ["PATH"])])
config.substitutions.append(("%models", os.path.join(config.kiln_src_root, "models")))
# A C++ program against the runtime (tests/lit/package/Inputs/compare_libs.cpp): its compile and
# link flags.
config.substitutions.append(("%kiln_runtime_flags",
                             "-I" + os.path.join(config.kiln_src_root, "runtime", "include") +
                             " " + os.path.join(config.kiln_obj_root, "runtime",
                                                "libkiln_runtime.so") +
                             " -Wl,-rpath," + os.path.join(config.kiln_obj_root, "runtime") +
                             " -ldl" +
                             # The runtime of a sanitizer build needs its runtime libraries.
                             (" -fsanitize=address,undefined" if config.kiln_sanitize else "")))

# Tests that run CUDA code need a GPU; without one they report UNSUPPORTED and say why here.
if os.path.exists("/dev/nvidia0"):
    config.available_features.add("cuda-gpu")
else:
    lit_config.note("CUDA run-time tests skip: no GPU on this machine (/dev/nvidia0 is absent)")

if platform.machine() == "x86_64":
    config.available_features.add("x86_64")

# CPU features lit tests may need (from /proc/cpuinfo's flags).
try:
    with open("/proc/cpuinfo") as cpuinfo:
        for line in cpuinfo:
            if line.startswith("flags"):
                for flag in ("avx2", "avx512f", "avx512ifma", "avx512vbmi"):
                    if flag in line.split(":", 1)[1].split():
                        config.available_features.add("cpu-" + flag)
                break
except OSError:
    pass
