#!/usr/bin/env python3
"""Loopback HTTP server with fault injection, for dltrain's fetch tests and benchmarks.

Serves the files of ROOT at /m/<modes>/<file>, where <modes> is a comma-separated list of:
  ok              plain; honours Range (206 + Content-Range) and If-Range, sends an ETag
  norange         ignores Range: always 200 with the whole file
  drop-N          closes every response's connection after N bytes of body
  dropfirst-N     closes the first data response (per file; not a bytes=0-0 probe) after N bytes
  flaky-K         answers 500 to the first K requests (per file)
  retryafter-S    answers 429 with "Retry-After: S" to the first request (per file)
  stall-S         stalls S seconds in the middle of the first data response (per file)
  corrupt         changes one byte of the body
  redirect        answers 302 to the same file without this mode
  slow-R          at most R bytes per second per connection
  html            sends Content-Type: text/html (a login or error page where a file was expected)
  htmldata        the same, but not on a bytes=0-0 probe (the page shows only when the data comes)
  size-N          announces the file as N bytes (Content-Length, Content-Range) but sends only the
                  bytes it has, then closes the connection
  probesize-N     only a bytes=0-0 probe's Content-Range says the file has N bytes
Prints "PORT <n>" once listening on 127.0.0.1. With --log FILE it appends one JSON line per
request: path, range, status, bytes sent.
"""
import argparse
import json
import os
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

counts = {}
counts_lock = threading.Lock()


def first_time(key):
    with counts_lock:
        counts[key] = counts.get(key, 0) + 1
        return counts[key]


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def record(self, status, sent, rng):
        if self.server.log:
            with counts_lock, open(self.server.log, "a") as f:
                f.write(json.dumps({"path": self.path, "range": rng, "status": status, "bytes": sent}) + "\n")

    def do_GET(self):
        m = re.match(r"^/m/([^/]*)/(.+)$", self.path.split("?")[0])
        if not m:
            self.send_error(404)
            return
        modes = {}
        for part in m.group(1).split(","):
            name, _, arg = part.partition("-")
            modes[name] = arg
        name = m.group(2)
        path = os.path.join(self.server.root, name)
        rng = self.headers.get("Range")
        if not os.path.isfile(path):
            self.send_error(404)
            self.record(404, 0, rng)
            return
        key = m.group(1) + "/" + name
        n = first_time(key)
        if "redirect" in modes:
            rest = ",".join(k + ("-" + v if v else "") for k, v in modes.items() if k != "redirect") or "ok"
            self.send_response(302)
            self.send_header("Location", f"/m/{rest}/{name}")
            self.send_header("Content-Length", "0")
            self.end_headers()
            self.record(302, 0, rng)
            return
        if "flaky" in modes and n <= int(modes["flaky"]):
            self.send_response(500)
            self.send_header("Content-Length", "0")
            self.end_headers()
            self.record(500, 0, rng)
            return
        if "retryafter" in modes and n == 1:
            self.send_response(429)
            self.send_header("Retry-After", modes["retryafter"] or "1")
            self.send_header("Content-Length", "0")
            self.end_headers()
            self.record(429, 0, rng)
            return
        size = os.path.getsize(path)
        etag = '"%x-%x"' % (size, int(os.path.getmtime(path)))
        if "size" in modes:
            size = int(modes["size"])
        start, end, status = 0, size - 1, 200
        if rng and "norange" not in modes and (self.headers.get("If-Range") in (None, etag)):
            r = re.match(r"bytes=(\d*)-(\d*)$", rng)
            if r:
                start = int(r.group(1)) if r.group(1) else 0
                end = min(int(r.group(2)), size - 1) if r.group(2) else size - 1
                status = 206
        self.send_response(status)
        self.send_header("Content-Length", str(end - start + 1))
        self.send_header("ETag", etag)
        self.send_header("Accept-Ranges", "none" if "norange" in modes else "bytes")
        probe = rng == "bytes=0-0"  # a client asking what the file is, not for its bytes
        if "html" in modes or ("htmldata" in modes and not probe):
            self.send_header("Content-Type", "text/html; charset=utf-8")
        if status == 206:
            total = modes["probesize"] if "probesize" in modes and probe else size
            self.send_header("Content-Range", f"bytes {start}-{end}/{total}")
        self.end_headers()
        length = end - start + 1
        drop = int(modes["drop"]) if "drop" in modes else None
        if "dropfirst" in modes and not probe and first_time(key + "#data") == 1:
            drop = int(modes["dropfirst"])
        stall = float(modes["stall"]) if "stall" in modes and not probe and first_time(key + "#stall") == 1 else 0
        rate = float(modes["slow"]) if "slow" in modes else 0
        sent = 0
        began = time.monotonic()
        with open(path, "rb") as f:
            f.seek(start)
            left = end - start + 1
            while left > 0:
                chunk = f.read(min(65536, left))
                if not chunk:  # size-N: the file ends before the announced length
                    self.record(status, sent, rng)
                    self.close_connection = True
                    self.connection.shutdown(2)
                    return
                if "corrupt" in modes and sent == 0 and chunk:
                    chunk = bytes([chunk[0] ^ 0xFF]) + chunk[1:]
                if drop is not None and sent + len(chunk) >= drop:
                    chunk = chunk[: max(0, drop - sent)]
                    try:
                        self.wfile.write(chunk)
                        self.wfile.flush()
                    except OSError:
                        pass
                    sent += len(chunk)
                    self.record(status, sent, rng)
                    self.close_connection = True
                    self.connection.shutdown(2)
                    return
                try:
                    self.wfile.write(chunk)
                except OSError:
                    self.record(status, sent, rng)
                    return
                sent += len(chunk)
                left -= len(chunk)
                if stall and sent >= (end - start + 1) // 2:
                    time.sleep(stall)
                    stall = 0
                if rate:
                    ahead = sent / rate - (time.monotonic() - began)
                    if ahead > 0:
                        time.sleep(ahead)
        self.record(status, sent, rng)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("root")
    ap.add_argument("--log")
    args = ap.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    server.root, server.log = args.root, args.log
    print("PORT", server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
