#!/usr/bin/python3
# SPDX-License-Identifier: AGPL-3.0-or-later
"""Protocol v2 through the real binaries: bodies of any size both ways with bounded memory,
server-sent events delivered as they are produced, WebSocket pass-through; the agent-relay
leg is TLS, as by default."""

import asyncio
import hashlib
import json
import os
import socket
import sys
import time
import unittest

from harness import DOMAIN, RelayTestCase, memory_kib
from stream_site import EchoWebSocketServer, expected_sha256

# 5 GiB each way (v1 caps bodies near 12 MiB): about 35 s for both on a two-core machine.
# NEXUS_STREAM_BYTES picks another size for a quick run.
STREAM_BYTES = int(os.environ.get("NEXUS_STREAM_BYTES", str(5 << 30)))
RSS_LIMIT_KIB = 64 * 1024


def raw_request(port, head, body_chunks=(), timeout=300):
    """Sends a request head (and body pieces), returns (status line, headers, socket file)."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    sock.sendall(head.encode())
    for chunk in body_chunks:
        sock.sendall(chunk)
    reader = sock.makefile("rb")
    status = reader.readline().decode()
    headers = {}
    while True:
        line = reader.readline().decode().strip()
        if not line:
            break
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return status, headers, reader, sock


class StreamingTest(RelayTestCase):
    def setUp(self):
        super().setUp()
        # TLS on the agent-relay leg, as users run it (the default).
        self.relay, self.site, self.agent, self.host = self.stream_tunnel(tls=True)

    def assert_bounded_memory(self, what):
        relay, agent = memory_kib(self.relay.pid, "VmHWM"), memory_kib(self.agent.pid, "VmHWM")
        print(f"\n{what} of {STREAM_BYTES} bytes: peak RSS relay {relay} KiB, agent {agent} KiB",
              file=sys.stderr)
        self.assertLess(relay, RSS_LIMIT_KIB, "relay peak RSS")
        self.assertLess(agent, RSS_LIMIT_KIB, "agent peak RSS")

    def test_large_download_streams_intact_with_bounded_memory(self):
        status, headers, reader, sock = raw_request(
            self.relay.http_port, f"GET /stream?n={STREAM_BYTES} HTTP/1.1\r\nHost: {self.host}\r\n\r\n")
        self.assertIn(" 200 ", status)
        self.assertEqual(int(headers["content-length"]), STREAM_BYTES)
        digest, received = hashlib.sha256(), 0
        while received < STREAM_BYTES:
            data = reader.read(min(1 << 20, STREAM_BYTES - received))
            self.assertTrue(data, f"body ended after {received} bytes")
            digest.update(data)
            received += len(data)
        sock.close()
        self.assertEqual(digest.hexdigest(), expected_sha256(STREAM_BYTES))
        self.assert_bounded_memory("download")

    def test_large_upload_streams_intact_with_bounded_memory(self):
        def body():
            from stream_site import stream_bytes
            yield from stream_bytes(STREAM_BYTES)
        status, headers, reader, sock = raw_request(
            self.relay.http_port,
            f"POST /upload HTTP/1.1\r\nHost: {self.host}\r\nContent-Length: {STREAM_BYTES}\r\n\r\n",
            body())
        self.assertIn(" 200 ", status)
        answer = json.loads(reader.read(int(headers["content-length"])))
        sock.close()
        self.assertEqual(answer["bytes"], STREAM_BYTES)
        self.assertEqual(answer["sha256"], expected_sha256(STREAM_BYTES))
        self.assert_bounded_memory("upload")

    def test_upload_read_past_its_head_stops_at_its_length_for_a_pipelined_request(self):
        # Part of the body arrives with the head (it waits in the relay's buffer), the rest is
        # read from the socket into frames, and the next request follows on the same segment
        # as the body's last byte: it must be answered, not swallowed into the upload.
        body = bytes(range(256)) * 1200
        head = f"POST /upload HTTP/1.1\r\nHost: {self.host}\r\nContent-Length: {len(body)}\r\n\r\n"
        follow = f"GET /stream?n=5 HTTP/1.1\r\nHost: {self.host}\r\n\r\n".encode()
        sock = socket.create_connection(("127.0.0.1", self.relay.http_port), timeout=30)
        sock.sendall(head.encode() + body[:1000])
        time.sleep(0.2)
        sock.sendall(body[1000:] + follow)
        reader = sock.makefile("rb")
        answers = []
        for _ in range(2):
            status = reader.readline().decode()
            length = 0
            while (line := reader.readline().decode().strip()):
                name, _, value = line.partition(":")
                if name.lower() == "content-length":
                    length = int(value)
            answers.append((status, reader.read(length)))
        sock.close()
        self.assertIn(" 200 ", answers[0][0])
        upload = json.loads(answers[0][1])
        self.assertEqual(upload["bytes"], len(body))
        self.assertEqual(upload["sha256"], hashlib.sha256(body).hexdigest())
        self.assertIn(" 200 ", answers[1][0])
        self.assertEqual(len(answers[1][1]), 5)

    def test_chunked_upload_reaches_the_app_chunked_and_intact(self):
        # No length known in advance: the agent re-chunks the body for the app.
        import hashlib
        import random
        rng = random.Random(7)
        pieces = [rng.randbytes(rng.choice((1, 17, 4096, 70_000, 300_000))) for _ in range(40)]
        body = [b"%x\r\n%s\r\n" % (len(p), p) for p in pieces] + [b"0\r\n\r\n"]
        status, headers, reader, sock = raw_request(
            self.relay.http_port,
            f"POST /upload HTTP/1.1\r\nHost: {self.host}\r\nTransfer-Encoding: chunked\r\n\r\n",
            body)
        self.assertIn(" 200 ", status)
        answer = json.loads(reader.read(int(headers["content-length"])))
        sock.close()
        whole = b"".join(pieces)
        self.assertEqual(answer["bytes"], len(whole))
        self.assertEqual(answer["sha256"], hashlib.sha256(whole).hexdigest())

    def test_server_sent_events_arrive_as_they_are_sent(self):
        status, headers, reader, sock = raw_request(
            self.relay.http_port,
            f"GET /events?count=10&gap_ms=200 HTTP/1.1\r\nHost: {self.host}\r\n\r\n")
        self.assertIn(" 200 ", status)
        self.assertEqual(headers.get("transfer-encoding"), "chunked")
        delays = []
        while len(delays) < 10:
            size = int(reader.readline().strip(), 16)
            self.assertGreater(size, 0, "the stream ended early")
            chunk = reader.read(size)
            reader.readline()
            for line in chunk.decode().splitlines():
                if line.startswith("data: "):
                    delays.append(time.time() - json.loads(line[6:])["sent"])
        sock.close()
        self.assertLess(max(delays), 0.05, f"event delays {delays}")

    def test_trailers_of_a_chunked_response_reach_the_visitor(self):
        status, headers, reader, sock = raw_request(
            self.relay.http_port, f"GET /trailers HTTP/1.1\r\nHost: {self.host}\r\n\r\n")
        self.assertIn(" 200 ", status)
        self.assertEqual(headers.get("transfer-encoding"), "chunked")
        body = b""
        while True:
            size = int(reader.readline().strip(), 16)
            if size == 0:
                break
            body += reader.read(size)
            self.assertEqual(reader.readline(), b"\r\n")
        trailers = {}
        while True:
            line = reader.readline().decode()
            if line == "\r\n":
                break
            name, _, value = line.partition(":")
            trailers[name.strip().lower()] = value.strip()
        sock.close()
        self.assertEqual(body, b"first piece;second piece")
        self.assertEqual(trailers, {"x-checksum": hashlib.sha256(body).hexdigest(),
                                    "server-timing": "db;dur=53"})

    def test_head_204_and_304_have_no_body_and_keep_the_connection(self):
        sock = socket.create_connection(("127.0.0.1", self.relay.http_port), timeout=10)
        reader = sock.makefile("rb")
        requests = [("HEAD", "/stream?n=1000", 200, "1000"),
                    ("GET", "/status?code=204", 204, None),
                    ("GET", "/status?code=304", 304, None),
                    ("GET", "/small", 200, "2")]
        for method, path, code, length in requests:
            sock.sendall(f"{method} {path} HTTP/1.1\r\nHost: {self.host}\r\n\r\n".encode())
            status = reader.readline().decode()
            self.assertIn(f" {code} ", status, f"{method} {path}")
            headers = {}
            while (line := reader.readline().decode().strip()):
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
            self.assertEqual(headers.get("content-length"), length, f"{method} {path}")
            self.assertNotIn("transfer-encoding", headers)
            if code == 304:
                self.assertEqual(headers.get("etag"), '"v1"')
        # Only the last answer had a body: had any other carried one, it would show here.
        self.assertEqual(reader.read(2), b"ok")
        sock.close()

    def test_http10_visitor_gets_an_unknown_length_body_delimited_by_the_close(self):
        status, headers, reader, sock = raw_request(
            self.relay.http_port, f"GET /trailers HTTP/1.0\r\nHost: {self.host}\r\n\r\n")
        self.assertIn(" 200 ", status)
        self.assertNotIn("transfer-encoding", headers)
        self.assertEqual(headers.get("connection"), "close")
        self.assertEqual(reader.read(), b"first piece;second piece")  # read() ends at the close
        sock.close()

    def test_websocket_messages_echo_through_the_tunnel(self):
        import websockets
        echo = EchoWebSocketServer()
        token = self.add_slug("ws")
        self.start_agent("ws", token, echo.port, self.relay.tcp_port)

        async def talk():
            sock = socket.create_connection(("127.0.0.1", self.relay.http_port))
            async with websockets.connect(f"ws://ws.{DOMAIN}/chat", sock=sock,
                                          max_size=8 << 20) as ws:
                await ws.send("hello")
                self.assertEqual(await ws.recv(), "hello")
                await ws.send(b"\x00\x01\x02")
                self.assertEqual(await ws.recv(), b"\x00\x01\x02")
                big = os.urandom(4 << 20)
                await ws.send(big)
                self.assertEqual(await ws.recv(), big)
                await ws.send(["frag", "mented"])  # one message in two fragments
                self.assertEqual(await ws.recv(), "fragmented")
                pong = await ws.ping()
                await asyncio.wait_for(pong, 5)
                await ws.close(code=4001, reason="bye")
                self.assertEqual(ws.close_code, 4001)

        asyncio.run(asyncio.wait_for(talk(), 60))


if __name__ == "__main__":
    unittest.main()
