#!/usr/bin/python3
# SPDX-License-Identifier: AGPL-3.0-or-later
"""Strangers on the control port must never keep a slug's real agent out, nor forge the
relay's log. Each attack runs against the real relay while a real agent registers, from
loopback addresses of their own (127.0.0.0/8 is all loopback on Linux)."""

import selectors
import socket
import struct
import threading
import time
import unittest

from harness import RelayTestCase
from v1_peer import dumps, frame, register


def connect_from(source, port):
    """A TCP connection to the relay's control port from the loopback address `source`."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind((source, 0))
    sock.settimeout(5)
    sock.connect(("127.0.0.1", port))
    return sock


def register_bytes(slug, token):
    return frame(dumps(register(slug, token)))


class Attack:
    """A background attack that stops by itself after `seconds` (or at stop())."""

    def __init__(self, body, seconds):
        self._stop = threading.Event()
        self._deadline = time.monotonic() + seconds
        self.errors = []
        self._thread = threading.Thread(target=self._run, args=(body,), daemon=True)
        self._thread.start()

    def running(self):
        return not self._stop.is_set() and time.monotonic() < self._deadline

    def _run(self, body):
        try:
            body(self)
        except Exception as error:  # reported by the test, not swallowed
            self.errors.append(error)

    def stop(self):
        self._stop.set()
        self._thread.join(timeout=10)


class ControlPortAttackTest(RelayTestCase):
    def agent_registers_within(self, relay, seconds, slug="demo", token=None):
        token = token or self.add_slug(slug)
        site = self.start_site()
        started = time.monotonic()
        agent = self.start_agent(slug, token, site.port, relay.tcp_port, wait=False)
        agent.wait_registered(timeout=seconds)
        self.assert_serves(relay, slug, site)
        return time.monotonic() - started

    def test_a_trickled_register_frame_is_cut_at_the_deadline_from_accept(self):
        # One byte every 0.5 s restarted a per-byte timer forever; the deadline is total.
        relay = self.start_relay(register_timeout=3)
        payload = register_bytes("demo", "0" * 64)
        sock = connect_from("127.0.0.2", relay.tcp_port)
        self.addCleanup(sock.close)
        opened = time.monotonic()
        closed_after = None
        for byte in payload:
            try:
                sock.sendall(bytes([byte]))
                sock.settimeout(0.5)
                if sock.recv(1) == b"":
                    closed_after = time.monotonic() - opened
                    break
            except socket.timeout:
                continue
            except OSError:
                closed_after = time.monotonic() - opened
                break
            if time.monotonic() - opened > 8:
                break
        self.assertIsNotNone(closed_after, "the trickling connection was never closed")
        self.assertLess(closed_after, 4.5)
        relay.wait_for(r"Relay client 127\.0\.0\.2:\d+ disconnected: never registered within 3s")
        self.agent_registers_within(relay, 5)

    def test_the_unregistered_connection_caps_never_keep_an_agent_from_elsewhere_out(self):
        # 33 addresses x 16 idle connections, each reopened as soon as it closes, is more than
        # the 512 unregistered connections the relay holds in all.
        relay = self.start_relay()
        sources = [f"127.0.0.{i}" for i in range(2, 35)]

        def flood(attack):
            selector = selectors.DefaultSelector()

            def open_one(source):
                try:
                    sock = connect_from(source, relay.tcp_port)
                except OSError:
                    return
                sock.setblocking(False)
                selector.register(sock, selectors.EVENT_READ, source)

            for source in sources:
                for _ in range(16):
                    open_one(source)
            while attack.running():
                for key, _ in selector.select(timeout=0.1):
                    try:
                        data = key.fileobj.recv(4096)
                    except OSError:
                        data = b""
                    if not data:  # closed or evicted by the relay: take the place again
                        selector.unregister(key.fileobj)
                        key.fileobj.close()
                        open_one(key.data)
            for key in list(selector.get_map().values()):
                key.fileobj.close()

        attack = Attack(flood, seconds=25)
        self.addCleanup(attack.stop)
        relay.wait_for(r"too many unregistered connections", timeout=10)
        took = self.agent_registers_within(relay, 5)
        self.assertTrue(attack.running(), "the flood ended before the agent registered")
        attack.stop()
        self.assertEqual(attack.errors, [])
        self.assertLess(took, 5)

    def test_bad_tokens_from_other_networks_never_lock_the_slug_out(self):
        relay = self.start_relay()
        token = self.add_slug("demo")
        refused = []

        def guess(attack):
            # A burst from one network (slowed after ten), then one guess every 0.5 s, each
            # from a fresh address in a fresh network.
            attempts = [f"127.0.1.{i}" for i in range(1, 13)]
            attempts += [f"127.{2 + i // 200}.{i % 200}.1" for i in range(200)]
            for source in attempts:
                if not attack.running():
                    return
                with connect_from(source, relay.tcp_port) as sock:
                    sock.sendall(register_bytes("demo", "f" * 64))
                    length = struct.unpack(">I", sock.recv(4))[0]
                    refused.append(sock.recv(length).decode())
                if len(refused) > 12:
                    time.sleep(0.5)

        attack = Attack(guess, seconds=30)
        self.addCleanup(attack.stop)
        relay.wait_for(r"Auth failure from 127\.2\.", timeout=15)
        took = self.agent_registers_within(relay, 5, token=token)
        self.assertTrue(attack.running(), "the guessing ended before the agent registered")
        attack.stop()
        self.assertEqual(attack.errors, [])
        self.assertLess(took, 5)
        # Brute force stays slowed: the eleventh guess from one network on the slug was
        # refused before it reached the directory.
        relay.wait_for(r"Auth refused for 127\.0\.1\.11 \(slug \"demo\"\): too many failed")
        self.assertTrue(any("Too many" in answer or "too many" in answer for answer in refused))

    def test_a_slug_with_line_breaks_cannot_forge_a_log_line(self):
        relay = self.start_relay()
        forged = 'x\ninfo Tunnel registered: slug "forged" from 6.6.6.6:1 over tcp (v2)\r\x1b[2J'
        with connect_from("127.0.0.3", relay.tcp_port) as sock:
            sock.sendall(register_bytes(forged, "0" * 64))
            sock.settimeout(5)
            sock.recv(4096)
        relay.wait_for(r"slug \"x\\x0ainfo Tunnel registered")
        log = relay.text()
        self.assertNotIn("\ninfo Tunnel registered: slug \"forged\"", log)
        self.assertNotIn("\x1b", log)
        self.assertIn(r"(v2)\x0d\x1b[2J", log)


if __name__ == "__main__":
    unittest.main()
