#!/usr/bin/python3
# SPDX-License-Identifier: AGPL-3.0-or-later
"""nexusctl setup against the VPS as operators run it: the relay with its directory API
behind Debian's Caddy on 443 (the shipped Caddyfile, Caddy's internal CA given to setup with
--ca-file), in a private network and mount namespace where DOMAIN, relay.DOMAIN and the slugs'
names resolve to it (tests/testkit/caddy_world.py). Setup probes the relay's doors, registers
the slug with the directory at https://DOMAIN, writes the token and client.conf, starts the
agent from them and waits until the public URL answers through Caddy -> relay -> agent ->
site. Each kind of bad input stops with one line, registers nothing and writes nothing.

systemctl is a stand-in here (setup_world.FAKE_SYSTEMCTL: the real agent started from the
files setup wrote, on a private system bus); the package suite (tests/package) runs the same
setup with the real systemd and the packaged unit. Root only; skipped without root, caddy,
curl or unshare.
"""

import os
import pty
import select
import stat
import subprocess
import time
import unittest

from caddy_world import ResolvedHosts, enter_private_network, start_caddy

if __name__ == "__main__":
    enter_private_network(__file__)

from harness import BIN, DOMAIN, RelayTestCase, free_port, wait_until  # noqa: E402
from private_bus import PrivateBus  # noqa: E402
from setup_world import FAILING_SYSTEMCTL, FAKE_SYSTEMCTL, NEXUSCTL  # noqa: E402

SLUG = "myforum"
RELAY = f"relay.{DOMAIN}"
HOSTS = [DOMAIN, RELAY, f"tunnel.{DOMAIN}", f"{SLUG}.{DOMAIN}", f"other.{DOMAIN}"]
# The documented ports: Caddy's Caddyfile names them, and nothing else listens here.
RELAY_PORTS = dict(tcp_port=7443, http_port=7001, ws_port=7002, status_listen="127.0.0.1:7071")


