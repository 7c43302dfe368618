"""dltrain in Python: the same engine, cache and run folders as the `dltrain` program.

    import dltrain
    (x, y), (xt, yt) = dltrain.datasets.load("fashion-mnist")
    model = dltrain.Model("cnn")
    model.fit(x, y, epochs=5, validation_data=(xt, yt))
    model.predict(xt[:10])

In IPython or Jupyter, ``%load_ext dltrain`` adds the ``%%cu`` cell magic and ``%dltrain``.
"""
import json as _json

from . import _core, datasets
from ._core import Error
from .model import History, Model, load

__version__ = "0.1.0"
__all__ = ["Error", "History", "Model", "datasets", "doctor", "fetch", "load", "presets", "report"]


def doctor(smoke=True):
    """What this machine offers, as `dltrain doctor` finds it: CPU ISA and kernels, GPUs, nvcc.

    With ``smoke=True`` a GPU, when present, also runs a small test kernel.
    """
    return _json.loads(_core.doctor_json(smoke))


def fetch(uri, name=None, *, endpoint=None, region=None, offline=False, no_sign=False, sha256=None, extract=False):
    """Fetch a dataset name, s3:// URI, Drive link, URL or file into dltrain's cache; returns its folder.

    The same engine as `dltrain fetch`: resumable, verified, shared cache.
    """
    return _core.fetch(uri, name or "", endpoint or "", region or "", offline, no_sign, sha256 or "", extract)


def presets():
    """The built-in networks: {name: description}."""
    return dict(_core.presets())


def report(run_dir, data=None):
    """Write a run folder's report.html (curves, confusion matrix, samples); returns its path.

    A run that trained on arrays evaluates on ``data=(x_test, y_test)`` (uint8 images), since its
    test images are not on disk.
    """
    from .model import _images, _labels

    if data is None:
        return _core.write_report(str(run_dir), None, None)
    if len(data) != 2:
        raise ValueError("data must be (x_test, y_test)")
    x = _images(data[0], "x_test")
    return _core.write_report(str(run_dir), x, _labels(data[1], "y_test", len(x)))


def load_ipython_extension(ipython):
    """``%load_ext dltrain``: registers ``%%cu`` and ``%dltrain``."""
    from .magics import register

    register(ipython)
