#!/usr/bin/python3
# SPDX-License-Identifier: AGPL-3.0-or-later
"""The units under systemd/ as installed: `systemd-analyze verify` is clean and
`systemd-analyze security --offline=true` rates each service 2.5 or better; every socket is
named for the daemon and bound where the daemon's own defaults are; the token comes as a
credential; the journal catalog explains every MESSAGE_ID the daemons use; the example
configuration files are accepted by the real binary.

verify wants the ExecStart binaries to exist: it checks copies of the units whose ExecStart
points at the binary just built instead of its installed path."""

import configparser
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest

UNITS = sys.argv[1:]
INSTALLED_BIN = os.environ["INSTALLED_BIN"]
BUILT_BIN = os.environ["NEXUS_RELAY_BIN"]
CATALOG = os.environ["CATALOG"]
MESSAGE_IDS = os.environ["MESSAGE_IDS"]
EXAMPLES = os.environ["EXAMPLES"]
ANALYZE = shutil.which("systemd-analyze")
MAX_EXPOSURE = 2.5

# What the daemons expect, by FileDescriptorName=, and where each listens.
SERVER_SOCKETS = {"control": "[::]:7443", "http": "127.0.0.1:7001",
                  "websocket": "127.0.0.1:7002", "status": "127.0.0.1:7071"}
CLIENT_SOCKETS = {"status": "127.0.0.1:7070"}


def unit(name) -> configparser.ConfigParser:
    """A unit file as sections of settings; a setting given twice keeps its values joined."""
    path = next(p for p in UNITS if os.path.basename(p) == name)
    parser = configparser.ConfigParser(strict=False, interpolation=None, delimiters=("=",),
                                       comment_prefixes=("#", ";"))
    parser.optionxform = str
    merged = {}
    section = None
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith(("#", ";")):
                continue
            if line.startswith("["):
                section = line[1:-1]
                merged.setdefault(section, {})
                continue
            key, value = line.split("=", 1)
            previous = merged[section].get(key)
            merged[section][key] = value if previous is None else f"{previous} {value}"
    parser.read_dict(merged)
    return parser


@unittest.skipUnless(ANALYZE, "systemd-analyze is not installed")
class AnalyzeTest(unittest.TestCase):
    def setUp(self):
        tmp = tempfile.TemporaryDirectory()
        self.addCleanup(tmp.cleanup)
        self.copies = []
        for path in UNITS:
            with open(path, encoding="utf-8") as f:
                text = f.read().replace(INSTALLED_BIN, BUILT_BIN)
            copy = os.path.join(tmp.name, os.path.basename(path))
            with open(copy, "w", encoding="utf-8") as f:
                f.write(text)
            self.copies.append(copy)

    def test_verify_is_clean(self):
        result = subprocess.run([ANALYZE, "verify", *self.copies], capture_output=True,
                                text=True, timeout=60)
        self.assertEqual((result.returncode, result.stdout + result.stderr), (0, ""))

    def test_each_service_is_rated_2_5_or_better(self):
        for copy in self.copies:
            if not copy.endswith(".service"):
                continue
            result = subprocess.run([ANALYZE, "security", "--offline=true", "--no-pager", copy],
                                    capture_output=True, text=True, timeout=60)
            found = re.search(r"Overall exposure level for \S+: (\d+\.\d+)", result.stdout)
            self.assertIsNotNone(found, result.stdout + result.stderr)
            exposure = float(found.group(1))
            with self.subTest(unit=os.path.basename(copy), exposure=exposure):
                self.assertLessEqual(exposure, MAX_EXPOSURE, result.stdout)


class SocketsTest(unittest.TestCase):
    def check_sockets(self, service, expected):
        listed = unit(service)["Service"].get("Sockets", "").split()
        sockets = {}
        for path in UNITS:
            name = os.path.basename(path)
            if name.endswith(".socket") and unit(name)["Socket"]["Service"] == service:
                socket = unit(name)["Socket"]
                sockets[socket["FileDescriptorName"]] = socket["ListenStream"]
                if listed:
                    self.assertIn(name, listed, f"{service} must list {name} in Sockets=")
        self.assertEqual(sockets, expected)

    def test_relay_gets_its_four_listeners_by_name(self):
        self.check_sockets("nexus-relay-server.service", SERVER_SOCKETS)
        self.assertEqual(unit("nexus-relay-server-control.socket")["Socket"]["BindIPv6Only"],
                         "both", "the control port is dual-stack")

    def test_agent_gets_its_status_listener_by_name(self):
        self.check_sockets("nexus-relay-client.service", CLIENT_SOCKETS)

    def test_relay_ports_are_the_relays_own_defaults(self):
        help_text = subprocess.run([BUILT_BIN, "server", "--help"], capture_output=True,
                                   text=True, timeout=10).stdout
        for flag, address in (("--tcp-port", SERVER_SOCKETS["control"]),
                              ("--http-port", SERVER_SOCKETS["http"]),
                              ("--ws-port", SERVER_SOCKETS["websocket"])):
            port = address.rsplit(":", 1)[1]
            self.assertRegex(help_text, rf"{flag} \S+={port}\b")
        self.assertRegex(help_text, rf"--status-listen \S+={re.escape(SERVER_SOCKETS['status'])}\s")


