#!/usr/bin/python3
# SPDX-License-Identifier: AGPL-3.0-or-later
"""Protocol v2's timeouts as the operator sets them (--response-head-timeout,
--stream-idle-timeout), on the relay and on the agent: a response head that never comes is a
504 at the deadline, a moving stream outlives both, a stalled one is cut after the idle
timeout. The WebSocket pipe's own timeout is in test_upgrade_timeouts.py."""

import asyncio
import json
import socket
import threading
import time
import unittest

from harness import DOMAIN, RelayTestCase, read_head, run_binary
from stream_site import EchoWebSocketServer, StreamSite

HEAD_TIMEOUT = 2
IDLE_TIMEOUT = 2
AGENT_FLAGS = ("--response-head-timeout", str(HEAD_TIMEOUT),
               "--stream-idle-timeout", str(IDLE_TIMEOUT))


class TimeoutFlagsTest(RelayTestCase):
    def test_bad_timeout_values_are_refused_with_one_line_naming_the_flag(self):
        never = str(self.tmp / "never-created.sqlite")
        for command, flag, most in (
                (["server", "--database", never], "--response-head-timeout", 3600),
                (["server", "--database", never], "--stream-idle-timeout", 86400),
                (["server", "--database", never], "--upgrade-idle-timeout", 86400),
                (["client", "--slug", "demo"], "--response-head-timeout", 3600),
                (["client", "--slug", "demo"], "--stream-idle-timeout", 86400),
                (["client", "--slug", "demo"], "--upgrade-idle-timeout", 86400)):
            for value in ("0", "-5", "soon", str(most + 1)):
                with self.subTest(command=command[0], flag=flag, value=value):
                    result = run_binary(*command, flag, value)
                    self.assertEqual(result.returncode, 2, result.stderr)
                    self.assertEqual(len(result.stderr.strip().splitlines()), 1, result.stderr)
                    self.assertIn(flag, result.stderr)
                    if value != "soon":
                        self.assertIn(f"not in range 1 to {most}", result.stderr)
        self.assertFalse((self.tmp / "never-created.sqlite").exists())


class StreamTimeoutsTest(RelayTestCase):
    """The relay's deadlines; the agent keeps its defaults (60 s, 120 s)."""

    RELAY_OPTIONS = {"response_head_timeout": HEAD_TIMEOUT, "stream_idle_timeout": IDLE_TIMEOUT}
    AGENT_FLAGS = ()
    NO_ANSWER = b"Relay client did not respond in time"  # the relay's own 504

    def setUp(self):
        super().setUp()
        self.relay = self.start_relay(**self.RELAY_OPTIONS)
        self.release = threading.Event()
        self.addCleanup(self.release.set)

        def handle(request):
            if request.path == "/never-answers":
                self.release.wait(30)  # holds the connection open, says nothing
            elif request.path == "/stalls":
                request.send("HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n" + "x" * 100)
                self.release.wait(30)
            elif request.path == "/upload":
                request.reader.read(int(request.headers["content-length"]))  # never all there
            return False

        self.app = self.scripted_tunnel(self.relay, "slow", handle, *self.AGENT_FLAGS)

    def test_an_app_that_never_answers_gets_a_504_at_the_head_deadline_not_before(self):
        sock = socket.create_connection(("127.0.0.1", self.relay.http_port), timeout=20)
        self.addCleanup(sock.close)
        started = time.monotonic()
        sock.sendall(f"GET /never-answers HTTP/1.1\r\nHost: slow.{DOMAIN}\r\n\r\n".encode())
        reader = sock.makefile("rb")
        status, headers = read_head(reader)
        elapsed = time.monotonic() - started
        self.assertIn(" 504 ", status)
        self.assertEqual(reader.read(int(headers["content-length"])), self.NO_ANSWER)
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
        # Until the relay cuts the connection: with a reset, so the part never looks whole.
        with self.assertRaises(ConnectionResetError, msg="the cut body ended with a clean close"):
            reader.read()
        cut_after = time.monotonic() - stalled_at
        self.assertGreaterEqual(cut_after, IDLE_TIMEOUT - 0.3, "cut before the idle timeout")
        self.assertLess(cut_after, IDLE_TIMEOUT + 3, "the configured idle timeout was not applied")


class AgentStreamTimeoutsTest(StreamTimeoutsTest):
    """The agent's deadlines (`client --response-head-timeout`, `--stream-idle-timeout`); the
    relay keeps its defaults (60 s, 120 s), so only the agent's can fire."""

    RELAY_OPTIONS = {}
    AGENT_FLAGS = AGENT_FLAGS
    NO_ANSWER = b"Local server did not answer in time"  # the agent's own 504

    def test_an_upload_that_stops_moving_is_a_504_after_the_idle_timeout(self):
        sock = socket.create_connection(("127.0.0.1", self.relay.http_port), timeout=20)
        self.addCleanup(sock.close)
        sock.sendall(f"POST /upload HTTP/1.1\r\nHost: slow.{DOMAIN}\r\n"
                     "Content-Length: 1000\r\n\r\n".encode() + b"y" * 100)
        stalled_at = time.monotonic()
        status, _ = read_head(sock.makefile("rb"))
        elapsed = time.monotonic() - stalled_at
        self.assertIn(" 504 ", status)
        self.assertGreaterEqual(elapsed, IDLE_TIMEOUT - 0.3, "gave up before the idle timeout")
        self.assertLess(elapsed, IDLE_TIMEOUT + 3, "the agent's idle timeout was not applied")


class MovingStreamsOutliveTheTimeoutsTest(RelayTestCase):
    """About 5 s for the events, 8 s for the WebSocket: the streams must outlast both 2 s
    timeouts, on the relay and on the agent."""

    def setUp(self):
        super().setUp()
        self.relay = self.start_relay(response_head_timeout=HEAD_TIMEOUT,
                                      stream_idle_timeout=IDLE_TIMEOUT)

    def test_server_sent_events_for_five_seconds_are_not_cut(self):
        site = StreamSite()
        self.addCleanup(site.server_close)
        self.addCleanup(site.shutdown)
        self.start_agent("events", self.add_slug("events"), site.port, self.relay.tcp_port,
                         *AGENT_FLAGS)
        self.relay.wait_for(r'Tunnel registered: slug "events" .*, protocol v2')
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
        self.start_agent("ws", self.add_slug("ws"), echo.port, self.relay.tcp_port,
                         *AGENT_FLAGS)
        self.relay.wait_for(r'Tunnel registered: slug "ws" .*, protocol v2')

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
                # bound by the pipe's own (hour-long) timeout, not by the streams' on either side.
                await asyncio.sleep(IDLE_TIMEOUT + 1)
                await ws.send("still there")
                self.assertEqual(await ws.recv(), "still there")

        asyncio.run(asyncio.wait_for(talk(), 30))


if __name__ == "__main__":
    unittest.main()
