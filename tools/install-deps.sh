#!/usr/bin/env bash
# Installs the Debian packages dltrain builds and tests with (Debian 12). Does nothing when they
# are all present; uses sudo when not run as root.
set -euo pipefail

packages=(
  cmake ninja-build g++ pkg-config
  libopenblas-dev libopenblas0-pthread zlib1g-dev libssl-dev nlohmann-json3-dev libcli11-dev libstb-dev libflatbuffers-dev
  libcurl4-openssl-dev libarchive-dev libpugixml-dev
  protobuf-compiler libprotobuf-dev libonnx-dev
  libgtest-dev libbenchmark-dev
  clang-19 libclang-rt-19-dev libomp-19-dev llvm-19
  fonts-dejavu-core
  libopenmpi-dev openmpi-bin
  dataset-fashion-mnist chromium
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi

sudo=()
[ "$(id -u)" -eq 0 ] || sudo=(sudo)
echo "install-deps: installing ${missing[*]}"
"${sudo[@]}" apt-get update -qq
DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
