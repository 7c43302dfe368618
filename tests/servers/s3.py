#!/usr/bin/env python3
"""An S3-compatible server on 127.0.0.1 for dltrain's fetch tests: moto in server mode with
authentication on, so requests need a valid SigV4 signature from a real (moto IAM) access key.

Creates bucket "data" with: small.txt; big.bin (ROOT/big.bin, for ranged parts); "many/" with 1005
tiny objects (two ListObjectsV2 pages); "mnist/" with the files in ROOT/mnist; and an empty bucket
"runs" for pushes. Besides the full-access key there is a read-only one (its policy allows
GetObject and ListBucket and denies PutObject and DeleteObject).

In front of moto runs a TCP proxy ("proxy_port") that counts the bytes clients send through it
and, with --limit BYTES_PER_S, caps each connection's upload rate (the push benchmark); its
count is read with a GET of http://127.0.0.1:<control_port>/. Prints one JSON line {"port",
"proxy_port", "control_port", "access_key", "secret_key", "ro_access_key", "ro_secret_key"} once
ready, then serves until killed.
"""
import argparse
import http.server
import json
import os
import socket
import threading
import time

os.environ["INITIAL_NO_AUTH_ACTION_COUNT"] = "3"  # user, key and policy are made unsigned; then auth
import boto3  # noqa: E402
from moto.server import ThreadedMotoServer  # noqa: E402


class Proxy:
    """Forwards TCP connections to moto, counting (and optionally pacing) what clients send."""

    def __init__(self, upstream_port, limit):
        self.upstream_port, self.limit = upstream_port, limit
        self.received = 0
        self.lock = threading.Lock()
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self.accept, daemon=True).start()

    def accept(self):
        while True:
            client, _ = self.sock.accept()
            upstream = socket.create_connection(("127.0.0.1", self.upstream_port))
            threading.Thread(target=self.pipe, args=(client, upstream, True), daemon=True).start()
            threading.Thread(target=self.pipe, args=(upstream, client, False), daemon=True).start()

    def pipe(self, src, dst, counted):
        began, moved = time.monotonic(), 0
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                if counted:
                    with self.lock:
                        self.received += len(data)
                    moved += len(data)
                    if self.limit:  # this connection's pace: never ahead of limit bytes/s
                        ahead = moved / self.limit - (time.monotonic() - began)
                        if ahead > 0:
                            time.sleep(ahead)
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass


def control_server(proxy):
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            with proxy.lock:
                body = json.dumps({"received": proxy.received}).encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server.server_address[1]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("root")
    parser.add_argument("--limit", type=int, default=0, help="bytes/s per connection through the proxy")
    args = parser.parse_args()
    root = args.root
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    url = f"http://127.0.0.1:{port}"
    iam = boto3.client("iam", endpoint_url=url, region_name="us-east-1", aws_access_key_id="setup",
                       aws_secret_access_key="setup")
    iam.create_user(UserName="dltrain-test")
    key = iam.create_access_key(UserName="dltrain-test")["AccessKey"]
    iam.put_user_policy(UserName="dltrain-test", PolicyName="all", PolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}))
    s3 = boto3.client("s3", endpoint_url=url, region_name="us-east-1", aws_access_key_id=key["AccessKeyId"],
                      aws_secret_access_key=key["SecretAccessKey"])
    iam = boto3.client("iam", endpoint_url=url, region_name="us-east-1", aws_access_key_id=key["AccessKeyId"],
                       aws_secret_access_key=key["SecretAccessKey"])  # the free calls are spent: sign from here on
    iam.create_user(UserName="dltrain-reader")
    ro = iam.create_access_key(UserName="dltrain-reader")["AccessKey"]
    iam.put_user_policy(UserName="dltrain-reader", PolicyName="read-only", PolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": ["s3:GetObject", "s3:ListBucket", "s3:ListBucketMultipartUploads",
                                           "s3:ListMultipartUploadParts"], "Resource": "*"},
            {"Effect": "Deny", "Action": ["s3:PutObject", "s3:DeleteObject"], "Resource": "*"}]}))
    s3.create_bucket(Bucket="data")
    s3.create_bucket(Bucket="runs")
    s3.put_object(Bucket="data", Key="small.txt", Body=b"hello from s3\n")
    with open(os.path.join(root, "big.bin"), "rb") as f:
        s3.put_object(Bucket="data", Key="big.bin", Body=f.read())
    for i in range(1005):
        s3.put_object(Bucket="data", Key=f"many/part {i:04d}+x.txt", Body=f"{i}\n".encode())
    for name in sorted(os.listdir(os.path.join(root, "mnist"))):
        with open(os.path.join(root, "mnist", name), "rb") as f:
            s3.put_object(Bucket="data", Key=f"mnist/{name}", Body=f.read())
    proxy = Proxy(port, args.limit)
    print(json.dumps({"port": port, "proxy_port": proxy.port, "control_port": control_server(proxy),
                      "access_key": key["AccessKeyId"], "secret_key": key["SecretAccessKey"],
                      "ro_access_key": ro["AccessKeyId"], "ro_secret_key": ro["SecretAccessKey"]}), flush=True)
    while True:
        time.sleep(3600)


if __name__ == "__main__":
    main()
