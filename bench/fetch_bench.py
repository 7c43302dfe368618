#!/usr/bin/env python3
"""dltrain fetch on loopback, the figures the fetch issue asks for, in one run:
  1. a 200 MB object from a server limited to 5 MB/s per connection: one stream vs parallel parts;
  2. the same download killed at about 50%, then resumed: bytes the second run transfers beyond
     what was still missing;
  3. no rate limit: dltrain fetch vs curl on the same file.
Uses tests/servers/http_faults.py. Usage: bench/fetch_bench.py [--dltrain build/dltrain] [--mb 200]
"""
import argparse
import json
import os
import signal
import subprocess
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def sent(log, since=0):
    total = 0
    with open(log) as f:
        for i, line in enumerate(f):
            if i >= since:
                total += json.loads(line)["bytes"]
    return total


def lines(log):
    with open(log) as f:
        return sum(1 for _ in f)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dltrain", default="build/dltrain")
    ap.add_argument("--mb", type=int, default=200)
    ap.add_argument("--parts", type=int, default=8)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as work:
        size = args.mb * 1_000_000
        with open(os.path.join(work, "big.bin"), "wb") as f:
            f.write(os.urandom(size))
        log = os.path.join(work, "log.jsonl")
        open(log, "w").close()
        server = subprocess.Popen(["python3", os.path.join(HERE, "..", "tests", "servers", "http_faults.py"), work,
                                   "--log", log], stdout=subprocess.PIPE, text=True)
        port = server.stdout.readline().split()[1]
        url = f"http://127.0.0.1:{port}/m/%s/big.bin"

        def fetch(mode, cache, *extra):
            env = dict(os.environ, DLTRAIN_CACHE=os.path.join(work, cache))
            start = time.perf_counter()
            subprocess.run([args.dltrain, "fetch", url % mode, "-q", *extra], env=env, check=True)
            return time.perf_counter() - start

        try:
            print(f"{args.mb} MB object on 127.0.0.1")
            # First, while the page cache is clean: no rate limit, one stream, best of three each.
            best_curl = best_dl = 1e9
            for i in range(3):
                start = time.perf_counter()
                subprocess.run(["curl", "-s", "-o", os.path.join(work, "curl.out"), url % "ok"], check=True)
                best_curl = min(best_curl, time.perf_counter() - start)
                os.remove(os.path.join(work, "curl.out"))
                best_dl = min(best_dl, fetch("ok", f"c0-{i}", "--part-size", str(1 << 34)))
                subprocess.run(["rm", "-rf", os.path.join(work, f"c0-{i}")], check=True)
            print(f"  unlimited, one stream: curl {best_curl:.2f} s, dltrain fetch {best_dl:.2f} s (incl. SHA-256, "
                  f"fsync and publish) -> dltrain at {100 * best_curl / best_dl:.0f}% of curl's throughput")

            one = fetch("slow-5000000", "c1", "--part-size", str(1 << 34))
            many = fetch("slow-5000000", "c2", "--part-size", str(8 << 20), "--concurrency", str(args.parts))
            print(f"  5 MB/s per connection: one stream {one:.1f} s, {args.parts} parallel parts {many:.1f} s "
                  f"-> {one / many:.1f}x")

            part = 8 << 20
            env = dict(os.environ, DLTRAIN_CACHE=os.path.join(work, "c3"))
            first_line = lines(log)
            p = subprocess.Popen([args.dltrain, "fetch", url % "slow-5000000", "-q", "--part-size", str(part),
                                  "--concurrency", str(args.parts)], env=env)
            while sent(log, first_line) < size // 2 and p.poll() is None:
                time.sleep(0.05)
            time.sleep(0.5)  # the log is written when a response ends; let in-flight parts run on a little
            p.send_signal(signal.SIGKILL)
            p.wait()
            time.sleep(3)  # the server logs the killed run's cut responses when it notices the closed sockets
            received = sent(log, first_line)
            second_line = lines(log)
            fetch("slow-5000000", "c3", "--part-size", str(part), "--concurrency", str(args.parts))
            second = sent(log, second_line)
            print(f"  killed (SIGKILL) after {received / 1e6:.0f} MB received; the resumed run transferred "
                  f"{second / 1e6:.1f} MB, {(second - (size - received)) / 1e6:.1f} MB = "
                  f"{(second - (size - received)) / part:.2f} parts ({part >> 20} MiB) beyond what was missing")
        finally:
            server.terminate()


if __name__ == "__main__":
    main()
