#!/usr/bin/env bash
# Same-process A/B of the GEMM kernels: the kernel file of git revision OLD (default HEAD) against
# the working tree's, both compiled with the AVX2 level's flags (as CMakeLists.txt compiles
# gemm_avx2.cpp) into one program, bench/gemm_ab.cpp, which alternates them. Needs an AVX2 CPU.
# Usage: tools/gemm-ab.sh [OLD]     (COLD=1 tools/gemm-ab.sh: weights from memory)
set -euo pipefail
cd "$(dirname "$0")/.."
old=${1:-HEAD}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/old"
git show "$old:src/backend/cpu/gemm/kernel_impl.hpp" > "$work/old/kernel_impl.hpp"
cp src/backend/cpu/gemm/gemm_types.hpp "$work/old/"
flags=(-O3 -DNDEBUG -std=c++20 -march=x86-64 -mtune=generic -mavx2 -mfma -ffp-contract=fast)
# Each side with the extra flags its revision's CMakeLists.txt gave the kernel files (before
# 2026-12-01's evening, -fno-signed-zeros, on which its broadcasts relied).
extra() { grep -o -- '-fno-signed-zeros' | head -1 || true; }
old_extra=$(git show "$old:CMakeLists.txt" | extra)
new_extra=$(extra < CMakeLists.txt)
for side in old new; do
  header=$([ "$side" = old ] && echo "$work/old/kernel_impl.hpp" || echo "$PWD/src/backend/cpu/gemm/kernel_impl.hpp")
  more=$([ "$side" = old ] && echo "$old_extra" || echo "$new_extra")
  printf '#define W 8\n#define MR 6\n#include "%s"\ndltrain::cpu::GemmFn gemm_%s = &isa_gemm;\n' "$header" "$side" > "$work/$side.cpp"
  g++ "${flags[@]}" $more -c "$work/$side.cpp" -o "$work/$side.o"
done
g++ -O2 -std=c++20 -Isrc bench/gemm_ab.cpp "$work/old.o" "$work/new.o" -o "$work/gemm_ab"
echo "kernels: $old (old) against the working tree (new)"
"$work/gemm_ab"
