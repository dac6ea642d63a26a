# SPDX-License-Identifier: AGPL-3.0-or-later
"""nexusctl against the real daemons on the private bus: human output aligned and plain
off a terminal, coloured on one unless NO_COLOR; --json; --watch; --user; one-line errors
with the exit codes its man page lists."""

import json
import os
import pty
import re
import subprocess
import time
import unittest

from dbus_case import BusTestCase
from private_bus import NEXUSCTL


class Nexusctl(BusTestCase):
    def test_status_is_aligned_rows_without_colour_off_a_terminal(self):
        relay, agent, site = self.tunnel()
        result = self.bus.nexusctl("status")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertNotIn("\033[", result.stdout)
        rows = result.stdout.splitlines()
        labels = [row.split(":", 1)[0] for row in rows]
        self.assertEqual(labels, ["State", "Slug", "Relay", "Connected since", "Last error",
                                  "Requests", "Traffic", "Active streams"])
        # Every value starts in the same column.
        columns = {len(re.match(r"^[^:]+:\s+", row).group(0)) for row in rows}
        self.assertEqual(len(columns), 1, rows)
        self.assertRegex(rows[0], r"registered$")
        self.assertIn(f"127.0.0.1:{relay.tcp_port} over tcp (plaintext), protocol v2", rows[2])

    def test_status_json_has_every_property(self):
        self.tunnel()
        result = self.bus.nexusctl("status", "--json")
        self.assertEqual(result.returncode, 0, result.stderr)
        status = json.loads(result.stdout)
        self.assertEqual(status["State"], "registered")
        self.assertEqual(status["Slug"], "demo")
        self.assertEqual(status["ProtocolVersion"], 2)
        self.assertEqual(set(status), {
            "State", "Slug", "Server", "Door", "ProtocolVersion", "Encrypted", "ConnectedSince",
            "LastError", "NextRetryIn", "RequestsForwarded", "BytesIn", "BytesOut",
            "ActiveStreams"})

    def test_colour_on_a_terminal_unless_no_color(self):
        self.tunnel()
        for no_color, coloured in [(None, True), ("1", False)]:
            with self.subTest(NO_COLOR=no_color):
                env = self.bus.environment()
                env.pop("NO_COLOR", None)
                if no_color:
                    env["NO_COLOR"] = no_color
                output = run_on_terminal([NEXUSCTL, "status"], env)
                self.assertEqual("\033[32mregistered\033[0m" in output, coloured, output)

    def test_tunnels_table_and_json(self):
        relay, agent, site = self.tunnel()
        table = self.bus.nexusctl("tunnels")
        self.assertEqual(table.returncode, 0, table.stderr)
        header, row = table.stdout.splitlines()
        self.assertRegex(header, r"^SLUG\s+ADDRESS\s+DOOR\s+PROTOCOL\s+SINCE\s+REQUESTS\s+IN\s+OUT$")
        self.assertEqual(row.split()[:5], ["demo", "127.0.0.1", "tcp", "(plaintext)", "v2"])
        self.assertEqual(header.index("ADDRESS"), row.index("127.0.0.1"))
        [entry] = json.loads(self.bus.nexusctl("tunnels", "--json").stdout)
        self.assertEqual((entry["Slug"], entry["Door"], entry["Protocol"], entry["Encrypted"]),
                         ("demo", "tcp", "v2", False))

    def test_reconnect_and_watch_follow_the_states(self):
        relay, agent, site = self.tunnel()
        for flags in ([], ["--json"]):
            with self.subTest(flags=flags):
                watch = subprocess.Popen([NEXUSCTL, "status", "--watch", *flags],
                                         stdout=subprocess.PIPE, text=True,
                                         env=self.bus.environment())
                self.addCleanup(watch.kill)
                time.sleep(0.5)
                reconnected = self.bus.nexusctl("reconnect")
                self.assertEqual((reconnected.returncode, reconnected.stdout), (0, ""))
                lines = []
                while not lines or "registered" not in lines[-1] or len(lines) < 4:
                    lines.append(watch.stdout.readline().strip())
                watch.kill()
                if flags:
                    states = [json.loads(line)["State"] for line in lines]
                    self.assertEqual(states, ["registered", "connecting", "registering",
                                              "registered"])
                else:
                    states = [line.split()[-1] for line in lines if re.match(r"^\d{4}-", line)]
                    self.assertEqual(states, ["connecting", "registering", "registered"])

    def test_user_uses_the_session_bus(self):
        relay = self.start_relay(bus="session")
        self.bus.wait_name("app.nexusnode.Relay1.Server")
        env = self.bus.environment()
        env["DBUS_SYSTEM_BUS_ADDRESS"] = "unix:path=/nonexistent"
        self.assertEqual(self.bus.nexusctl("--user", "tunnels", env=env).returncode, 0)
        self.assertEqual(self.bus.nexusctl("tunnels", env=env).returncode, 3)

    def test_not_running_is_one_line_and_exit_3(self):
        result = self.bus.nexusctl("status")
        self.assertEqual(result.returncode, 3)
        self.assertEqual(result.stdout, "")
        self.assertEqual(result.stderr.splitlines(), [
            "nexusctl: nexus-relay-client is not running (nothing owns "
            "app.nexusnode.Relay1.Client on the system bus)"])

    def test_access_denied_is_one_line_and_exit_4(self):
        self.tunnel()
        self.assertEqual(self.bus.nexusctl("status", nobody=True).returncode, 0)
        self.assertEqual(self.bus.nexusctl("tunnels", nobody=True).returncode, 0)
        for command in (["reconnect"], ["disconnect", "demo"], ["revoke", "demo"]):
            with self.subTest(command=command):
                result = self.bus.nexusctl(*command, nobody=True)
                self.assertEqual(result.returncode, 4)
                self.assertEqual(result.stderr.splitlines(), [
                    f"nexusctl: permission denied: {command[0]} needs root or membership of "
                    "the nexus-relay group"])

    def test_refusals_and_usage_errors(self):
        self.tunnel()
        refused = self.bus.nexusctl("disconnect", "nope")
        self.assertEqual(refused.returncode, 1)
        self.assertEqual(refused.stderr, "nexusctl: disconnect failed: no tunnel is connected "
                                         "for slug 'nope'\n")
        self.assertEqual(self.bus.nexusctl("disconnect").returncode, 2)
        self.assertEqual(self.bus.nexusctl("frobnicate").returncode, 2)


def run_on_terminal(command, env):
    """The output of `command` with a pseudo-terminal as its stdout."""
    primary, secondary = pty.openpty()
    process = subprocess.Popen(command, stdout=secondary, stderr=subprocess.DEVNULL, env=env)
    os.close(secondary)
    output = b""
    while True:
        try:
            chunk = os.read(primary, 4096)
        except OSError:
            break
        if not chunk:
            break
        output += chunk
    process.wait(timeout=10)
    os.close(primary)
    return output.decode()


if __name__ == "__main__":
    unittest.main()
