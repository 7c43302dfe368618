"""NumPy arrays in and out: zero copies where the layout allows, clear errors where it is wrong."""
import numpy as np
import pytest

import dltrain
from dltrain import _core


def test_dataset_arrays_hold_the_readers_memory(fashion):
    x, y, xt, yt, _ = fashion
    assert x.dtype == np.uint8 and x.shape == (60000, 28, 28, 1) and y.dtype == np.int32 and y.shape == (60000,)
    assert not x.flags.owndata and x.base is not None  # a view of dltrain's tensor, not a copy


@pytest.mark.parametrize("dtype", [np.uint8, np.float32])
def test_arrays_are_read_in_place(dtype):
    x = np.zeros((64, 28, 28, 1), dtype)
    assert _core._borrowed_address(x) == x.ctypes.data
    assert _core._borrowed_address(x[16:32]) == x[16:32].ctypes.data  # a slice of whole images: still in place
    grey = np.zeros((8, 28, 28), dtype)  # (N, H, W) is read as one channel, in place
    assert _core._borrowed_address(grey) == grey.ctypes.data


def test_non_contiguous_arrays_are_copied_by_the_python_side():
    from dltrain.model import _images

    x = np.zeros((64, 28, 28, 1), np.uint8)[::2]
    with pytest.raises(dltrain.Error, match="C-contiguous"):
        _core._borrowed_address(x)
    assert _images(x, "x").flags.c_contiguous


def test_bad_arrays_are_clear_python_errors(fashion):
    x, y, *_ = fashion
    model = dltrain.Model("mlp", classes=10)
    with pytest.raises(TypeError, match="uint8 pixels or float32"):
        model.fit(x[:10].astype(np.float64), y[:10])
    with pytest.raises(ValueError, match=r"\(N, H, W\)"):
        model.fit(x[:10].reshape(10, 784), y[:10])
    with pytest.raises(ValueError, match="holds 9 labels for 10 images"):
        model.fit(x[:10], y[:9])
    with pytest.raises(TypeError, match="integer class ids"):
        model.fit(x[:10], y[:10].astype(np.float32))
    with pytest.raises(dltrain.Error, match=r"y\[0\] is 12, not a class id in \[0, 10\)"):
        model.fit(x[:10], np.full(10, 12))
    with pytest.raises(ValueError, match="negative"):
        model.fit(x[:10], np.full(10, -1))
    with pytest.raises(dltrain.Error) as e:
        model.predict(np.zeros((2, 32, 32, 3), np.uint8))
    assert "(2, 32, 32, 3)" in str(e.value) and "28, 28, 1" in str(e.value)
    assert model.predict(np.zeros((0, 28, 28, 1), np.uint8)).shape == (0, 10)


def test_library_errors_carry_their_hint(tmp_path):
    with pytest.raises(dltrain.Error) as e:
        dltrain.load(tmp_path / "nothing-here")
    assert e.value.hint and e.value.hint in str(e.value) and e.value.message in str(e.value)
    with pytest.raises(dltrain.Error, match="optim"):
        dltrain.Model("mlp").fit(np.zeros((4, 28, 28), np.uint8), np.arange(4) % 2, optimizer="sgd:lr=oops",
                                 run_dir=tmp_path / "r", verbose=0)
    assert not (tmp_path / "r").exists()  # refused before the run folder is made
    with pytest.raises(dltrain.Error, match="unknown device"):
        dltrain.Model("mlp").fit(np.zeros((4, 28, 28), np.uint8), np.arange(4) % 2, device="tpu", verbose=0)
