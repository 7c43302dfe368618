#!/usr/bin/env bash
# Checks that a portable build (-DDLTRAIN_NATIVE=OFF) chooses its GEMM kernels from what the CPU
# reports and never executes an instruction the CPU lacks: the GEMM and op conformance tests run
# under QEMU's user-mode emulation of older CPUs (Debian's qemu-user; it emulates AVX2 but not
# AVX-512), so an AVX-512 instruction on the wrong path is an illegal-instruction crash.
# Usage: tools/portable-check.sh [BUILD_DIR]   (default ../build-portable). Not part of CI: slow.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-../build-portable}
command -v qemu-x86_64 >/dev/null || { echo "portable-check: needs qemu-user (apt-get install qemu-user)"; exit 2; }
cmake -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DDLTRAIN_NATIVE=OFF -DDLTRAIN_BENCH=OFF >/dev/null
cmake --build "$build" --target gemm_test ops_test dltrain
status=0
for cpu in Haswell Nehalem; do  # AVX2+FMA without AVX-512; SSE4.2 without AVX
  level=$(qemu-x86_64 -cpu "$cpu" "$build/dltrain" doctor --json --no-smoke 2>/dev/null | python3 -c \
    'import json,sys; k=json.load(sys.stdin)["kernels"]; print(k["detected"], k["gemm"], k["compiled"])')
  echo "== $cpu: detected, gemm, compiled = $level"
  for t in gemm_test ops_test; do
    if qemu-x86_64 -cpu "$cpu" "$build/tests/$t" --gtest_brief=1 > "/tmp/portable-$cpu-$t.log" 2>&1; then
      echo "   $t: $(grep -E '^\[  PASSED' "/tmp/portable-$cpu-$t.log")"
    else
      echo "   $t: FAILED (see /tmp/portable-$cpu-$t.log)"; status=1
    fi
  done
done
exit $status
