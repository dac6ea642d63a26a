#!/usr/bin/python3
# SPDX-License-Identifier: AGPL-3.0-or-later
"""A local app that stops reading uploads: flow control holds the visitors back (relay and
agent memory stay bounded), the other requests of the tunnel are still answered, and a stalled
stream is reset: after the relay's stream idle timeout, or by the agent once stalled uploads
fill its buffer budget."""

import http.client
import select
import socket
import sys
import threading
import time
import unittest

from harness import DOMAIN, RelayTestCase, memory_kib, wait_until
from scripted_app import ScriptedApp, answer

RSS_LIMIT_KIB = 64 * 1024
IDLE_TIMEOUT = 3
UPLOAD_BYTES = 96 << 20  # far more than the relay, the agent and the sockets between may hold


def upload_until_answered(port, path, size, outcome, timeout=40):
    """POSTs `size` bytes as fast as the relay takes them, stops at the first byte of an
    answer; records in `outcome` the bytes sent and the status (None if none came)."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    outcome["sent"], outcome["status"] = 0, None
    try:
        sock.sendall(f"POST {path} HTTP/1.1\r\nHost: demo.{DOMAIN}\r\n"
                     f"Content-Length: {size}\r\n\r\n".encode())
        piece, deadline = bytes(1 << 16), time.monotonic() + timeout
        while outcome["sent"] < size and time.monotonic() < deadline:
            readable, writable, _ = select.select([sock], [sock], [], 1)
            if readable:
                break  # answered early
            if writable:
                try:
                    outcome["sent"] += sock.send(piece[:size - outcome["sent"]])
                except (BrokenPipeError, ConnectionResetError):
                    break
        response = http.client.HTTPResponse(sock)
        response.begin()
        outcome["status"] = response.status
    except (OSError, http.client.HTTPException):
        pass
    finally:
        sock.close()


class UploadStallTest(RelayTestCase):
    """About 4 s."""

    def setUp(self):
        super().setUp()
        self.relay = self.start_relay(stream_idle_timeout=IDLE_TIMEOUT)
        self.stalled = threading.Event()
        self.drain = threading.Event()
        self.upload_closed = threading.Event()
        self.addCleanup(self.drain.set)

        def handle(request):
            if request.path == "/stalls":
                # Reads the head, a little of the body, then nothing: a hung app.
                request.reader.read(4096)
                self.stalled.set()
                self.drain.wait(60)
                # Then everything that is left: it ends only if the agent closed its side.
                request.conn.settimeout(5)
                try:
                    while request.reader.read(1 << 20):
                        pass
                    self.upload_closed.set()
                except OSError:
                    pass
                return False
            return answer(request, "200 OK", "ok")

        self.app = ScriptedApp(handle)
        self._sites.append(self.app)
        self.agent = self.start_agent("demo", self.add_slug("demo"), self.app.port,
                                      self.relay.tcp_port)
        self.relay.wait_for(r'Tunnel registered: slug "demo" .*, protocol v2')

    def test_a_stalled_upload_keeps_memory_bounded_other_requests_answered_and_is_reset(self):
        outcome = {}

        def upload():
            upload_until_answered(self.relay.http_port, "/stalls", UPLOAD_BYTES, outcome)

        uploader = threading.Thread(target=upload, daemon=True)
        uploader.start()
        self.assertTrue(self.stalled.wait(10), "the upload never reached the app")
        # While it is stuck, the tunnel still serves everyone else, promptly.
        for i in range(10):
            started = time.monotonic()
            response = self.relay.get(f"demo.{DOMAIN}", f"/small{i}", timeout=5)
            self.assertEqual((response.status, response.body), (200, b"ok"))
            self.assertLess(time.monotonic() - started, 1, f"request {i} was held up")
            time.sleep(0.1)
        uploader.join(IDLE_TIMEOUT + 20)
        self.assertFalse(uploader.is_alive(), "the stalled upload was never answered")
        # The relay gave up on the stream once it had waited the idle timeout for window...
        self.assertEqual(outcome.get("status"), 504, outcome)
        # ... having let the visitor send only what the flow-control windows and the sockets
        # hold, and the agent then let the app's connection go.
        self.assertLess(outcome["sent"], UPLOAD_BYTES // 2, outcome)
        self.drain.set()
        self.assertTrue(self.upload_closed.wait(10), "the app's connection was kept open")
        relay, agent = memory_kib(self.relay.pid, "VmHWM"), memory_kib(self.agent.pid, "VmHWM")
        print(f"\nstalled upload ({outcome['sent']} bytes sent): peak RSS relay {relay} KiB, "
              f"agent {agent} KiB", file=sys.stderr)
        self.assertLess(relay, RSS_LIMIT_KIB, "relay peak RSS")
        self.assertLess(agent, RSS_LIMIT_KIB, "agent peak RSS")
        self.assertEqual(self.relay.get(f"demo.{DOMAIN}", "/after").status, 200)



class StalledUploadsOverTheBudgetTest(RelayTestCase):
    """About 15 s (long): the agent waits 10 s before it resets a stalled upload."""

    STREAMS = 96  # x 256 KiB of stream window: more than the agent's 16 MiB buffer budget

    def test_uploads_stalled_beyond_the_agents_buffer_budget_are_reset_and_the_tunnel_moves_on(self):
        relay = self.start_relay()  # the relay's own idle timeout (120 s) stays out of the way
        stalled, release = [], threading.Event()
        self.addCleanup(release.set)

        def handle(request):
            if request.path == "/stalls":
                stalled.append(request.path)
                release.wait(60)  # reads nothing of the body
                return False
            return answer(request, "200 OK", "ok")

        app = ScriptedApp(handle, receive_buffer=4096)
        self._sites.append(app)
        agent = self.start_agent("demo", self.add_slug("demo"), app.port, relay.tcp_port)
        relay.wait_for(r'Tunnel registered: slug "demo" .*, protocol v2')
        outcomes = [{} for _ in range(self.STREAMS)]
        uploads = [threading.Thread(target=upload_until_answered, daemon=True,
                                    args=(relay.http_port, "/stalls", 4 << 20, outcome, 60))
                   for outcome in outcomes]
        for upload in uploads:
            upload.start()
        wait_until(lambda: len(stalled) == self.STREAMS, 20, "every upload reaching the app")
        reset = agent.wait_for(r"Reset (\d+) uploads the local app read nothing of for 10 s "
                               r"\((\d+) KiB unread\): the tunnel's 16 MiB buffer was full",
                               timeout=25)
        self.assertGreater(int(reset.group(1)), 0)
        # The tunnel's window is whole again: small requests pass promptly.
        for i in range(10):
            started = time.monotonic()
            response = relay.get(f"demo.{DOMAIN}", f"/small{i}", timeout=10)
            self.assertEqual((response.status, response.body), (200, b"ok"))
            self.assertLess(time.monotonic() - started, 2.5, f"request {i} was held up")
        # A reset upload's visitor is told the app did not answer in time.
        wait_until(lambda: sum(o.get("status") == 504 for o in outcomes) >= int(reset.group(1)),
                   10, "a 504 for every reset upload")
        relay_kib, agent_kib = memory_kib(relay.pid, "VmHWM"), memory_kib(agent.pid, "VmHWM")
        print(f"\n{self.STREAMS} stalled uploads, {reset.group(1)} reset: peak RSS relay "
              f"{relay_kib} KiB, agent {agent_kib} KiB", file=sys.stderr)
        self.assertLess(relay_kib, RSS_LIMIT_KIB, "relay peak RSS")
        self.assertLess(agent_kib, RSS_LIMIT_KIB, "agent peak RSS")


if __name__ == "__main__":
    unittest.main()
