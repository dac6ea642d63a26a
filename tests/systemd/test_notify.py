#!/usr/bin/python3
# SPDX-License-Identifier: AGPL-3.0-or-later
"""sd_notify and the watchdog, read back on a NOTIFY_SOCKET the test owns (a datagram socket,
as systemd's): READY=1 with STATUS=, RELOADING=1 with MONOTONIC_USEC, STOPPING=1; nothing at
all without NOTIFY_SOCKET; WATCHDOG=1 at half WATCHDOG_USEC from the event loop itself, so
the pings stop while the loop is blocked."""

import os
import socket
import statistics
import subprocess
import tempfile
import time
import unittest

PROBE = os.environ["SD_PROBE"]


class NotifySocket:
    """A datagram socket bound where NOTIFY_SOCKET points; keeps what arrives, with times."""

    def __init__(self):
        self.dir = tempfile.TemporaryDirectory()
        self.path = os.path.join(self.dir.name, "notify")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)
        self.sock.settimeout(0.05)
        self.received = []  # (monotonic seconds, text)

    def env(self, **extra):
        env = {k: v for k, v in os.environ.items()
               if k not in ("NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID")}
        env["NOTIFY_SOCKET"] = self.path
        env.update(extra)
        return env

    def drain_while(self, process):
        while True:
            try:
                data = self.sock.recv(4096)
                self.received.append((time.monotonic(), data.decode()))
            except TimeoutError:
                if process.poll() is not None:
                    return

    def messages(self):
        return [text for _, text in self.received]

    def close(self):
        self.sock.close()
        self.dir.cleanup()


class NotifyTest(unittest.TestCase):
    def setUp(self):
        self.notify = NotifySocket()
        self.addCleanup(self.notify.close)

    def run_probe(self, *args, env):
        process = subprocess.Popen([PROBE, *args], env=env, stdout=subprocess.PIPE)
        self.notify.drain_while(process)
        out, _ = process.communicate(timeout=10)
        return process.returncode, out.decode()

    def test_ready_status_reloading_stopping(self):
        before = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
        code, _ = self.run_probe("notify", env=self.notify.env())
        after = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
        self.assertEqual(code, 0)
        messages = self.notify.messages()
        self.assertEqual(len(messages), 5, messages)
        self.assertEqual(messages[0], 'READY=1\nSTATUS=Registered as slug "demo"')
        # A newline in the status would have made its own READY=1 assignment.
        self.assertEqual(messages[1], "STATUS=evil\\x0aREADY=1")
        reloading, usec = messages[2].split("\n")
        self.assertEqual(reloading, "RELOADING=1")
        self.assertTrue(usec.startswith("MONOTONIC_USEC="), usec)
        self.assertTrue(before <= int(usec.split("=")[1]) <= after, (before, usec, after))
        self.assertEqual(messages[3:], ["READY=1", "STOPPING=1"])

    def test_nothing_is_sent_without_notify_socket(self):
        env = self.notify.env()
        del env["NOTIFY_SOCKET"]
        code, _ = self.run_probe("notify", env=env)
        self.assertEqual(code, 3)
        self.assertEqual(self.notify.messages(), [])


class WatchdogTest(unittest.TestCase):
    INTERVAL = 0.4  # WATCHDOG_USEC: pings every 0.2 s

    def setUp(self):
        self.notify = NotifySocket()
        self.addCleanup(self.notify.close)

    def run_watchdog(self, run_ms, block_ms, **env):
        env = self.notify.env(WATCHDOG_USEC=str(int(self.INTERVAL * 1e6)), **env)
        process = subprocess.Popen([PROBE, "watchdog", str(run_ms), str(block_ms)], env=env,
                                   stdout=subprocess.PIPE)
        self.notify.drain_while(process)
        out, _ = process.communicate(timeout=10)
        return process.returncode, out.decode()

    def test_pings_at_half_the_interval_and_stop_while_the_loop_is_blocked(self):
        code, _ = self.run_watchdog(1200, 1500)
        self.assertEqual(code, 0)
        events = self.notify.received
        texts = [text for _, text in events]
        blocked = texts.index("STATUS=blocking")
        unblocked = texts.index("STATUS=unblocked")
        pings_before = [t for t, text in events[:blocked] if text == "WATCHDOG=1"]
        self.assertGreaterEqual(len(pings_before), 4, texts)
        gaps = [b - a for a, b in zip(pings_before, pings_before[1:])]
        # Half the interval: a timer may fire late on a busy machine, never early, and a
        # period of the whole interval (0.4 s) would leave systemd no margin at all.
        self.assertGreater(min(gaps), self.INTERVAL / 2 - 0.03, gaps)
        self.assertLess(statistics.median(gaps), self.INTERVAL * 0.8, gaps)
        # Blocked for longer than the whole interval: not one ping, so systemd would restart it.
        self.assertEqual(texts[blocked + 1], "STATUS=unblocked", texts)
        self.assertGreater(events[unblocked][0] - events[blocked][0], self.INTERVAL * 3)
        self.assertIn("WATCHDOG=1", texts[unblocked + 1:], "pings resume with the loop")

    def test_off_when_the_watchdog_is_meant_for_another_process(self):
        code, out = self.run_watchdog(100, 0, WATCHDOG_PID="1")
        self.assertEqual((code, out.strip()), (3, "watchdog off"))
        self.assertEqual(self.notify.messages(), [])


if __name__ == "__main__":
    unittest.main()
