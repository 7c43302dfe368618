"""The training progress line: one line per epoch, redrawn in place (carriage returns, which
Jupyter and terminals both honour)."""
import sys
import time


def _metrics(d):
    text = f"loss {d['loss']:.4f}  accuracy {d['accuracy']:.4f}"
    if "val_loss" in d:
        text += f"  val_loss {d['val_loss']:.4f}  val_accuracy {d['val_accuracy']:.4f}"
    return text


class ProgressBar:
    """verbose=0: nothing; 1: a bar redrawn at most every 0.1 s; 2: one line per epoch."""

    width = 24

    def __init__(self, verbose=1, stream=None):
        self.verbose = verbose
        self.stream = stream or sys.stdout
        self._last = 0.0

    def _write(self, text):
        self.stream.write(text)
        self.stream.flush()

    def epoch_begin(self, epoch, epochs, steps):
        if self.verbose:
            self._write(f"Epoch {epoch}/{epochs}\n")

    def step(self, s):
        now = time.monotonic()
        if self.verbose != 1 or now - self._last < 0.1:
            return
        self._last = now
        done = self.width * s["step"] // max(s["steps"], 1)
        bar = "=" * done + (">" if done < self.width else "") + "." * max(self.width - done - 1, 0)
        self._write(f"\r{s['step']:>6}/{s['steps']} [{bar}] {_metrics(s)}  {s['seconds']:.1f}s")

    def epoch_end(self, e):
        if not self.verbose:
            return
        prefix = f"\r{e['steps']:>6}/{e['steps']} [{'=' * self.width}] " if self.verbose == 1 else ""
        self._write(f"{prefix}{_metrics(e)}  {e['seconds'] + e['val_seconds']:.1f}s\n")
