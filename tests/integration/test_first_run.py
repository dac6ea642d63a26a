#!/usr/bin/python3
# SPDX-License-Identifier: AGPL-3.0-or-later
"""The first minutes of a newcomer or an operator: each mistake gets a message naming its real
cause (the mistyped word and the nearest known one, the file and line, the certificate file,
the busy port, libpq's reason), the demo fails loudly, the README's unit works as written,
the certificate is reloaded under live tunnels, and --log-level quiets the agent."""

import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import unittest
from pathlib import Path

from harness import BIN, DOMAIN, LoggedProcess, RelayTestCase, free_port, run_binary, wait_until

REPO = Path(__file__).resolve().parents[2]


def one_error_line(test, result, *expected, status=2):
    """Exit status `status`, one line on stderr, and every expected text in it."""
    test.assertEqual(result.returncode, status, result.stderr)
    test.assertEqual(len(result.stderr.strip().splitlines()), 1, result.stderr)
    for text in expected:
        test.assertIn(text, result.stderr)


class TypoTest(RelayTestCase):
    def test_unknown_flag_is_named_with_the_nearest_known_one(self):
        result = run_binary("client", "--slugg", "demo")
        one_error_line(self, result, "--slugg", "did you mean --slug?")
        self.assertNotIn("required", result.stderr)

    def test_unknown_flag_with_a_value_is_named_not_the_value(self):
        result = run_binary("client", "--slug", "demo", "--token-fiel", "/tmp/x")
        one_error_line(self, result, "unknown option --token-fiel", "did you mean --token-file?")

    def test_unknown_subcommands_are_named_with_the_nearest_known_one(self):
        one_error_line(self, run_binary("clinet"), "'clinet'", "did you mean client?")
        one_error_line(self, run_binary("directory", "ad", "demo"), "'ad'",
                       "did you mean add?")

    def test_dash_v_prints_the_version(self):
        result = run_binary("-v")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertRegex(result.stdout, r"^nexus-relay \d+\.\d+\.\d+")

    def test_config_without_a_file_says_it_needs_one(self):
        one_error_line(self, run_binary("client", "--config"), "--config needs a value")

    def test_a_port_that_is_a_word_is_not_a_port_number(self):
        result = run_binary("client", "--slug", "demo", "--local-port", "http")
        one_error_line(self, result, "--local-port: http is not a port number")

    def test_unknown_key_in_a_config_file_names_the_file_and_the_line(self):
        config = self.tmp / "client.conf"
        config.write_text("# the agent\nserver = 127.0.0.1:1\n\nslugg = demo\n")
        result = run_binary("client", "--config", str(config))
        one_error_line(self, result, f"{config}:4:", "'slugg'", "did you mean slug?")

    def test_config_files_in_name_value_form_still_work(self):
        config = self.tmp / "client.conf"
        config.write_text('server = "127.0.0.1:1"\nslug = UPPER # a comment\n')
        # The slug reached the option check: the file was read.
        one_error_line(self, run_binary("client", "--config", str(config)), "--slug: invalid slug")


class StartupErrorTest(RelayTestCase):
    def start_failing_relay(self, *flags):
        self.directory("init")
        result = run_binary("server", "--database", str(self.database), "--tcp-bind",
                            "127.0.0.1", "--tcp-port", str(free_port()), "--http-port",
                            str(free_port()), "--status-listen", f"127.0.0.1:{free_port()}", *flags)
        self.assertEqual(result.returncode, 1, result.stderr)
        return result.stderr.strip().splitlines()[-1]

    def test_a_missing_certificate_is_named_with_openssl_reason(self):
        line = self.start_failing_relay("--ws-port", "0", "--tls-cert", "/nonexistent.pem",
                                        "--tls-key", "/nonexistent.key")
        self.assertIn("TLS certificate /nonexistent.pem", line)
        self.assertIn("No such file or directory", line)
        self.assertNotIn("listen", line)

    def test_a_key_that_does_not_match_is_named(self):
        from test_ca import make_test_ca
        one, two = make_test_ca(str(self.tmp / "one")), make_test_ca(str(self.tmp / "two"))
        line = self.start_failing_relay("--ws-port", "0", "--tls-cert", one["relay.pem"],
                                        "--tls-key", two["relay.key"])
        self.assertIn(f"TLS key {two['relay.key']}", line)
        self.assertIn("key values mismatch", line)

    def test_a_busy_websocket_door_is_named_as_the_busy_port(self):
        with socket.socket() as busy:
            busy.bind(("127.0.0.1", 0))
            busy.listen()
            port = busy.getsockname()[1]
            line = self.start_failing_relay("--ws-port", str(port))
        self.assertIn(f"127.0.0.1:{port} for the WebSocket door", line)
        self.assertIn("Address already in use", line)


