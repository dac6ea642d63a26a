#!/usr/bin/python3
# SPDX-License-Identifier: AGPL-3.0-or-later
"""Protocol v2 heartbeats against a half-open connection.

The classic way a home tunnel dies is not a clean close: a NAT forgets the session or the
uplink drops, and both ends keep a socket that looks fine while every packet vanishes. No FIN,
no RST, and TCP keepalives are answered by whatever box still holds the socket. Only the
application heartbeat can notice: each side pings every 10 s and gives the peer up after 30 s
without any frame, so both must notice within 40 s (docs/protocol.md §4.8), the relay to stop
routing visitors into a dead tunnel, the agent to dial again.
"""

import re
import time
import unittest

from harness import DOMAIN, RelayTestCase
from tcp_cut_proxy import CutProxy

SLUG = "beat"
# docs/protocol.md §4.8: dead after 30 s of silence, checked at each 10 s ping tick.
DETECTION_LIMIT = 40.0
# The last frame either side received came at most one ping interval (10 s) before the freeze,
# so a 30 s silence timeout cannot fire before 20 s: earlier means it is not the heartbeat.
DETECTION_FLOOR = 19.0


class HeartbeatTest(RelayTestCase):
    def setUp(self):
        super().setUp()
        self.relay = self.start_relay()
        self.site = self.start_site()
        token = self.add_slug(SLUG)
        # The tunnel pings only every 10 s: the proxy must not drop quiet connections.
        self.proxy = CutProxy("127.0.0.1", self.relay.tcp_port, upstream_timeout=None).start()
        self.addCleanup(self.proxy.cut)
        self.agent = self.start_agent(SLUG, token, self.site.port, self.proxy.port)
        self.relay.wait_for(rf'Tunnel registered: slug "{SLUG}" .*, protocol v2')
        self.assert_serves(self.relay, SLUG, self.site)

    def wait_for_both(self, relay_pattern, agent_pattern, since, started, timeout):
        """Seconds from `started` until each log first shows its pattern (None if never)."""
        seen = {"relay": None, "agent": None}
        sources = {"relay": (self.relay, relay_pattern, since[0]),
                   "agent": (self.agent, agent_pattern, since[1])}
        deadline = started + timeout
        while time.monotonic() < deadline and None in seen.values():
            for side, (process, pattern, mark) in sources.items():
                if seen[side] is None and process.find_all(pattern, mark):
                    seen[side] = time.monotonic() - started
            time.sleep(0.05)
        return seen["relay"], seen["agent"]

    def test_agent_and_relay_both_notice_a_silent_tunnel_within_40_seconds(self):
        relay_mark, agent_mark = self.relay.mark(), self.agent.mark()
        self.proxy.freeze()
        frozen_at = time.monotonic()

        relay_gone = rf'Tunnel gone: slug "{SLUG}" from \S+ \(([^)]*)\)(.*)'
        agent_gone = r"Session ended: (.*)\n(?:.*\n)*?.*Reconnecting in \d+s"
        relay_seconds, agent_seconds = self.wait_for_both(
            relay_gone, agent_gone, (relay_mark, agent_mark), frozen_at, DETECTION_LIMIT + 5)
        shown = {side: "never" if s is None else f"{s:.1f} s"
                 for side, s in (("relay", relay_seconds), ("agent", agent_seconds))}
        print(f"\nhalf-open tunnel noticed after: relay {shown['relay']}, agent {shown['agent']}"
              f" (limit {DETECTION_LIMIT:.0f} s)", flush=True)

        self.assertIsNotNone(relay_seconds, "the relay never dropped the silent tunnel")
        self.assertIsNotNone(agent_seconds, "the agent never gave up the silent session")
        self.assertLessEqual(relay_seconds, DETECTION_LIMIT, "relay detection time")
        self.assertLessEqual(agent_seconds, DETECTION_LIMIT, "agent detection time")
        self.assertGreaterEqual(relay_seconds, DETECTION_FLOOR, "relay gave up too early")
        self.assertGreaterEqual(agent_seconds, DETECTION_FLOOR, "agent gave up too early")

        # Both gave up because of silence, not because something closed the connection.
        reason, rest = self.relay.find_all(relay_gone, relay_mark)[0].groups()
        self.assertIn("no traffic", reason)
        self.assertEqual(rest.strip(), "", "no other session may hold the slug")
        self.assertRegex(self.agent.find_all(agent_gone, agent_mark)[0].group(1),
                         r"^No traffic from relay in 30s")
        # Both kept pinging into the blackhole: at least one 20-byte PING each way.
        toward_relay, toward_agent = self.proxy.swallowed_bytes()
        self.assertGreaterEqual(toward_relay, 20, "the agent sent no heartbeat during the freeze")
        self.assertGreaterEqual(toward_agent, 20, "the relay sent no heartbeat during the freeze")

        # The relay no longer routes visitors into the dead tunnel: it answers at once itself.
        before = len(self.site.requests)
        response = self.relay.get(f"{SLUG}.{DOMAIN}", "/echo", timeout=5)
        self.assertNotEqual(response.status, 200, response)
        self.assertEqual(len(self.site.requests), before)

        # The agent keeps dialling while the path is still dead: its next attempt connects
        # (the proxy accepts) but its registration vanishes like everything else.
        retry_mark = self.agent.find_all(agent_gone, agent_mark)[0].end() + agent_mark
        self.agent.wait_for(r"Connected to .*", 10, since=retry_mark)
        registrations = self.agent.registrations()
        time.sleep(1)
        self.assertEqual(self.agent.registrations(), registrations,
                         "registered through a blackhole")

        # The path comes back: the agent registers again by itself and serves again.
        agent_mark, relay_mark = self.agent.mark(), self.relay.mark()
        self.proxy.thaw()
        thawed_at = time.monotonic()
        self.agent.wait_registered(timeout=20, after=registrations)
        self.relay.wait_for(rf'Tunnel registered: slug "{SLUG}" .*, protocol v2', 5, since=relay_mark)
        print(f"re-registered {time.monotonic() - thawed_at:.1f} s after the path came back",
              flush=True)
        self.assert_serves(self.relay, SLUG, self.site)
        self.assertTrue(self.agent.alive() and self.relay.alive())
        self.assertFalse(re.search(r"Tunnel (replaced|gone)", self.relay.text()[relay_mark:]),
                         "the new session must be the only one")


if __name__ == "__main__":
    unittest.main()
