#!/usr/bin/env python3
"""The Python module against the dltrain program on this machine, in one run: a `cnn` epoch on
Fashion-MNIST (60,000 images, batch 32, SGD 0.01/0.9, same threads and seed) trained by
`dltrain train` and by `dltrain.Model.fit`, and predicting the 10,000 test images from NumPy
(`Model.predict`) against `dltrain eval` of the same model file (the library's evaluate, which the
CLI's eval runs, timed inside the process, and the whole CLI command).

  cmake --workflow --preset release && python3 bench/python_vs_cli.py [--epochs 2] [--rounds 2] [--threads 2]

Epoch seconds are the library's own measure of the training steps (history.csv's `seconds`), the
same clock for both; the fastest epoch of each side counts. The targets: the Python path adds at
most 2% to an epoch, and predict is within 5% of eval.
"""
import argparse
import os
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "build", "python"))
import dltrain  # noqa: E402
from machine import cpu_model, epoch_seconds  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=2, help="CLI and Python alternately, this many times each")
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--binary", default=os.path.join(ROOT, "build", "dltrain"))
    a = ap.parse_args()
    (x, y), (xt, yt) = dltrain.datasets.load("fashion-mnist")
    print(f"{cpu_model()}, {a.threads} threads; cnn on Fashion-MNIST, batch 32, {a.epochs} epochs x {a.rounds} rounds")
    cli, py = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(a.rounds):
            d = os.path.join(tmp, f"cli{r}")
            subprocess.run([a.binary, "train", "--model", "cnn", "--data", "fashion-mnist", "--epochs", str(a.epochs),
                            "--threads", str(a.threads), "--no-validation", "--no-report", "-q", "--run-dir", d], check=True)
            cli += epoch_seconds(d)
            h = dltrain.Model("cnn").fit(x, y, epochs=a.epochs, threads=a.threads, run_dir=os.path.join(tmp, f"py{r}"),
                                         verbose=0)
            py += h.history["seconds"]
        model_file = os.path.join(tmp, "py0", "model.safetensors")
        model = dltrain.load(model_file)
        predict, evaluate, command = [], [], []
        for _ in range(5):
            t = time.perf_counter()
            model.predict(xt)
            predict.append(time.perf_counter() - t)
            t = time.perf_counter()
            model.evaluate(xt, yt)
            evaluate.append(time.perf_counter() - t)
            t = time.perf_counter()
            subprocess.run([a.binary, "eval", model_file, "--data", "fashion-mnist"], check=True, capture_output=True)
            command.append(time.perf_counter() - t)
    c, p = min(cli), min(py)
    print(f"epoch: CLI {c:.3f} s, Python {p:.3f} s: Python adds {100 * (p / c - 1):+.1f}%"
          f" (all epochs: CLI {', '.join(f'{s:.3f}' for s in cli)}; Python {', '.join(f'{s:.3f}' for s in py)})")
    print(f"10,000 test images: predict from NumPy {min(predict) * 1e3:.1f} ms, the library's eval {min(evaluate) * 1e3:.1f} ms "
          f"({100 * (min(predict) / min(evaluate) - 1):+.1f}%), `dltrain eval` command {min(command) * 1e3:.1f} ms "
          "(with its start and reading the dataset)")


if __name__ == "__main__":
    main()
