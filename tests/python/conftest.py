"""Shared pieces of the Python tests: Fashion-MNIST (Debian's dataset-fashion-mnist, or the cache),
the dltrain program for the CLI comparisons, and a reader of safetensors tensors."""
import json
import os
import struct
import subprocess

import numpy as np
import pytest

import dltrain


@pytest.fixture(scope="session")
def fashion():
    try:
        (x, y), (xt, yt), info = dltrain.datasets.load("fashion-mnist", with_info=True)
    except dltrain.Error as e:
        pytest.skip(f"Fashion-MNIST is not installed or fetched: {e}")
    return x, y, xt, yt, info


@pytest.fixture
def cli():
    binary = os.environ.get("DLTRAIN_BINARY")
    if not binary:
        pytest.skip("DLTRAIN_BINARY (the dltrain program) is not set; CTest sets it")

    def run(*args, check=True):
        r = subprocess.run([binary, *map(str, args)], capture_output=True, text=True, timeout=600)
        if check:
            assert r.returncode == 0, r.stderr
        return r

    return run


def tensors(path):
    """name -> float32/uint8 array of a safetensors file, read by its format (not by dltrain)."""
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, t in header.items():
        if name == "__metadata__":
            continue
        a, b = t["data_offsets"]
        dtype = {"F32": np.float32, "U8": np.uint8}[t["dtype"]]
        out[name] = np.frombuffer(data[a:b], dtype=dtype).reshape(t["shape"])
    return out


def assert_same_weights(a, b):
    ta, tb = tensors(a), tensors(b)
    assert ta.keys() == tb.keys()
    for k in ta:
        assert ta[k].tobytes() == tb[k].tobytes(), f"{k} differs"
