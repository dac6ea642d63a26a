# SPDX-License-Identifier: AGPL-3.0-or-later
"""The bus going away (dbus-daemon killed) touches no tunnel: visitors keep being served by
the same sessions; both daemons rejoin the bus when it comes back, with the same state."""

import time
import unittest

from dbus_case import CLIENT, SERVER, BusTestCase
from harness import DOMAIN


class BusOutage(BusTestCase):
    def test_tunnels_survive_the_bus_and_the_daemons_rejoin_it(self):
        relay, agent, site = self.tunnel()
        since = self.get(CLIENT, "ConnectedSince")["ConnectedSince"]
        session = relay.tunnel_state("demo")["since"]
        self.bus.kill()
        relay.wait_for(r"Lost the D-Bus system bus")
        agent.wait_for(r"Lost the D-Bus system bus")
        for _ in range(5):
            self.assertEqual(relay.get(f"demo.{DOMAIN}").status, 200)
        time.sleep(1)
        self.assertEqual(relay.get(f"demo.{DOMAIN}").status, 200)
        self.assertEqual(agent.registrations(), 1)
        self.bus.start()
        self.bus.wait_name(SERVER[0], timeout=15)
        self.bus.wait_name(CLIENT[0], timeout=15)
        relay.wait_for(r"Back as app\.nexusnode\.Relay1\.Server")
        self.assertEqual(self.get(CLIENT, "State", "ConnectedSince"),
                         {"State": "registered", "ConnectedSince": since})
        self.assertEqual(self.get(SERVER, "TunnelCount", "Requests"),
                         {"TunnelCount": 1, "Requests": 6})
        self.assertEqual(relay.tunnel_state("demo")["since"], session)
        self.assertEqual(agent.registrations(), 1)

    def test_daemons_start_without_a_bus_and_join_it_later(self):
        self.bus.kill()
        relay, agent, site = self.start_relay(), None, self.start_site()
        agent = self.start_agent("demo", self.add_slug("demo"), site.port, relay.tcp_port)
        relay.wait_for(r"Cannot connect to the D-Bus system bus")
        self.assertEqual(relay.get(f"demo.{DOMAIN}").status, 200)
        self.bus.start()
        self.bus.wait_name(SERVER[0], timeout=15)
        self.bus.wait_name(CLIENT[0], timeout=15)
        self.assertEqual(self.get(CLIENT, "State")["State"], "registered")


if __name__ == "__main__":
    unittest.main()
