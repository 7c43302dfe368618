#!/usr/bin/env python3
"""Training epochs of `cnn` and `mlp` on Fashion-MNIST (60,000 images, SGD lr 0.01 momentum 0.9),
dltrain, PyTorch 2.x and Keras 3 side by side on this machine, in one run, same thread count.

Prints the CPU model, its measured FMA peak (build/bench/fma_peak), then per model and batch size
the fastest epoch of each, dltrain's speed-up, dltrain's GFLOP/s as a fraction of that peak, the
test accuracies and dltrain's peak RSS.

  tools/peers-venv.sh                       # once: PyTorch 2.x, TensorFlow + Keras 3 from PyPI
  cmake --build build && python3 bench/epoch_vs_pytorch.py [--epochs 2] [--batches 32,128,256]

The peers run in the virtual environment (--peers, default ../peers-venv next to the repository);
Debian's python3-torch 1.13 is added as an extra row when /usr/bin/python3 has it.
"""
import argparse
import gzip
import json
import os
import struct
import subprocess
import sys
import tempfile
import time

from machine import cpu_model

DATA = "/usr/share/datasets/fashion-mnist"
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TRAIN = 60000


def flop_per_epoch(model_name):
    """Multiply-adds x 2 for forward and backward (no input gradient for the first layer)."""
    if model_name == "cnn":  # the figure: 4.4 MFLOP per sample, 265 GFLOP per epoch
        return 265e9
    layers = [(784, 512), (512, 256), (256, 10)]
    macs = sum(i * o for i, o in layers)
    return 2 * TRAIN * (macs + macs + macs - layers[0][0] * layers[0][1])


def read_idx(path):
    import numpy as np
    with gzip.open(path, "rb") as f:
        data = f.read()
    magic, = struct.unpack(">I", data[:4])
    rank = magic & 0xFF
    dims = struct.unpack(">" + "I" * rank, data[4:4 + 4 * rank])
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * rank).reshape(dims)


def load():
    import numpy as np
    x = read_idx(f"{DATA}/train-images-idx3-ubyte.gz").astype(np.float32) / 255.0
    y = read_idx(f"{DATA}/train-labels-idx1-ubyte.gz").astype(np.int64)
    xt = read_idx(f"{DATA}/t10k-images-idx3-ubyte.gz").astype(np.float32) / 255.0
    yt = read_idx(f"{DATA}/t10k-labels-idx1-ubyte.gz").astype(np.int64)
    return x, y, xt, yt


def torch_epochs(model_name, threads, epochs, batch):
    import torch
    from torch import nn
    torch.set_num_threads(threads)
    torch.manual_seed(1)
    x, y, xt, yt = (torch.from_numpy(a) for a in load())
    x, xt = x.unsqueeze(1), xt.unsqueeze(1)
    if model_name == "cnn":
        model = nn.Sequential(nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                              nn.Linear(5408, 100), nn.ReLU(), nn.Linear(100, 10))
    else:
        model = nn.Sequential(nn.Flatten(), nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 256), nn.ReLU(),
                              nn.Linear(256, 10))
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    loss_fn = nn.CrossEntropyLoss()
    seconds = []
    for _ in range(epochs):
        start = time.perf_counter()
        perm = torch.randperm(len(x))
        model.train()
        for i in range(0, len(x), batch):
            idx = perm[i:i + batch]
            opt.zero_grad()
            loss = loss_fn(model(x[idx]), y[idx])
            loss.backward()
            opt.step()
        seconds.append(time.perf_counter() - start)
    model.eval()
    with torch.no_grad():
        acc = (model(xt).argmax(1) == yt).float().mean().item()
    return {"seconds": min(seconds), "accuracy": acc, "version": "PyTorch " + torch.__version__}


