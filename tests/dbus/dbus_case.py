# SPDX-License-Identifier: AGPL-3.0-or-later
"""The dbus suite's test case: the integration harness with a private bus that the relay,
the agents and nexusctl all use as their system bus."""

import os
import sys
from pathlib import Path

_REPO = Path(__file__).resolve().parents[2]
sys.path.append(str(_REPO / "tests" / "integration"))
sys.path.append(str(_REPO / "tests" / "testkit"))

from harness import RelayTestCase  # noqa: E402
from private_bus import PrivateBus, SignalMonitor  # noqa: E402

CLIENT = ("app.nexusnode.Relay1.Client", "/app/nexusnode/Relay1/Client",
          "app.nexusnode.Relay1.Client")
SERVER = ("app.nexusnode.Relay1.Server", "/app/nexusnode/Relay1/Server",
          "app.nexusnode.Relay1.Server")


class BusTestCase(RelayTestCase):
    def setUp(self):
        super().setUp()
        self.bus = PrivateBus().start()
        self.addCleanup(self.bus.close)
        # Every process the harness starts inherits the bus as its system bus.
        saved = dict(os.environ)
        os.environ.update(self.bus.environment())
        self.addCleanup(lambda: (os.environ.clear(), os.environ.update(saved)))

    def tunnel(self, slug="demo"):
        """A relay and a registered agent, both on the bus: (relay, agent, site)."""
        relay = self.start_relay()
        site = self.start_site()
        agent = self.start_agent(slug, self.add_slug(slug), site.port, relay.tcp_port)
        self.bus.wait_name(SERVER[0])
        self.bus.wait_name(CLIENT[0])
        return relay, agent, site

    def monitor(self, target):
        monitor = SignalMonitor(self.bus, target[1])
        self.addCleanup(monitor.close)
        return monitor

    def get(self, target, *names, nobody=False):
        """Property values by name, read with busctl get-property."""
        values = {}
        for name in names:
            reply = self.bus.busctl("get-property", "--json=short", *target, name, nobody=nobody)
            values[name] = reply["data"]
        return values

    def call(self, target, method, *args, nobody=False, check=True):
        signature = "s" * len(args)
        return self.bus.busctl("call", "--json=short", *target, method,
                               *([signature, *args] if args else []), nobody=nobody, check=check)
