#!/usr/bin/env bash
# Installs every Debian package Kiln needs to build, test and run its main job, when missing.
# Idempotent: a machine that already has them spends a second in dpkg-query and nothing else.
#
#   scripts/setup.sh            the build, the tests and the main job
#   scripts/setup.sh fuzz       also clang and its runtimes (libFuzzer, ASan, UBSan)
set -euo pipefail

packages=(
  # compiler toolchain and build
  g++ cmake ninja-build ccache python3 pkg-config binutils
  # MLIR/LLVM 19 (mlir-tblgen, FileCheck, lit) and Halide 14
  libmlir-19-dev mlir-19-tools llvm-19-dev llvm-19-tools libhalide14-0-dev
  # tests, benchmarks and the runtime's libraries
  libgtest-dev libgmock-dev libbenchmark-dev zlib1g-dev nlohmann-json3-dev
  # the ONNX frontend: the ONNX project's protobuf definitions, and its backend test data
  libonnx-dev libprotobuf-dev libonnx-testdata
  gcc-aarch64-linux-gnu libc6-dev-arm64-cross  # C cross compiler for --target=arm-64-linux
  # data for the LeNet app
  dataset-fashion-mnist
)
if [ "${1:-}" = fuzz ]; then
  packages+=(clang libclang-rt-dev)
elif [ $# -gt 0 ]; then
  echo "usage: scripts/setup.sh [fuzz]" >&2
  exit 2
fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed$'; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

echo "setup: installing ${missing[*]}" >&2
sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
