#!/usr/bin/env bash
# Packs the built `dltrain`, `gpu_test`, `gpu_train_test`, `conformance_test` and the shared
# libraries they need from this machine into .gpu-bundle.tar.xz, for tools/gpu-check.sh on a GPU machine that lacks dltrain's build
# dependencies (the device machines have nvcc and the driver, not OpenBLAS, CLI11, libcurl-dev...).
# glibc's own libraries stay behind: the GPU machine's newer glibc runs these binaries.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
stage=$(mktemp -d /tmp/gpu-bundle.XXXXXX)
mkdir -p "$stage/bundle/lib"
bins=("$build/dltrain" "$build/tests/gpu_test" "$build/tests/gpu_train_test" "$build/tests/conformance_test")
cp "${bins[@]}" "$stage/bundle/"
for bin in "${bins[@]}"; do
  ldd "$bin" | awk '$3 ~ /^\// {print $3}'
done | sort -u | grep -vE '/(libc|libm|libstdc\+\+|libgcc_s|libdl|libpthread|librt|libresolv|ld-linux[^/]*)\.so' |
  while read -r lib; do cp -L "$lib" "$stage/bundle/lib/"; done
tar -C "$stage" -cJf .gpu-bundle.tar.xz bundle
rm -rf "$stage"
echo "wrote .gpu-bundle.tar.xz ($(du -h .gpu-bundle.tar.xz | cut -f1)); carry it to the GPU machine"
