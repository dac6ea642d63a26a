#!/usr/bin/python3
# SPDX-License-Identifier: AGPL-3.0-or-later
"""Protocol v2's timeouts as the operator sets them (--response-head-timeout,
--stream-idle-timeout): a response head that never comes is a 504 at the deadline, a moving
stream outlives both, a stalled one is cut after the idle timeout."""

import asyncio
import json
import socket
import threading
import time
import unittest

from harness import DOMAIN, RelayTestCase, read_head, run_binary
from scripted_app import ScriptedApp
from stream_site import EchoWebSocketServer, StreamSite

HEAD_TIMEOUT = 2
IDLE_TIMEOUT = 2


class TimeoutFlagsTest(RelayTestCase):
    def test_bad_timeout_values_are_refused_with_one_line_naming_the_flag(self):
        for flag in ("--response-head-timeout", "--stream-idle-timeout"):
            for value in ("0", "-5", "soon", "99999999"):
                with self.subTest(flag=flag, value=value):
                    result = run_binary("server", flag, value, "--database",
                                        str(self.tmp / "never-created.sqlite"))
                    self.assertEqual(result.returncode, 2, result.stderr)
                    self.assertEqual(len(result.stderr.strip().splitlines()), 1, result.stderr)
                    self.assertIn(flag, result.stderr)
        self.assertFalse((self.tmp / "never-created.sqlite").exists())


class StreamTimeoutsTest(RelayTestCase):
    def setUp(self):
        super().setUp()
        self.relay = self.start_relay(response_head_timeout=HEAD_TIMEOUT,
                                      stream_idle_timeout=IDLE_TIMEOUT)
        self.release = threading.Event()
        self.addCleanup(self.release.set)

        def handle(request):
            if request.path == "/never-answers":
                self.release.wait(30)  # holds the connection open, says nothing
                return False
            if request.path == "/stalls":
                request.send("HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n" + "x" * 100)
                self.release.wait(30)
                return False
            return False

        self.app = ScriptedApp(handle)
        self._sites.append(self.app)
        self.start_agent("slow", self.add_slug("slow"), self.app.port, self.relay.tcp_port)
        self.relay.wait_for(r'Tunnel registered: slug "slow" .* \(v2\)')

    def test_an_app_that_never_answers_gets_a_504_at_the_head_deadline_not_before(self):
        sock = socket.create_connection(("127.0.0.1", self.relay.http_port), timeout=20)
        self.addCleanup(sock.close)
        started = time.monotonic()
        sock.sendall(f"GET /never-answers HTTP/1.1\r\nHost: slow.{DOMAIN}\r\n\r\n".encode())
        reader = sock.makefile("rb")
        status, headers = read_head(reader)
        elapsed = time.monotonic() - started
        self.assertIn(" 504 ", status)
        self.assertEqual(reader.read(int(headers["content-length"])),
                         b"Relay client did not respond in time")
        self.assertGreaterEqual(elapsed, HEAD_TIMEOUT - 0.1, "answered before the deadline")
        self.assertLess(elapsed, HEAD_TIMEOUT + 2, "the configured deadline was not applied")

    def test_a_body_that_stops_moving_is_cut_after_the_idle_timeout(self):
        sock = socket.create_connection(("127.0.0.1", self.relay.http_port), timeout=20)
        self.addCleanup(sock.close)
        sock.sendall(f"GET /stalls HTTP/1.1\r\nHost: slow.{DOMAIN}\r\n\r\n".encode())
        reader = sock.makefile("rb")
        status, headers = read_head(reader)
        self.assertIn(" 200 ", status)
        self.assertEqual(headers.get("content-length"), "1000")
        self.assertEqual(reader.read(100), b"x" * 100)
        stalled_at = time.monotonic()
        rest = reader.read()  # until the relay closes the connection
        cut_after = time.monotonic() - stalled_at
        self.assertEqual(rest, b"", "nothing more was sent")
        self.assertGreaterEqual(cut_after, IDLE_TIMEOUT - 0.3, "cut before the idle timeout")
        self.assertLess(cut_after, IDLE_TIMEOUT + 3, "the configured idle timeout was not applied")


class MovingStreamsOutliveTheTimeoutsTest(RelayTestCase):
    """About 5 s for the events, 8 s for the WebSocket: the streams must outlast both 2 s
    timeouts."""

    def setUp(self):
        super().setUp()
        self.relay = self.start_relay(response_head_timeout=HEAD_TIMEOUT,
                                      stream_idle_timeout=IDLE_TIMEOUT)

    def test_server_sent_events_for_five_seconds_are_not_cut(self):
        site = StreamSite()
        self.addCleanup(site.server_close)
        self.addCleanup(site.shutdown)
        self.start_agent("events", self.add_slug("events"), site.port, self.relay.tcp_port)
        self.relay.wait_for(r'Tunnel registered: slug "events" .* \(v2\)')
        sock = socket.create_connection(("127.0.0.1", self.relay.http_port), timeout=10)
        self.addCleanup(sock.close)
        started = time.monotonic()
        sock.sendall(f"GET /events?count=20&gap_ms=250 HTTP/1.1\r\nHost: events.{DOMAIN}\r\n"
                     "\r\n".encode())
        reader = sock.makefile("rb")
        status, headers = read_head(reader)
        self.assertIn(" 200 ", status)
        received = []
        while True:
            size = int(reader.readline().strip(), 16)
            if size == 0:
                break
            chunk = reader.read(size)
            reader.readline()
            received += [json.loads(line[6:])["i"] for line in chunk.decode().splitlines()
                         if line.startswith("data: ")]
        self.assertEqual(received, list(range(20)))
        self.assertGreater(time.monotonic() - started, HEAD_TIMEOUT + IDLE_TIMEOUT)

    def test_an_open_websocket_exchanging_messages_for_five_seconds_is_not_cut(self):
        import websockets
        echo = EchoWebSocketServer()
        self.start_agent("ws", self.add_slug("ws"), echo.port, self.relay.tcp_port)
        self.relay.wait_for(r'Tunnel registered: slug "ws" .* \(v2\)')

        async def talk():
            sock = socket.create_connection(("127.0.0.1", self.relay.http_port))
            async with websockets.connect(f"ws://ws.{DOMAIN}/chat", sock=sock,
                                          ping_interval=None) as ws:
                started = time.monotonic()
                count = 0
                while time.monotonic() - started < 5:
                    await ws.send(f"message {count}")
                    self.assertEqual(await ws.recv(), f"message {count}")
                    count += 1
                    await asyncio.sleep(0.25)
                # Then quiet for longer than the stream idle timeout: an open WebSocket is
                # bound by the pipe's own (hour-long) timeout, not by the stream's.
                await asyncio.sleep(IDLE_TIMEOUT + 1)
                await ws.send("still there")
                self.assertEqual(await ws.recv(), "still there")

        asyncio.run(asyncio.wait_for(talk(), 30))


if __name__ == "__main__":
    unittest.main()
