#!/usr/bin/env python3
"""Data-parallel training under Open MPI's mpirun on loopback (CTest mpi.*, label mpi):

  python3 tests/mpi_test.py DLTRAIN_BINARY CASE

CASE: same_as_one_process | resume | killed_rank | hung_rank. Each runs `dltrain train` under
`mpirun -np 2` on Fashion-MNIST (skipped, saying so, without it) and checks what the run folder
holds. CTest sets OMPI_ALLOW_RUN_AS_ROOT for CI, where the tests run as root.
"""
import json
import os
import signal
import struct
import subprocess
import sys
import tempfile
import time

import numpy as np

BINARY = sys.argv[1]
MPIRUN = ["mpirun", "-np", "2", "--oversubscribe"]
COMMON = ["train", "--model", "cnn", "--data", "fashion-mnist", "--threads", "1", "--no-validation", "--no-report"]


def weights(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    return {k: np.frombuffer(data[v["data_offsets"][0]:v["data_offsets"][1]], np.float32)
            for k, v in header.items() if k != "__metadata__"}


def max_difference(a, b):
    wa, wb = weights(a), weights(b)
    assert wa.keys() == wb.keys()
    return max(float(np.abs(wa[k] - wb[k]).max()) for k in wa)


def run(args, mpi=True, check=True, **kw):
    r = subprocess.run((MPIRUN if mpi else []) + [BINARY] + args, capture_output=True, text=True, timeout=600, **kw)
    if check and r.returncode != 0:
        sys.exit(f"failed ({r.returncode}): {' '.join(args)}\n{r.stdout}\n{r.stderr}")
    return r


def same_as_one_process(tmp):
    # 20 steps: 2 ranks x 16 images against 1 process x 32, from the same seed.
    run(COMMON + ["--limit", "640", "--batch", "16", "--run-dir", f"{tmp}/two"])
    run(COMMON + ["--limit", "640", "--batch", "32", "-q", "--run-dir", f"{tmp}/one"], mpi=False)
    run(COMMON + ["--limit", "640", "--batch", "16", "-q", "--run-dir", f"{tmp}/one16"], mpi=False)
    d = max_difference(f"{tmp}/one/model.safetensors", f"{tmp}/two/model.safetensors")
    far = max_difference(f"{tmp}/one16/model.safetensors", f"{tmp}/two/model.safetensors")
    print(f"2 x 16 vs 1 x 32 after 20 steps: max |difference| {d:.2e} (1 x 16 for 40 steps: {far:.2e})")
    assert d < 1e-5, d  # float summation order only
    assert far > 1e-3, far
    config = json.load(open(f"{tmp}/two/config.json"))
    assert config["ranks"] == 2
    # The ranks' weights were compared after the epoch (the run fails otherwise), and the folder holds
    # what a one-process run's holds (which rank wrote it is not visible from here).
    assert sorted(os.listdir(f"{tmp}/two")) == sorted(os.listdir(f"{tmp}/one"))


def resume(tmp):
    run(COMMON + ["--limit", "1280", "--batch", "16", "--epochs", "3", "-q", "--run-dir", f"{tmp}/straight"])
    run(COMMON + ["--limit", "1280", "--batch", "16", "--epochs", "1", "-q", "--run-dir", f"{tmp}/cut"])
    run(["train", "--resume", f"{tmp}/cut", "--epochs", "3", "-q"])
    assert max_difference(f"{tmp}/straight/model.safetensors", f"{tmp}/cut/model.safetensors") == 0.0
    assert max_difference(f"{tmp}/straight/checkpoint.safetensors", f"{tmp}/cut/checkpoint.safetensors") == 0.0
    alone = run(["train", "--resume", f"{tmp}/cut", "--epochs", "4"], mpi=False, check=False)
    assert alone.returncode == 1 and "trained on 2 processes" in alone.stderr and "mpirun -np 2" in alone.stderr, alone.stderr


def rank_pids(marker):
    """pid -> rank of the dltrain processes whose command line holds `marker`."""
    out = {}
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            cmd = open(f"/proc/{pid}/cmdline", "rb").read().split(b"\0")
            env = open(f"/proc/{pid}/environ", "rb").read().split(b"\0")
        except OSError:
            continue
        if cmd and cmd[0].endswith(b"dltrain") and marker.encode() in b" ".join(cmd):
            for e in env:
                if e.startswith(b"OMPI_COMM_WORLD_RANK="):
                    out[int(pid)] = int(e.split(b"=")[1])
    return out


def stop_a_rank(tmp, sig, env=None):
    """Starts a long run, sends `sig` to rank 1 once epoch 1 has finished; returns (exit code,
    seconds from the signal to mpirun's end, stderr)."""
    marker = f"{tmp}/long"
    p = subprocess.Popen(MPIRUN + [BINARY] + COMMON + ["--limit", "3200", "--batch", "16", "--epochs", "1000",
                                                        "--run-dir", marker],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    deadline = time.time() + 120
    while not os.path.exists(f"{marker}/history.csv") and time.time() < deadline:
        time.sleep(0.1)
    assert os.path.exists(f"{marker}/history.csv"), "no epoch finished"
    pids = rank_pids(marker)
    victim = [pid for pid, r in pids.items() if r == 1]
    assert victim, pids
    os.kill(victim[0], sig)
    t = time.time()
    try:
        _, err = p.communicate(timeout=90)
    finally:
        if p.poll() is None:
            p.kill()
        for pid in rank_pids(marker):
            os.kill(pid, signal.SIGKILL)
    return p.returncode, time.time() - t, err


def killed_rank(tmp):
    code, secs, err = stop_a_rank(tmp, signal.SIGKILL)
    print(f"rank 1 killed: mpirun exited {code} after {secs:.1f} s")
    assert code != 0 and secs < 60
    assert not rank_pids(f"{tmp}/long"), "a rank outlived the job"


def hung_rank(tmp):
    # A rank that stops answering (SIGSTOP: alive, silent): rank 0's all-reduce gives up after
    # DLTRAIN_COMM_TIMEOUT seconds with a message, and the job is aborted.
    env = dict(os.environ, DLTRAIN_COMM_TIMEOUT="3")
    code, secs, err = stop_a_rank(tmp, signal.SIGSTOP, env)
    print(f"rank 1 stopped: mpirun exited {code} after {secs:.1f} s")
    assert code != 0 and secs < 60, (code, secs, err)
    assert "did not answer within 3 s" in err, err


def main():
    case = sys.argv[2]
    if subprocess.run([BINARY, "doctor", "--no-smoke"], capture_output=True, text=True).stdout.find("not started by mpirun") < 0:
        print("SKIPPED: this dltrain has no MPI")
        return
    if not os.path.isdir("/usr/share/datasets/fashion-mnist") and not os.environ.get("DLTRAIN_FASHION_MNIST"):
        print("SKIPPED: Fashion-MNIST is not installed (apt-get install dataset-fashion-mnist)")
        return
    with tempfile.TemporaryDirectory() as tmp:
        globals()[case](tmp)
    print(case, "passed")


if __name__ == "__main__":
    main()
