#!/usr/bin/env bash
# Builds the libFuzzer targets (CMake preset `fuzz`: clang 19, ASan+UBSan) and runs each one for
# SECONDS (default 20), or for RUNS inputs, starting from its committed seed corpus
# fuzz/corpus/<target>/, then prints one row per target: executions, coverage (libFuzzer's cov: and
# ft: at the end) and the result.
# New inputs go to build-fuzz/corpus/<target>/ (the committed corpus is never changed); a crash,
# leak, timeout or out-of-memory input is saved under build-fuzz/artifacts/<target>/ and makes the
# script exit 1. Needs clang-19, libclang-rt-19-dev and libomp-19-dev (Debian 12), and llvm-19
# for readable stack traces (llvm-symbolizer-19).
#
#   tools/fuzz.sh [SECONDS] [TARGET...]     e.g. tools/fuzz.sh 30 idx tflite
#   tools/fuzz.sh --runs N [TARGET...]      N inputs per target from an empty build-fuzz/corpus:
#                                           the same inputs on every machine, however fast (CI)
#   JOBS=4 tools/fuzz.sh                    parallel build jobs (default: nproc)
#   SEED=0 tools/fuzz.sh                    libFuzzer's random seed (default 1, so that a CI run
#                                           from a clean clone explores the same inputs; 0 = random)
set -euo pipefail
cd "$(dirname "$0")/.."

limit=(-max_total_time="${1:-20}") seconds=${1:-20}
if [ "${1:-}" = --runs ]; then
  limit=(-runs="$2") seconds=-
  shift
fi
shift || true
all=(idx safetensors checkpoint model_text tflite image csv annotations s3_listing http_headers drive_page archive uri cache_index
     run_report push_manifest)
targets=("${all[@]}")
[ $# -gt 0 ] && targets=("$@")

command -v clang++-19 >/dev/null || { echo "fuzz.sh: clang++-19 is missing (apt-get install clang-19 libclang-rt-19-dev libomp-19-dev)" >&2; exit 2; }
[ -f build-fuzz/build.ninja ] || cmake --preset fuzz >/dev/null
cmake --build build-fuzz -j"${JOBS:-$(nproc)}" --target "${targets[@]/#/fuzz_}" >/dev/null

rows=()
failed=0
for t in "${targets[@]}"; do
  work=build-fuzz/corpus/$t artifacts=build-fuzz/artifacts/$t log=build-fuzz/logs/$t.log
  [ "$seconds" = - ] && rm -rf "$work"  # a fixed number of runs replays only from the seed corpus
  mkdir -p "$work" "$artifacts" "$(dirname "$log")"
  set +e
  # ASan's allocator limit makes a runaway allocation a finding; -timeout makes a hang one. A
  # smaller quarantine, returned to the OS, keeps a long run's RSS from creeping to the limit.
  ASAN_SYMBOLIZER_PATH=${ASAN_SYMBOLIZER_PATH:-$(command -v llvm-symbolizer-19 || true)} \
  ASAN_OPTIONS=${ASAN_OPTIONS:-allocator_may_return_null=0:detect_leaks=1:quarantine_size_mb=64:allocator_release_to_os_interval_ms=500} \
  UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1} \
    "build-fuzz/fuzz/fuzz_$t" "${limit[@]}" -seed="${SEED:-1}" -timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=1024 \
    -print_final_stats=1 -artifact_prefix="$artifacts/" "$work" "fuzz/corpus/$t" >"$log" 2>&1
  rc=$?
  set -e
  # A run that fails while loading its corpus prints no statistics: '?' then, not an exit here.
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1 || true)
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | grep -o '[0-9]*' || true)
  ft=$(grep -o 'ft: [0-9]*' "$log" | tail -1 | grep -o '[0-9]*' || true)
  corpus=$(find "$work" -type f | wc -l)
  if [ $rc -eq 0 ]; then
    result=ok
  else
    failed=1
    what=$(grep -m1 -oE 'ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer|UndefinedBehaviorSanitizer): [a-zA-Z-]+|runtime error: [^ ]+( [^ ]+){0,3}|out-of-memory|timeout' "$log" || true)
    result="FAIL (${what:-rc $rc}; $log)"
  fi
  rows+=("$(printf '%-14s %5s %10s %6s %6s %7s  %s' "$t" "$seconds" "${execs:-?}" "${cov:-?}" "${ft:-?}" "$corpus" "$result")")
  echo "${rows[-1]}" >&2
done

printf '\n%-14s %5s %10s %6s %6s %7s  %s\n' target sec execs cov ft corpus result
printf '%s\n' "${rows[@]}"
exit $failed
