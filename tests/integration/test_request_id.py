#!/usr/bin/python3
# SPDX-License-Identifier: AGPL-3.0-or-later
"""Every visitor request gets an id that follows it: kept from a trusted proxy (Caddy),
replaced for anyone else, sent to the local app as X-Request-Id over v1 and v2, and carried
by the relay's one log line per request, which never shows the query string."""

import json
import re
import socket
import time
import unittest

from harness import DOMAIN, RelayTestCase, wait_until

RELAY_ID = r"[0-9a-f]{8}-\d+"


class RequestIdTest(RelayTestCase):
    def start(self, protocol="v2", wait=True, **options):
        """A relay and a tunnel for slug "demo-PROTOCOL" over that protocol."""
        relay = self.start_relay(wait=wait, **options)
        if not wait:
            wait_until(lambda: self.reachable(relay), 10, "the relay's status pages")
        self.slug = f"demo-{protocol}"
        site, _ = self.tunnel(relay, self.slug, "--protocol", "v1" if protocol == "v1" else "auto")
        relay.wait_tunnel(self.slug, where=lambda t: t["protocol"] == protocol)
        return relay, site

    @staticmethod
    def reachable(relay):
        try:
            return relay.status_page("/healthz").status == 200
        except OSError:
            return False

    def received_ids(self, relay, headers=()):
        """The X-Request-Id values the local app received for one GET /headers."""
        response = relay.get(f"{self.slug}.{DOMAIN}", "/headers?token=secret", headers=headers)
        self.assertEqual(response.status, 200, response)
        return [value for name, value in json.loads(response.body) if name == "x-request-id"]

    def request_line(self, relay, request_id):
        return relay.wait_for(rf"info Request {self.slug} {re.escape(request_id)} GET (\S+) → 200 "
                              rf"\((\d+) ms, 0 B in, (\d+) B out\) from 127\.0\.0\.1 over tcp/v\d")

    def test_a_trusted_proxy_id_reaches_the_app_and_the_log(self):
        for protocol in ("v2", "v1"):
            with self.subTest(protocol=protocol):
                relay, _ = self.start(protocol)  # the visitor, on loopback, is a trusted proxy
                ids = self.received_ids(relay, [("X-Request-Id", "caddy-7f3a.42")])
                self.assertEqual(ids, ["caddy-7f3a.42"])
                line = self.request_line(relay, "caddy-7f3a.42")
                self.assertEqual(line.group(1), "/headers")

    def test_an_untrusted_visitor_id_is_replaced_by_the_relay_own(self):
        for protocol in ("v2", "v1"):
            with self.subTest(protocol=protocol):
                relay, _ = self.start(protocol, trusted_proxy="192.0.2.1")
                ids = self.received_ids(relay, [("X-Request-Id", "forged"),
                                                ("X-Request-Id", "forged-again")])
                self.assertEqual(len(ids), 1, ids)
                self.assertRegex(ids[0], rf"^{RELAY_ID}$")
                self.request_line(relay, ids[0])
                self.assertNotIn("forged", relay.text())

    def test_each_request_gets_its_own_id_and_the_app_always_receives_one(self):
        relay, _ = self.start()
        first, second = self.received_ids(relay), self.received_ids(relay)
        self.assertRegex(first[0], rf"^{RELAY_ID}$")
        self.assertNotEqual(first, second)
        # An id a trusted proxy sends that is not fit for a log line is replaced too.
        self.assertRegex(self.received_ids(relay, [("X-Request-Id", "a\"b")])[0], rf"^{RELAY_ID}$")
        self.assertRegex(self.received_ids(relay, [("X-Request-Id", "x" * 129)])[0],
                         rf"^{RELAY_ID}$")

    def test_the_request_line_never_shows_the_query_string(self):
        relay, _ = self.start()
        ids = self.received_ids(relay)
        self.request_line(relay, ids[0])
        self.assertNotIn("secret", relay.text())
        self.assertNotIn("token=", relay.text())

    def test_a_fallback_answer_has_a_request_line_too(self):
        relay = self.start_relay()
        self.assertEqual(relay.get(f"nobody.{DOMAIN}", "/x?y=z").status, 404)
        relay.wait_for(rf"info Request nobody {RELAY_ID} GET /x → 404 \(\d+ ms, 0 B in, 9 B out\) "
                       r"from 127\.0\.0\.1 over -")
        self.assertEqual(relay.get("elsewhere.example", "/").status, 302)
        relay.wait_for(rf"info Request - {RELAY_ID} GET / → 302 .* over -")

    def test_the_request_line_escapes_what_the_path_carries(self):
        # The HTTP parser lets any byte above 0x7f through in a request-target: a C1 control
        # (U+009B is CSI for some terminals) or a byte that is not UTF-8 shows as \xNN.
        relay = self.start_relay()
        with socket.create_connection(("127.0.0.1", relay.http_port), timeout=5) as sock:
            sock.sendall(b"GET /a\xc2\x9b2J/\xff/caf\xc3\xa9 HTTP/1.1\r\n"
                         b"Host: nobody." + DOMAIN.encode() + b"\r\nConnection: close\r\n\r\n")
            self.assertTrue(sock.recv(4096).startswith(b"HTTP/1.1 404"))
        relay.wait_for(rf"info Request nobody {RELAY_ID} GET /a\\xc2\\x9b2J/\\xff/café → 404 ")
        self.assertNotIn(b"\xc2\x9b", relay.log_path.read_bytes())

    def test_log_level_warning_hides_the_request_lines(self):
        relay, _ = self.start(wait=False, log_level="warning")
        self.received_ids(relay)
        time.sleep(0.3)  # the line would follow the response within one turn of the loop
        self.assertNotIn("Request ", relay.text())
        self.assertEqual(relay.tunnel_state(self.slug)["requests"], 1)


if __name__ == "__main__":
    unittest.main()
