#!/usr/bin/env python3
"""A loopback stand-in for Google Drive's download flow, for dltrain's fetch tests.

  /uc?id=small&export=download    the file itself (Content-Disposition: attachment)
  /uc?id=large&export=download    the large-file warning page: a form id="download-form" whose
                                  action and hidden inputs (id, export, confirm, uuid) lead to
                                  /download, plus a session cookie that /download requires
  /download?id=large&...          the file (honours Range), only with the cookie and the uuid
  /uc?id=quota&export=download    the "Too many users have viewed or downloaded" page
  /uc?id=private&export=download  a sign-in page, as Drive shows for files that are not shared
  /drive/folders/photos            a shared folder's page: its listing in window['_DRIVE_ivd'] (a
                                  JavaScript string of \\xNN-escaped JSON, UTF-8 names byte by byte)
                                  and <title>photos - Google Drive</title>: two files (one named
                                  in UTF-8), sub-folder "cats", and sub-folder "many" of 60 files
  /drive/folders/many             shows only the first 50 of its 60 entries, as Drive's page does
  /embeddedfolderview?id=many     all 60, as flip-entry divs
  /drive/folders/private          a sign-in page (a folder that is not shared)
  /uc?id=n-...&export=download    a folder's file: "content of <name>\n"
Files come from ROOT (small.bin, large.bin). Prints "PORT <n>" once listening.
"""
import html
import json
import os
import re
import sys
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

TOKEN = uuid.uuid4().hex
FOLDER = "application/vnd.google-apps.folder"
# Folder id -> (title, [(id, name, mime)]); files' ids start with "n-".
FOLDERS = {
    "photos": ("photos", [("n-readme", "readme.txt", "text/plain"), ("n-cafe", "caf\u00e9 & bar.txt", "text/plain"),
                          ("cats", "cats", FOLDER), ("many", "many", FOLDER)]),
    "cats": ("cats", [("n-tom", "tom.txt", "text/plain")]),
    "many": ("many", [(f"n-item{i:02d}", f"item {i:02d}.txt", "text/plain") for i in range(60)]),
}
NAMES = {fid: name for _, entries in FOLDERS.values() for fid, name, _ in entries}


def js_escaped(text):
    """A JavaScript string body as Drive writes it: every byte outside [A-Za-z0-9 ] as \\xNN."""
    return "".join(chr(b) if chr(b).isalnum() and b < 128 or b == 32 else "\\x%02x" % b for b in text.encode())


def folder_page(fid):
    title, entries = FOLDERS[fid]
    shown = entries[:50]  # Drive's page lists at most 50 entries
    data = json.dumps([[[e[0], [fid], e[1], e[2], 0] for e in shown], None, None, 1], ensure_ascii=False)
    return (f"<!DOCTYPE html><html><head><title>{title} - Google Drive</title></head><body><div id=app></div>"
            f"<script nonce=x>window['_DRIVE_ivd'] = '{js_escaped(data)}';</script></body></html>")


def embedded_view(fid):
    title, entries = FOLDERS[fid]
    rows = []
    for eid, name, mime in entries:
        link = (f"https://drive.google.com/drive/folders/{eid}" if mime == FOLDER
                else f"https://drive.google.com/file/d/{eid}/view?usp=drive_web")
        rows.append(f'<div class="flip-entry" id="entry-{eid}" tabindex="0" role="link"><div class="flip-entry-info">'
                    f'<a href="{link}" target="_blank"><div class="flip-entry-visual"></div>'
                    f'<div class="flip-entry-list-icon"></div><div class="flip-entry-title">{html.escape(name)}</div>'
                    f'</a></div></div>')
    return f"<html><head><title>{html.escape(title)}</title></head><body>{''.join(rows)}</body></html>"


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
        if url.path == "/uc" and q.get("id", "") in NAMES:
            body = f"content of {NAMES[q['id']]}\n".encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Disposition", f'attachment; filename="{q["id"]}.bin"')
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            return self.wfile.write(body)
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
        if url.path.startswith("/drive/folders/"):
            fid = url.path[len("/drive/folders/"):]
            if fid in FOLDERS:
                return self.page(200, folder_page(fid))
            return self.page(200, '<html><head><title>Google Drive - Sign-in</title></head><body>'
                                  '<a href="https://accounts.google.com/ServiceLogin">Sign in</a></body></html>')
        if url.path == "/embeddedfolderview" and q.get("id") in FOLDERS:
            return self.page(200, embedded_view(q["id"]))
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
