#!/usr/bin/python3
# SPDX-License-Identifier: AGPL-3.0-or-later
"""A second agent registering the same slug takes over, and the first session's teardown
must never remove the second one (the deployed relay removed tunnels by slug name, leaving
the new agent a zombie for ~90 s: original-relay.md §3.3). The replaced agent is told why
and does not take the slug back: two agents for one slug settle on one instead of flapping."""

import signal
import threading
import time
import unittest

from harness import DOMAIN, RelayTestCase
from v1_peer import V1Client, register

HOST = f"demo.{DOMAIN}"


class TakeoverTest(RelayTestCase):
    def setUp(self):
        super().setUp()
        self.relay = self.start_relay(response_timeout=3)
        self.token = self.add_slug("demo")
        self.site_a, self.site_b = self.start_site(), self.start_site()
        self.agent_a = self.start_agent("demo", self.token, self.site_a.port, self.relay.tcp_port)
        self.assertEqual(self.relay.get(HOST, "/echo").status, 200)
        self.assertEqual(len(self.site_a.requests), 1)

    def take_over(self):
        """Freezes agent A (so it cannot come back and take the slug again), then starts B."""
        self.agent_a.signal(signal.SIGSTOP)
        a_remote = self.relay.tunnel_state("demo")["remote"]
        agent_b = self.start_agent("demo", self.token, self.site_b.port, self.relay.tcp_port)
        replaced = self.relay.wait_tunnel("demo", timeout=5,
                                          where=lambda tunnel: tunnel["remote"] != a_remote)
        return agent_b, replaced["remote"]

    def assert_b_keeps_serving(self, b_address, seconds=2.0):
        """Every request for a while lands on B, and B's session is never torn down."""
        served_by_a = len(self.site_a.requests)
        deadline = time.monotonic() + seconds
        count = 0
        while time.monotonic() < deadline:
            response = self.relay.get(HOST, f"/echo?n={count}")
            self.assertEqual(response.status, 200, f"request {count} after the takeover")
            count += 1
            time.sleep(0.05)
        self.assertEqual(len(self.site_a.requests), served_by_a, "the old agent still got requests")
        self.assertGreaterEqual(len(self.site_b.requests), count)
        self.assertNotIn(f'Tunnel gone: slug "demo" from {b_address}', self.relay.text())

    def test_second_agent_takes_over_and_old_teardown_keeps_new_tunnel(self):
        agent_b, b_address = self.take_over()
        # Now the old agent's socket really dies: its session's teardown runs on the relay.
        self.agent_a.kill()
        self.assert_b_keeps_serving(b_address)
        self.assertTrue(agent_b.alive())
        self.assertEqual(agent_b.registrations(), 1, "the new agent had to register again")
        # The line operators grep for, word for word.
        self.assertRegex(self.relay.text(),
                         rf'Tunnel replaced: slug "demo" from {b_address} over tcp \(plaintext\), '
                         r'protocol v2 \(previous session from 127\.0\.0\.1:\d+\)')

    def test_old_session_with_a_request_in_flight_does_not_remove_the_new_tunnel(self):
        # The deployed relay's old session lingered until in-flight requests finished, then
        # unregistered the slug by name. Keep one request hanging on A across the takeover.
        outcome = {}
        slow = threading.Thread(target=lambda: outcome.update(
            response=self.relay.get(HOST, "/delay?ms=1500", timeout=15)))
        slow.start()
        self.addCleanup(slow.join, 15)
        # Wait until the slow request really reached A's site, so it is in flight on A.
        deadline = time.monotonic() + 5
        while "/delay?ms=1500" not in self.site_a.paths() and time.monotonic() < deadline:
            time.sleep(0.01)
        self.assertIn("/delay?ms=1500", self.site_a.paths())

        agent_b, b_address = self.take_over()
        slow.join(timeout=10)
        self.assertFalse(slow.is_alive(), "the in-flight request never finished")
        # Whatever A's request got (an error: A was frozen), it must not be B's doing.
        self.assertNotEqual(outcome["response"].status, 200)
        self.agent_a.kill()
        self.assert_b_keeps_serving(b_address)
        self.assertEqual(agent_b.registrations(), 1)


class TwoAgentsSettleTest(RelayTestCase):
    """An installer's unit and a packaged unit both running: the newest registration wins
    once, the replaced agent says so and waits, and nothing flaps afterwards."""

    def settle(self, **relay_options):
        relay = self.start_relay(**relay_options)
        token = self.add_slug("demo")
        site_a, site_b = self.start_site(), self.start_site()
        agent_a = self.start_agent("demo", token, site_a.port, relay.tcp_port)
        mark = relay.mark()
        started = time.monotonic()
        self.start_agent("demo", token, site_b.port, relay.tcp_port)
        replaced = agent_a.wait_state("replaced", timeout=5)
        self.assertLess(time.monotonic() - started, 5)
        self.assertEqual(replaced["replaced_by"], "127.0.0.1")
        # The line users grep for, word for word.
        agent_a.wait_for(r'Replaced by another agent for slug "demo" from 127\.0\.0\.1\n')
        served_by_a = len(site_a.requests)
        deadline = time.monotonic() + 15
        count = 0
        while time.monotonic() < deadline:
            response = relay.get(HOST, f"/echo?n={count}")
            self.assertEqual(response.status, 200, f"request {count} after settling")
            count += 1
            time.sleep(0.25)
        self.assertEqual(relay.count(r'Tunnel replaced: slug "demo"', since=mark), 1)
        self.assertEqual(relay.count(r'Tunnel registered: slug "demo"', since=mark), 0)
        self.assertEqual(len(site_a.requests), served_by_a, "the replaced agent still served")
        self.assertGreaterEqual(len(site_b.requests), count)
        self.assertEqual(agent_a.registrations(), 1, "the replaced agent took the slug back")
        self.assertTrue(agent_a.alive())
        waiting = agent_a.wait_status(lambda s: s["state"] == "replaced" and s["next_retry"],
                                      what="a replaced agent's next attempt")
        self.assertIsNone(waiting["connected_since"])
        agent_a.wait_for(r'Not taking slug "demo" back; asking again in \d+ min')

    def test_over_v2_the_replaced_agent_gets_goaway_and_waits(self):
        self.settle()

    def test_over_v1_the_replaced_agent_gets_a_registered_error_and_waits(self):
        self.settle(protocol="v1")

    def test_an_agent_asking_for_no_takeover_gets_only_a_free_slug(self):
        relay = self.start_relay()
        token = self.add_slug("demo")
        site = self.start_site()
        holder = self.start_agent("demo", token, site.port, relay.tcp_port)
        polite = dict(register("demo", token), features=["no_takeover"])
        client = V1Client.connect(relay.tcp_port)
        self.addCleanup(client.close)
        client.send(polite)
        answer = client.recv(5)
        self.assertFalse(answer["ok"])
        self.assertRegex(answer["error"],
                         r'^Held by another agent for slug "demo" from 127\.0\.0\.1$')
        self.assert_serves(relay, "demo", site)
        holder.kill()
        relay.wait_for(r'Tunnel gone: slug "demo"')
        client = V1Client.connect(relay.tcp_port)
        self.addCleanup(client.close)
        client.send(polite)
        self.assertTrue(client.recv(5)["ok"])


if __name__ == "__main__":
    unittest.main()
