# SPDX-License-Identifier: AGPL-3.0-or-later
"""SetSlug and `nexusctl set-slug`: the new slug is tried against the relay, kept and stored
(configuration file and token file, or the state directory's slug.conf when the agent cannot
write them) when it accepts, and rolled back when it refuses, with an error whose name says
why; bad input is refused before the session is touched."""

import os
import re
import subprocess
import unittest

from dbus_case import CLIENT, BusTestCase
from harness import DOMAIN
from processes import BIN, Agent, LoggedProcess, free_port, run_binary

CONFIG = """# the agent's settings
server = 127.0.0.1:{port}
slug = old
local-host = 127.0.0.1
local-port = {site}
# log-level = info
"""


def agent_environment(**extra):
    """The test's environment without a token, with `extra` added."""
    env = dict(os.environ)
    for name in ("NEXUS_RELAY_TOKEN", "NODYX_RELAY_TOKEN", "STATE_DIRECTORY",
                 "CREDENTIALS_DIRECTORY"):
        env.pop(name, None)
    env.update(extra)
    return env


class ConfiguredAgent(Agent):
    """An agent as its unit runs it: the slug in a --config file, the token in a file (or,
    as the packaged unit, from `env`: a systemd credential, with a state directory)."""

    def __init__(self, log_dir, name, config, token_file=None, env=None, slug="old"):
        self.slug = slug
        self.status_port = free_port()
        args = [BIN, "client", "--config", str(config), "--insecure-plaintext",
                "--status-listen", f"127.0.0.1:{self.status_port}"]
        if token_file is not None:
            args += ["--token-file", str(token_file)]
        LoggedProcess.__init__(self, name, args, log_dir, env=env or agent_environment())


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


class SetSlugUnderTheUnit(BusTestCase):
    """The packaged unit: the token from a systemd credential the agent cannot write, and a
    state directory (StateDirectory=) where SetSlug keeps what it cannot store elsewhere."""

    def setUp(self):
        super().setUp()
        self.relay = self.start_relay()
        self.site = self.start_site()
        self.tokens = {slug: self.add_slug(slug) for slug in ("old", "new")}
        self.config = self.tmp / "client.conf"
        self.config.write_text(CONFIG.format(port=self.relay.tcp_port, site=self.site.port))
        credentials = self.tmp / "credentials"
        credentials.mkdir()
        (credentials / "token").write_text(self.tokens["old"] + "\n")
        self.state_dir = self.tmp / "state"
        self.state_dir.mkdir()
        self.state_file = self.state_dir / "slug.conf"
        self.env = agent_environment(CREDENTIALS_DIRECTORY=str(credentials),
                                     STATE_DIRECTORY=str(self.state_dir))

    def start(self, slug):
        agent = ConfiguredAgent(self.tmp, self._name(f"agent-{slug}"), self.config,
                                env=self.env, slug=slug)
        self._processes.append(agent)
        agent.wait_registered()
        self.bus.wait_name(CLIENT[0])
        return agent

    def set_slug(self, slug):
        path = self.tmp / f"token-{slug}"
        path.write_text(self.tokens[slug] + "\n")
        return self.bus.nexusctl("set-slug", slug, "--token-file", str(path), timeout=30)

    def test_slug_is_kept_in_the_state_directory_across_restarts(self):
        agent = self.start("old")
        config = self.config.read_text()
        result = self.set_slug("new")
        self.assertEqual((result.returncode, result.stderr), (0, ""))
        self.assertEqual(result.stdout, (
            f"Registered as new; slug and token stored in {self.state_file}, used in place of "
            "the configuration's from the next start (the token came from the systemd "
            "credential 'token', which the agent cannot write); remove that file to go back to "
            "the configuration.\n"))
        self.relay.wait_tunnel("new")
        self.assertEqual(os.stat(self.state_file).st_mode & 0o777, 0o600)
        self.assertIn(f"slug = new\ntoken = {self.tokens['new']}\n", self.state_file.read_text())
        self.assertEqual(self.config.read_text(), config)  # both or neither: left alone
        self.assertEqual(list(self.state_dir.iterdir()), [self.state_file])

        agent.stop()
        self.relay.wait_no_tunnel("new")
        again = self.start("new")
        self.relay.wait_tunnel("new")
        self.assertIsNone(self.relay.tunnel_state("old"))
        again.wait_for(re.escape(
            f'Using slug "new" set by nexusctl set-slug ({self.state_file}); remove the file to '
            f"go back to {self.config}"))
        self.assertEqual(self.get(CLIENT, "Slug")["Slug"], "new")
        status = self.bus.nexusctl("status")
        self.assertEqual(status.returncode, 0, status.stderr)
        self.assertRegex(status.stdout, r"(?m)^\s*Slug\s*:?\s+new\b")

        # The next change goes to the state file too, which would hide one in client.conf.
        result = self.set_slug("old")
        self.assertEqual((result.returncode, result.stderr), (0, ""))
        self.assertIn(f"stored in {self.state_file}, used in place", result.stdout)
        self.assertIn("slug = old\n", self.state_file.read_text())
        self.assertEqual(self.config.read_text(), config)

    def test_token_from_the_environment_goes_to_the_state_directory(self):
        self.env.pop("CREDENTIALS_DIRECTORY")
        self.env["NEXUS_RELAY_TOKEN"] = self.tokens["old"]
        self.start("old")
        result = self.set_slug("new")
        self.assertEqual((result.returncode, result.stderr), (0, ""))
        self.assertIn(f"stored in {self.state_file}", result.stdout)
        self.assertIn("the token came from NEXUS_RELAY_TOKEN", result.stdout)
        self.assertIn("slug = new\n", self.state_file.read_text())

    def test_malformed_state_file_stops_the_start(self):
        for text, problem in [
            ("slug = new\ncolour = blue\n", ":2: unknown setting 'colour'"),
            ("slug = new\n", ": no token (expected 'slug = SLUG' and 'token = TOKEN'; remove "
                             "the file to use the configuration's)"),
            ("slug = Not_A_Slug\ntoken = x\n", ":1: 'Not_A_Slug' is not a valid slug"),
        ]:
            self.state_file.write_text(text)
            result = run_binary("client", "--config", str(self.config), "--insecure-plaintext",
                                "--status-listen", "off", env=self.env)
            self.assertEqual((result.returncode, result.stdout), (2, ""), text)
            self.assertEqual(result.stderr, f"nexus-relay: error: {self.state_file}{problem}\n")


if __name__ == "__main__":
    unittest.main()
