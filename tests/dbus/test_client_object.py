# SPDX-License-Identifier: AGPL-3.0-or-later
"""The agent's object on the bus: every property, Reconnect, StateChanged, PropertiesChanged
(counters at most once a second), and the policy: anyone reads, only root changes state."""

import time
import unittest

from dbus_case import CLIENT, BusTestCase
from harness import DOMAIN

HOST = f"demo.{DOMAIN}"

PROPERTIES = ["State", "Slug", "Server", "Door", "ProtocolVersion", "Encrypted",
              "ConnectedSince", "LastError", "NextRetryIn", "RequestsForwarded", "BytesIn",
              "BytesOut", "ActiveStreams"]


class ClientObject(BusTestCase):
    def test_properties_describe_the_registered_agent(self):
        relay, agent, site = self.tunnel()
        values = self.get(CLIENT, *PROPERTIES)
        status = agent.status()
        self.assertEqual(values["State"], "registered")
        self.assertEqual(values["Slug"], "demo")
        self.assertEqual(values["Server"], f"127.0.0.1:{relay.tcp_port}")
        self.assertEqual(values["Door"], "tcp")
        self.assertEqual(values["ProtocolVersion"], 2)
        self.assertIs(values["Encrypted"], False)
        self.assertAlmostEqual(values["ConnectedSince"] / 1e6, time.time(), delta=30)
        self.assertEqual(values["LastError"], "")
        self.assertEqual(values["NextRetryIn"], 0)
        self.assertEqual(values["RequestsForwarded"], status["requests"]["total"])
        self.assertGreater(values["BytesIn"], 0)  # the relay's registration answer
        self.assertGreater(values["BytesOut"], 0)
        self.assertEqual(values["ActiveStreams"], 0)

    def test_counters_change_with_one_signal_per_second_at_most(self):
        relay, agent, site = self.tunnel()
        monitor = self.monitor(CLIENT)
        started = time.monotonic()
        for _ in range(20):
            self.assertEqual(relay.get(HOST).status, 200)
        self.assertEqual(self.get(CLIENT, "RequestsForwarded")["RequestsForwarded"], 20)
        monitor.wait("PropertiesChanged",
                     lambda data: data[1].get("RequestsForwarded", {}).get("data") == 20)
        elapsed = time.monotonic() - started
        carrying = [d for d in monitor.signals("PropertiesChanged") if "RequestsForwarded" in d[1]]
        self.assertLessEqual(len(carrying), int(elapsed) + 2, carrying)

    def test_reconnect_goes_through_every_state_with_signals(self):
        relay, agent, site = self.tunnel()
        monitor = self.monitor(CLIENT)
        self.call(CLIENT, "Reconnect")
        monitor.wait("StateChanged", lambda data: data[0] == "registered")
        states = [data[0] for data in monitor.signals("StateChanged")]
        self.assertEqual(states, ["connecting", "registering", "registered"])
        self.assertIn("State", monitor.changed(CLIENT[2]))
        self.assertIn("ConnectedSince", monitor.changed(CLIENT[2]))
        agent.wait_registered(after=1)

    def test_backoff_says_why_and_when_next(self):
        relay, agent, site = self.tunnel()
        monitor = self.monitor(CLIENT)
        relay.kill()
        state, reason = monitor.wait("StateChanged", lambda data: data[0] == "backoff")
        self.assertNotEqual(reason, "")
        values = self.get(CLIENT, "State", "LastError", "NextRetryIn", "ConnectedSince")
        self.assertEqual(values["State"], "backoff")
        self.assertEqual(values["LastError"], reason)
        self.assertGreater(values["NextRetryIn"], 0)
        self.assertEqual(values["ConnectedSince"], 0)

    def test_anyone_reads_but_only_root_reconnects(self):
        relay, agent, site = self.tunnel()
        self.assertEqual(self.get(CLIENT, "State", nobody=True)["State"], "registered")
        self.bus.busctl("introspect", *CLIENT[:2], nobody=True)
        denied = self.call(CLIENT, "Reconnect", nobody=True, check=False)
        self.assertNotEqual(denied.returncode, 0)
        self.assertIn("Access denied", denied.stderr)
        # The agent was not touched.
        self.assertEqual(agent.registrations(), 1)

    def test_bus_off_publishes_nothing(self):
        relay = self.start_relay()
        site = self.start_site()
        self.start_agent("demo", self.add_slug("demo"), site.port, relay.tcp_port, "--bus", "off")
        self.bus.wait_name("app.nexusnode.Relay1.Server")
        time.sleep(0.5)
        self.assertFalse(self.bus.has_name(CLIENT[0]))


if __name__ == "__main__":
    unittest.main()
