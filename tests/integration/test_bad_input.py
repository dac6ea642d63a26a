#!/usr/bin/python3
# SPDX-License-Identifier: AGPL-3.0-or-later
"""Hostile or broken peers cost only their own connection: the relay process and every other
tunnel carry on (and so does our agent when the relay misbehaves)."""

import struct
import time
import unittest

from harness import DOMAIN, RelayTestCase
from v1_peer import MAX_FRAME, V1Client, V1Server, dumps, frame

REGISTER_TIMEOUT = 2


class RelayBadInputTest(RelayTestCase):
    def setUp(self):
        super().setUp()
        self.relay = self.start_relay(register_timeout=REGISTER_TIMEOUT)
        self.site, self.agent = self.tunnel(self.relay, "healthy")

    def assert_unharmed(self):
        self.assertTrue(self.relay.alive(), "the relay process died")
        self.assert_serves(self.relay, "healthy", self.site)
        self.assertEqual(self.agent.registrations(), 1, "the healthy tunnel was dropped")

    def connect(self):
        peer = V1Client.connect(self.relay.tcp_port)
        self.addCleanup(peer.close)
        return peer

    def assert_refused(self, data, within=1.5):
        """Sends `data` on a fresh connection; the relay must close it (and say so) in time,
        without ever having registered it."""
        peer = self.connect()
        port = peer.sock.getsockname()[1]
        started = time.monotonic()
        peer.send_raw(data)
        self.assertTrue(peer.wait_closed(within), f"{data[:40]!r}: connection still open")
        elapsed = time.monotonic() - started
        self.relay.wait_for(rf"Relay client 127\.0\.0\.1:{port} disconnected", timeout=2)
        self.assertNotIn(b'"ok":true', peer.leftover)
        self.assert_unharmed()
        return peer, elapsed

    def test_garbage_before_registration_closes_only_that_connection(self):
        for garbage in (b"hello relay\r\n\r\n", b"\xff" * 64, b"\x01\x02\x03\x04garbage"):
            with self.subTest(garbage=garbage):
                self.assert_refused(garbage)

    def test_malformed_json_before_registration_closes_only_that_connection(self):
        for payload in (b'{"type":"register","slug":', b"not json", b"", b"[]",
                        b'{"type":"register","slug":"healthy"}',
                        b'{"type":"register","slug":"healthy","token":5}'):
            with self.subTest(payload=payload):
                self.assert_refused(frame(payload))

    def test_unknown_type_before_registration_closes_only_that_connection(self):
        # v1 tags are lowercase: "Register" is as unknown as "hello".
        for message in ({"type": "hello"},
                        {"type": "Register", "slug": "healthy", "token": "0" * 64}):
            with self.subTest(message=message):
                self.assert_refused(frame(dumps(message)))

    def test_first_message_other_than_register_is_refused(self):
        peer, _ = self.assert_refused(frame(dumps({"type": "heartbeat"})))
        if peer.leftover:  # the deployed relay says why before closing; nothing else is allowed
            self.assertIn(b'"type":"registered","ok":false', peer.leftover)

    def test_frame_over_4_kib_before_registration_is_refused_without_reading_it(self):
        # Only the length prefix is sent: waiting for the payload would hang until the deadline.
        _, elapsed = self.assert_refused(struct.pack(">I", 4097), within=1.0)
        self.assertLess(elapsed, 1.0)

    def test_silent_or_half_sent_registration_is_closed_by_the_deadline(self):
        silent = self.connect()
        half = self.connect()
        half.send_raw(struct.pack(">I", 100) + b'{"type":"regis')
        started = time.monotonic()
        for peer in (silent, half):
            self.assertTrue(peer.wait_closed(REGISTER_TIMEOUT + 3), "left open past the deadline")
        elapsed = time.monotonic() - started
        self.assertGreaterEqual(elapsed, REGISTER_TIMEOUT - 0.5, "closed before the deadline")
        for peer in (silent, half):
            port = peer.sock.getsockname()[1]
            self.relay.wait_for(rf"Relay client 127\.0\.0\.1:{port} disconnected", timeout=2)
        self.assert_unharmed()

    def registered_victim(self):
        token = self.add_slug("victim")
        peer = self.connect()
        self.assertTrue(peer.register("victim", token)["ok"])
        self.relay.wait_tunnel("victim")
        return peer

    def test_oversize_frame_after_registration_drops_only_that_tunnel(self):
        victim = self.registered_victim()
        victim.send_raw(struct.pack(">I", MAX_FRAME + 1))
        self.assertTrue(victim.wait_closed(3), "a frame over 16 MiB did not close the tunnel")
        self.relay.wait_for(r'Tunnel gone: slug "victim"', timeout=2)
        self.assertNotEqual(self.relay.get(f"victim.{DOMAIN}", "/").status, 200)
        self.assert_unharmed()

    def test_malformed_json_after_registration_drops_only_that_tunnel(self):
        victim = self.registered_victim()
        victim.send_raw(frame(b'{"type":"response","id":'))
        self.assertTrue(victim.wait_closed(3), "malformed JSON did not close the tunnel")
        self.relay.wait_for(r'Tunnel gone: slug "victim"', timeout=2)
        self.assert_unharmed()

    def test_garbage_on_the_http_front_leaves_tunnels_alone(self):
        peer = V1Client.connect(self.relay.http_port)
        self.addCleanup(peer.close)
        peer.send_raw(b"\x16\x03\x01\x02\x00 not http at all\r\n\r\n")
        self.assertTrue(peer.wait_closed(5), "the front kept a garbage connection open")
        if peer.leftover:
            self.assertTrue(peer.leftover.startswith(b"HTTP/1.1 400"), peer.leftover[:80])
        self.assert_unharmed()


class AgentBadInputTest(RelayTestCase):
    """Our agent facing a broken relay: drop that session, reconnect, never crash."""

    TOKEN = "ab" * 32

    def setUp(self):
        super().setUp()
        self.v1_relay = V1Server()
        self.addCleanup(self.v1_relay.close)
        self.site = self.start_site()
        self.agent = self.start_agent("demo", self.TOKEN, self.site.port, self.v1_relay.port,
                                      wait=False)

    def assert_agent_reconnects_after(self, data, registered_first=True):
        if registered_first:
            conn, _ = self.v1_relay.accept_registered("demo", self.TOKEN)
            self.agent.wait_registered()
        else:
            conn = self.v1_relay.accept()
            self.assertEqual(conn.recv()["type"], "register")
        self.addCleanup(conn.close)
        conn.send_raw(data)
        self.assertTrue(conn.wait_closed(3), f"agent kept the session after {data[:40]!r}")
        again = self.v1_relay.accept(timeout=5)
        self.addCleanup(again.close)
        self.assertEqual(again.recv()["type"], "register")
        self.assertTrue(self.agent.alive())

    def test_oversize_frame_from_the_relay_ends_the_session_and_the_agent_reconnects(self):
        self.assert_agent_reconnects_after(struct.pack(">I", MAX_FRAME + 1))

    def test_malformed_json_from_the_relay_ends_the_session_and_the_agent_reconnects(self):
        self.assert_agent_reconnects_after(frame(b'{"type":"request","id":'))

    def test_garbage_instead_of_registered_ends_the_session_and_the_agent_reconnects(self):
        self.assert_agent_reconnects_after(b"\xff\xff\xff\xffgarbage", registered_first=False)


if __name__ == "__main__":
    unittest.main()
