#!/usr/bin/env bash
# Fuzzes every reader of files written by others (tests/fuzz: the .kiln and ONNX frontends
# through verification, safetensors, IDX plain and gzip, .npy) with libFuzzer under AddressSanitizer and
# UndefinedBehaviorSanitizer, one target after the other.
#
#   scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]    (default 60 s; kiln onnx safetensors idx npy)
#
# Each target starts from its seed corpus (tests/fuzz/make_seeds.py: the repository's models and
# .kiln tests, small valid binary files) and the committed regressions, and grows its corpus in
# build-fuzz/corpus/<target> across runs. A crash, hang (-timeout), leak or sanitizer report
# stops that target, leaves the input in build-fuzz/artifacts/<target>/ and makes the script
# exit 1: copy the input into tests/fuzz/regressions/<target>/ with the fix, where ctest replays
# it. Prints one line per target: executions, coverage (edges), corpus size, outcome.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${1:-60}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(kiln onnx safetensors idx npy)

scripts/setup.sh fuzz
CC=clang CXX=clang++ cmake -G Ninja -S . -B build-fuzz -DKILN_FUZZ=ON \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build-fuzz --target kiln-fuzz >/dev/null
python3 tests/fuzz/make_seeds.py . build-fuzz/seeds

# FUZZ_SEED: libFuzzer's seed (CI fixes it, so a run is repeatable up to the machine's speed);
# unset, each run explores differently.
seed=()
if [ -n "${FUZZ_SEED:-}" ]; then seed=(-seed="$FUZZ_SEED"); fi

failed=0
for target in "${targets[@]}"; do
  corpus=build-fuzz/corpus/$target
  artifacts=build-fuzz/artifacts/$target
  log=build-fuzz/fuzz-$target.log
  mkdir -p "$corpus" "$artifacts"
  # -rss_limit_mb: a reader must not need gigabytes for a small file; -timeout: nor seconds.
  # ASAN_OPTIONS: libFuzzer's memory limit, not ASan's allocator, judges large allocations.
  dict=()
  if [ -f "tests/fuzz/$target.dict" ]; then dict=(-dict="tests/fuzz/$target.dict"); fi
  status=0
  ASAN_OPTIONS=allocator_may_return_null=1:detect_leaks=1 \
  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    "build-fuzz/tests/fuzz/kiln-fuzz-$target" -max_total_time="$seconds" -timeout=10 \
    -rss_limit_mb=2048 -malloc_limit_mb=2048 -print_final_stats=1 "${dict[@]}" ${seed[@]+"${seed[@]}"} \
    -artifact_prefix="$artifacts/" "$corpus" build-fuzz/seeds/"$target" \
    tests/fuzz/regressions/"$target" >"$log" 2>&1 || status=$?
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | cut -d' ' -f2 || true)
  units=$(find "$corpus" -type f | wc -l)
  if [ "$status" -eq 0 ]; then
    outcome="no crash, hang, leak or sanitizer report"
  else
    outcome="FAILED (status $status): see $log and $artifacts/"
    failed=1
  fi
  printf 'fuzz %-12s %4ss  %10s runs  cov %6s  corpus %5s  %s\n' "$target" "$seconds" \
    "${runs:-?}" "${cov:-?}" "$units" "$outcome"
done
exit $failed
