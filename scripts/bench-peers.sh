#!/usr/bin/env bash
# Kiln against its peers, side by side on this machine: two kiln-bench passes bracket ONNX
# Runtime's (and, when asked, PyTorch's), so the ratios come from one run on one machine.
#
#   scripts/bench-peers.sh [OUT_DIR]        (default /tmp/kiln-peers)
#
# Needs the peers of ../shared/bench/README.md: a virtual environment at $PEERS (default
# /tmp/peers) with onnxruntime, and the ONNX exports in $MODELS (default /tmp/ortbench/models;
# torch_baselines.py --export-onnx writes them). TORCH=1 also runs torch_baselines.py.
# Benchmarks only: no test uses these packages.
set -euo pipefail
cd "$(dirname "$0")/.."

out=${1:-/tmp/kiln-peers}
peers=${PEERS:-/tmp/peers}
models=${MODELS:-/tmp/ortbench/models}
bench=${BENCH:-../shared/bench}
mkdir -p "$out"

[ -x "$peers/bin/python" ] || { echo "bench-peers: no virtual environment at $peers (see $bench/README.md)" >&2; exit 1; }
[ -f "$models/resnet18.onnx" ] || { echo "bench-peers: no ONNX exports in $models (see $bench/README.md)" >&2; exit 1; }

cmake --build build --target kiln-bench >/dev/null
if [ ! -x "$out/peak_flops" ]; then
  g++ -O3 -march=native -pthread "$bench/peak_flops.cpp" -o "$out/peak_flops"
fi
echo "== machine: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) processors"
"$out/peak_flops" | tee "$out/peak.txt"
peak=$(awk '/fp32 FMA/ && $(NF-4) == 2 && $(NF-3) > best { best = $(NF-3) } END { print best }' "$out/peak.txt")
peak=${peak:-228}

kiln() {
  build/tools/kiln-bench/kiln-bench models/lenet.kiln --batch=1,64,256 --cache-dir="$out/cache" \
    --benchmark_format=console 2>&1 | grep real_time
  build/tools/kiln-bench/kiln-bench models/resnet18.kiln models/resnet50.kiln --batch=1,8 \
    --cache-dir="$out/cache" 2>&1 | grep real_time
  build/tools/kiln-bench/kiln-bench models/bench/conv100.kiln --batch=1 --cache-dir="$out/cache" \
    2>&1 | grep real_time
}

echo "== Kiln, pass 1"
kiln | tee "$out/kiln1.txt"
echo "== ONNX Runtime (peak $peak GFLOP/s)"
"$peers/bin/python" "$bench/ort_bench.py" --dir "$models" --peak "$peak" --json "$out/ort.json"
if [ "${TORCH:-0}" = 1 ]; then
  echo "== PyTorch"
  "$peers/bin/python" "$bench/torch_baselines.py" --peak "$peak" --json "$out/torch.json"
fi
echo "== Kiln, pass 2"
kiln | tee "$out/kiln2.txt"
