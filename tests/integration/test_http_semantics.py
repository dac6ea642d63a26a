#!/usr/bin/python3
# SPDX-License-Identifier: AGPL-3.0-or-later
"""HTTP/1.1 details the relay answers itself: `Expect: 100-continue` (a case-insensitive
token) on both protocols, and an Upgrade that is switched only after a real 101."""

import base64
import json
import os
import socket
import time
import unittest

from harness import DOMAIN, RelayTestCase, read_head
from scripted_app import ScriptedApp, answer, read_body
from stream_site import StreamSite

CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"


class ExpectContinueTest(RelayTestCase):
    def tunnel_for(self, protocol):
        relay = self.start_relay()
        site = StreamSite()
        self.addCleanup(site.server_close)
        self.addCleanup(site.shutdown)
        self.start_agent("demo", self.add_slug("demo"), site.port, relay.tcp_port,
                         "--protocol", protocol)
        relay.wait_for(rf'Tunnel registered: slug "demo" .*, protocol {"v1" if protocol == "v1" else "v2"}')
        return relay

    def assert_continue_then_answer(self, relay, spelling):
        body = os.urandom(100_000)
        sock = socket.create_connection(("127.0.0.1", relay.http_port), timeout=10)
        self.addCleanup(sock.close)
        sock.sendall(f"POST /upload HTTP/1.1\r\nHost: demo.{DOMAIN}\r\n"
                     f"Content-Length: {len(body)}\r\nExpect: {spelling}\r\n\r\n".encode())
        # A client that waits for the 100 sends nothing more until it comes.
        sock.settimeout(3)
        started = time.monotonic()
        interim = b""
        try:
            while len(interim) < len(CONTINUE):
                piece = sock.recv(len(CONTINUE) - len(interim))
                if not piece:
                    break
                interim += piece
        except socket.timeout:
            pass
        self.assertEqual(interim, CONTINUE, f"Expect: {spelling}")
        self.assertLess(time.monotonic() - started, 2, "the 100 Continue came late")
        sock.settimeout(10)
        sock.sendall(body)
        reader = sock.makefile("rb")
        status, headers = read_head(reader)
        self.assertIn(" 200 ", status, f"Expect: {spelling}")
        answer_ = json.loads(reader.read(int(headers["content-length"])))
        self.assertEqual(answer_["bytes"], len(body))

    def test_both_spellings_get_a_prompt_100_continue_then_the_answer_over_v2(self):
        relay = self.tunnel_for("auto")
        for spelling in ("100-continue", "100-Continue"):
            with self.subTest(spelling=spelling):
                self.assert_continue_then_answer(relay, spelling)

    def test_both_spellings_get_a_prompt_100_continue_then_the_answer_over_v1(self):
        # Through v1 the local app must not see the Expect either: its own 100 Continue
        # would reach the visitor as the final answer.
        relay = self.tunnel_for("v1")
        for spelling in ("100-continue", "100-Continue"):
            with self.subTest(spelling=spelling):
                self.assert_continue_then_answer(relay, spelling)


class UpgradeTest(RelayTestCase):
    """The local app decides whether a connection switches; the relay believes only a 101
    with the right Sec-WebSocket-Accept."""

    KEY = base64.b64encode(b"0123456789abcdef").decode()

    def setUp(self):
        super().setUp()
        self.relay = self.start_relay()

        def handle(request):
            if request.path == "/refuses-upgrade":
                return answer(request, "200 OK", "no upgrade here", [("Content-Type", "text/plain")])
            if request.path == "/bad-accept":
                request.send("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                             "Connection: Upgrade\r\nSec-WebSocket-Accept: bm90IHRoZSBhbnN3ZXI=\r\n\r\n")
                return False
            if request.path == "/no-upgrade-field":
                request.send("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\n\r\n")
                return False
            read_body(request)
            return answer(request, "200 OK", f"plain {request.path}")

        self.app = ScriptedApp(handle)
        self._sites.append(self.app)
        self.start_agent("demo", self.add_slug("demo"), self.app.port, self.relay.tcp_port)
        self.relay.wait_for(r'Tunnel registered: slug "demo" .*, protocol v2')

    def upgrade_request(self, path):
        return (f"GET {path} HTTP/1.1\r\nHost: demo.{DOMAIN}\r\nUpgrade: websocket\r\n"
                f"Connection: Upgrade\r\nSec-WebSocket-Key: {self.KEY}\r\n"
                "Sec-WebSocket-Version: 13\r\n\r\n").encode()

    def test_a_200_to_an_upgrade_reaches_the_visitor_framed_and_the_connection_stays_http(self):
        sock = socket.create_connection(("127.0.0.1", self.relay.http_port), timeout=10)
        self.addCleanup(sock.close)
        reader = sock.makefile("rb")
        sock.sendall(self.upgrade_request("/refuses-upgrade"))
        status, headers = read_head(reader)
        self.assertIn(" 200 ", status)
        self.assertEqual(headers.get("content-length"), "15")
        self.assertNotIn("upgrade", headers)
        self.assertEqual(reader.read(15), b"no upgrade here")
        # Still HTTP: the next bytes are parsed by the relay as a request of their own (it adds
        # the forwarding headers), not piped raw to the app.
        sock.sendall(f"GET /next HTTP/1.1\r\nHost: demo.{DOMAIN}\r\n\r\n".encode())
        status, headers = read_head(reader)
        self.assertIn(" 200 ", status)
        self.assertEqual(reader.read(int(headers["content-length"])), b"plain /next")
        method, path, app_headers = self.app.requests[-1]
        self.assertEqual((method, path), ("GET", "/next"))
        self.assertEqual(app_headers.get("x-forwarded-for"), "127.0.0.1")

    def test_a_101_with_a_wrong_accept_or_no_upgrade_field_is_a_502_and_never_switches(self):
        for path in ("/bad-accept", "/no-upgrade-field"):
            with self.subTest(path=path):
                sock = socket.create_connection(("127.0.0.1", self.relay.http_port), timeout=10)
                self.addCleanup(sock.close)
                reader = sock.makefile("rb")
                sock.sendall(self.upgrade_request(path))
                status, headers = read_head(reader)
                self.assertIn(" 502 ", status)
                self.assertEqual(reader.read(int(headers["content-length"])),
                                 b"Invalid upgrade response")
                self.assertNotIn("upgrade", headers)


if __name__ == "__main__":
    unittest.main()
