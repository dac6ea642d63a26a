#!/usr/bin/python3
# SPDX-License-Identifier: AGPL-3.0-or-later
"""A local app that breaks HTTP/1.1 on purpose, behind an agent on v1 and on v2: a visitor
only ever gets the response to its own request, interim responses are never taken for the
final one, a 101 nobody asked for is a 502, and a body that ends early never looks complete."""

import socket
import threading
import time
import unittest
import uuid

from harness import DOMAIN, RelayTestCase, http_request, read_head
from scripted_app import ScriptedApp, answer, reset, send_now

HOST = f"demo.{DOMAIN}"
PARTIAL = b"p" * 100  # the part of a body the app sends before it breaks off


def response(status, body):
    body = body if isinstance(body, bytes) else body.encode()
    return f"HTTP/1.1 {status}\r\nContent-Length: {len(body)}\r\n\r\n".encode() + body


class Visit:
    """One GET on a fresh connection, read byte by byte as the visitor's side sees it:
    `complete` is whether the body ended the way its head framed it (its length, the last
    chunk, or a clean close), never by a reset or a close before its end."""

    def __init__(self, port, path, timeout=10):
        sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.body = b""
        self.complete = False
        try:
            sock.sendall(f"GET {path} HTTP/1.1\r\nHost: {HOST}\r\n\r\n".encode())
            reader = sock.makefile("rb")
            self.status_line, self.headers = read_head(reader)
            self._read_body(reader)
        except ConnectionResetError:
            self.complete = False
        finally:
            sock.close()

    @property
    def status(self):
        return int(self.status_line.split(" ")[1]) if self.status_line else 0

    def _read_body(self, reader):
        if "content-length" in self.headers:
            length = int(self.headers["content-length"])
            self.body = reader.read(length)
            self.complete = len(self.body) == length
        elif "chunked" in self.headers.get("transfer-encoding", ""):
            while (line := reader.readline()):
                size = int(line.split(b";")[0], 16)
                if size == 0:
                    while (trailer := reader.readline()) not in (b"\r\n", b""):
                        pass
                    self.complete = trailer == b"\r\n"
                    return
                self.body += reader.read(size)
                reader.readline()
        else:
            self.body = reader.read()
            self.complete = True  # a clean close ends this body; a reset raised instead

    def __repr__(self):
        return f"<{self.status_line.strip()} complete={self.complete} body={self.body[:80]!r}>"


class HostileApp:
    """The app's answers, by path."""

    def __init__(self):
        self.switched_closed = threading.Event()  # the agent closed the connection after a 101
        self.stale_sent = threading.Event()  # an unsolicited response was written

    def __call__(self, request):
        kind, _, marker = request.path.strip("/").partition("/")
        handler = getattr(self, "on_" + kind.replace("-", "_"))
        return handler(request, marker)

    def on_echo(self, request, marker):
        return answer(request, "200 OK", marker)

    def on_poison_together(self, request, marker):
        # The answer and an unsolicited second response in one write.
        send_now(request, response("200 OK", marker) + response("200 OK", "stale"))
        self.stale_sent.set()
        return True

    def on_poison_after(self, request, marker):
        # Then the second response on its own, right after.
        send_now(request, response("200 OK", marker))
        send_now(request, response("200 OK", "stale"))
        self.stale_sent.set()
        return True

    def on_continue(self, request, marker):
        send_now(request, b"HTTP/1.1 100 Continue\r\n\r\n")
        return answer(request, "200 OK", marker)

    def on_hints(self, request, marker):
        send_now(request, b"HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n")
        send_now(request, b"HTTP/1.1 103 Early Hints\r\nLink: </app.js>; rel=preload\r\n\r\n")
        return answer(request, "200 OK", marker)

    def on_switch(self, request, marker):
        send_now(request, b"HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\n"
                 b"Upgrade: websocket\r\n\r\n")
        request.conn.settimeout(5)
        try:
            if request.conn.recv(1) == b"":
                self.switched_closed.set()
        except OSError:
            pass
        return False

    # Bodies that end early: head and part of the body, a pause (so the head has crossed and
    # the break comes in the middle of the body), then a close (FIN) or a reset (RST).

    def _break_off(self, request, head, part, how):
        send_now(request, head + part)
        time.sleep(0.3)
        if how == "reset":
            reset(request)
        return False  # a clean close, unless reset already

    def on_cut(self, request, framing):
        head, part = self._framed(framing)
        return self._break_off(request, head, part, "close")

    def on_reset(self, request, framing):
        head, part = self._framed(framing)
        return self._break_off(request, head, part, "reset")

    @staticmethod
    def _framed(framing):
        if framing == "length":
            return b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n", PARTIAL
        if framing == "chunked":
            return (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
                    b"%x\r\n%s\r\n" % (len(PARTIAL), PARTIAL))
        return b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n", PARTIAL  # until the close


