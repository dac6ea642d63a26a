#!/usr/bin/python3
# SPDX-License-Identifier: AGPL-3.0-or-later
"""nexusctl setup against a real relay behind Debian's Caddy (internal CA, certificate
verified through --ca-file): the relay probed, the slug registered, the token and client.conf
written, the agent started from them, the public URL answering through Caddy -> relay ->
agent -> site. And each kind of bad input stopping with one line and nothing written."""

import os
import stat
import subprocess
import unittest

from harness import BIN, DOMAIN, RelayTestCase, free_port
from private_bus import PrivateBus
from setup_world import FAKE_SYSTEMCTL, NEXUSCTL, DirectoryStandIn, start_caddy
from test_ca import make_test_ca


class SetupTest(RelayTestCase):
    def setUp(self):
        super().setUp()
        pki = make_test_ca(str(self.tmp / "pki"))
        self.relay = self.start_relay(tls_cert=pki["relay.pem"], tls_key=pki["relay.key"])
        self.site = self.start_site()
        self.stand_in = DirectoryStandIn(self.database)
        self.addCleanup(self.stand_in.stop)
        self.https_port = free_port()
        caddy, caddy_root = start_caddy(self.tmp, self.https_port, self.stand_in.port,
                                        self.relay.http_port, ["demo", "other"])
        self.addCleanup(lambda: (caddy.kill(), caddy.wait()))
        # One bundle: Caddy's root for the directory and the public URL, the test CA for
        # the relay's control port.
        self.ca = self.tmp / "ca-bundle.pem"
        self.ca.write_text(caddy_root.read_text() + open(pki["ca.pem"]).read())
        self.bus = PrivateBus().start()
        self.addCleanup(self.bus.close)
        self.root = self.tmp / "root"
        (self.root / "etc" / "nexus-relay").mkdir(parents=True)
        self.systemctl = self.tmp / "systemctl"
        self.systemctl.write_text(FAKE_SYSTEMCTL)
        self.systemctl.chmod(0o755)
        self.addCleanup(self._stop_agent)

    def _stop_agent(self):
        pid = self.tmp / "agent.pid"
        if pid.exists():
            subprocess.run(["kill", pid.read_text().strip()], check=False)

    def setup_command(self, *args, relay_port=None):
        env = self.bus.environment()
        env.update(WORLD=str(self.tmp), ROOT=str(self.root), NEXUS_RELAY_BIN=BIN,
                   AGENT_STATUS_PORT=str(free_port()))
        resolve = []
        for name in (DOMAIN, f"demo.{DOMAIN}", f"other.{DOMAIN}"):
            resolve += ["--resolve", f"{name}:{self.https_port}:127.0.0.1"]
        command = [NEXUSCTL, "setup", "--yes", "--relay",
                   f"127.0.0.1:{relay_port or self.relay.tcp_port}",
                   "--directory", f"https://{DOMAIN}:{self.https_port}",
                   "--ca-file", str(self.ca), "--local-port", str(self.site.port),
                   "--root", str(self.root), "--systemctl", str(self.systemctl),
                   "--timeout", "30", *resolve, *args]
        return subprocess.run(command, capture_output=True, text=True, env=env, timeout=90,
                              stdin=subprocess.DEVNULL)

    def written(self):
        return sorted(p.name for p in (self.root / "etc" / "nexus-relay").iterdir())

    def systemctl_calls(self):
        log = self.tmp / "systemctl.log"
        return log.read_text().splitlines() if log.exists() else []

    def assert_nothing_changed(self, result, code, line):
        self.assertEqual(result.returncode, code, result)
        self.assertIn(line, result.stderr)
        self.assertEqual(len(result.stderr.strip().splitlines()), 1, result.stderr)
        self.assertEqual(self.written(), [])
        self.assertEqual(self.systemctl_calls(), [])

    def test_registers_writes_starts_and_shows_the_public_url(self):
        result = self.setup_command("--slug", "demo", "--name", "Demo")
        self.assertEqual(result.returncode, 0, result)
        self.assertIn(f"control port {self.relay.tcp_port} answers with TLS", result.stdout)
        self.assertIn(f"Online: https://demo.{DOMAIN}:{self.https_port}/", result.stdout)
        self.assertEqual(self.stand_in.requests[0],
                         ("POST", "/api/directory/register",
                          {"name": "Demo", "slug": "demo", "url": f"https://demo.{DOMAIN}"}))
        token = self.root / "etc/nexus-relay/token"
        self.assertEqual(stat.S_IMODE(token.stat().st_mode), 0o600)
        self.assertRegex(token.read_text(), r"^[0-9a-f]{64}\n$")
        conf = (self.root / "etc/nexus-relay/client.conf").read_text()
        self.assertIn(f"server = 127.0.0.1:{self.relay.tcp_port}\n", conf)
        self.assertIn("slug = demo\n", conf)
        self.assertIn(f"local-port = {self.site.port}\n", conf)
        self.assertNotIn(token.read_text().strip(), conf)
        self.assertEqual(self.systemctl_calls(), ["is-active --quiet nexus-relay-client.service",
                                                  "enable --now nexus-relay-client.service"])
        self.relay.wait_tunnel("demo")
        self.assertTrue(self.site.requests, "setup's GET of the public URL never reached the site")

    def test_a_taken_slug_stops_without_a_terminal(self):
        result = self.setup_command("--slug", "taken")
        self.assert_nothing_changed(result, 1, "slug 'taken' is already taken in the directory")

    def test_a_refused_slug_shows_the_directorys_line(self):
        result = self.setup_command("--slug", "www")
        self.assert_nothing_changed(
            result, 1, "the directory refused slug 'www': This slug is reserved for Nodyx "
                       "infrastructure")

    def test_an_unreachable_relay_registers_nothing(self):
        result = self.setup_command("--slug", "demo", relay_port=free_port())
        self.assert_nothing_changed(result, 5, "relay 127.0.0.1 unreachable: control port")
        self.assertEqual(self.stand_in.requests, [])

    def test_an_unwritable_token_file_registers_nothing(self):
        (self.root / "etc" / "nexus-relay").rmdir()
        (self.root / "etc" / "nexus-relay").write_text("a file where the directory should be")
        result = self.setup_command("--slug", "demo")
        self.assertEqual(result.returncode, 4, result)
        self.assertIn("cannot write", result.stderr)
        self.assertEqual(self.stand_in.requests, [])
        self.assertEqual(self.systemctl_calls(), [])

    def test_a_failed_start_rolls_back_and_gives_the_slug_back(self):
        self.systemctl.write_text("#!/bin/sh\necho \"$*\" >> \"$WORLD/systemctl.log\"\n"
                                  "case \"$*\" in *--now*) echo 'Job failed.' >&2; exit 1;; esac\n"
                                  "exit 3\n")
        result = self.setup_command("--slug", "demo")
        self.assertEqual(result.returncode, 1, result)
        self.assertIn("Job failed.", result.stderr)
        self.assertEqual(self.written(), [])
        self.assertEqual(self.stand_in.requests[-1][:2], ("DELETE", "/api/directory/demo"))

    def test_dry_run_probes_and_changes_nothing(self):
        result = self.setup_command("--slug", "demo", "--dry-run")
        self.assertEqual(result.returncode, 0, result)
        self.assertIn("Would register: POST", result.stdout)
        self.assertIn("Would run: ", result.stdout)
        self.assertEqual(self.stand_in.requests, [])
        self.assertEqual(self.written(), [])


if __name__ == "__main__":
    unittest.main()
