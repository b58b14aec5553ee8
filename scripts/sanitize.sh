#!/usr/bin/env bash
# The whole test suite under AddressSanitizer (with LeakSanitizer) and UndefinedBehaviorSanitizer:
# a second build in build-asan/ (-DKILN_SANITIZE=ON), every test through ctest. Any report fails
# the test that produced it (UBSan is built with -fno-sanitize-recover).
#
#   scripts/sanitize.sh [CTEST_ARGS...]      e.g. scripts/sanitize.sh -R Lenet
#
# Kiln's code (compiler, runtime, tools, tests) is instrumented; LLVM, MLIR and Halide are
# Debian's uninstrumented libraries, and kernels and generated drivers are compiled by kilnc as
# usual (their allocations are still tracked through malloc).
set -euo pipefail
cd "$(dirname "$0")/.."

# allow_user_poisoning=0: LLVM's headers poison and unpoison BumpPtrAllocator memory when the
# including code is built with ASan, but Debian's libMLIR was built without it, so memory that
# MLIR's allocator hands out can still be marked poisoned (a false use-after-poison in
# StringAttr::get). Leaks, overflows and use-after-free in Kiln's code are still reported.
export ASAN_OPTIONS=${ASAN_OPTIONS:-allow_user_poisoning=0:detect_leaks=1:strict_string_checks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

# -O1 -g1: what the sanitizers' reports need (inlining kept small, file and line in each frame)
# at half the compile time of RelWithDebInfo's -O2 -g (93 s -> 48 s for NNOps.cpp with gcc 12).
flags="-O1 -g1 -DNDEBUG"
scripts/setup.sh
cmake -G Ninja -S . -B build-asan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DKILN_SANITIZE=ON \
  -DCMAKE_C_FLAGS_RELWITHDEBINFO="$flags" -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="$flags" >/dev/null
start=$SECONDS
cmake --build build-asan
echo "sanitize.sh: build took $((SECONDS - start)) s"
cd build-asan
ctest --output-on-failure -j 2 "$@"
