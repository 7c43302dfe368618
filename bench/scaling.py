#!/usr/bin/env python3
"""Data-parallel scaling on this machine, in one run: a `cnn` epoch on Fashion-MNIST (60,000
images, global batch 64, SGD 0.01/0.9) as 1 process x 2 threads and as 2 processes x 1 thread
(`mpirun -np 2`, batch 32 each), and what the gradient all-reduce costs per step.

  cmake --workflow --preset release && python3 bench/scaling.py [--epochs 2] [--rounds 2]

Epoch seconds are history.csv's (training steps only); the fastest epoch of each counts. The
all-reduce time is what rank 0 spent in it (waiting for the other rank included) and the exchange
itself (at each step the least any rank spent), from `dltrain train`'s closing line. Root needs
OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1.
"""
import argparse
import os
import re
import subprocess
import tempfile

from machine import cpu_model, epoch_seconds

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--binary", default=os.path.join(ROOT, "build", "dltrain"))
    a = ap.parse_args()
    common = ["train", "--model", "cnn", "--data", "fashion-mnist", "--epochs", str(a.epochs), "--no-validation",
              "--no-report"]
    one, two, comm = [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(a.rounds):
            subprocess.run([a.binary] + common + ["--batch", "64", "--threads", "2", "-q", "--run-dir", f"{tmp}/one{r}"],
                           check=True)
            one += epoch_seconds(f"{tmp}/one{r}")
            out = subprocess.run(["mpirun", "-np", "2", "--oversubscribe", "--bind-to", "core", a.binary] + common +
                                 ["--batch", "32", "--threads", "1", "--run-dir", f"{tmp}/two{r}"],
                                 check=True, capture_output=True, text=True).stdout
            two += epoch_seconds(f"{tmp}/two{r}")
            m = re.search(r"All-reduce of ([\d,]+) gradients: ([\d.]+) ms per step, ([\d.]+)%.*"
                          r"the exchange ([\d.]+) ms, ([\d.]+)%", out)
            comm.append((m.group(1), float(m.group(2)), float(m.group(3)), float(m.group(4)), float(m.group(5))))
    o, t = min(one), min(two)
    print(f"{cpu_model()}; cnn on Fashion-MNIST, global batch 64, {a.epochs} epochs x {a.rounds} rounds")
    print(f"1 process x 2 threads: {o:.3f} s/epoch; 2 processes x 1 thread: {t:.3f} s/epoch "
          f"({o / t:.2f}x; all epochs {', '.join(f'{s:.2f}' for s in one)} | {', '.join(f'{s:.2f}' for s in two)})")
    best = min(comm, key=lambda c: c[1])
    print(f"all-reduce of {best[0]} floats per step on rank 0: {best[1]:.2f} ms, {best[2]:.1f}% of the epoch; "
          f"the exchange itself (the least any rank spent, step by step): {best[3]:.2f} ms, {best[4]:.1f}%; "
          f"the rest is waiting for the slower rank")
    print("  each round (rank 0, exchange): " + ", ".join(f"{c[1]:.2f} / {c[3]:.2f} ms" for c in comm))


if __name__ == "__main__":
    main()
