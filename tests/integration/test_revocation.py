#!/usr/bin/python3
# SPDX-License-Identifier: AGPL-3.0-or-later
"""Revoking a slug takes effect on the live tunnel within 5 s (the deployed relay only checked
at registration, so a banned instance kept serving: original-relay.md S4)."""

import time
import unittest

from harness import DOMAIN, RelayTestCase

HOST = f"demo.{DOMAIN}"


class RevocationTest(RelayTestCase):
    def setUp(self):
        super().setUp()
        self.relay = self.start_relay()

    def test_revoking_a_slug_drops_its_live_tunnel_within_5_seconds(self):
        site, agent = self.tunnel(self.relay, "demo")
        self.assertEqual(self.relay.get(HOST, "/echo").status, 200)

        revoked_at = time.monotonic()
        result = self.directory("revoke", "demo")
        self.assertEqual(result.returncode, 0, result.stderr)
        remaining = 5 - (time.monotonic() - revoked_at)
        self.relay.wait_no_tunnel("demo", timeout=remaining)
        # The line operators grep for, word for word.
        self.relay.wait_for(r'Tunnel revoked: slug "demo" from \S+', timeout=1)

        served = len(site.requests)
        response = self.relay.get(HOST, "/echo")
        self.assertEqual((response.status, response.body), (404, b"Not Found"))
        self.assertEqual(len(site.requests), served, "a revoked slug still reached the app")
        # The agent tries again and the revoked token no longer registers.
        agent.wait_for(r"Registration rejected: Invalid slug or token", timeout=5)
        self.assertEqual(agent.registrations(), 1)

    def test_other_tunnels_survive_a_revocation(self):
        self.tunnel(self.relay, "demo")
        other_site, _ = self.tunnel(self.relay, "other")
        self.assertEqual(self.directory("revoke", "demo").returncode, 0)
        self.relay.wait_no_tunnel("demo", timeout=5)
        self.assertIsNotNone(self.relay.tunnel_state("other"))
        self.assert_serves(self.relay, "other", other_site)
        for line in ('Tunnel gone: slug "other"', 'Tunnel revoked: slug "other"'):
            self.assertNotIn(line, self.relay.text())

    def test_revoked_slug_without_a_tunnel_is_404_not_a_redirect(self):
        self.add_slug("gone", url="https://gone.example.org")
        self.assertEqual(self.relay.get(f"gone.{DOMAIN}", "/").status, 302)
        self.assertEqual(self.directory("revoke", "gone").returncode, 0)
        response = self.relay.get(f"gone.{DOMAIN}", "/")
        self.assertEqual((response.status, response.body), (404, b"Not Found"))


if __name__ == "__main__":
    unittest.main()
