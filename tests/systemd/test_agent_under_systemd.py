#!/usr/bin/python3
# SPDX-License-Identifier: AGPL-3.0-or-later
"""The real agent started as systemd starts nexus-relay-client.service with its socket unit:
the status socket is taken by name (nothing bound by the agent itself), READY=1 comes at
start with a STATUS= line from the agent's state, STATUS= follows the state, STOPPING=1 on
SIGTERM; a socket the configuration does not expect stops it at start with one line."""

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.request

from socket_activation import listening_socket, start_with_sockets

BIN = os.environ["NEXUS_RELAY_BIN"]


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class AgentUnderSystemdTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        self.addCleanup(self.dir.cleanup)
        self.token = os.path.join(self.dir.name, "token")
        with open(self.token, "w") as f:
            f.write("not-a-real-token\n")
        os.chmod(self.token, 0o600)
        self.notify_path = os.path.join(self.dir.name, "notify")
        self.notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.notify.bind(self.notify_path)
        self.notify.settimeout(0.1)
        self.addCleanup(self.notify.close)
        self.received = []

    def argv(self, *extra):
        # A relay address nobody listens on: the agent backs off, which is a state to show.
        return [BIN, "client", "--server", f"127.0.0.1:{closed_port()}", "--slug", "demo",
                "--token-file", self.token, "--insecure-plaintext", *extra]

    def env(self):
        env = {k: v for k, v in os.environ.items() if not k.startswith(("LISTEN_", "WATCHDOG"))}
        env["NOTIFY_SOCKET"] = self.notify_path
        return env

    def wait_message(self, predicate, timeout=10):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for text in self.received:
                if predicate(text):
                    return text
            try:
                self.received.append(self.notify.recv(4096).decode())
            except TimeoutError:
                pass
        self.fail(f"no such notification; got {self.received}")

    def test_takes_its_status_socket_and_reports_state_to_systemd(self):
        status = listening_socket()
        self.addCleanup(status.close)
        # An address the agent could not bind: only the passed socket can serve the pages.
        agent = start_with_sockets(self.argv("--status-listen", "127.0.0.1:9"),
                                   [("status", status)], env=self.env(),
                                   stderr=subprocess.DEVNULL)
        self.addCleanup(agent.kill)
        ready = self.wait_message(lambda t: "READY=1" in t)
        self.assertIn("STATUS=", ready)
        backoff = self.wait_message(lambda t: "STATUS=Backing off" in t)
        self.assertIn("Connection refused", backoff)
        port = status.getsockname()[1]
        with self.assertRaises(urllib.error.HTTPError) as answer:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5)
        self.assertEqual(answer.exception.code, 503)
        self.assertIn(answer.exception.read().decode().strip(), ("backoff", "connecting"))
        # systemctl reload: the agent keeps running and tells systemd the reload is over.
        agent.send_signal(signal.SIGHUP)
        self.wait_message(lambda t: "RELOADING=1" in t)
        time.sleep(0.3)
        self.assertIsNone(agent.poll(), "SIGHUP ended the agent")
        agent.send_signal(signal.SIGTERM)
        self.assertEqual(agent.wait(10), 0)
        self.wait_message(lambda t: "STOPPING=1" in t)

    def test_a_socket_the_configuration_does_not_use_stops_it_at_start(self):
        status = listening_socket()
        self.addCleanup(status.close)
        agent = start_with_sockets(self.argv("--status-listen", "off"), [("status", status)],
                                   env=self.env(), stderr=subprocess.PIPE, text=True)
        self.addCleanup(agent.kill)
        _, err = agent.communicate(timeout=10)
        self.assertEqual(agent.returncode, 1)
        self.assertIn('systemd passed a socket named "status"', err)
        self.assertEqual(len(err.strip().splitlines()), 1, err)

    def test_a_socket_of_another_name_is_refused_rather_than_guessed(self):
        other = listening_socket()
        self.addCleanup(other.close)
        agent = start_with_sockets(self.argv(), [("control", other)], env=self.env(),
                                   stderr=subprocess.PIPE, text=True)
        self.addCleanup(agent.kill)
        _, err = agent.communicate(timeout=10)
        self.assertEqual(agent.returncode, 1)
        self.assertIn('"control"', err)


if __name__ == "__main__":
    unittest.main(argv=sys.argv[:1])
