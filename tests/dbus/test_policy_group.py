# SPDX-License-Identifier: AGPL-3.0-or-later
"""The policy's group path: a user in the nexus-relay group changes state (Reconnect, SetSlug's
policy, DisconnectTunnel) without being root; the same user outside the group is denied. The
group is created for the test when the machine has none (and removed again after), before
the private bus reads its policy, which names the group."""

import grp
import subprocess
import unittest

from dbus_case import BusTestCase
from private_bus import NEXUSCTL

GROUP = "nexus-relay"


def group_exists():
    try:
        grp.getgrnam(GROUP)
        return True
    except KeyError:
        return False


class PolicyGroup(BusTestCase):
    def setUp(self):
        if not group_exists():
            subprocess.run(["groupadd", "--system", GROUP], check=True)
            self.addCleanup(lambda: subprocess.run(["groupdel", GROUP], check=True))
        super().setUp()  # the bus starts now, with the group known

    def as_member(self, *command, member=True):
        """`command` as nobody, in the group or in none."""
        groups = ["--groups", GROUP] if member else ["--clear-groups"]
        return subprocess.run(["setpriv", "--reuid=nobody", "--regid=nogroup", *groups,
                               *command], capture_output=True, text=True, timeout=15,
                              env=self.bus.environment())

    def test_group_members_change_state_and_others_do_not(self):
        relay, agent, site = self.tunnel("demo")
        denied = self.as_member(NEXUSCTL, "reconnect", member=False)
        self.assertEqual(denied.returncode, 4, denied.stderr)
        allowed = self.as_member(NEXUSCTL, "reconnect")
        self.assertEqual((allowed.returncode, allowed.stderr), (0, ""))
        agent.wait_registered(after=1)
        dropped = self.as_member(NEXUSCTL, "disconnect", "demo")
        self.assertEqual((dropped.returncode, dropped.stderr), (0, ""))
        agent.wait_registered(after=2)
        # SetSlug passes the policy too: the agent answers (here: the slug is invalid).
        answered = self.as_member("busctl", f"--address={self.bus.address}", "call",
                                  "app.nexusnode.Relay1.Client", "/app/nexusnode/Relay1/Client",
                                  "app.nexusnode.Relay1.Client", "SetSlug", "ss", "Not_A_Slug",
                                  "token")
        self.assertNotEqual(answered.returncode, 0)
        self.assertNotIn("Access denied", answered.stderr)
        self.assertIn("'Not_A_Slug': ", answered.stderr)


if __name__ == "__main__":
    unittest.main()
