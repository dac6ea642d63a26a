#!/usr/bin/python3
# SPDX-License-Identifier: AGPL-3.0-or-later
"""Only the right token for the right slug registers a tunnel; a rejected agent keeps
retrying, but with a growing delay (the deployed agent hammered the relay every second)."""

import time
import unittest

from harness import DOMAIN, RelayTestCase

REJECTED = r"Registration rejected: Invalid slug or token"


class AuthTest(RelayTestCase):
    def setUp(self):
        super().setUp()
        self.relay = self.start_relay()
        self.site = self.start_site()

    def assert_rejected(self, slug, token):
        agent = self.start_agent(slug, token, self.site.port, self.relay.tcp_port, wait=False)
        rejected = agent.wait_state("rejected", timeout=5)
        self.assertEqual(rejected["last_error"], "Registration rejected: Invalid slug or token")
        self.assertIsNotNone(rejected["next_retry"])
        agent.wait_for(REJECTED)  # the line users grep for
        self.relay.wait_for(rf'Auth failure from 127\.0\.0\.1 \(slug "{slug}"\)', timeout=5)
        self.assertEqual(agent.registrations(), 0)
        self.assertEqual(self.site.requests, [])
        return agent

    def test_wrong_token_is_rejected_and_the_retry_delay_grows(self):
        self.add_slug("demo")
        agent = self.assert_rejected("demo", "0" * 64)
        # Three rejections in a row: nominal delays 1 s, 2 s, 4 s (never reset to 1 s).
        agent.wait_for(r"Reconnecting in 4s", timeout=8)
        self.assertEqual(agent.reconnect_delays()[:3], [1, 2, 4])
        self.assertGreaterEqual(agent.count(REJECTED), 3)

    def test_agent_really_waits_at_least_half_the_announced_delay(self):
        self.add_slug("demo")
        agent = self.assert_rejected("demo", "f" * 64)
        agent.wait_for(r"Reconnecting in 2s", timeout=5)
        announced_at = time.monotonic()
        failures = self.relay.count(r"Auth failure from")
        self.relay.wait_for(r"Auth failure from", timeout=4, occurrences=failures + 1)
        waited = time.monotonic() - announced_at
        self.assertGreaterEqual(waited, 0.9, "retried long before half of the 2 s delay")
        self.assertLessEqual(waited, 2.6, "retried well after the announced 2 s")

    def test_unknown_slug_is_rejected_with_the_same_message(self):
        self.add_slug("demo")
        self.assert_rejected("ghost", "a" * 64)

    def test_token_of_another_slug_is_rejected(self):
        self.add_slug("demo")
        other_token = self.add_slug("other")
        self.assert_rejected("demo", other_token)

    def test_rejected_agent_never_displaces_the_live_tunnel(self):
        token = self.add_slug("demo")
        self.start_agent("demo", token, self.site.port, self.relay.tcp_port)
        intruder_site = self.start_site()
        intruder = self.start_agent("demo", "1" * 64, intruder_site.port, self.relay.tcp_port,
                                    wait=False)
        intruder.wait_for(REJECTED, timeout=5)
        response = self.relay.get(f"demo.{DOMAIN}", "/echo")
        self.assertEqual(response.status, 200)
        self.assertEqual(len(self.site.requests), 1)
        self.assertEqual(intruder_site.requests, [])
        self.assertNotIn('Tunnel replaced: slug "demo"', self.relay.text())


if __name__ == "__main__":
    unittest.main()
