#!/usr/bin/env bash
# One check of everything that needs an NVIDIA GPU, for a GPU machine with nvcc (and possibly
# without dltrain's other build dependencies). Under 5 minutes with a bundle (a build there adds
# its compile time):
#   1. every example in examples/cuda/ compiled with nvcc for the GPU's architecture and run;
#   2. if the project builds there (or a bundle from tools/gpu-bundle.sh is here): the gpu tests,
#      the CUDA backend's conformance (every kernel of kernels.inc on the GPU against the CPU
#      reference, GPU memory round trips), `dltrain doctor` (with its smoke test), `dltrain cuda
#      run` of each built-in example, and `dltrain train` of mlp and cnn on the GPU and on the CPU
#      (2 epochs each on a small synthetic IDX dataset, written here: the machine has no network),
#      the GPU-trained models evaluated on both devices.
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
# A tiny IDX dataset (10 classes, 8x8 images; train 512, test 128) for the training check.
write_tiny_idx() {  # $1: folder
  mkdir -p "$1" && python3 - "$1" <<'PY'
import random, struct, sys
random.seed(1)
for split, n in (("train", 512), ("t10k", 128)):
    labels = [random.randrange(10) for _ in range(n)]
    pixels = bytearray()
    for l in labels:  # class l: a bright column at x = l (of 8; 8 and 9 are rows), plus noise
        for y in range(8):
            for x in range(8):
                on = (x == l) if l < 8 else (y == l - 8)
                pixels.append(min(255, (200 if on else 0) + random.randrange(40)))
    open(f"{sys.argv[1]}/{split}-images-idx3-ubyte", "wb").write(struct.pack(">IIII", 0x803, n, 8, 8) + pixels)
    open(f"{sys.argv[1]}/{split}-labels-idx1-ubyte", "wb").write(struct.pack(">II", 0x801, n) + bytes(labels))
PY
}

check_project() {  # $1: dltrain binary, $2: gpu_test binary, $3: conformance_test binary
  if "$3" --gtest_filter='gpu/*:GpuMemory.*' > "$work/conformance.log" 2>&1; then
    note "ok   cuda conformance: $(grep -E '^\[  (PASSED|SKIPPED)' "$work/conformance.log" | tr '\n' ' ' | cut -c1-90)"
  else
    fail "cuda conformance: $(grep -E '^\[  FAILED' "$work/conformance.log" | head -4 | tr '\n' ' ' | cut -c1-120) (see $work/conformance.log)"
  fi
  # Training on the GPU against the CPU, same seed: test accuracy and loss after 2 epochs should
  # agree closely (float sums in another order: not bit for bit); then the GPU-trained model evaluated
  # on the GPU and on the CPU.
  write_tiny_idx "$work/tiny"
  for model in mlp cnn; do
    for dev in cuda cpu; do
      log="$work/train-$model-$dev.log"
      timeout 120 "$1" train --device "$dev" --data "$work/tiny" --model "$model" --epochs 2 --batch 32 \
        --run-dir "$work/runs/$model-$dev" > "$log" 2>&1 ||
        fail "train --device $dev --model $model: $(grep -iE 'error' "$log" | head -1 | cut -c1-90)"
    done
    acc() { grep -oE 'Test accuracy [0-9.]+, loss [0-9.]+' "$work/train-$model-$1.log" | tail -1; }
    # Within 0.02 of each other in both accuracy and loss.
    if [ -n "$(acc cuda)" ] && [ -n "$(acc cpu)" ] &&
       printf '%s\n%s\n' "$(acc cuda)" "$(acc cpu)" | awk -F'[ ,]+' '{a[NR] = $3; l[NR] = $5}
         END { d = a[1] - a[2]; e = l[1] - l[2]; exit !(d * d < 0.0004 && e * e < 0.0004) }'; then
      note "ok   train --model $model: cuda $(acc cuda) / cpu $(acc cpu)"
    else
      fail "train --model $model: cuda '$(acc cuda)' / cpu '$(acc cpu)' (more than 0.02 apart, or missing)"
    fi
    for dev in cuda cpu; do
      log="$work/eval-$model-$dev.log"
      "$1" eval "$work/runs/$model-cuda" --data "$work/tiny" --device "$dev" > "$log" 2>&1 ||
        fail "eval --device $dev of the GPU-trained $model: $(grep -iE 'error' "$log" | head -1 | cut -c1-80)"
    done
    evacc() { grep -oE 'accuracy: [0-9.]+' "$work/eval-$model-$1.log"; }
    note "     eval $model (trained on cuda): on cuda $(evacc cuda), on cpu $(evacc cpu)"
  done
  # Training on the GPU against the CPU (20 steps of three networks), same-seed runs, resume.
  if "$(dirname "$2")/gpu_train_test" > "$work/gpu_train.log" 2>&1; then
    note "ok   gpu training tests: $(grep -E '^\[  (PASSED|SKIPPED)' "$work/gpu_train.log" | tr '\n' ' ' | cut -c1-80)"
    while read -r l; do note "     $l"; done < <(grep -E 'largest relative' "$work/gpu_train.log")
  else
    fail "gpu training tests: $(grep -E '^\[  FAILED' "$work/gpu_train.log" | head -4 | tr '\n' ' ' | cut -c1-110)"
  fi
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
  check_project "$work/bundle/dltrain" "$work/bundle/gpu_test" "$work/bundle/conformance_test"
elif cmake --preset release -DDLTRAIN_BENCH=OFF -DCMAKE_CUDA_ARCHITECTURES="$cc" > "$work/configure.log" 2>&1 &&
   cmake --build build -j"$(nproc)" > "$work/build.log" 2>&1; then
  check_project build/dltrain build/tests/gpu_test build/tests/conformance_test
else
  note "skip project build: dependencies missing here ($(grep -m1 -iE 'could not|not found|error' "$work/configure.log" "$work/build.log" 2>/dev/null | cut -c1-80))"
fi

echo "==== gpu-check summary ($(date -u +%Y-%m-%dT%H:%MZ)) ===="
printf '%s\n' "${summary[@]}"
echo "logs: $work"
[ -f "$work/doctor.log" ] && { echo "---- dltrain doctor ----"; cat "$work/doctor.log"; }
exit $failed