class HostileAppCases:
    """The cases, run against an agent on each protocol (the subclasses)."""

    PROTOCOL = None  # as the relay logs it
    OPTION = None    # the agent's --protocol

    def setUp(self):
        super().setUp()
        self.relay = self.start_relay()
        self.app = HostileApp()
        site = ScriptedApp(self.app)
        self._sites.append(site)
        self.start_agent("demo", self.add_slug("demo"), site.port, self.relay.tcp_port,
                         "--protocol", self.OPTION)
        self.relay.wait_tunnel("demo", where=lambda t: t["protocol"] == self.PROTOCOL)

    def get(self, path):
        return http_request(self.relay.http_port, HOST, path)

    def assert_every_visitor_gets_its_own_response(self, poison):
        wrong = []
        for round_ in range(20):
            first = uuid.uuid4().hex
            self.app.stale_sent.clear()
            got = self.get(f"/{poison}/{first}")
            self.assertEqual((got.status, got.body), (200, first.encode()))
            # The next requests at once, as soon as the stale bytes are on their way (on
            # loopback they are then in the agent's socket): none may get the stale answer.
            # (Bytes that arrive only after the agent wrote the next request on the connection
            # cannot be told from its answer, by any HTTP/1.1 client.)
            self.assertTrue(self.app.stale_sent.wait(5))
            for _ in range(2):
                marker = uuid.uuid4().hex
                got = self.get(f"/echo/{marker}")
                if got.body != marker.encode():
                    wrong.append((round_, got.body))
        self.assertEqual(wrong, [], f"{len(wrong)} of 40 requests got another response")

    def test_an_unsolicited_response_written_with_the_answer_reaches_no_visitor(self):
        self.assert_every_visitor_gets_its_own_response("poison-together")

    def test_an_unsolicited_response_written_after_the_answer_reaches_no_visitor(self):
        self.assert_every_visitor_gets_its_own_response("poison-after")

    def test_interim_responses_are_dropped_and_the_final_one_reaches_the_visitor(self):
        for kind in ("continue", "hints"):
            with self.subTest(kind=kind):
                marker = uuid.uuid4().hex
                visit = Visit(self.relay.http_port, f"/{kind}/{marker}")
                # The first thing the visitor reads is the final response (no 1xx before it).
                self.assertEqual(visit.status, 200, visit)
                self.assertTrue(visit.complete, visit)
                self.assertEqual(visit.body, marker.encode())
                self.assertNotIn("link", visit.headers)

    def test_a_101_to_a_request_without_upgrade_is_a_502_and_the_connection_is_dropped(self):
        visit = Visit(self.relay.http_port, "/switch/x")
        self.assertEqual(visit.status, 502, visit)
        self.assertNotIn("upgrade", visit.headers)
        self.assertTrue(self.app.switched_closed.wait(5),
                        "the agent kept the switched connection open")
        marker = uuid.uuid4().hex
        self.assertEqual(self.get(f"/echo/{marker}").body, marker.encode())

    def test_a_body_that_ends_early_never_reaches_the_visitor_as_complete(self):
        for path in ("/cut/length", "/cut/chunked", "/reset/length", "/reset/chunked",
                     "/reset/close"):
            with self.subTest(path=path):
                visit = Visit(self.relay.http_port, path)
                self.assert_broken(visit)

    def assert_broken(self, visit):
        raise NotImplementedError


class HostileAppOverV2Test(HostileAppCases, RelayTestCase):
    PROTOCOL, OPTION = "v2", "auto"

    def assert_broken(self, visit):
        # The head had crossed: the agent resets the stream and the relay cuts the visitor off.
        self.assertEqual(visit.status, 200, visit)
        self.assertFalse(visit.complete, visit)
        # The relay ends a cut body with a TCP reset, and a reset may discard what the
        # visitor's kernel had received but the visitor not yet read: any prefix, never more.
        self.assertTrue(PARTIAL.startswith(visit.body), visit)


class HostileAppOverV1Test(HostileAppCases, RelayTestCase):
    PROTOCOL, OPTION = "v1", "v1"

    def assert_broken(self, visit):
        # v1 answers whole: a response that breaks is the agent's 502, never the part of it.
        self.assertEqual(visit.status, 502, visit)
        self.assertNotIn(PARTIAL, visit.body)


if __name__ == "__main__":
    unittest.main()
