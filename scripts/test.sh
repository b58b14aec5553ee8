#!/usr/bin/env bash
# Sets up a fresh machine, builds every target and runs every test (lit + GoogleTest via ctest).
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh
cmake -G Ninja -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build
cd build
ctest --output-on-failure -j 2
