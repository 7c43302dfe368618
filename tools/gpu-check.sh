#!/usr/bin/env bash
# One check of everything that needs an NVIDIA GPU, for a GPU machine with nvcc (and possibly
# without dltrain's other build dependencies). Under 8 minutes:
#   1. every example in examples/cuda/ compiled with nvcc for the GPU's architecture and run;
#   2. if the project builds there: the ctest label `gpu`, `dltrain doctor` (with its smoke test)
#      and `dltrain cuda run` of each built-in example.
# Prints a one-screen summary; exit status 0 when everything that ran passed.
set -u
cd "$(dirname "$0")/.."
work=$(mktemp -d /tmp/gpu-check.XXXXXX)
declare -a summary
failed=0
note() { summary+=("$1"); }
fail() { summary+=("FAIL $1"); failed=1; }

if ! command -v nvidia-smi >/dev/null || ! nvidia-smi -L >/dev/null 2>&1; then
  echo "gpu-check: no NVIDIA GPU visible (nvidia-smi); nothing to check"
  exit 1
fi
gpu=$(nvidia-smi --query-gpu=name,compute_cap,memory.total,driver_version --format=csv,noheader | head -1)
cc=$(nvidia-smi --query-gpu=compute_cap --format=csv,noheader | head -1 | tr -d ' .')
nvcc=$(command -v nvcc || echo /usr/local/cuda/bin/nvcc)
note "GPU: $gpu (sm_$cc); nvcc: $("$nvcc" --version 2>/dev/null | grep -o 'release [0-9.]*' || echo missing)"

# 1. The examples, straight from nvcc.
for src in examples/cuda/*.cu; do
  name=$(basename "$src" .cu)
  if ! "$nvcc" -O3 -arch="sm_$cc" -o "$work/$name" "$src" > "$work/$name.build.log" 2>&1; then
    fail "example $name: nvcc failed (see $work/$name.build.log)"; continue
  fi
  if timeout 120 "$work/$name" > "$work/$name.log" 2>&1; then
    note "ok   example $name: $(grep -E 'ok$|match|GFLOP' "$work/$name.log" | tail -1 | cut -c1-90)"
  else
    fail "example $name (exit $?): $(tail -1 "$work/$name.log" | cut -c1-90)"
  fi
done

# 2. The project: a bundle built elsewhere (tools/gpu-bundle.sh) when one is here, else a build
#    here when its dependencies are present.
check_project() {  # $1: dltrain binary, $2: gpu_test binary
  if DLTRAIN_TEST_BINARY="$1" "$2" > "$work/gtest.log" 2>&1; then
    note "ok   gpu tests: $(grep -E 'PASSED|SKIPPED' "$work/gtest.log" | tr '\n' ' ' | cut -c1-90)"
  else
    fail "gpu tests: $(grep -E 'FAILED' "$work/gtest.log" | head -3 | tr '\n' ' ' | cut -c1-90) (see $work/gtest.log)"
  fi
  if "$1" doctor > "$work/doctor.log" 2>&1; then
    note "ok   doctor: $(grep -E '^Smoke' "$work/doctor.log" | cut -c1-100)"
  else
    fail "doctor exited $?"
  fi
  for name in hello vector_add max_reduction matmul; do
    if DLTRAIN_CACHE="$work/cache" timeout 120 "$1" cuda run "$name" > "$work/run-$name.log" 2>&1; then
      note "ok   cuda run $name: $(grep -E 'ok$|match|GFLOP' "$work/run-$name.log" | tail -1 | cut -c1-70)"
    else
      fail "cuda run $name: $(tail -1 "$work/run-$name.log" | cut -c1-90)"
    fi
  done
}
if [ -f .gpu-bundle.tar.xz ]; then
  tar -C "$work" -xJf .gpu-bundle.tar.xz
  export LD_LIBRARY_PATH="$work/bundle/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  note "using the prebuilt bundle .gpu-bundle.tar.xz"
  check_project "$work/bundle/dltrain" "$work/bundle/gpu_test"
elif cmake --preset release -DDLTRAIN_BENCH=OFF -DCMAKE_CUDA_ARCHITECTURES="$cc" > "$work/configure.log" 2>&1 &&
   cmake --build build -j"$(nproc)" > "$work/build.log" 2>&1; then
  check_project build/dltrain build/tests/gpu_test
else
  note "skip project build: dependencies missing here ($(grep -m1 -iE 'could not|not found|error' "$work/configure.log" "$work/build.log" 2>/dev/null | cut -c1-80))"
fi

echo "==== gpu-check summary ($(date -u +%Y-%m-%dT%H:%MZ)) ===="
printf '%s\n' "${summary[@]}"
echo "logs: $work"
[ -f "$work/doctor.log" ] && { echo "---- dltrain doctor ----"; cat "$work/doctor.log"; }
exit $failed
