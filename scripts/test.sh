#!/usr/bin/env bash
# Sets up a fresh machine, builds every target and runs every test (lit + GoogleTest via ctest),
# then a short libFuzzer run of each file reader (FUZZ_SECONDS per target, default 30; 0 skips)
# and the suite again under AddressSanitizer + UndefinedBehaviorSanitizer (SANITIZE=0 skips;
# SANITIZE=all includes the kernel numerics sweeps, see below). Each stage ends with a
# "test.sh: <stage> took N s" line, so a slow stage shows in CI's log (CI allows 60 minutes on
# 2 cores).
set -euo pipefail
cd "$(dirname "$0")/.."

# stage NAME COMMAND...: runs COMMAND and reports how long it took.
stage() {
  local name=$1 start=$SECONDS
  shift
  "$@"
  echo "test.sh: $name took $((SECONDS - start)) s"
}

stage setup scripts/setup.sh
stage build bash -c 'cmake -G Ninja -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null &&
                     cmake --build build'
stage ctest bash -c 'cd build && ctest --output-on-failure -j 2'
if [ "${FUZZ_SECONDS:-30}" != 0 ]; then
  stage fuzz env FUZZ_SEED="${FUZZ_SEED:-1}" scripts/fuzz.sh "${FUZZ_SECONDS:-30}"
fi
# The sanitizer pass runs every test but the kernel numerics sweeps (ctest label `numerics`:
# generated kernels, which are not instrumented, against the reference on random shapes), which
# under ASan take half its time and would put CI past its hour; SANITIZE=all runs them too, as
# scripts/sanitize.sh without arguments does.
if [ "${SANITIZE:-1}" != 0 ]; then
  args=(-LE numerics)
  if [ "${SANITIZE:-1}" = all ]; then args=(); fi
  stage sanitize scripts/sanitize.sh ${args[@]+"${args[@]}"}
fi
echo "test.sh: all stages took $SECONDS s"
