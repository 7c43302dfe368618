"""dltrain.Model: a Keras-like face on dltrain's Trainer. Training, evaluation and prediction run in
the C++ library (dltrain._core); this file checks arrays and shows progress."""
import numpy as np

from . import _core
from ._progress import ProgressBar


class History:
    """What fit returns, as Keras has it: ``history["loss"]``, ``["val_accuracy"]``, ... per epoch."""

    def __init__(self, epochs, run_dir, done):
        self.epoch = [e["epoch"] - 1 for e in epochs]
        keys = ["loss", "accuracy", "val_loss", "val_accuracy", "lr", "seconds"]
        self.history = {k: [e[k] for e in epochs] for k in keys if epochs and all(k in e for e in epochs)}
        self.run_dir = run_dir
        self.done = done

    def __repr__(self):
        return f"History(epochs={len(self.epoch)}, run_dir={self.run_dir!r})"


def _images(x, what):
    x = np.asarray(x)
    if x.dtype not in (np.uint8, np.float32):
        raise TypeError(f"{what} must be uint8 pixels or float32 values, not {x.dtype} "
                        f"(convert with {what}.astype(np.float32))")
    if x.ndim not in (3, 4):
        raise ValueError(f"{what} must be images (N, H, W) or (N, H, W, C), not shape {x.shape}")
    return np.ascontiguousarray(x)  # the same array when it already is: fit and predict read it in place


# Classes a model gets from its data's largest label when neither labels= nor classes= says.
MAX_CLASSES_FROM_LABELS = 65536


def _labels(y, what, n):
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim != 1 or not np.issubdtype(y.dtype, np.integer):
        raise TypeError(f"{what} must be integer class ids of shape (N,), not {y.dtype} {y.shape} "
                        "(one-hot labels: y.argmax(axis=1))")
    if len(y) != n:
        raise ValueError(f"{what} holds {len(y)} labels for {n} images")
    if len(y) and y.min() < 0:
        raise ValueError(f"{what} holds a negative class id ({y.min()})")
    if len(y) and y.max() > 2**31 - 1:
        raise ValueError(f"{what} holds the class id {y.max()}, beyond any model's classes")
    return y.astype(np.int64, copy=False)  # native int64: byte order and width never reach the C++ side


def _same_images(a, b):
    """Image shapes equal, (H, W) being (H, W, 1)."""
    return (a.shape[1:] + (1,))[:3] == (b.shape[1:] + (1,))[:3]


def _callback(cb):
    if callable(cb):
        return cb
    if hasattr(cb, "on_epoch_end"):
        return cb.on_epoch_end
    raise TypeError(f"a callback is a function (epoch, logs) or has on_epoch_end(epoch, logs); got {cb!r}")


