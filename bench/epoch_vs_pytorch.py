#!/usr/bin/env python3
"""One training epoch of `cnn` and `mlp` on Fashion-MNIST (60,000 images, batch 32,
SGD lr 0.01 momentum 0.9), dltrain and PyTorch side by side on this machine, same thread count.

Prints seconds per epoch for each, the ratio, dltrain's peak RSS, and both test accuracies.
Usage: bench/epoch_vs_pytorch.py [--dltrain build/dltrain] [--threads 2] [--epochs 1]
PyTorch: Debian's python3-torch (run with /usr/bin/python3); its BLAS is OpenBLAS when
libopenblas0-pthread is installed (this script puts it first and pins it to one thread per op
pool, as the comparison requires).
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

DATA = "/usr/share/datasets/fashion-mnist"
OPENBLAS = "/usr/lib/x86_64-linux-gnu/openblas-pthread"


def read_idx(path):
    import numpy as np
    with gzip.open(path, "rb") as f:
        data = f.read()
    magic, = struct.unpack(">I", data[:4])
    rank = magic & 0xFF
    dims = struct.unpack(">" + "I" * rank, data[4:4 + 4 * rank])
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * rank).reshape(dims)


def torch_epochs(model_name, threads, epochs):
    import numpy as np
    import torch
    from torch import nn
    torch.set_num_threads(threads)
    torch.manual_seed(1)
    x = torch.from_numpy(read_idx(f"{DATA}/train-images-idx3-ubyte.gz").astype(np.float32) / 255.0).unsqueeze(1)
    y = torch.from_numpy(read_idx(f"{DATA}/train-labels-idx1-ubyte.gz").astype(np.int64))
    xt = torch.from_numpy(read_idx(f"{DATA}/t10k-images-idx3-ubyte.gz").astype(np.float32) / 255.0).unsqueeze(1)
    yt = torch.from_numpy(read_idx(f"{DATA}/t10k-labels-idx1-ubyte.gz").astype(np.int64))
    if model_name == "cnn":
        model = nn.Sequential(nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                              nn.Linear(5408, 100), nn.ReLU(), nn.Linear(100, 10))
        for m in (model[0], model[4]):
            nn.init.kaiming_uniform_(m.weight, nonlinearity="relu")
            nn.init.zeros_(m.bias)
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
        for i in range(0, len(x), 32):
            idx = perm[i:i + 32]
            opt.zero_grad()
            loss = loss_fn(model(x[idx]), y[idx])
            loss.backward()
            opt.step()
        seconds.append(time.perf_counter() - start)
    model.eval()
    with torch.no_grad():
        acc = (model(xt).argmax(1) == yt).float().mean().item()
    return min(seconds), acc


def dltrain_epochs(binary, model_name, threads, epochs):
    with tempfile.TemporaryDirectory() as runs:
        run = os.path.join(runs, "run")
        child = subprocess.Popen([binary, "train", "--model", model_name, "--data", "fashion-mnist", "--epochs",
                                  str(epochs), "--batch", "32", "--optim", "sgd:lr=0.01,momentum=0.9", "--threads",
                                  str(threads), "--run-dir", run, "--quiet"])
        _, status, usage = os.wait4(child.pid, 0)
        if status != 0:
            raise SystemExit(f"dltrain failed with status {status}")
        with open(os.path.join(run, "history.jsonl")) as f:
            history = [json.loads(line) for line in f]
    return min(h["seconds"] for h in history), history[-1]["val_accuracy"], usage.ru_maxrss / 1024


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dltrain", default="build/dltrain")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--models", default="cnn,mlp")
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:  # runs in a child so PyTorch gets the OpenBLAS environment
        print(json.dumps(torch_epochs(args.worker, args.threads, args.epochs)))
        return
    env = dict(os.environ, LD_LIBRARY_PATH=OPENBLAS, OPENBLAS_NUM_THREADS="1")
    print(f"one epoch of Fashion-MNIST (60,000 images), batch 32, SGD 0.01/0.9, {args.threads} threads")
    print(f"{'model':6} {'dltrain s':>10} {'PyTorch s':>10} {'speed-up':>9} {'dltrain acc':>12} {'PyTorch acc':>12}"
          f" {'dltrain RSS':>12}")
    for name in args.models.split(","):
        d_sec, d_acc, rss_mb = dltrain_epochs(args.dltrain, name, args.threads, args.epochs)
        out = subprocess.run(["/usr/bin/python3", __file__, "--worker", name, "--threads", str(args.threads),
                              "--epochs", str(args.epochs)], env=env, check=True, capture_output=True, text=True)
        t_sec, t_acc = json.loads(out.stdout.strip().splitlines()[-1])
        print(f"{name:6} {d_sec:10.2f} {t_sec:10.2f} {t_sec / d_sec:8.2f}x {d_acc:12.4f} {t_acc:12.4f}"
              f" {rss_mb:9.0f} MB")
    print("seconds: training time of the fastest epoch (dltrain's history.jsonl `seconds`, evaluation excluded)")


if __name__ == "__main__":
    sys.exit(main())