class SetupTest(ResolvedHosts, RelayTestCase):
    HOSTS = HOSTS

    def setUp(self):
        super().setUp()
        self.relay = self.start_vps_relay()
        caddy, self.ca = start_caddy(self.tmp, DOMAIN)
        self._processes.append(caddy)
        self.site = self.start_site()
        self.bus = PrivateBus().start()
        self.addCleanup(self.bus.close)
        self.root = self.tmp / "root"
        (self.root / "etc" / "nexus-relay").mkdir(parents=True)
        self.systemctl = self.tmp / "systemctl"
        self.use_systemctl(FAKE_SYSTEMCTL)
        self.addCleanup(self._stop_agent)

    def start_vps_relay(self, **options):
        return self.start_relay(directory_api=True, **RELAY_PORTS, **options)

    def give_the_control_port_caddys_certificate(self):
        """The relay restarted with TLS on its control port, with the certificate Caddy
        issued for relay.DOMAIN: one CA, Caddy's, vouches for every name setup meets."""
        # relay.DOMAIN is a site of the Caddyfile, not on demand: Caddy obtains its certificate
        # at start (the metadata file is stored after the certificate and the key).
        issued = self.tmp / "caddy" / "certificates" / "local" / RELAY
        wait_until(lambda: (issued / f"{RELAY}.json").exists(), 20, "Caddy's certificate")
        self.relay.stop()
        self.relay = self.start_vps_relay(tls_cert=issued / f"{RELAY}.crt",
                                          tls_key=issued / f"{RELAY}.key")

    def use_systemctl(self, script):
        self.systemctl.write_text(script)
        self.systemctl.chmod(0o755)

    def _stop_agent(self):
        pid = self.tmp / "agent.pid"
        if pid.exists():
            subprocess.run(["kill", pid.read_text().strip()], check=False)

    def setup_argv(self, *args):
        return [NEXUSCTL, "setup", "--relay", f"{RELAY}:7443", "--directory",
                f"https://{DOMAIN}", "--ca-file", str(self.ca), "--local-port",
                str(self.site.port), "--root", str(self.root), "--systemctl",
                str(self.systemctl), "--timeout", "30", *args]

    def environment(self):
        env = self.bus.environment()
        env.update(WORLD=str(self.tmp), ROOT=str(self.root), NEXUS_RELAY_BIN=BIN,
                   AGENT_STATUS_PORT=str(free_port()))
        return env

    def setup_command(self, *args):
        return subprocess.run(self.setup_argv("--yes", *args), capture_output=True, text=True,
                              env=self.environment(), timeout=90, stdin=subprocess.DEVNULL)

    def written(self):
        return sorted(p.name for p in (self.root / "etc" / "nexus-relay").iterdir())

    def systemctl_calls(self):
        log = self.tmp / "systemctl.log"
        return log.read_text().splitlines() if log.exists() else []

    def registered_slugs(self):
        """The slugs in the relay's directory (`directory list`, first column)."""
        listed = self.directory("list")
        self.assertEqual(listed.returncode, 0, listed.stderr)
        return [line.split()[0] for line in listed.stdout.splitlines()[1:] if line.strip()]

    def public_page(self, slug=SLUG):
        return subprocess.run(["curl", "-sS", "--max-time", "20", "--cacert", str(self.ca),
                               f"https://{slug}.{DOMAIN}/"], capture_output=True, text=True,
                              timeout=30)

    def assert_online(self, result, slug=SLUG):
        self.assertEqual(result.returncode, 0, result)
        self.assertIn(f"Online: https://{slug}.{DOMAIN}/", result.stdout)
        self.assertIn(slug, self.registered_slugs())
        self.assertTrue(self.site.requests, "setup's GET of the public URL never reached the site")
        page = self.public_page(slug)
        self.assertEqual(page.returncode, 0, page.stderr)

    def assert_nothing_changed(self, result, code, line):
        self.assertEqual(result.returncode, code, result)
        self.assertIn(line, result.stderr)
        self.assertEqual(len(result.stderr.strip().splitlines()), 1, result.stderr)
        self.assertEqual(self.written(), [])
        self.assertEqual(self.systemctl_calls(), [])

    def converse(self, argv, dialogue, timeout=90):
        """Runs argv on a pseudo-terminal, answering each prompt as it appears; returns
        (everything it printed, exit status)."""
        master, slave = pty.openpty()
        process = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave,
                                   env=self.environment(), close_fds=True)
        os.close(slave)
        output, pending, deadline = "", list(dialogue), time.monotonic() + timeout
        try:
            while time.monotonic() < deadline:
                ready, _, _ = select.select([master], [], [], 1)
                if ready:
                    try:
                        chunk = os.read(master, 4096).decode(errors="replace")
                    except OSError:  # EIO: the program ended and closed the terminal
                        break
                    if not chunk:
                        break
                    output += chunk
                if pending and pending[0][0] in output.rsplit("\n", 1)[-1]:
                    os.write(master, (pending.pop(0)[1] + "\n").encode())
            return output, process.wait(timeout=max(1, deadline - time.monotonic()))
        finally:
            os.close(master)
            if process.poll() is None:
                process.kill()

    def test_the_control_port_with_tls_is_chosen_and_the_public_url_answers(self):
        self.give_the_control_port_caddys_certificate()
        result = self.setup_command("--slug", SLUG, "--name", "My forum")
        self.assertIn(f"control port 7443 answers with TLS; using {RELAY}:7443", result.stdout)
        self.assert_online(result)
        token = self.root / "etc/nexus-relay/token"
        self.assertEqual(stat.S_IMODE(token.stat().st_mode), 0o600)
        self.assertRegex(token.read_text(), r"^[0-9a-f]{64}\n$")
        conf = (self.root / "etc/nexus-relay/client.conf").read_text()
        self.assertIn(f"server = {RELAY}:7443\n", conf)
        self.assertIn(f"slug = {SLUG}\n", conf)
        self.assertIn(f"local-port = {self.site.port}\n", conf)
        self.assertNotIn(token.read_text().strip(), conf)
        self.assertEqual(self.systemctl_calls(), ["is-active --quiet nexus-relay-client.service",
                                                  "enable --now nexus-relay-client.service"])
        tunnel = self.relay.wait_tunnel(SLUG)
        self.assertEqual(tunnel["door"], "tls")
        self.assertTrue(tunnel["encrypted"])

    def test_without_tls_on_the_control_port_the_agent_comes_through_caddys_443(self):
        # The relay's control port is plaintext (no certificate): the TLS probe fails and
        # setup takes the WebSocket door Caddy serves on relay.DOMAIN.
        result = self.setup_command("--slug", SLUG)
        self.assertRegex(result.stdout, rf"control port 7443 unreachable \(.+\); using "
                                        rf"wss://{RELAY}/tunnel\n")
        self.assert_online(result)
        conf = (self.root / "etc/nexus-relay/client.conf").read_text()
        self.assertIn(f"server = wss://{RELAY}/tunnel\n", conf)
        self.assertEqual(self.relay.wait_tunnel(SLUG)["door"], "ws")

    def test_a_taken_slug_stops_without_a_terminal(self):
        self.add_slug("taken")
        result = self.setup_command("--slug", "taken")
        self.assert_nothing_changed(
            result, 1, "slug 'taken' is already taken in the directory; nothing changed")

    def test_a_taken_slug_on_a_terminal_asks_for_another(self):
        self.add_slug(SLUG)
        output, code = self.converse(self.setup_argv("--slug", SLUG), [
            ("Name of the instance", ""), ("Local web server", ""),
            ("and start the agent?", "y"), ("Another slug", "other")])
        self.assertEqual(code, 0, output)
        self.assertIn(f"Slug '{SLUG}' is already taken.", output)
        self.assertIn(f"Online: https://other.{DOMAIN}/", output)
        self.assertIn("slug = other\n", (self.root / "etc/nexus-relay/client.conf").read_text())
        self.relay.wait_tunnel("other")

    def test_a_reserved_slug_shows_the_directorys_line(self):
        result = self.setup_command("--slug", "www")
        self.assert_nothing_changed(
            result, 1, "the directory refused slug 'www': This slug is reserved for Nexus "
                       "infrastructure")

    def test_an_unreachable_relay_registers_nothing(self):
        # Caddy is up, the relay behind it is not: the control port refuses and Caddy
        # answers 502 on the WebSocket door.
        self.relay.stop()
        result = self.setup_command("--slug", SLUG)
        self.assert_nothing_changed(result, 5, f"relay {RELAY} unreachable: control port 7443")
        self.assertIn(f"wss://{RELAY}/tunnel (HTTP 502 instead of 101); nothing changed",
                      result.stderr)
        self.assertEqual(self.registered_slugs(), [])

    def test_an_unwritable_token_file_registers_nothing(self):
        (self.root / "etc" / "nexus-relay").rmdir()
        (self.root / "etc" / "nexus-relay").write_text("a file where the directory should be")
        result = self.setup_command("--slug", SLUG)
        self.assertEqual(result.returncode, 4, result)
        self.assertEqual(result.stderr.strip(), "nexusctl: cannot write "
                         f"{self.root}/etc/nexus-relay/token: {self.root}/etc/nexus-relay is "
                         "not a directory")
        self.assertEqual(self.registered_slugs(), [])
        self.assertEqual(self.systemctl_calls(), [])

    def test_a_failed_start_rolls_back_and_gives_the_slug_back(self):
        self.use_systemctl(FAILING_SYSTEMCTL)
        result = self.setup_command("--slug", SLUG)
        self.assertEqual(result.returncode, 1, result)
        self.assertIn("Job for nexus-relay-client.service failed.", result.stderr)
        self.assertEqual(self.written(), [])
        self.assertEqual(self.registered_slugs(), [])
        # So the next run can take the same slug.
        self.use_systemctl(FAKE_SYSTEMCTL)
        self.assert_online(self.setup_command("--slug", SLUG))

    def test_dry_run_probes_and_changes_nothing(self):
        result = self.setup_command("--slug", SLUG, "--dry-run")
        self.assertEqual(result.returncode, 0, result)
        self.assertIn(f"using wss://{RELAY}/tunnel", result.stdout)
        self.assertIn(f"Would register: POST https://{DOMAIN}/api/directory/register", result.stdout)
        self.assertIn("Would run: ", result.stdout)
        self.assertEqual(self.registered_slugs(), [])
        self.assertEqual(self.written(), [])
        self.assertEqual(self.systemctl_calls(), [])


if __name__ == "__main__":
    unittest.main()