class Model:
    """A network: a preset name ("cnn", "mlp", "lenet5") or the text format of `dltrain summary`.

    ``labels`` (or ``classes``) fixes the outputs; otherwise the first ``fit`` sizes them to its data.
    """

    def __init__(self, spec="cnn", *, input_shape=(28, 28, 1), classes=None, labels=None, seed=1):
        self._fixed_labels = labels is not None or classes is not None
        if labels is None:
            labels = [str(i) for i in range(10 if classes is None else int(classes))]
        if len(set(map(str, labels))) != len(labels):
            raise ValueError("labels must be distinct class names")
        self._seed = seed
        self._core = _core.Model(spec, [int(d) for d in input_shape], [str(l) for l in labels], seed)

    @classmethod
    def _wrap(cls, core):
        m = cls.__new__(cls)
        m._fixed_labels, m._seed, m._core = True, 1, core
        return m

    spec = property(lambda self: self._core.spec, doc="the network in the text format (or its preset name)")
    labels = property(lambda self: list(self._core.labels), doc="class names, index = class id")
    input_shape = property(lambda self: tuple(self._core.input_shape), doc="(H, W, C)")
    run_dir = property(lambda self: self._core.run_dir or None, doc="the run folder of the last fit")

    def summary(self, print_fn=print):
        print_fn(self._core.summary().rstrip("\n"))

    def fit(self, x, y, epochs=1, batch_size=32, optimizer="sgd:lr=0.01,momentum=0.9", *, grad_accum=1,
            schedule="constant",
            validation_data=None, seed=None, threads=0, device="auto", run_dir=None, resume=False, verbose=1,
            callbacks=()):
        """Train on arrays; each finished epoch is saved in ``run_dir`` (default runs/<model>-arrays-<time>).

        A second ``fit`` (with no ``run_dir``, or the same one) continues the same run for ``epochs``
        more, with the run's settings (optimizer, batch size, schedule, seed are those it started
        with); another ``run_dir`` starts a new run from the seed. ``resume=True`` continues the run
        in ``run_dir`` (e.g. after Ctrl-C) until ``epochs`` epochs in all are done. ``x`` is read in
        place until fit returns: do not change it meanwhile. uint8 images are
        pixels (scaled by 1/255); float32 images are used as they are. Ctrl-C stops at the next
        batch and raises KeyboardInterrupt; the last finished epoch stays resumable. ``device`` is
        `dltrain train --device`'s: "auto" (the CPU until the GPU path has been checked on a GPU),
        "cpu", "cuda" or "cuda:N" (a GPU that cannot be used is an error). ``grad_accum=K`` sums K
        micro-batches of ``batch_size`` per update, as `train --grad-accum`.
        """
        x = _images(x, "x")
        y = _labels(y, "y", len(x))
        xv = yv = None
        if validation_data is not None:
            if len(validation_data) != 2:
                raise ValueError("validation_data must be (x, y)")
            xv = _images(validation_data[0], "validation x")
            yv = _labels(validation_data[1], "validation y", len(xv))
            if not len(xv):
                raise ValueError("validation_data holds no images (leave it out to skip validation)")
            if not _same_images(xv, x):
                raise ValueError(f"validation x holds images of {xv.shape[1:]}, x of {x.shape[1:]}")
        if self._fixed_labels or self._core.run_dir or resume:
            names = self.labels
        else:  # sized to the data, as `dltrain train` sizes a preset to its dataset
            top = max([int(y.max()) if len(y) else 0] + ([int(yv.max())] if yv is not None and len(yv) else []))
            if top >= MAX_CLASSES_FROM_LABELS:
                raise ValueError(f"the labels go up to {top}: for a model with that many outputs, say so with "
                                 "dltrain.Model(..., classes=N) or labels=[...]")
            names = [str(i) for i in range(max(top + 1, 2))]
        bar = ProgressBar(verbose)
        hooks = [_callback(c) for c in callbacks]

        def on_event(kind, payload):
            if kind == "epoch_begin":
                bar.epoch_begin(*payload)
            elif kind == "step":
                bar.step(payload)
            else:
                bar.epoch_end(payload)
                logs = {k: payload[k] for k in ("loss", "accuracy", "val_loss", "val_accuracy", "lr") if k in payload}
                for hook in hooks:
                    hook(payload["epoch"] - 1, logs)

        before = self._core.epochs_done
        result = self._core.fit(x, y, xv, yv, names, int(epochs), int(batch_size), int(grad_accum), optimizer, schedule,
                                self._seed if seed is None else int(seed), int(threads),
                                str(run_dir) if run_dir else "", bool(resume), str(device), on_event)
        self._fixed_labels = True
        new = [e for e in result["history"] if e["epoch"] > before]  # this call's epochs, as Keras reports them
        return History(new, result["run_dir"], result["done"])

    def predict(self, x, batch_size=500, verbose=0):
        """Class probabilities, float32 (N, classes)."""
        return self._core.predict(_images(x, "x"), int(batch_size))

    def evaluate(self, x, y, batch_size=500, verbose=0, return_dict=False):
        """[loss, accuracy] (or a dict with return_dict=True) over labelled images."""
        x = _images(x, "x")
        r = self._core.evaluate(x, _labels(y, "y", len(x)), int(batch_size))
        return {"loss": r["loss"], "accuracy": r["accuracy"]} if return_dict else [r["loss"], r["accuracy"]]

    def save(self, path):
        """A model file like a run's model.safetensors (weights, architecture, labels, preprocessing)."""
        self._core.save(str(path))


def load(path):
    """A model file, a run folder, or the name of a fetched run."""
    return Model._wrap(_core.Model.load(str(path)))