class MissingDirectoryTest(RelayTestCase):
    def test_directory_list_on_a_mistyped_path_fails_and_creates_nothing(self):
        typo = self.tmp / "typo" / "directory.sqlite"
        result = run_binary("directory", "list", "--database", str(typo))
        one_error_line(self, result, str(typo), "No such file or directory", "directory init",
                       status=1)
        self.assertFalse(typo.parent.exists())

    def test_the_relay_refuses_a_directory_that_does_not_exist(self):
        result = run_binary("server", "--database", str(self.database), "--ws-port", "0",
                            "--tcp-port", str(free_port()), "--http-port", str(free_port()),
                            "--status-listen", "off")
        self.assertEqual(result.returncode, 1, result.stderr)
        self.assertIn(f"{self.database}): No such file or directory", result.stderr)
        self.assertFalse(self.database.exists())

    def test_init_creates_it_and_a_first_add_creates_the_file_but_no_folder(self):
        deep = self.tmp / "state" / "relay" / "directory.sqlite"
        self.assertEqual(run_binary("directory", "init", "--database", str(deep)).returncode, 0)
        self.assertEqual(run_binary("directory", "list", "--database", str(deep)).returncode, 0)
        self.assertEqual(self.directory("add", "first").returncode, 0)
        typo = self.tmp / "typo" / "directory.sqlite"
        self.assertEqual(run_binary("directory", "add", "x", "--database", str(typo)).returncode, 1)
        self.assertFalse(typo.parent.exists())


class UnreachablePostgresTest(RelayTestCase):
    def test_the_relay_warns_at_start_and_refusals_keep_libpq_reason(self):
        closed, tcp_port = free_port(), free_port()
        relay = LoggedProcess("relay", [
            BIN, "server", "--tcp-port", str(tcp_port), "--tcp-bind", "127.0.0.1",
            "--http-port", str(free_port()), "--ws-port", "0", "--status-listen", "off",
            "--domain", DOMAIN, "--database-url", f"postgresql://nexus@127.0.0.1:{closed}/nexus"],
            self.tmp)
        self._processes.append(relay)
        relay.wait_for(r"warning The directory \(PostgreSQL\) does not answer: .*"
                       rf"port {closed} failed: Connection refused", timeout=15)
        self.start_agent("demo", "0" * 64, free_port(), tcp_port, wait=False)
        relay.wait_for(r'Directory unavailable, refusing slug "demo" .*: directory unavailable: '
                       rf".*port {closed} failed: Connection refused", timeout=15)


class DemoTest(unittest.TestCase):
    def test_demo_with_its_port_taken_exits_non_zero_and_shows_the_relay_error(self):
        with socket.socket() as busy:
            busy.bind(("127.0.0.1", 0))
            busy.listen()
            port = busy.getsockname()[1]
            env = dict(os.environ, NEXUS_RELAY_BIN=BIN, DEMO_HTTP_PORT=str(port),
                       DEMO_TCP_PORT=str(free_port()), DEMO_SITE_PORT=str(free_port()))
            result = subprocess.run(["bash", str(REPO / "scripts" / "demo.sh"), "--check"],
                                    env=env, capture_output=True, text=True, timeout=60)
        self.assertNotEqual(result.returncode, 0, result.stdout + result.stderr)
        self.assertNotIn("demo OK", result.stdout)
        self.assertIn("the relay failed", result.stderr)
        self.assertIn(f"127.0.0.1:{port} for the HTTP front (--http-port): Address already in use",
                      result.stderr)


class LogLevelTest(RelayTestCase):
    def test_warning_in_the_config_file_hides_per_request_lines(self):
        relay = self.start_relay()
        site = self.start_site()
        quiet = self.tmp / "quiet.conf"
        quiet.write_text("log-level = warning\n")
        agents = {}
        for slug, extra in (("loud", ()), ("quiet", ("--config", str(quiet)))):
            agents[slug] = self.start_agent(slug, self.add_slug(slug), site.port,
                                            relay.tcp_port, *extra, wait=False)
            relay.wait_tunnel(slug)
            self.assertEqual(relay.get(f"{slug}.{DOMAIN}").status, 200)
        loud, quiet_agent = agents["loud"], agents["quiet"]
        wait_until(lambda: "Forwarding GET /" in loud.text(), 5, "the info agent's request line")
        self.assertNotIn("Forwarding", quiet_agent.text())
        self.assertNotIn("info ", quiet_agent.text())


