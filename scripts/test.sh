#!/usr/bin/env bash
# Install dependencies, build, and run the whole test suite twice: once in a
# normal build with warnings as errors, once under AddressSanitizer and
# UndefinedBehaviorSanitizer; then run every libFuzzer target for a minute
# from its seed corpus (tests/fuzz).  This is what CI runs (.ci/run).
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc 2>/dev/null || echo 2)

scripts/install-deps.sh

echo "== build (RelWithDebInfo, -Werror)"
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DDEDUP_WERROR=ON >/dev/null
cmake --build build -j"$jobs"
echo "== tests"
log_dir=$(mktemp -d)
trap 'rm -rf "$log_dir"' EXIT
(cd build && ctest --output-on-failure -j"$jobs") | tee "$log_dir/ctest-normal.log"

echo "== build (AddressSanitizer + UndefinedBehaviorSanitizer)"
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DDEDUP_WERROR=ON -DDEDUP_SANITIZE=ON >/dev/null
cmake --build build-asan -j"$jobs"
echo "== tests under sanitizers"
(cd build-asan && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 ctest --output-on-failure -j"$jobs") |
  tee "$log_dir/ctest-asan.log"

# Every libFuzzer target in tests/fuzz, from its seed corpus, for
# DEDUP_FUZZ_SECONDS each (default 60), as many at once as there are cores.
# New inputs go to build-fuzz/fuzz-work/<target>/, never into the source
# tree; a crash leaves its input there and fails the run.
echo "== fuzz (libFuzzer + ASan + UBSan)"
fuzz_seconds=${DEDUP_FUZZ_SECONDS:-60}
cmake -S . -B build-fuzz -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DDEDUP_FUZZ=ON >/dev/null
cmake --build build-fuzz -j"$jobs" --target dedup_fuzzers
run_fuzzer() { # run_fuzzer NAME: runs it, prints one summary line, returns its status
  local name=$1 work=build-fuzz/fuzz-work/$1 rc=0
  local seeds=()
  [ ! -d "tests/fuzz/corpus/$name" ] || seeds=("tests/fuzz/corpus/$name")
  rm -rf "$work" && mkdir -p "$work/new"
  ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    "build-fuzz/tests/fuzz/fuzz_$name" -max_total_time="$fuzz_seconds" -rss_limit_mb=2048 \
    -timeout=30 -print_final_stats=1 -artifact_prefix="$work/" \
    "$work/new" "${seeds[@]}" >"$work/log" 2>&1 || rc=$?
  local runs cov
  runs=$(sed -n 's/^stat::number_of_executed_units: //p' "$work/log")
  cov=$(grep -o 'cov: [0-9]*' "$work/log" | tail -1)
  if [ "$rc" -eq 0 ]; then
    echo "fuzz_$name: ${runs:-?} runs in ${fuzz_seconds}s, ${cov:-cov: ?}, no crash"
  else
    echo "fuzz_$name: FAILED (exit $rc); input and log in $work/"
    grep -E 'ERROR|SUMMARY|Test unit written' "$work/log" | head -5
  fi
  return "$rc"
}
fuzz_failed=0
running=0
for src in tests/fuzz/fuzz_*.c; do
  name=$(basename "$src" .c)
  run_fuzzer "${name#fuzz_}" &
  running=$((running + 1))
  if [ "$running" -ge "$jobs" ]; then
    wait -n || fuzz_failed=1
    running=$((running - 1))
  fi
done
while [ "$running" -gt 0 ]; do
  wait -n || fuzz_failed=1
  running=$((running - 1))
done
if [ "$fuzz_failed" -ne 0 ]; then
  echo "fuzz: a target failed (see above)"
  exit 1
fi

# One closing line for the whole run: ctest cases of both builds plus fuzz
# targets (each stage above already stopped the script on any failure).
ctest_passed=0
for log in "$log_dir"/ctest-*.log; do
  n=$(sed -n 's/.*tests passed, \([0-9]*\) tests failed out of \([0-9]*\).*/\2 \1/p' "$log" | tail -1)
  [ -n "$n" ] && ctest_passed=$((ctest_passed + ${n% *} - ${n#* }))
done
fuzz_targets=$(ls tests/fuzz/fuzz_*.c | wc -l)
echo "tests: $((ctest_passed + fuzz_targets)) passed, 0 failed"
