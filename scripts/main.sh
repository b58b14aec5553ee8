#!/usr/bin/env bash
# The main job: set up, build, compile LeNet (models/lenet.kiln) into a library, train it on
# Fashion-MNIST with the lenet app linked against that library, and evaluate it.
#
#   scripts/main.sh [OUT_DIR]      (default out/lenet)
#
# Environment: EPOCHS (10), BATCH (64), LR (0.05), SEED (0), THREADS (0: all processors),
# DATA (/usr/share/datasets/fashion-mnist; any IDX directory).
set -euo pipefail
cd "$(dirname "$0")/.."

out=${1:-out/lenet}
data=${DATA:-/usr/share/datasets/fashion-mnist}
epochs=${EPOCHS:-10}
batch=${BATCH:-64}
lr=${LR:-0.05}
seed=${SEED:-0}
threads=${THREADS:-0}

scripts/setup.sh
cmake -G Ninja -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build --target kilnc lenet
mkdir -p "$out"

echo "== the model (kilnc --summary models/lenet.kiln)"
build/tools/kilnc/kilnc --summary models/lenet.kiln

echo "== compile: kilnc models/lenet.kiln -o $out/lib/ (IR of every stage in $out/ir/)"
build/tools/kilnc/kilnc models/lenet.kiln -o "$out/lib/" --dump-ir="$out/ir"
ls -l "$out/lib"
echo "(build/models/lenet/lenet links the same library, compiled by the build from the same file)"

echo "== train: $epochs epochs, batch $batch, SGD lr $lr momentum 0.9, seed $seed"
build/models/lenet/lenet train --data "$data" --epochs "$epochs" --batch "$batch" --lr "$lr" \
  --seed "$seed" --threads "$threads" --out "$out/lenet.safetensors" \
  --csv "$out/curves.csv" --plot "$out/curves.svg"

echo "== evaluate: $out/lenet.safetensors on the test split"
build/models/lenet/lenet eval --data "$data" --weights "$out/lenet.safetensors" \
  --threads "$threads"
echo "== outputs in $out: lenet.safetensors (checkpoint), curves.csv, curves.svg, lib/, ir/"
