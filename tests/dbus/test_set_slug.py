# SPDX-License-Identifier: AGPL-3.0-or-later
"""SetSlug and `nexusctl set-slug`: the new slug is tried against the relay, kept and stored
(configuration file and token file) when it accepts, and rolled back when it refuses, with an
error whose name says why; bad input is refused before the session is touched."""

import os
import subprocess
import unittest

from dbus_case import CLIENT, BusTestCase
from harness import DOMAIN
from processes import BIN, Agent, LoggedProcess, free_port

CONFIG = """# the agent's settings
server = 127.0.0.1:{port}
slug = old
local-host = 127.0.0.1
local-port = {site}
# log-level = info
"""


class ConfiguredAgent(Agent):
    """An agent as its unit runs it: the slug in a --config file, the token in a file."""

    def __init__(self, log_dir, name, config, token_file):
        self.slug = "old"
        self.status_port = free_port()
        args = [BIN, "client", "--config", str(config), "--token-file", str(token_file),
                "--insecure-plaintext", "--status-listen", f"127.0.0.1:{self.status_port}"]
        env = dict(os.environ)
        env.pop("NEXUS_RELAY_TOKEN", None)
        env.pop("NODYX_RELAY_TOKEN", None)
        LoggedProcess.__init__(self, name, args, log_dir, env=env)


