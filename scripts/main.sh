#!/usr/bin/env bash
# The main job: set up, build, and compile LeNet (models/lenet.kiln), printing its summary.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh
cmake -G Ninja -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build --target kilnc
build/tools/kilnc/kilnc --summary models/lenet.kiln
