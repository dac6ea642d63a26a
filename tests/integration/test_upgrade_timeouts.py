#!/usr/bin/python3
# SPDX-License-Identifier: AGPL-3.0-or-later
"""The idle timeout of an upgraded (WebSocket) pipe as the operator sets it
(--upgrade-idle-timeout), on the relay and on the agent: a silent pipe is closed at the
deadline, both towards the visitor and towards the local app, while one that carries a
message each second stays open well past it, even when only one side sends. The pipe is raw
bytes between the 101 and the end, so the visitor and the app here exchange plain bytes, not
WebSocket frames."""

import base64
import hashlib
import socket
import threading
import time
import unittest

from harness import DOMAIN, RelayTestCase, read_head

PIPE_TIMEOUT = 2
KEY = base64.b64encode(b"0123456789abcdef").decode()
ACCEPT = base64.b64encode(
    hashlib.sha1((KEY + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").encode()).digest()).decode()


class RelayUpgradeTimeoutTest(RelayTestCase):
    """The relay's --upgrade-idle-timeout; the agent keeps its default (an hour)."""

    RELAY_OPTIONS = {"upgrade_idle_timeout": PIPE_TIMEOUT}
    AGENT_FLAGS = ()

    def setUp(self):
        super().setUp()
        self.relay = self.start_relay(**self.RELAY_OPTIONS)
        self.app_closed = threading.Event()
        self.app_closed_at = None

        self.app_received = 0

        def handle(request):
            request.send("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                         f"Connection: Upgrade\r\nSec-WebSocket-Accept: {ACCEPT}\r\n\r\n")
            try:
                if request.path == "/talk":  # sends a byte every half second, reads nothing
                    while True:
                        request.conn.sendall(b"t")
                        time.sleep(0.5)
                while data := request.conn.recv(65536):
                    self.app_received += len(data)
                    if request.path == "/ws":
                        request.conn.sendall(data)  # an echo; /sink only reads
            except OSError:
                pass  # a reset is a close too
            self.app_closed_at = time.monotonic()
            self.app_closed.set()
            return False

        self.scripted_tunnel(self.relay, "ws", handle, *self.AGENT_FLAGS)

    def open_pipe(self, path="/ws"):
        """A visitor's socket after the 101, unbuffered: what follows is the app's bytes."""
        sock = socket.create_connection(("127.0.0.1", self.relay.http_port), timeout=10)
        self.addCleanup(sock.close)
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: ws.{DOMAIN}\r\nUpgrade: websocket\r\n"
                     f"Connection: Upgrade\r\nSec-WebSocket-Key: {KEY}\r\n"
                     "Sec-WebSocket-Version: 13\r\n\r\n".encode())
        status, _ = read_head(sock.makefile("rb", buffering=0))
        self.assertIn(" 101 ", status)
        return sock

    def echo(self, sock, message):
        sock.sendall(message)
        received = b""
        while len(received) < len(message):
            piece = sock.recv(len(message) - len(received))
            self.assertTrue(piece, f"the pipe closed before the echo of {message!r}")
            received += piece
        self.assertEqual(received, message)

    def test_a_silent_pipe_is_closed_on_both_sides_at_the_deadline(self):
        sock = self.open_pipe()
        self.echo(sock, b"hello")
        silent_from = time.monotonic()
        # The visitor keeps its socket open: the app's side must be closed all the same.
        self.assertTrue(self.app_closed.wait(PIPE_TIMEOUT + 5),
                        "the local app's connection was not closed: the timeout was not applied")
        self.assertGreaterEqual(self.app_closed_at - silent_from, PIPE_TIMEOUT - 0.3,
                                "closed before the timeout")
        self.assertLess(self.app_closed_at - silent_from, PIPE_TIMEOUT + 3)
        self.assertEqual(sock.recv(1), b"", "the visitor's connection was not closed")
        self.assertLess(time.monotonic() - silent_from, PIPE_TIMEOUT + 3)

    def test_a_pipe_that_carries_a_message_each_second_stays_open_past_the_deadline(self):
        sock = self.open_pipe()
        started = time.monotonic()
        count = 0
        while time.monotonic() - started < 3 * PIPE_TIMEOUT:
            self.echo(sock, f"message {count}".encode())
            count += 1
            time.sleep(1)
        self.echo(sock, b"still there")
        self.assertFalse(self.app_closed.is_set(), "a pipe in use was closed")

    # A pipe is idle only when neither direction moves: a feed one side sends is in use.
    def test_a_pipe_only_the_visitor_sends_on_stays_open_past_the_deadline(self):
        sock = self.open_pipe("/sink")
        started = time.monotonic()
        sent = 0
        while time.monotonic() - started < 3 * PIPE_TIMEOUT:
            sock.sendall(b"v")
            sent += 1
            time.sleep(0.5)
        deadline = time.monotonic() + 5
        while self.app_received < sent and time.monotonic() < deadline:
            time.sleep(0.05)
        self.assertFalse(self.app_closed.is_set(), "a pipe the visitor sends on was closed")
        self.assertEqual(self.app_received, sent)

    def test_a_pipe_only_the_app_sends_on_stays_open_past_the_deadline(self):
        sock = self.open_pipe("/talk")
        sock.settimeout(PIPE_TIMEOUT)
        started = time.monotonic()
        received = 0
        while time.monotonic() - started < 3 * PIPE_TIMEOUT:
            piece = sock.recv(64)
            self.assertTrue(piece, "a pipe the app sends on was closed towards the visitor")
            received += len(piece)
        self.assertGreaterEqual(received, 2 * 3 * PIPE_TIMEOUT - 2)
        self.assertFalse(self.app_closed.is_set(), "a pipe the app sends on was closed")


class AgentUpgradeTimeoutTest(RelayUpgradeTimeoutTest):
    """The agent's --upgrade-idle-timeout; the relay keeps its default (an hour)."""

    RELAY_OPTIONS = {}
    AGENT_FLAGS = ("--upgrade-idle-timeout", str(PIPE_TIMEOUT))


if __name__ == "__main__":
    unittest.main()
