#!/usr/bin/env python3
"""A loopback stand-in for Google Drive's download flow, for dltrain's fetch tests.

  /uc?id=small&export=download    the file itself (Content-Disposition: attachment)
  /uc?id=large&export=download    the large-file warning page: a form id="download-form" whose
                                  action and hidden inputs (id, export, confirm, uuid) lead to
                                  /download, plus a session cookie that /download requires
  /download?id=large&...          the file (honours Range), only with the cookie and the uuid
  /uc?id=quota&export=download    the "Too many users have viewed or downloaded" page
  /uc?id=private&export=download  a sign-in page, as Drive shows for files that are not shared
Files come from ROOT (small.bin, large.bin). Prints "PORT <n>" once listening.
"""
import os
import re
import sys
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

TOKEN = uuid.uuid4().hex


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def page(self, status, html, cookie=None):
        body = html.encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        if cookie:
            self.send_header("Set-Cookie", cookie)
        self.end_headers()
        self.wfile.write(body)

    def file(self, name):
        path = os.path.join(self.server.root, name)
        size = os.path.getsize(path)
        start, end, status = 0, size - 1, 200
        r = re.match(r"bytes=(\d+)-(\d*)$", self.headers.get("Range", ""))
        if r:
            start, end, status = int(r.group(1)), int(r.group(2)) if r.group(2) else size - 1, 206
        self.send_response(status)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Disposition", f'attachment; filename="{name}"')
        self.send_header("Content-Length", str(end - start + 1))
        self.send_header("ETag", '"v1"')
        if status == 206:
            self.send_header("Content-Range", f"bytes {start}-{end}/{size}")
        self.end_headers()
        with open(path, "rb") as f:
            f.seek(start)
            self.wfile.write(f.read(end - start + 1))

    def do_GET(self):
        url = urlparse(self.path)
        q = {k: v[0] for k, v in parse_qs(url.query).items()}
        port = self.server.server_address[1]
        if url.path == "/uc" and q.get("export") == "download":
            fid = q.get("id")
            if fid == "small":
                return self.file("small.bin")
            if fid == "large":
                return self.page(200, f"""<!DOCTYPE html><html><head><title>Google Drive - Virus scan warning</title></head>
<body><p>Google Drive can't scan this file for viruses.</p>
<form id="download-form" action="http://127.0.0.1:{port}/download" method="get">
<input type="submit" value="Download anyway"/>
<input type="hidden" name="id" value="large">
<input type="hidden" name="export" value="download">
<input type="hidden" name="confirm" value="t">
<input type="hidden" name="uuid" value="{TOKEN}">
</form></body></html>""", cookie=f"download_warning_large={TOKEN}; Path=/")
            if fid == "quota":
                return self.page(200, "<html><body><p>Sorry, you can't view or download this file at this time.</p>"
                                      "<p>Too many users have viewed or downloaded this file recently. Please try "
                                      "accessing the file again later.</p></body></html>")
            return self.page(200, '<html><body><a href="https://accounts.google.com/ServiceLogin">Sign in</a>'
                                  "</body></html>")
        if url.path == "/download" and q.get("id") == "large":
            if q.get("uuid") != TOKEN or f"download_warning_large={TOKEN}" not in self.headers.get("Cookie", ""):
                return self.page(403, "<html><body>Forbidden</body></html>")
            return self.file("large.bin")
        self.page(404, "<html><body>Not found</body></html>")


def main():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    server.root = sys.argv[1]
    print("PORT", server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
