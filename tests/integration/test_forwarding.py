#!/usr/bin/python3
# SPDX-License-Identifier: AGPL-3.0-or-later
"""A visitor talking to SLUG.DOMAIN through the relay gets what the local app sent, byte for
byte, as if it had talked to the app directly."""

import hashlib
import json
import socket
import threading
import time
import unittest
import http.client

from harness import (DOMAIN, RelayTestCase, free_port, http_request, request_on,
                     wait_until)
from sample_site import deterministic_bytes

HOST = f"demo.{DOMAIN}"
# Headers that legitimately differ between two responses or belong to one hop only.
PER_HOP = {"date", "connection", "keep-alive", "transfer-encoding"}


def end_to_end(headers):
    return sorted((name, value) for name, value in headers if name not in PER_HOP)


class ForwardingTest(RelayTestCase):
    def setUp(self):
        super().setUp()
        self.relay = self.start_relay()
        self.site, self.agent = self.tunnel(self.relay, "demo")

    def assert_same_as_direct(self, path, method="GET", body=None, headers=()):
        direct = http_request(self.site.port, HOST, path, method, body, headers)
        relayed = self.relay.request(HOST, path, method, body, headers, timeout=20)
        self.assertEqual(relayed.status, direct.status)
        self.assertEqual(end_to_end(relayed.headers), end_to_end(direct.headers))
        self.assertEqual(relayed.body, direct.body)
        return relayed

    def test_get_is_identical_to_a_direct_request(self):
        relayed = self.assert_same_as_direct("/")
        self.assertIn(b"Nexus Relay demo", relayed.body)
        self.agent.wait_for(r"Forwarding GET / \u2192 HTTP 200 \(\d+ ms\)")

    def test_the_agent_line_escapes_what_the_path_carries(self):
        # A C1 control (U+009B is CSI for some terminals) or a byte that is not UTF-8 in the
        # path shows as \xNN in the agent's line too; valid UTF-8 stays as it is.
        with socket.create_connection(("127.0.0.1", self.relay.http_port), timeout=5) as sock:
            sock.sendall(b"GET /a\xc2\x9b2J/\xff/caf\xc3\xa9 HTTP/1.1\r\nHost: " +
                         HOST.encode() + b"\r\nConnection: close\r\n\r\n")
            self.assertTrue(sock.recv(4096).startswith(b"HTTP/1.1 "))
        self.agent.wait_for(r"info Forwarding GET /a\\xc2\\x9b2J/\\xff/caf\u00e9 \u2192 HTTP \d+ "
                            r"\(\d+ ms\)\n")
        self.assertNotIn(b"\xc2\x9b", self.agent.log_path.read_bytes())

    def test_both_set_cookie_headers_reach_the_visitor_in_order(self):
        relayed = self.assert_same_as_direct("/cookies")
        self.assertEqual(relayed.all("set-cookie"), ["a=1; Path=/", "b=2; Path=/; HttpOnly"])

    def test_binary_body_is_identical(self):
        relayed = self.assert_same_as_direct("/bytes?n=300007")
        self.assertEqual(relayed.body, deterministic_bytes(300007))

    def test_post_of_one_mib_is_identical_and_reaches_the_app_intact(self):
        body = deterministic_bytes(1024 * 1024)
        relayed = self.assert_same_as_direct("/echo", "POST", body,
                                             [("Content-Type", "application/octet-stream")])
        self.assertEqual(relayed.header("x-body-sha256"), hashlib.sha256(body).hexdigest())
        method, path, _, received = self.site.requests[-1]
        self.assertEqual((method, path, received), ("POST", "/echo", body))

    def test_app_status_codes_pass_through_unchanged(self):
        # The app's own 404 and 500 must not be confused with the relay's error pages.
        for status in (201, 204, 404, 418, 500, 503):
            with self.subTest(status=status):
                self.assert_same_as_direct(f"/status/{status}")

    def test_redirect_reaches_the_visitor_and_is_not_followed(self):
        relayed = self.assert_same_as_direct("/redirect")
        self.assertEqual(relayed.status, 302)
        self.assertEqual(relayed.header("location"), "/target")
        self.assertNotIn("/target", self.site.paths(), "the agent followed the redirect")

    def test_visitor_host_header_reaches_the_app_unchanged(self):
        for host in (HOST, f"demo.{DOMAIN}:8443", "DEMO.Nexus.Test"):
            with self.subTest(host=host):
                response = self.relay.get(host, "/echo")
                self.assertEqual(response.status, 200)
                self.assertEqual(response.header("x-echo-host"), host)

    def test_host_header_option_rewrites_host_for_the_app(self):
        token = self.add_slug("rewritten")
        self.start_agent("rewritten", token, self.site.port, self.relay.tcp_port,
                         "--host-header", "app.internal")
        response = self.relay.get(f"rewritten.{DOMAIN}", "/echo")
        self.assertEqual(response.status, 200)
        self.assertEqual(response.header("x-echo-host"), "app.internal")

    def test_request_headers_reach_the_app_including_repeats_and_forwarding_headers(self):
        # Instances rely on cf-connecting-ip passing through untouched (interop checklist 7).
        sent = [("X-Custom", "one"), ("X-Multi", "1"), ("X-Multi", "2"),
                ("CF-Connecting-IP", "198.51.100.23"), ("X-Forwarded-Proto", "https")]
        response = self.relay.get(HOST, "/headers", headers=sent)
        self.assertEqual(response.status, 200)
        received = json.loads(response.body)
        for name, value in [("x-custom", "one"), ("cf-connecting-ip", "198.51.100.23"),
                            ("x-forwarded-proto", "https")]:
            self.assertIn([name, value], received)
        self.assertEqual([v for n, v in received if n == "x-multi"], ["1", "2"])

    def test_local_app_down_gives_the_visitor_502_local_server_unreachable(self):
        token = self.add_slug("down")
        self.start_agent("down", token, free_port(), self.relay.tcp_port)
        response = self.relay.get(f"down.{DOMAIN}", "/")
        self.assertEqual((response.status, response.body), (502, b"Local server unreachable"))

    def test_query_string_reaches_the_app(self):
        response = self.relay.get(HOST, "/echo?x=1&y=%2F%20z")
        self.assertEqual(response.header("x-echo-path"), "/echo?x=1&y=%2F%20z")

    def test_many_concurrent_requests_on_one_tunnel_each_get_their_own_answer(self):
        # One slow request goes first and stays in flight; 39 others, with assorted delays,
        # must all be answered while it is still pending (answers in any order), each with
        # its own body. Serialised, the 39 alone would take ~8 s.
        results = {}

        def visit(i, delay):
            path = f"/delay?ms={delay}&i={i}"
            results[i] = (path, self.relay.get(HOST, path, timeout=30))

        slow = threading.Thread(target=visit, args=(0, 3000))
        slow.start()
        self.addCleanup(slow.join, 30)
        wait_until(lambda: "/delay?ms=3000&i=0" in self.site.paths(), 5, "the slow request")

        others = [threading.Thread(target=visit, args=(i, 20 + (39 - i) * 10))
                  for i in range(1, 40)]
        started = time.monotonic()
        for thread in others:
            thread.start()
        for thread in others:
            thread.join(timeout=30)
        elapsed = time.monotonic() - started
        self.assertTrue(slow.is_alive(), "the slow request was not in flight meanwhile")
        self.assertLess(elapsed, 2.5, "requests on one tunnel were not handled concurrently")

        slow.join(timeout=10)
        self.assertEqual(sorted(results), list(range(40)))
        for i, (path, response) in sorted(results.items()):
            self.assertEqual((response.status, response.body), (200, path.encode()), f"request {i}")

    def test_keep_alive_visitor_connection_serves_several_requests(self):
        conn = http.client.HTTPConnection("127.0.0.1", self.relay.http_port, timeout=10)
        self.addCleanup(conn.close)
        for i in range(3):
            response = request_on(conn, HOST, f"/echo?i={i}")
            self.assertEqual((response.status, response.header("x-echo-path")),
                             (200, f"/echo?i={i}"))


if __name__ == "__main__":
    unittest.main()