class ServicesTest(unittest.TestCase):
    def test_both_notify_watchdog_restart_reload_and_own_user(self):
        for name in ("nexus-relay-server.service", "nexus-relay-client.service"):
            service = unit(name)["Service"]
            with self.subTest(unit=name):
                self.assertEqual(service["Type"], "notify")
                self.assertIn("WatchdogSec", service)
                self.assertEqual(service["Restart"], "on-failure")
                self.assertEqual(service["ExecReload"], "/bin/sh -c 'kill -HUP \"$$MAINPID\"'")
                self.assertEqual(service["User"], "nexus-relay")
                self.assertEqual(service["StateDirectory"], "nexus-relay")
                self.assertEqual(service["ConfigurationDirectory"], "nexus-relay")

    def test_token_is_a_credential_never_on_the_command_line(self):
        client = unit("nexus-relay-client.service")["Service"]
        self.assertEqual(client["LoadCredential"], "token:/etc/nexus-relay/token")
        self.assertEqual(client["ExecStart"],
                         f"{INSTALLED_BIN} client --config /etc/nexus-relay/client.conf")
        server = unit("nexus-relay-server.service")["Service"]
        self.assertEqual(server["ExecStart"],
                         f"{INSTALLED_BIN} server --config /etc/nexus-relay/server.conf")
        for path in UNITS:
            with open(path, encoding="utf-8") as f:
                text = f.read()
            self.assertNotIn("--token", text)
            self.assertNotIn("NEXUS_RELAY_TOKEN", text)


class CatalogTest(unittest.TestCase):
    def test_every_message_id_is_explained_once(self):
        with open(MESSAGE_IDS, encoding="utf-8") as f:
            ids = re.findall(r'"([0-9a-f]{32})"', f.read())
        with open(CATALOG, encoding="utf-8") as f:
            entries = re.findall(r"^-- ([0-9a-f]{32})$", f.read(), re.MULTILINE)
        self.assertEqual(len(ids), 8)
        self.assertEqual(sorted(entries), sorted(ids))

    @unittest.skipUnless(shutil.which("journalctl"), "journalctl is not installed")
    def test_journalctl_indexes_the_catalog(self):
        with tempfile.TemporaryDirectory() as root:
            catalog_dir = os.path.join(root, "usr/lib/systemd/catalog")
            os.makedirs(catalog_dir)
            shutil.copy(CATALOG, catalog_dir)
            subprocess.run(["journalctl", f"--root={root}", "--update-catalog"], check=True,
                           timeout=30)
            listed = subprocess.run(["journalctl", f"--root={root}", "--list-catalog"],
                                    capture_output=True, text=True, check=True, timeout=30)
        self.assertIn("bf140bc93007453b90e801f51ec34449 nexus-relay: Tunnel registered: slug "
                      "@NEXUS_SLUG@", listed.stdout)
        self.assertEqual(len(listed.stdout.splitlines()), 8)


class ExamplesTest(unittest.TestCase):
    def test_example_configs_are_accepted_by_the_binary(self):
        for command in ("client", "server"):
            path = os.path.join(EXAMPLES, f"{command}.conf")
            result = subprocess.run([BUILT_BIN, command, "--config", path, "--help"],
                                    capture_output=True, text=True, timeout=10)
            with self.subTest(command=command):
                self.assertEqual(result.returncode, 0, result.stderr)

    def test_client_example_names_no_token_file(self):
        with open(os.path.join(EXAMPLES, "client.conf"), encoding="utf-8") as f:
            settings = [line for line in f if line.strip() and not line.startswith("#")]
        self.assertFalse([line for line in settings if line.startswith("token")])


if __name__ == "__main__":
    unittest.main(argv=sys.argv[:1])
