#!/usr/bin/python3
# SPDX-License-Identifier: AGPL-3.0-or-later
"""One control port, three doors (TLS, plain v1, WebSocket), the loopback WebSocket door,
certificate verification in the agent, and which forwarding headers reach the instance."""

import json
import unittest

import os

from harness import DOMAIN, Agent, RelayTestCase, free_port, http_request
from harness import run_binary
from test_ca import make_test_ca


class DoorsTest(RelayTestCase):
    def setUp(self):
        super().setUp()
        self.pki = make_test_ca(str(self.tmp / "pki"))

    def tls_relay(self, **options):
        return self.start_relay(tls_cert=self.pki["relay.pem"], tls_key=self.pki["relay.key"],
                                ws_port=free_port(), **options)

    def test_agent_uses_tls_by_default_and_verifies_the_relay(self):
        relay = self.tls_relay()
        token = self.add_slug("demo")
        site = self.start_site()
        self.start_agent("demo", token, site.port, relay.tcp_port, "--ca-file", self.pki["ca.pem"])
        relay.wait_tunnel("demo", where=lambda t: t["door"] == "tls")
        self.assert_serves(relay, "demo", site)

    def test_unknown_ca_is_refused_and_no_token_is_sent(self):
        relay = self.tls_relay()
        token = self.add_slug("demo")
        # TLS with the system's CAs, which do not know the test CA.
        agent = self.start_agent("demo", token, free_port(), relay.tcp_port, "--server-name",
                                 "127.0.0.1", wait=False)
        agent.wait_for(r"TLS handshake with \S+ failed: the relay's certificate could not be "
                       r"verified")
        self.assertEqual(agent.registrations(), 0)
        self.assertEqual(relay.count(r"Auth failure|Tunnel registered"), 0,
                         "the relay must never have seen a register frame")

    def test_wrong_server_name_is_refused(self):
        relay = self.tls_relay()
        token = self.add_slug("demo")
        agent = self.start_agent("demo", token, free_port(), relay.tcp_port, "--ca-file",
                                 self.pki["ca.pem"], "--server-name", "other.example", wait=False)
        agent.wait_for(r"certificate could not be verified")
        self.assertEqual(agent.registrations(), 0)

    def test_plaintext_relay_tells_a_tls_agent_what_is_wrong(self):
        relay = self.start_relay(ws_port=free_port())  # no certificate: plain v1 only
        token = self.add_slug("demo")
        agent = self.start_agent("demo", token, free_port(), relay.tcp_port, "--server-name",
                                 "127.0.0.1", wait=False)
        relay.wait_for(r"TLS requested but no certificate is configured")
        agent.wait_for(r"TLS handshake with \S+ failed")
        # A second refused attempt: by then a plaintext fallback, had there been one, would
        # have registered, and the relay would have said so.
        agent.wait_for(r"TLS handshake with \S+ failed", timeout=10, occurrences=2)
        relay.wait_for(r"TLS requested but no certificate is configured", occurrences=2)
        self.assertEqual(agent.registrations(), 0)
        self.assertEqual(relay.count(r"Tunnel registered"), 0)

    def test_same_port_serves_plaintext_v1_agents(self):
        relay = self.tls_relay()
        site, _ = self.tunnel(relay, "demo", "--insecure-plaintext")
        relay.wait_tunnel("demo", where=lambda t: t["door"] == "tcp")
        self.assert_serves(relay, "demo", site)

    def test_same_port_serves_the_websocket_upgrade(self):
        relay = self.tls_relay()
        token = self.add_slug("demo")
        site = self.start_site()
        self.start_url_agent("demo", token, site.port, f"ws://127.0.0.1:{relay.tcp_port}/tunnel")
        relay.wait_tunnel("demo", where=lambda t: t["door"] == "ws")
        self.assert_serves(relay, "demo", site)

    def test_loopback_websocket_door_serves_agents(self):
        ws_port = free_port()
        relay = self.start_relay(ws_port=ws_port)
        relay.wait_for(rf"WebSocket door on 127\.0\.0\.1:{ws_port}")
        token = self.add_slug("demo")
        site = self.start_site()
        self.start_url_agent("demo", token, site.port, f"ws://127.0.0.1:{ws_port}/tunnel")
        self.assert_serves(relay, "demo", site)

    def test_loopback_websocket_door_tells_a_plain_request_what_it_is(self):
        ws_port = free_port()
        relay = self.start_relay(ws_port=ws_port)
        relay.wait_for(rf"WebSocket door on 127\.0\.0\.1:{ws_port}")
        response = http_request(ws_port, "relay.example", "/tunnel")
        self.assertEqual(response.status, 426)
        self.assertEqual(response.header("upgrade"), "websocket")
        self.assertIn(b"agents connect here by WebSocket", response.body)

    def test_unencrypted_websocket_url_needs_the_explicit_flag(self):
        result = self.run_client("--server", "ws://127.0.0.1:1/tunnel", "--slug", "demo")
        self.assertEqual(result.returncode, 2)
        self.assertIn("--insecure-plaintext", result.stderr)

    def run_client(self, *args):
        env = dict(os.environ, NEXUS_RELAY_TOKEN="x" * 64)
        return run_binary("client", *args, env=env)

    def start_url_agent(self, slug, token, local_port, url):
        """An agent dialling a ws:// URL (the harness's agents dial host:port)."""
        agent = Agent(self.tmp, self._name("agent-" + slug), slug, token, url, local_port,
                      ["--insecure-plaintext"], as_given=True)
        self._processes.append(agent)
        agent.wait_registered()
        return agent


class ForwardingHeadersTest(RelayTestCase):
    def received_headers(self, relay, *extra):
        response = http_request(relay.http_port, f"demo.{DOMAIN}", "/headers",
                                headers=[("X-Forwarded-For", "203.0.113.9"),
                                         ("CF-Connecting-IP", "203.0.113.9"), *extra])
        self.assertEqual(response.status, 200, response)
        return {name: value for name, value in json.loads(response.body)}

    def test_headers_from_a_trusted_proxy_pass_unchanged(self):
        relay = self.start_relay(ws_port=0)
        self.tunnel(relay, "demo", "--insecure-plaintext")
        headers = self.received_headers(relay, ("X-Forwarded-Host", "visitor.example"),
                                        ("X-Forwarded-Proto", "https"))
        self.assertEqual(headers.get("x-forwarded-for"), "203.0.113.9")
        self.assertEqual(headers.get("cf-connecting-ip"), "203.0.113.9")
        self.assertEqual(headers.get("x-forwarded-host"), "visitor.example")
        self.assertEqual(headers.get("x-forwarded-proto"), "https")

    def test_headers_from_an_untrusted_peer_are_replaced(self):
        # Trusting only a range the test client is not in makes 127.0.0.1 untrusted.
        relay = self.start_relay(ws_port=0, trusted_proxy="192.0.2.1")
        self.tunnel(relay, "demo", "--insecure-plaintext")
        headers = self.received_headers(relay, ("X-Forwarded-Host", "evil.example"),
                                        ("Forwarded", "for=203.0.113.9;proto=https"),
                                        ("X-Real-IP", "203.0.113.9"))
        self.assertEqual(headers.get("x-forwarded-for"), "127.0.0.1")
        self.assertEqual(headers.get("x-forwarded-host"), f"demo.{DOMAIN}")
        self.assertEqual(headers.get("x-forwarded-proto"), "http")
        self.assertNotIn("cf-connecting-ip", headers)
        self.assertNotIn("forwarded", headers)
        self.assertNotIn("x-real-ip", headers)


if __name__ == "__main__":
    unittest.main()