class CertificateReloadTest(RelayTestCase):
    def served_by(self, relay, ca):
        """Whether the relay's control port now serves a certificate that `ca` signed."""
        context = ssl.create_default_context(cafile=ca)
        try:
            with socket.create_connection(("127.0.0.1", relay.tcp_port), timeout=5) as raw:
                with context.wrap_socket(raw, server_hostname="127.0.0.1"):
                    return True
        except ssl.SSLCertVerificationError:
            return False

    def swap_under_a_live_tunnel(self, trigger):
        from test_ca import make_test_ca
        old, new = make_test_ca(str(self.tmp / "old")), make_test_ca(str(self.tmp / "new"))
        live = self.tmp / "live"
        live.mkdir()
        for name in ("relay.pem", "relay.key"):
            shutil.copy(old[name], live / name)
        relay = self.start_relay(tls_cert=live / "relay.pem", tls_key=live / "relay.key")
        site, first = self.tunnel(relay, "first", "--ca-file", old["ca.pem"])
        self.assertTrue(self.served_by(relay, old["ca.pem"]))

        for name in ("relay.pem", "relay.key"):  # as certbot does: a new file, renamed
            shutil.copy(new[name], live / (name + ".new"))
            os.replace(live / (name + ".new"), live / name)
        trigger(relay)
        relay.wait_for("Reloaded the TLS certificate", timeout=15)
        self.assertTrue(self.served_by(relay, new["ca.pem"]))
        self.assertFalse(self.served_by(relay, old["ca.pem"]))

        self.tunnel(relay, "second", "--ca-file", new["ca.pem"])
        self.assert_serves(relay, "first", site)
        self.assertEqual(first.registrations(), 1, "the live tunnel must not be dropped")

    def test_a_renewed_certificate_is_picked_up_from_disk(self):
        self.swap_under_a_live_tunnel(lambda relay: None)

    def test_sighup_reloads_the_certificate(self):
        self.swap_under_a_live_tunnel(lambda relay: relay.signal(signal.SIGHUP))


class ReadmeUnitTest(RelayTestCase):
    def readme_block(self, first_line):
        """The fenced block of README.md that starts with `first_line`."""
        readme = (REPO / "README.md").read_text()
        match = re.search(r"```\w*\n(" + re.escape(first_line) + r"\n.*?)```", readme, re.S)
        self.assertIsNotNone(match, f"README.md has no block starting with {first_line}")
        return match.group(1)

    def test_the_unit_passes_systemd_analyze_verify(self):
        if shutil.which("systemd-analyze") is None:
            self.skipTest("systemd-analyze not installed")
        unit = self.readme_block("# /etc/systemd/system/nexus-relay-client.service")
        self.assertIn("LoadCredential=token:/etc/nexus-relay/token", unit)
        self.assertIn("DynamicUser=yes", unit)
        path = self.tmp / "nexus-relay-client.service"
        path.write_text(unit.replace("/usr/bin/nexus-relay", BIN))
        result = subprocess.run(["systemd-analyze", "verify", str(path)],
                                capture_output=True, text=True, timeout=60)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertNotIn(path.name, result.stderr)

    def test_the_config_example_takes_the_token_from_the_credential(self):
        config = self.readme_block("# /etc/nexus-relay/client.conf")
        self.assertNotIn("token", config.replace("# /etc/nexus-relay/client.conf", ""),
                         "a token file the dynamic user cannot read")
        relay = self.start_relay()
        site = self.start_site()
        token = self.add_slug("moncommunaute")
        credentials = self.tmp / "credentials"
        credentials.mkdir()
        (credentials / "token").write_text(token + "\n")
        (self.tmp / "client.conf").write_text(config)
        env = {k: v for k, v in os.environ.items()
               if k not in ("NEXUS_RELAY_TOKEN", "NODYX_RELAY_TOKEN")}
        env["CREDENTIALS_DIRECTORY"] = str(credentials)
        # The file's server is the public relay: the command line points at this one.
        agent = LoggedProcess("agent", [BIN, "client", "--config", str(self.tmp / "client.conf"),
                                        "--server", f"127.0.0.1:{relay.tcp_port}",
                                        "--insecure-plaintext", "--status-listen",
                                        f"127.0.0.1:{free_port()}",
                                        "--local-port", str(site.port)], self.tmp, env=env)
        self._processes.append(agent)
        agent.wait_for('Registered as slug "moncommunaute"', timeout=10)


if __name__ == "__main__":
    unittest.main()
