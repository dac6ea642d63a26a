#!/usr/bin/python3
# SPDX-License-Identifier: AGPL-3.0-or-later
"""A small local web site to put behind the tunnel: the README demo runs it, and the
integration tests run it in-process so they can see exactly what reached the "home" side.

    /usr/bin/python3 tests/testkit/sample_site.py --port 8080 [--root DIR]

Routes:
  /             HTML page "Nexus Relay demo", showing the Host header it received
  /cookies      200 with two Set-Cookie headers (repeated headers must survive the tunnel)
  /redirect     302 to /target (the agent must pass redirects through, never follow them)
  /echo         any method: the request body back, plus x-echo-method / -path / -host,
                x-body-sha256 and x-test-req-id (so a mis-associated response is detectable)
  /bytes?n=N    N deterministic bytes
  /headers      JSON list of the [name, value] pairs received, in order, names lowercased
  /status/NNN   that status
  /delay?ms=N   answers after N ms (concurrency and timeout tests)
Anything else is served from --root if given, else 404.
"""

import argparse
import hashlib
import html
import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

# A prime-length pattern, so a chunk dropped or repeated anywhere in a large body shows up.
_PATTERN = bytes((i * 7 + 3) % 256 for i in range(251))
_MAX_BYTES = 64 * 1024 * 1024


def deterministic_bytes(n: int) -> bytes:
    """What /bytes?n=N returns; tests compute the expected body with this."""
    return (_PATTERN * (n // len(_PATTERN) + 1))[:n]


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: the agent may reuse connections

    # One entry point for every method: /echo accepts anything.
    def handle_any(self):
        body = self._read_body()
        url = urlsplit(self.path)
        self.server.record(self.command, self.path, self.headers.items(), body)
        route = url.path
        if route == "/":
            self._index()
        elif route == "/cookies":
            self._send(200, b"two cookies\n", "text/plain",
                       [("Set-Cookie", "a=1; Path=/"), ("Set-Cookie", "b=2; Path=/; HttpOnly")])
        elif route == "/redirect":
            self._send(302, b"see /target\n", "text/plain", [("Location", "/target")])
        elif route == "/echo":
            self._echo(body)
        elif route == "/bytes":
            n = int(parse_qs(url.query).get("n", ["0"])[0])
            if not 0 <= n <= _MAX_BYTES:
                self._send(400, b"n out of range\n", "text/plain")
            else:
                self._send(200, deterministic_bytes(n), "application/octet-stream")
        elif route == "/headers":
            pairs = [[name.lower(), value] for name, value in self.headers.items()]
            self._send(200, json.dumps(pairs).encode(), "application/json")
        elif route.startswith("/status/"):
            self._status(route[len("/status/"):])
        elif route == "/delay":
            time.sleep(int(parse_qs(url.query).get("ms", ["0"])[0]) / 1000)
            self._send(200, self.path.encode(), "text/plain")
        else:
            self._static(route)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = handle_any

    def do_HEAD(self):
        self.handle_any()

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip(), 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        return self.rfile.read(int(self.headers.get("Content-Length", "0") or 0))

    def _send(self, status, body, content_type=None, extra=()):
        self.send_response(status)
        if content_type:
            self.send_header("Content-Type", content_type)
        for name, value in extra:
            self.send_header(name, value)
        no_body = status in (204, 304) or 100 <= status < 200
        if not no_body:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD" and not no_body:
            self.wfile.write(body)

    def _index(self):
        host = html.escape(self.headers.get("Host", "(none)"))
        page = ("<!doctype html>\n<html><head><meta charset=\"utf-8\">"
                "<title>Nexus Relay demo</title></head>\n<body>\n<h1>Nexus Relay demo</h1>\n"
                "<p>This page is served through the tunnel by the sample site on the home machine.</p>\n"
                f"<p>Host header received: <code>{host}</code></p>\n</body></html>\n")
        self._send(200, page.encode(), "text/html; charset=utf-8")

    def _echo(self, body):
        extra = [("x-echo-method", self.command), ("x-echo-path", self.path),
                 ("x-echo-host", self.headers.get("Host", "")),
                 ("x-body-sha256", hashlib.sha256(body).hexdigest())]
        if "X-Test-Req-Id" in self.headers:
            extra.append(("x-test-req-id", self.headers["X-Test-Req-Id"]))
        self._send(200, body, "application/octet-stream", extra)

    def _status(self, text):
        if not (text.isdigit() and 200 <= int(text) <= 599):
            self._send(400, b"status must be 200..599\n", "text/plain")
            return
        self._send(int(text), f"status {text}\n".encode(), "text/plain")

    def _static(self, route):
        root = self.server.root
        if root is not None:
            target = (root / route.lstrip("/")).resolve()
            if target.is_dir():
                target = target / "index.html"
            if target.is_relative_to(root) and target.is_file():
                self._send(200, target.read_bytes(), "application/octet-stream")
                return
        self._send(404, b"no such page on the sample site\n", "text/plain")

    def log_message(self, fmt, *args):
        if self.server.verbose:
            sys.stderr.write("sample-site: %s\n" % (fmt % args))


class SampleSite(ThreadingHTTPServer):
    """The site, in a background thread; `requests` and `connections` are what it saw."""

    daemon_threads = True
    block_on_close = False  # /delay handlers must not hold up stop()

    def __init__(self, port=0, root=None, verbose=False, host="127.0.0.1"):
        super().__init__((host, port), Handler)
        self.root = Path(root).resolve() if root else None
        self.verbose = verbose
        self.requests = []      # (method, path, [(name, value)], body)
        self.connections = 0    # accepted TCP connections
        self._thread = None

    @property
    def port(self) -> int:
        return self.server_address[1]

    def get_request(self):
        accepted = super().get_request()
        self.connections += 1
        return accepted

    def record(self, method, path, headers, body):
        self.requests.append((method, path, list(headers), body))

    def paths(self):
        return [path for _, path, _, _ in self.requests]

    def handle_error(self, request, client_address):
        # A peer dropping a kept-alive connection is routine here; only the demo reports it.
        if self.verbose:
            super().handle_error(request, client_address)

    def start(self):
        self._thread = threading.Thread(target=self.serve_forever, name="sample-site",
                                        daemon=True)
        self._thread.start()
        return self

    def stop(self):
        self.shutdown()
        self.server_close()


def main():
    parser = argparse.ArgumentParser(description="Sample local web site for Nexus Relay.")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--root", help="also serve the files under this directory")
    args = parser.parse_args()
    site = SampleSite(args.port, args.root, verbose=True)
    print(f"listening on {site.port}", flush=True)
    try:
        site.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
