#!/usr/bin/python3
# SPDX-License-Identifier: AGPL-3.0-or-later
"""Socket activation by name: a daemon adopts exactly the listeners it expects from systemd
(systemd-socket-activate, and sockets passed by a harness as systemd does), answers on them,
and refuses at start, in one line, a socket it does not expect or a missing one."""

import os
import shutil
import socket
import subprocess
import tempfile
import time
import unittest

from socket_activation import listening_socket, start_with_sockets

PROBE = os.environ["SD_PROBE"]
ACTIVATE = shutil.which("systemd-socket-activate")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def connect(port, timeout=5.0) -> socket.socket:
    deadline = time.monotonic() + timeout
    while True:
        try:
            return socket.create_connection(("127.0.0.1", port), timeout=timeout)
        except ConnectionRefusedError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.02)


def read_all(sock) -> bytes:
    data = b""
    while chunk := sock.recv(100):
        data += chunk
    return data


class HarnessPassedSockets(unittest.TestCase):
    def listening(self, host="127.0.0.1", family=socket.AF_INET):
        sock = listening_socket(host, family=family)
        self.addCleanup(sock.close)
        return sock

    def run_probe(self, named, expected):
        return start_with_sockets([PROBE, "listen", *expected], named,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE)

    def test_each_expected_name_is_adopted_and_served(self):
        named = [(name, self.listening()) for name in ("control", "http", "websocket", "status")]
        named.append(("v6", self.listening("::1", family=socket.AF_INET6)))
        expected = [name for name, _ in named]
        process = self.run_probe(named, expected)
        ports = {}
        for _ in named:
            name, port = process.stdout.readline().decode().split()
            ports[name] = int(port)
        self.assertEqual(ports, {name: sock.getsockname()[1] for name, sock in named})
        # All connected first: the probe answers them in an order of its own.
        conns = [(name, socket.create_connection((sock.getsockname()[0], ports[name]),
                                                 timeout=5)) for name, sock in named]
        for name, conn in conns:
            with conn:
                self.assertEqual(read_all(conn).decode(), name)
        self.assertEqual(process.wait(timeout=5), 0)
        process.stdout.close()
        process.stderr.close()

    def test_not_activated_means_the_daemon_binds_itself(self):
        env = {k: v for k, v in os.environ.items() if not k.startswith("LISTEN_")}
        result = subprocess.run([PROBE, "listen", "status"], env=env, capture_output=True,
                                timeout=10)
        self.assertEqual(result.returncode, 3, result.stderr)
        self.assertEqual(result.stderr, b"")

    def test_unexpected_name_is_an_error_naming_it(self):
        named = [("status", self.listening()), ("metrics", self.listening())]
        process = self.run_probe(named, ["status"])
        _, err = process.communicate(timeout=10)
        self.assertEqual(process.returncode, 1)
        self.assertEqual(err.decode().strip(),
                         'error: systemd passed a socket named "metrics" that this configuration '
                         'does not use (expected: "status"): check FileDescriptorName= in the '
                         'socket units')

    def test_missing_name_is_an_error_naming_it(self):
        named = [("control", self.listening()), ("http", self.listening())]
        process = self.run_probe(named, ["control", "http", "websocket", "status"])
        _, err = process.communicate(timeout=10)
        self.assertEqual(process.returncode, 1)
        self.assertIn('systemd passed no socket named "websocket"', err.decode())
        self.assertEqual(err.count(b"\n"), 1)

    def test_a_socket_that_is_not_listening_is_refused_at_start(self):
        bound = socket.socket()
        self.addCleanup(bound.close)
        bound.bind(("127.0.0.1", 0))  # bound, never listening
        process = self.run_probe([("status", bound)], ["status"])
        _, err = process.communicate(timeout=10)
        self.assertEqual(process.returncode, 1)
        self.assertIn('systemd socket "status" (fd 3) is not a listening TCP socket', err.decode())


@unittest.skipUnless(ACTIVATE, "systemd-socket-activate is not installed")
class SystemdSocketActivate(unittest.TestCase):
    """systemd-socket-activate binds, waits for the first connection, then execs the probe."""

    def activate(self, listens, names, expected):
        args = [ACTIVATE]
        for address in listens:
            args += ["-l", address]
        args += [f"--fdname={':'.join(names)}", PROBE, "listen", *expected]
        return subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE)

    def test_named_sockets_are_served(self):
        ports = [free_port(), free_port()]
        process = self.activate([f"127.0.0.1:{p}" for p in ports], ["status", "http"],
                                ["http", "status"])
        try:
            # The first connection starts the probe; it waits in the backlog meanwhile.
            with connect(ports[0]) as first, connect(ports[1]) as second:
                self.assertEqual(read_all(first), b"status")
                self.assertEqual(read_all(second), b"http")
            self.assertEqual(process.wait(timeout=5), 0)
        finally:
            process.kill()
            process.communicate()

    def test_unexpected_and_missing_names_fail_at_start(self):
        for names, expected, message in (
            (["status", "admin"], ["status"], 'socket named "admin" that this configuration'),
            (["status"], ["status", "http"], 'no socket named "http"'),
        ):
            ports = [free_port() for _ in names]
            process = self.activate([f"127.0.0.1:{p}" for p in ports], names, expected)
            try:
                connect(ports[0]).close()
                _, err = process.communicate(timeout=10)
                self.assertEqual(process.returncode, 1)
                self.assertIn(message, err.decode())
            finally:
                process.kill()
                process.communicate()

    def test_a_unix_socket_is_not_taken_for_a_tcp_listener(self):
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "status.sock")
            process = self.activate([path], ["status"], ["status"])
            try:
                deadline = time.monotonic() + 5
                while not os.path.exists(path) and time.monotonic() < deadline:
                    time.sleep(0.02)
                with socket.socket(socket.AF_UNIX) as trigger:
                    trigger.connect(path)
                    _, err = process.communicate(timeout=10)
                self.assertEqual(process.returncode, 1)
                self.assertIn('"status" (fd 3) is not a listening TCP socket', err.decode())
            finally:
                process.kill()
                process.communicate()


if __name__ == "__main__":
    unittest.main()
