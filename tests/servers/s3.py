#!/usr/bin/env python3
"""An S3-compatible server on 127.0.0.1 for dltrain's fetch tests: moto in server mode with
authentication on, so requests need a valid SigV4 signature from a real (moto IAM) access key.

Creates bucket "data" with: small.txt; big.bin (ROOT/big.bin, for ranged parts); "many/" with 1005
tiny objects (two ListObjectsV2 pages); "mnist/" with the files in ROOT/mnist. Prints one JSON
line {"port", "access_key", "secret_key"} once ready, then serves until killed.
"""
import json
import os
import socket
import sys
import time

os.environ["INITIAL_NO_AUTH_ACTION_COUNT"] = "3"  # user, key and policy are made unsigned; then auth
import boto3  # noqa: E402
from moto.server import ThreadedMotoServer  # noqa: E402


def main():
    root = sys.argv[1]
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
    s3.create_bucket(Bucket="data")
    s3.put_object(Bucket="data", Key="small.txt", Body=b"hello from s3\n")
    with open(os.path.join(root, "big.bin"), "rb") as f:
        s3.put_object(Bucket="data", Key="big.bin", Body=f.read())
    for i in range(1005):
        s3.put_object(Bucket="data", Key=f"many/part {i:04d}+x.txt", Body=f"{i}\n".encode())
    for name in sorted(os.listdir(os.path.join(root, "mnist"))):
        with open(os.path.join(root, "mnist", name), "rb") as f:
            s3.put_object(Bucket="data", Key=f"mnist/{name}", Body=f.read())
    print(json.dumps({"port": port, "access_key": key["AccessKeyId"], "secret_key": key["SecretAccessKey"]}), flush=True)
    while True:
        time.sleep(3600)


if __name__ == "__main__":
    main()