class SetSlug(BusTestCase):
    def configured(self):
        """A relay with slugs old and new, and an agent registered as old from its files:
        (relay, agent, site, tokens by slug)."""
        relay = self.start_relay()
        site = self.start_site()
        tokens = {slug: self.add_slug(slug) for slug in ("old", "new")}
        self.config = self.tmp / "client.conf"
        self.config.write_text(CONFIG.format(port=relay.tcp_port, site=site.port))
        self.token_file = self.tmp / "token"
        self.token_file.write_text(tokens["old"] + "\n")
        os.chmod(self.token_file, 0o600)
        agent = ConfiguredAgent(self.tmp, self._name("agent-old"), self.config, self.token_file)
        self._processes.append(agent)
        agent.wait_registered()
        self.bus.wait_name(CLIENT[0])
        return relay, agent, site, tokens

    def token_in_file(self, token, readable_by_all=False):
        """A file holding `token`; one that nobody can read too (in the bus's directory)."""
        where = self.bus.dir if readable_by_all else self.tmp
        path = where / f"token-{len(list(where.glob('token-*')))}"
        path.write_text(token + "\n")
        os.chmod(path, 0o644 if readable_by_all else 0o600)
        return str(path)

    def send(self, slug, token, nobody=False):
        """SetSlug through dbus-send, which names the error: (returncode, stdout, stderr)."""
        command = (["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"]
                   if nobody else [])
        command += ["dbus-send", f"--bus={self.bus.address}", "--print-reply",
                    "--reply-timeout=20000", f"--dest={CLIENT[0]}", CLIENT[1],
                    f"{CLIENT[2]}.SetSlug", f"string:{slug}", f"string:{token}"]
        result = subprocess.run(command, capture_output=True, text=True, timeout=30)
        return result.returncode, result.stdout, result.stderr

    def test_accepted_slug_is_kept_and_stored(self):
        relay, agent, site, tokens = self.configured()
        before = self.config.read_text()
        result = self.bus.nexusctl("set-slug", "new", "--token-file",
                                   self.token_in_file(tokens["new"]), timeout=30)
        self.assertEqual((result.returncode, result.stderr), (0, ""))
        self.assertEqual(result.stdout,
                         "Registered as new; slug and token stored for the next start.\n")
        relay.wait_tunnel("new")
        self.assertIsNone(relay.tunnel_state("old"))
        self.assertEqual(self.get(CLIENT, "Slug", "State"), {"Slug": "new", "State": "registered"})
        self.assertEqual(relay.get(f"new.{DOMAIN}").status, 200)
        # Only the slug line changed; the token file holds the new token, still 0600.
        self.assertEqual(self.config.read_text(), before.replace("slug = old", "slug = new"))
        self.assertEqual(self.token_file.read_text(), tokens["new"] + "\n")
        self.assertEqual(os.stat(self.token_file).st_mode & 0o777, 0o600)
        self.assertEqual(list(self.tmp.glob("client.conf.*")), [])  # no staged file left

    def test_refused_token_rolls_back_to_the_old_slug(self):
        relay, agent, site, tokens = self.configured()
        config, token = self.config.read_text(), self.token_file.read_text()
        code, out, err = self.send("new", "0" * 64)
        self.assertNotEqual(code, 0)
        self.assertIn("Error app.nexusnode.Relay1.Error.TokenRefused: the relay refused slug "
                      "'new' with this token: Invalid slug or token", err)
        agent.wait_registered(after=1)
        relay.wait_tunnel("old")
        self.assertIsNone(relay.tunnel_state("new"))
        self.assertEqual(self.get(CLIENT, "Slug")["Slug"], "old")
        self.assertIn("not taken: Invalid slug or token", self.get(CLIENT, "LastError")["LastError"])
        self.assertEqual((self.config.read_text(), self.token_file.read_text()), (config, token))
        self.assertEqual(relay.get(f"old.{DOMAIN}").status, 200)
        # nexusctl says the same in one line.
        result = self.bus.nexusctl("set-slug", "new", "--token-file",
                                   self.token_in_file("0" * 64), timeout=30)
        self.assertEqual((result.returncode, result.stdout), (1, ""))
        self.assertEqual(result.stderr, "nexusctl: set-slug failed: the relay refused slug 'new' "
                                        "with this token: Invalid slug or token\n")
        agent.wait_registered(after=2)

    def test_slug_served_by_another_agent_is_not_taken(self):
        relay, agent, site, tokens = self.configured()
        other = self.start_agent("new", tokens["new"], site.port, relay.tcp_port)
        code, out, err = self.send("new", tokens["new"])
        self.assertIn("Error app.nexusnode.Relay1.Error.SlugTaken: another agent serves slug "
                      "'new' now (Held by another agent for slug \"new\" from 127.0.0.1)", err)
        agent.wait_registered(after=1)
        relay.wait_tunnel("old")
        self.assertEqual(other.status()["state"], "registered")
        self.assertEqual(other.registrations(), 1)
        self.assertIn("slug = old", self.config.read_text())

    def test_invalid_input_leaves_the_session_alone(self):
        relay, agent, site, tokens = self.configured()
        code, out, err = self.send("Not_A_Slug", tokens["new"])
        self.assertIn("Error app.nexusnode.Relay1.Error.InvalidSlug: 'Not_A_Slug': ", err)
        code, out, err = self.send("new", "")
        self.assertIn("Error org.freedesktop.DBus.Error.InvalidArgs: the token is empty", err)
        result = self.bus.nexusctl("set-slug", "new", "--token-file", str(self.tmp / "missing"))
        self.assertEqual(result.returncode, 2)
        self.assertEqual(result.stderr, "nexusctl: cannot read token file "
                                        f"{self.tmp / 'missing'}: No such file or directory\n")
        self.assertEqual(agent.registrations(), 1)
        self.assertEqual(agent.status()["state"], "registered")

    def test_token_from_elsewhere_is_left_to_the_caller(self):
        # The harness's agent: --slug on its command line, the token in its environment.
        relay, agent, site = self.tunnel("old")
        token = self.add_slug("new")
        result = self.bus.nexusctl("set-slug", "new", "--token-file", self.token_in_file(token),
                                   timeout=30)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(result.stdout, (
            "Registered as new; not stored (the agent has no configuration file (--config); "
            "the token came from NEXUS_RELAY_TOKEN, which the agent cannot write): set slug = "
            "new and the new token where the agent reads them, or it registers the previous "
            "slug at its next start.\n"))
        relay.wait_tunnel("new")

    def test_only_root_or_the_group_may_set_the_slug(self):
        relay, agent, site, tokens = self.configured()
        code, out, err = self.send("new", tokens["new"], nobody=True)
        self.assertIn("Error org.freedesktop.DBus.Error.AccessDenied", err)
        result = self.bus.nexusctl("set-slug", "new", "--token-file",
                                   self.token_in_file(tokens["new"], readable_by_all=True),
                                   nobody=True)
        self.assertEqual(result.returncode, 4)
        self.assertEqual(result.stderr, "nexusctl: permission denied: set-slug needs root or "
                                        "membership of the nexus-relay group\n")
        self.assertEqual(agent.registrations(), 1)


if __name__ == "__main__":
    unittest.main()
