# SPDX-License-Identifier: AGPL-3.0-or-later
"""The relay's object on the bus: its properties, ListTunnels, DisconnectTunnel, RevokeSlug,
the tunnel signals, the errors named by what went wrong, and the policy: anyone lists, only
root drops or revokes."""

import time
import unittest

from dbus_case import SERVER, BusTestCase
from harness import DOMAIN

HOST = f"demo.{DOMAIN}"


class ServerObject(BusTestCase):
    def test_properties_count_what_the_relay_served(self):
        relay, agent, site = self.tunnel()
        values = self.get(SERVER, "TunnelCount", "Requests", "BytesIn", "BytesOut", "Uptime",
                          "Version")
        self.assertEqual(values["TunnelCount"], 1)
        self.assertEqual(values["Requests"], 0)
        self.assertGreater(values["Uptime"], 0)
        self.assertRegex(values["Version"], r"^\d+\.\d+\.\d+")
        for _ in range(3):
            self.assertEqual(relay.get(HOST).status, 200)
        values = self.get(SERVER, "Requests", "BytesOut")
        self.assertEqual(values["Requests"], 3)
        self.assertEqual(values["BytesOut"], relay.status()["totals"]["sent_bytes"])

    def test_list_tunnels_describes_each_live_tunnel(self):
        relay, agent, site = self.tunnel()
        self.assertEqual(relay.get(HOST).status, 200)
        reply = self.call(SERVER, "ListTunnels")
        self.assertEqual(reply["type"], "a(ssssbtttt)")
        [entry] = reply["data"][0]
        slug, address, door, protocol, encrypted, since, requests, bytes_in, bytes_out = entry
        self.assertEqual((slug, address, door, protocol, encrypted),
                         ("demo", "127.0.0.1", "tcp", "v2", False))
        self.assertAlmostEqual(since / 1e6, time.time(), delta=30)
        self.assertEqual(requests, 1)
        self.assertEqual(bytes_out, relay.tunnel_state("demo")["sent_bytes"])

    def test_disconnect_drops_the_tunnel_and_the_agent_comes_back(self):
        relay, agent, site = self.tunnel()
        monitor = self.monitor(SERVER)
        self.call(SERVER, "DisconnectTunnel", "demo")
        self.assertEqual(monitor.wait("TunnelDisconnected"),
                         ["demo", "disconnected by the operator"])
        slug, address, door, protocol, encrypted = monitor.wait("TunnelConnected")
        self.assertEqual((slug, address, door, protocol, encrypted),
                         ("demo", "127.0.0.1", "tcp", "v2", False))
        self.assertIn("TunnelCount", monitor.changed(SERVER[2]))

    def test_revoke_drops_the_tunnel_for_good(self):
        relay, agent, site = self.tunnel()
        monitor = self.monitor(SERVER)
        self.call(SERVER, "RevokeSlug", "demo")
        self.assertEqual(monitor.wait("TunnelDisconnected"), ["demo", "revoked"])
        relay.wait_no_tunnel("demo")
        time.sleep(1)
        self.assertEqual(monitor.signals("TunnelConnected"), [])

    def test_errors_are_named_for_what_went_wrong(self):
        relay, agent, site = self.tunnel()
        for method, error in [("DisconnectTunnel", "NoSuchTunnel"), ("RevokeSlug", "SlugNotFound")]:
            with self.subTest(method):
                # busctl says the error's text; nexusctl's exit code 1 is "the daemon refused".
                failed = self.call(SERVER, method, "nope", check=False)
                self.assertNotEqual(failed.returncode, 0)
                self.assertIn("nope", failed.stderr)
                named = self.bus.nexusctl("disconnect" if method == "DisconnectTunnel" else
                                          "revoke", "nope")
                self.assertEqual(named.returncode, 1, named)

    def test_anyone_lists_but_only_root_disconnects(self):
        relay, agent, site = self.tunnel()
        listed = self.call(SERVER, "ListTunnels", nobody=True)
        self.assertEqual(len(listed["data"][0]), 1)
        self.assertEqual(self.get(SERVER, "TunnelCount", nobody=True)["TunnelCount"], 1)
        for method in ["DisconnectTunnel", "RevokeSlug"]:
            with self.subTest(method):
                denied = self.call(SERVER, method, "demo", nobody=True, check=False)
                self.assertNotEqual(denied.returncode, 0)
                self.assertIn("Access denied", denied.stderr)
        self.assertIsNotNone(relay.tunnel_state("demo"))


if __name__ == "__main__":
    unittest.main()