def keras_epochs(model_name, threads, epochs, batch):
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import tensorflow as tf
    tf.config.threading.set_intra_op_parallelism_threads(threads)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    import keras
    keras.utils.set_random_seed(1)
    x, y, xt, yt = load()
    x, xt = x[..., None], xt[..., None]
    if model_name == "cnn":
        layers = [keras.layers.Conv2D(32, 3, activation="relu"), keras.layers.MaxPooling2D(2),
                  keras.layers.Flatten(), keras.layers.Dense(100, activation="relu"), keras.layers.Dense(10)]
    else:
        layers = [keras.layers.Flatten(), keras.layers.Dense(512, activation="relu"),
                  keras.layers.Dense(256, activation="relu"), keras.layers.Dense(10)]
    model = keras.Sequential([keras.Input((28, 28, 1))] + layers)
    model.compile(optimizer=keras.optimizers.SGD(0.01, momentum=0.9),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])

    class Timer(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.start = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            seconds.append(time.perf_counter() - self.start)

    seconds = []
    model.fit(x, y, batch_size=batch, epochs=epochs, verbose=0, callbacks=[Timer()])
    _, acc = model.evaluate(xt, yt, verbose=0)
    return {"seconds": min(seconds), "accuracy": acc,
            "version": f"Keras {keras.__version__} / TF {tf.__version__}"}


def dltrain_epochs(binary, model_name, threads, epochs, batch):
    with tempfile.TemporaryDirectory() as runs:
        run = os.path.join(runs, "run")
        child = subprocess.Popen([binary, "train", "--model", model_name, "--data", "fashion-mnist", "--epochs",
                                  str(epochs), "--batch", str(batch), "--optim", "sgd:lr=0.01,momentum=0.9",
                                  "--threads", str(threads), "--run-dir", run, "--quiet"])
        _, status, usage = os.wait4(child.pid, 0)
        if status != 0:
            raise SystemExit(f"dltrain failed with status {status}")
        with open(os.path.join(run, "history.jsonl")) as f:
            history = [json.loads(line) for line in f]
    return {"seconds": min(h["seconds"] for h in history), "accuracy": history[-1]["val_accuracy"],
            "rss_mb": usage.ru_maxrss / 1024}


def peer(python, kind, model_name, threads, epochs, batch):
    if not python or not os.path.exists(python):
        return None
    out = subprocess.run([python, __file__, "--worker", kind, "--models", model_name, "--threads", str(threads),
                          "--epochs", str(epochs), "--batches", str(batch)],
                         capture_output=True, text=True)
    if out.returncode != 0:
        print(f"  ({kind} in {python} failed: {out.stderr.strip().splitlines()[-1:]})")
        return None
    return json.loads(out.stdout.strip().splitlines()[-1])


def fma_peak(threads):
    out = subprocess.run([os.path.join(ROOT, "build", "bench", "fma_peak"), str(threads)], capture_output=True,
                         text=True, check=True).stdout
    return float(out.strip().splitlines()[-1].split()[1])


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dltrain", default=os.path.join(ROOT, "build", "dltrain"))
    ap.add_argument("--peers", default=os.path.join(os.path.dirname(ROOT), "peers-venv", "bin", "python"))
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--models", default="cnn,mlp")
    ap.add_argument("--batches", default="32,128,256")
    ap.add_argument("--no-keras", action="store_true")
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        run = torch_epochs if args.worker == "torch" else keras_epochs
        print(json.dumps(run(args.models, args.threads, args.epochs, int(args.batches))))
        return
    peak = fma_peak(args.threads)
    print(f"{cpu_model()}, {args.threads} threads, measured FMA peak {peak:.0f} GFLOP/s; "
          f"Fashion-MNIST, SGD 0.01/0.9, best of {args.epochs} epochs")
    debian = "/usr/bin/python3"
    has_debian_torch = subprocess.run([debian, "-c", "import torch"], capture_output=True).returncode == 0
    versions = set()
    print(f"{'model':5} {'batch':>5} {'dltrain s':>9} {'%peak':>6} {'PyTorch s':>9} {'x':>6} {'Keras s':>8} {'x':>6}"
          f" {'dltrain acc':>11} {'PyTorch acc':>11} {'Keras acc':>9} {'RSS MB':>6}")
    for name in args.models.split(","):
        for batch in (int(b) for b in args.batches.split(",")):
            d = dltrain_epochs(args.dltrain, name, args.threads, args.epochs, batch)
            t = peer(args.peers, "torch", name, args.threads, args.epochs, batch)
            k = None if args.no_keras else peer(args.peers, "keras", name, args.threads, args.epochs, batch)
            pct = flop_per_epoch(name) / d["seconds"] / 1e9 / peak * 100

            def cols(p):
                if not p:
                    return f"{'-':>9} {'-':>6}"
                versions.add(p["version"])
                return f"{p['seconds']:9.2f} {p['seconds'] / d['seconds']:5.2f}x"
            print(f"{name:5} {batch:5} {d['seconds']:9.2f} {pct:5.0f}% {cols(t)} {cols(k)[1:]} {d['accuracy']:11.4f}"
                  f" {t['accuracy'] if t else float('nan'):11.4f} {k['accuracy'] if k else float('nan'):9.4f}"
                  f" {d['rss_mb']:6.0f}", flush=True)
            if has_debian_torch and batch == 32:
                old = peer(debian, "torch", name, args.threads, args.epochs, batch)
                if old:
                    print(f"{'':5} {'':5} {'':9} {'':6} {old['seconds']:9.2f} "
                          f"{old['seconds'] / d['seconds']:5.2f}x  ({old['version']}, Debian)")
    print("peers: " + "; ".join(sorted(versions)))
    print("seconds: the fastest epoch's training time (dltrain's history.jsonl `seconds`, evaluation excluded);"
          " x: peer seconds / dltrain seconds")


if __name__ == "__main__":
    sys.exit(main())
