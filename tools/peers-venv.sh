#!/usr/bin/env bash
# Makes the virtual environment the benchmarks compare against (not used by the tests):
# PyTorch 2.x (PyPI: MKL + oneDNN on the CPU), Keras 3 on TensorFlow 2.x, ai-edge-litert.
# Usage: tools/peers-venv.sh [DIR]   (default ../peers-venv, outside the repository)
set -euo pipefail
dir=${1:-"$(cd "$(dirname "$0")/../.." && pwd)/peers-venv"}
python3 -m venv "$dir"
"$dir/bin/pip" install -q --disable-pip-version-check --upgrade pip
"$dir/bin/pip" install -q --disable-pip-version-check 'torch>=2.4' 'tensorflow>=2.16' 'keras>=3' \
  ai-edge-litert 'tflite==2.18.0' numpy threadpoolctl
"$dir/bin/python" - <<'PY'
import torch, tensorflow as tf, keras
print("peers-venv:", "torch", torch.__version__, "| tensorflow", tf.__version__, "| keras", keras.__version__)
PY
echo "peers-venv: ready in $dir"
