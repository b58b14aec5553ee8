#!/usr/bin/env bash
# Sets up a fresh machine, builds every target and runs every test (lit + GoogleTest via ctest),
# then a short libFuzzer run of each file reader (FUZZ_SECONDS per target, default 30; 0 skips)
# and the whole suite again under AddressSanitizer + UndefinedBehaviorSanitizer (SANITIZE=0
# skips; about 20 minutes on 2 cores).
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh
cmake -G Ninja -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build
(cd build && ctest --output-on-failure -j 2)
if [ "${FUZZ_SECONDS:-30}" != 0 ]; then
  FUZZ_SEED=${FUZZ_SEED:-1} scripts/fuzz.sh "${FUZZ_SECONDS:-30}"
fi
if [ "${SANITIZE:-1}" != 0 ]; then
  scripts/sanitize.sh
fi
