#!/usr/bin/python3
# SPDX-License-Identifier: AGPL-3.0-or-later
"""Flow control keeps streams apart: a download whose visitor stops reading fills its own
window and stops there; it holds up no other request on the tunnel and no memory grows, even
with more stalled downloads than the connection window could hold. (The
latency side, small requests during a full-speed 1 GiB download, is measured by
bench/fairness.py.) Beyond the relay's buffer budget, the downloads that stalled longest are
reset, so that stalled visitors cannot freeze the tunnel until their idle timeout."""

import socket
import time
import unittest

from harness import RelayTestCase, memory_kib

RSS_LIMIT_KIB = 64 * 1024


class FairnessTest(RelayTestCase):
    def setUp(self):
        super().setUp()
        self.relay, self.site, self.agent, self.host = self.stream_tunnel()

    def small_request_seconds(self, timeout=10):
        import http.client
        conn = http.client.HTTPConnection("127.0.0.1", self.relay.http_port, timeout=timeout)
        start = time.perf_counter()
        conn.request("GET", "/small", headers={"Host": self.host})
        response = conn.getresponse()
        body = response.read()
        elapsed = time.perf_counter() - start
        conn.close()
        self.assertEqual((response.status, body), (200, b"ok"))
        return elapsed

    def stall_downloads(self, count):
        """Visitors who each ask for 1 GiB and never read a byte."""
        stalled = []
        for _ in range(count):
            sock = socket.socket()
            # Before connect, so the window it advertises stays small: what the kernel holds
            # for a visitor who reads nothing is then small next to the stream's window.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16 * 1024)
            sock.settimeout(10)
            sock.connect(("127.0.0.1", self.relay.http_port))
            sock.sendall(f"GET /stream?n={1 << 30} HTTP/1.1\r\nHost: {self.host}\r\n\r\n".encode())
            stalled.append(sock)
        self.addCleanup(lambda: [s.close() for s in stalled])
        self.agent.wait_for(r"Forwarding GET /stream → HTTP 200", occurrences=len(stalled), timeout=20)
        return stalled

    def test_a_download_nobody_reads_holds_up_no_other_request(self):
        # Forty stalled downloads: together their stream windows (40 x 256 KiB) are more than
        # the whole connection window (4 MiB), so the tunnel would freeze if a stalled stream
        # held connection window.
        stalled = self.stall_downloads(40)
        time.sleep(1.0)  # every window along the way fills up
        relay_before, agent_before = memory_kib(self.relay.pid), memory_kib(self.agent.pid)
        durations = [self.small_request_seconds() for _ in range(50)]
        time.sleep(1.0)
        # Nothing is buffered beyond the windows: memory stays where it was.
        self.assertLess(memory_kib(self.relay.pid), relay_before + 8 * 1024, "relay RSS grew")
        self.assertLess(memory_kib(self.agent.pid), agent_before + 8 * 1024, "agent RSS grew")
        self.assertLess(memory_kib(self.relay.pid), RSS_LIMIT_KIB)
        self.assertLess(memory_kib(self.agent.pid), RSS_LIMIT_KIB)
        self.assertLess(max(durations), 0.5, f"slowest small request {max(durations):.3f}s")
        # The stalled downloads are still alive and resume when their visitors read.
        received = 0
        stalled[0].settimeout(10)
        while received < 8 << 20:
            data = stalled[0].recv(1 << 20)
            self.assertTrue(data, "the stalled download was cut")
            received += len(data)

    def test_downloads_stalled_beyond_the_buffer_budget_are_reset_and_the_tunnel_moves_on(self):
        # Two hundred stalled downloads want 50 MiB of stream windows: far more than the
        # relay's buffer budget (16 MiB) and the connection window (4 MiB) together, so without
        # the reset of stalled readers every other request would wait for their 120 s idle
        # timeout.
        stalled = self.stall_downloads(200)
        time.sleep(2.0)  # every window along the way fills up: the tunnel is frozen
        started = time.monotonic()
        first = self.small_request_seconds(timeout=30)
        self.assertLess(first, 15, "the tunnel stayed frozen past the 10 s stall limit")
        self.relay.wait_for(r"Reset \d+ responses of .* whose visitors read nothing for 10 s",
                            timeout=15)
        # Once the stalest are reset, requests pass again promptly.
        durations = [self.small_request_seconds() for _ in range(20)]
        self.assertLess(max(durations), 2.5, f"slowest small request {max(durations):.3f}s")
        self.assertLess(memory_kib(self.relay.pid), RSS_LIMIT_KIB)
        self.assertLess(memory_kib(self.agent.pid), RSS_LIMIT_KIB)
        # The stalest were reset (the agent sees the relay cancel them), not all of them.
        cut = len(self.agent.find_all(r"Forwarding GET /stream → HTTP 200 broken after .*"))
        self.assertGreater(cut, 0, "no stalled download was reset")
        self.assertLess(cut, len(stalled), "every stalled download was reset")
        self.assertLess(time.monotonic() - started, 120)


if __name__ == "__main__":
    unittest.main()
