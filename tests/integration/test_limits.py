#!/usr/bin/python3
# SPDX-License-Identifier: AGPL-3.0-or-later
"""A body too big for one v1 frame fails only its own request (the deployed peers tore the
whole tunnel down: original-relay.md C4); a slow app times out only its own request."""

import hashlib
import time
import unittest
import uuid

from harness import DOMAIN, RelayTestCase, post_body
from sample_site import deterministic_bytes
from v1_peer import PING, V1Server, body_of, request

HOST = f"demo.{DOMAIN}"
TOO_BIG = 13_000_000        # ~17.3 MB once base64-encoded: over the 16 MiB frame limit
FITS = 8 * 1024 * 1024      # ~11.2 MB once encoded: must go through
RESPONSE_TIMEOUT = 2


class RelayLimitsTest(RelayTestCase):
    def setUp(self):
        super().setUp()
        # These limits are the deployed v1 protocol's (whole bodies in one frame, a total
        # response timeout); the relay is held to v1 so our agent speaks it too.
        self.relay = self.start_relay(response_timeout=RESPONSE_TIMEOUT, protocol="v1")
        self.site, self.agent = self.tunnel(self.relay, "demo")

    def assert_tunnel_still_up(self):
        self.assert_serves(self.relay, "demo", self.site)
        self.assertEqual(self.agent.registrations(), 1, "the agent had to reconnect")
        self.assertNotIn('Tunnel gone: slug "demo"', self.relay.text())

    def test_request_body_too_big_for_a_frame_gets_413_and_only_that_request_fails(self):
        response = post_body(self.relay.http_port, HOST, "/echo",
                             deterministic_bytes(TOO_BIG))
        self.assertEqual(response.status, 413, response)
        self.assertNotIn("POST", [method for method, _, _, _ in self.site.requests])
        self.assert_tunnel_still_up()

    def test_large_request_body_that_fits_in_a_frame_is_forwarded_intact(self):
        body = deterministic_bytes(FITS)
        response = post_body(self.relay.http_port, HOST, "/echo", body, timeout=60)
        self.assertEqual(response.status, 200)
        self.assertEqual(response.header("x-body-sha256"), hashlib.sha256(body).hexdigest())
        self.assertEqual(response.body, body)

    def test_local_response_too_big_for_a_frame_gets_502_and_the_tunnel_stays_up(self):
        response = self.relay.get(HOST, f"/bytes?n={TOO_BIG}", timeout=60)
        self.assertEqual(response.status, 502, response)
        self.assert_tunnel_still_up()

    def test_large_response_that_fits_in_a_frame_is_forwarded_intact(self):
        response = self.relay.get(HOST, f"/bytes?n={FITS}", timeout=60)
        self.assertEqual(response.status, 200)
        self.assertEqual(response.body, deterministic_bytes(FITS))

    def test_slow_app_gets_504_after_the_response_timeout_and_the_tunnel_stays_up(self):
        started = time.monotonic()
        response = self.relay.get(HOST, "/delay?ms=3500", timeout=10)
        elapsed = time.monotonic() - started
        self.assertEqual(response.status, 504, response)
        self.assertGreaterEqual(elapsed, RESPONSE_TIMEOUT - 0.5)
        self.assertLess(elapsed, RESPONSE_TIMEOUT + 1.3)
        # The app answers later; that response now matches no waiting visitor and is dropped.
        self.agent.wait_for(r"Forwarding GET /delay(\?ms=3500)? \u2192 HTTP 200", timeout=5)
        time.sleep(0.2)
        self.assert_tunnel_still_up()


class AgentLimitsTest(RelayTestCase):
    """Seen from a deployed relay: our agent never sends a frame the relay would die on."""

    TOKEN = "cd" * 32

    def test_agent_answers_502_for_a_local_response_too_big_for_a_frame(self):
        v1_relay = V1Server()
        self.addCleanup(v1_relay.close)
        site = self.start_site()
        self.start_agent("demo", self.TOKEN, site.port, v1_relay.port, wait=False)
        conn, _ = v1_relay.accept_registered("demo", self.TOKEN)
        self.addCleanup(conn.close)

        request_id = str(uuid.uuid4())
        conn.send(request(request_id, "GET", f"/bytes?n={TOO_BIG}", {"host": HOST}))
        reply = conn.recv(timeout=30, skip=("heartbeat",))  # recv refuses frames over 16 MiB
        self.assertEqual((reply["id"], reply["status"]), (request_id, 502))
        # Same session, still alive: it answers pings and the next request.
        conn.send(PING)
        self.assertEqual(conn.recv()["type"], "heartbeat")
        conn.send(request("next", "GET", "/bytes?n=10", {"host": HOST}))
        reply = conn.recv(timeout=5, skip=("heartbeat",))
        self.assertEqual((reply["id"], body_of(reply)), ("next", deterministic_bytes(10)))


if __name__ == "__main__":
    unittest.main()
