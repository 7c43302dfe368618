#!/usr/bin/env python3
"""`dltrain push` to a loopback S3 server whose every connection is capped (tests/servers/s3.py:
moto with authentication behind a proxy that paces each connection's upload to --limit bytes/s,
5 MB/s by default, and counts what clients send), in one run on one machine:
- a run folder of --size MB (one large weights file plus small ones) pushed as one stream (-j 1)
  and with parts in parallel (-j --jobs), wall-clock seconds and the ratio;
- a push killed (SIGKILL) once the server holds some parts, then run again: what the second run
  sent beyond the bytes the server lacked, and how many bytes crossed twice in all (the parts in
  flight at the kill), in parts.

  python3 -m pip install 'moto[server]==5.2.5'
  cmake --build build && python3 bench/push_bench.py [--size 200] [--limit 5000000] [--jobs 8]
"""
import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DLTRAIN = os.path.join(ROOT, "build", "dltrain")
PART = 8 << 20  # dltrain push's default part size


def received(server):
    with urllib.request.urlopen(f"http://127.0.0.1:{server['control_port']}/") as r:
        return json.load(r)["received"]


def push(server, env, folder, prefix, jobs, quiet=True):
    cmd = [DLTRAIN, "push", folder, f"s3://runs/{prefix}/", "--endpoint", f"http://127.0.0.1:{server['proxy_port']}",
           "-j", str(jobs)] + (["-q"] if quiet else [])
    began = time.monotonic()
    subprocess.run(cmd, check=True, env=env)
    return time.monotonic() - began


def recorded_parts(cache):
    n = 0
    for name in os.listdir(os.path.join(cache, "push")) if os.path.isdir(os.path.join(cache, "push")) else []:
        if name.endswith(".json"):
            try:
                with open(os.path.join(cache, "push", name)) as f:
                    n += sum(len(e.get("parts", {})) for e in json.load(f)["files"].values())
            except (OSError, ValueError, KeyError):
                pass
    return n


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", type=int, default=200, help="MB in the run folder")
    ap.add_argument("--limit", type=int, default=5_000_000, help="bytes/s per connection")
    ap.add_argument("--jobs", type=int, default=8, help="parts in flight for the parallel push (8: push's default)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        os.makedirs(os.path.join(tmp, "s3root", "mnist"))
        with open(os.path.join(tmp, "s3root", "big.bin"), "wb") as f:
            f.write(os.urandom(1 << 20))
        server_proc = subprocess.Popen([sys.executable, os.path.join(ROOT, "tests", "servers", "s3.py"),
                                        os.path.join(tmp, "s3root"), "--limit", str(args.limit)],
                                       stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        try:
            server = json.loads(server_proc.stdout.readline())
            run = os.path.join(tmp, "run")
            os.makedirs(run)
            with open(os.path.join(run, "model.safetensors"), "wb") as f:
                for _ in range(args.size - 1):
                    f.write(os.urandom(1 << 20))
            for name in ("history.jsonl", "config.json", "report.html"):
                with open(os.path.join(run, name), "wb") as f:
                    f.write(os.urandom(300_000))
            size = sum(os.path.getsize(os.path.join(run, n)) for n in os.listdir(run))
            env = dict(os.environ, AWS_ACCESS_KEY_ID=server["access_key"], AWS_SECRET_ACCESS_KEY=server["secret_key"],
                       DLTRAIN_CACHE=os.path.join(tmp, "cache"))
            print(f"push of {size / 1e6:.0f} MB, each connection capped at {args.limit / 1e6:.1f} MB/s (loopback moto)")
            one = push(server, env, run, "one-stream", 1)
            print(f"  one stream (-j 1):        {one:6.1f} s  {size / one / 1e6:5.1f} MB/s")
            many = push(server, env, run, "parallel", args.jobs)
            print(f"  parallel parts (-j {args.jobs}):  {many:6.1f} s  {size / many / 1e6:5.1f} MB/s  "
                  f"-> {one / many:.1f}x one stream")

            # Killed once the server holds a few parts, then resumed.
            before = received(server)
            cmd = [DLTRAIN, "push", run, "s3://runs/resumed/", "--endpoint",
                   f"http://127.0.0.1:{server['proxy_port']}", "-j", str(args.jobs), "-q"]
            child = subprocess.Popen(cmd, env=env)
            while recorded_parts(env["DLTRAIN_CACHE"]) < max(2, args.jobs) and child.poll() is None:
                time.sleep(0.02)
            child.send_signal(signal.SIGKILL)
            child.wait()
            held = recorded_parts(env["DLTRAIN_CACHE"])
            time.sleep(3)  # what the killed push left in socket buffers still reaches the proxy: count it here
            first = received(server) - before
            began = time.monotonic()
            subprocess.run(cmd, check=True, env=env)
            second = received(server) - before - first
            # What the resumed run sent beyond the bytes the server lacked (its held parts are
            # counted from the record, which may lag the server by the parts finishing at the kill),
            # and the bytes that crossed twice: the parts in flight at the kill, and requests.
            small = size - os.path.getsize(os.path.join(run, "model.safetensors"))
            missing = os.path.getsize(os.path.join(run, "model.safetensors")) - held * PART + small
            resent = first + second - size
            print(f"  killed after {held} parts were held ({first / 1e6:.1f} MB sent), resumed in "
                  f"{time.monotonic() - began:.1f} s ({second / 1e6:.1f} MB):")
            print(f"    sent beyond what the server lacked: {max(0, second - missing) / 1e6:.2f} MB "
                  f"= {max(0, second - missing) / PART:.2f} parts")
            print(f"    sent twice in all: {resent / 1e6:.2f} MB = {resent / PART:.2f} parts of {PART >> 20} MiB "
                  f"(the parts in flight at the kill: S3 keeps no partial part)")
        finally:
            server_proc.terminate()
            server_proc.wait()


if __name__ == "__main__":
    main()
