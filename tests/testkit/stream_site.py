# SPDX-License-Identifier: AGPL-3.0-or-later
"""A local app for the streaming tests: bodies of any size generated and hashed on the fly
(nothing held in memory), server-sent events stamped with their send time, and a WebSocket
echo server (Debian's python3-websockets)."""

import asyncio
import hashlib
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

CHUNK = bytes((i * 7 + 3) % 256 for i in range(251)) * 4177  # ~1 MiB, prime-length pattern


def stream_bytes(n):
    """Yields the n-byte body that /stream?n=N sends."""
    while n > 0:
        piece = CHUNK[:n]
        n -= len(piece)
        yield piece


def expected_sha256(n):
    digest = hashlib.sha256()
    for piece in stream_bytes(n):
        digest.update(piece)
    return digest.hexdigest()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Head and body are separate writes: with Nagle on, the body would wait for a delayed ACK.
    disable_nagle_algorithm = True

    def log_message(self, *args):
        pass

    def do_GET(self):
        url = urlsplit(self.path)
        query = parse_qs(url.query)
        if url.path == "/stream":
            n = int(query["n"][0])
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", str(n))
            self.end_headers()
            for piece in stream_bytes(n):
                self.wfile.write(piece)
        elif url.path == "/events":
            count, gap = int(query["count"][0]), float(query["gap_ms"][0]) / 1000
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Cache-Control", "no-cache")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for i in range(count):
                event = f"data: {json.dumps({'i': i, 'sent': time.time()})}\n\n".encode()
                self.wfile.write(b"%x\r\n%s\r\n" % (len(event), event))
                self.wfile.flush()
                time.sleep(gap)
            self.wfile.write(b"0\r\n\r\n")
        elif url.path == "/trailers":
            # A chunked body whose checksum is only known at the end: a trailer field.
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.send_header("Trailer", "X-Checksum, Server-Timing")
            self.end_headers()
            digest = hashlib.sha256()
            for piece in (b"first piece;", b"second piece"):
                digest.update(piece)
                self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
            self.wfile.write(b"0\r\nX-Checksum: %s\r\nServer-Timing: db;dur=53\r\n\r\n"
                             % digest.hexdigest().encode())
        elif url.path == "/status":
            # 204 and 304 never have a body, whatever an app claims in its head.
            self.send_response(int(query["code"][0]))
            self.send_header("Content-Length", "5")
            self.send_header("ETag", '"v1"')
            self.end_headers()
        elif url.path == "/small":
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")
        else:
            self.send_error(404)

    def do_HEAD(self):
        url = urlsplit(self.path)
        n = int(parse_qs(url.query).get("n", ["0"])[0])
        self.send_response(200)
        self.send_header("Content-Length", str(n))
        self.end_headers()

    def do_POST(self):
        digest, total = hashlib.sha256(), 0
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            while True:
                size = int(self.rfile.readline().strip(), 16)
                if size == 0:
                    self.rfile.readline()
                    break
                remaining = size
                while remaining:
                    data = self.rfile.read(min(remaining, 1 << 20))
                    digest.update(data)
                    remaining -= len(data)
                    total += len(data)
                self.rfile.readline()
        else:
            remaining = int(self.headers.get("Content-Length", "0"))
            while remaining:
                data = self.rfile.read(min(remaining, 1 << 20))
                if not data:
                    break
                digest.update(data)
                remaining -= len(data)
                total += len(data)
        body = json.dumps({"bytes": total, "sha256": digest.hexdigest()}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class StreamSite(ThreadingHTTPServer):
    daemon_threads = True
    # The agent may open a hundred connections at once; socketserver's default backlog of 5
    # would drop SYNs and leave some of them to the kernel's retries (1, 3, 7, 15 s…).
    request_queue_size = 256

    def __init__(self):
        super().__init__(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.serve_forever, daemon=True).start()

    @property
    def port(self):
        return self.server_address[1]


class EchoWebSocketServer:
    """A WebSocket echo server in its own thread and event loop."""

    def __init__(self):
        import websockets
        self._ready = threading.Event()
        self.port = None

        async def echo(ws, path=None):
            try:
                async for message in ws:
                    await ws.send(message)
            except websockets.ConnectionClosed:
                pass  # a close with an application code (4001) is part of the test

        async def main():
            async with websockets.serve(echo, "127.0.0.1", 0, max_size=8 << 20) as server:
                self.port = server.sockets[0].getsockname()[1]
                self._ready.set()
                await asyncio.Future()

        threading.Thread(target=lambda: asyncio.run(main()), daemon=True).start()
        self._ready.wait(10)


if __name__ == "__main__":
    # As its own process (python3 stream_site.py): prints the port, serves until killed, so a
    # test's own threads never compete with the site for one interpreter lock.
    import sys
    site = StreamSite()
    print(site.port, flush=True)
    sys.stdin.read()  # until the test closes our stdin or kills us
