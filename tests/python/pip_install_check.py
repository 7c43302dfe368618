#!/usr/bin/env python3
"""`pip install .` as a user runs it, into a scratch folder: the wheel scikit-build-core builds from
this checkout must import from there (not from the build tree) and train. CTest python.pip_install.

  python3 tests/python/pip_install_check.py SOURCE_DIR
"""
import os
import subprocess
import sys
import tempfile


def main():
    source = os.path.abspath(sys.argv[1])
    with tempfile.TemporaryDirectory() as tmp:
        target, build = os.path.join(tmp, "site"), os.path.join(tmp, "build")
        # The installed scikit-build-core and nanobind (.ci/run installs them); the CUDA kernels are
        # left out to save time here: their build is the release preset's, not the package's concern.
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--disable-pip-version-check",
                        "--no-build-isolation", "--no-deps", "--target", target,
                        f"--config-settings=build-dir={build}", "--config-settings=cmake.define.DLTRAIN_CUDA=OFF",
                        source], check=True)
        check = (
            "import os, sys, numpy as np, dltrain\n"
            f"assert dltrain.__file__.startswith({target!r}), dltrain.__file__\n"
            "rng = np.random.default_rng(0)\n"
            "x = rng.integers(0, 256, (256, 8, 8, 1), dtype=np.uint8); y = (x.mean(axis=(1, 2, 3)) > 127).astype(int)\n"
            "m = dltrain.Model('flatten dense:16,relu dense:2,softmax', input_shape=(8, 8, 1), classes=2)\n"
            f"h = m.fit(x, y, epochs=2, run_dir={os.path.join(tmp, 'run')!r}, verbose=0)\n"
            "assert len(h.history['loss']) == 2 and m.predict(x[:4]).shape == (4, 2)\n"
            "print('installed dltrain', dltrain.__version__, 'trains from', os.path.dirname(dltrain.__file__))\n")
        env = dict(os.environ, PYTHONPATH=target)
        subprocess.run([sys.executable, "-c", check], check=True, env=env, cwd=tmp)


if __name__ == "__main__":
    main()
