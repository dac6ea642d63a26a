#!/usr/bin/python3
# SPDX-License-Identifier: AGPL-3.0-or-later
"""A local app that stops reading a large upload: flow control holds the visitor back (relay
and agent memory stay bounded), the other requests of the tunnel are still answered, and the
stalled stream is reset after the relay's stream idle timeout."""

import http.client
import select
import socket
import sys
import threading
import time
import unittest

from harness import DOMAIN, RelayTestCase, memory_kib
from scripted_app import ScriptedApp, answer

RSS_LIMIT_KIB = 64 * 1024
IDLE_TIMEOUT = 3
UPLOAD_BYTES = 96 << 20  # far more than the relay, the agent and the sockets between may hold


class UploadStallTest(RelayTestCase):
    """About 6 s."""

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
        self.relay.wait_for(r'Tunnel registered: slug "demo" .* \(v2\)')

    def test_a_stalled_upload_keeps_memory_bounded_other_requests_answered_and_is_reset(self):
        outcome = {}

        def upload():
            # post_body's loop, counting what the visitor managed to send.
            sock = socket.create_connection(("127.0.0.1", self.relay.http_port), timeout=30)
            try:
                sock.sendall(f"POST /stalls HTTP/1.1\r\nHost: demo.{DOMAIN}\r\n"
                             f"Content-Length: {UPLOAD_BYTES}\r\n\r\n".encode())
                piece, sent = bytes(1 << 16), 0
                while sent < UPLOAD_BYTES:
                    readable, writable, _ = select.select([sock], [sock], [], 1)
                    if readable:
                        break  # answered early
                    if writable:
                        try:
                            sent += sock.send(piece[:UPLOAD_BYTES - sent])
                        except (BrokenPipeError, ConnectionResetError):
                            break
                outcome["sent"] = sent
                response = http.client.HTTPResponse(sock)
                response.begin()
                outcome["status"] = response.status
            finally:
                sock.close()

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


if __name__ == "__main__":
    unittest.main()
