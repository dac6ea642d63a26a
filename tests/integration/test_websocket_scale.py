#!/usr/bin/python3
# SPDX-License-Identifier: AGPL-3.0-or-later
"""A thousand WebSockets at once through one tunnel.

A community instance keeps one WebSocket per open browser tab (live chat, notifications), so
a busy evening means hundreds to thousands of long-lived connections on one agent. Every one
of them must open, carry its own messages without mixing them up, close with the code it was
given, and leave nothing behind in the relay or the agent once closed: a leaked socket per
WebSocket is a tunnel that stops accepting visitors after a few days.

The relay and the agent run with the file limit this test was started with (what CI and a
default service get); only this process raises its own, as it holds both ends of every
WebSocket (the visitors and the local echo app).
"""

import asyncio
import os
import resource
import time
import unittest

from harness import DOMAIN, RelayTestCase
from stream_site import EchoWebSocketServer

SLUG = "live"
CONNECTIONS = int(os.environ.get("NEXUS_WEBSOCKETS", "1000"))
OPENING_AT_ONCE = 50  # handshakes in flight at a time: keeps the local app's backlog sane
# Once every WebSocket is closed, the binaries may keep a few descriptors more than before
# (a pooled keep-alive connection, a lazily opened file) but nothing that grows per WebSocket.
FD_SLACK = 8


def open_fds(pid) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def soft_fd_limit(pid) -> str:
    with open(f"/proc/{pid}/limits") as limits:
        for line in limits:
            if line.startswith("Max open files"):
                return line.split()[3]
    return "?"


class WebSocketScaleTest(RelayTestCase):
    def setUp(self):
        super().setUp()
        self.relay = self.start_relay()
        self.echo = EchoWebSocketServer()
        self.assertIsNotNone(self.echo.port, "the echo server did not start")
        token = self.add_slug(SLUG)
        self.agent = self.start_agent(SLUG, token, self.echo.port, self.relay.tcp_port)
        self.relay.wait_for(rf'Tunnel registered: slug "{SLUG}" .*, protocol v2')
        # Only now, so the binaries above keep the limit they would get anyway.
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        needed = 2 * CONNECTIONS + 256
        if hard != resource.RLIM_INFINITY and hard < needed:
            self.fail(f"this test holds both ends of {CONNECTIONS} WebSockets: it needs "
                      f"{needed} file descriptors, the hard limit is {hard}")
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        self.addCleanup(resource.setrlimit, resource.RLIMIT_NOFILE, (soft, hard))

    def fds(self):
        return {"relay": open_fds(self.relay.pid), "agent": open_fds(self.agent.pid)}

    def test_a_thousand_websockets_open_echo_and_close_at_once_without_leaking(self):
        import websockets

        before = self.fds()
        print(f"\nfile limits: relay {soft_fd_limit(self.relay.pid)}, agent "
              f"{soft_fd_limit(self.agent.pid)}; open fds before: {before}", flush=True)
        relay_port = self.relay.http_port
        figures = {}

        async def scenario():
            gate = asyncio.Semaphore(OPENING_AT_ONCE)

            async def open_one(i):
                async with gate:
                    # Host comes from the URL; the TCP connection goes to the relay's port.
                    return await websockets.connect(
                        f"ws://{SLUG}.{DOMAIN}/socket/{i}", host="127.0.0.1", port=relay_port,
                        open_timeout=30, close_timeout=30, ping_interval=None)

            started = time.monotonic()
            outcomes = await asyncio.gather(*(open_one(i) for i in range(CONNECTIONS)),
                                            return_exceptions=True)
            figures["open_s"] = time.monotonic() - started
            sockets = [ws for ws in outcomes if not isinstance(ws, BaseException)]
            try:
                failures = [(i, o) for i, o in enumerate(outcomes) if isinstance(o, BaseException)]
                self.assertEqual(
                    len(sockets), CONNECTIONS,
                    f"{len(failures)} of {CONNECTIONS} WebSockets failed to open; first: "
                    f"#{failures[0][0]}: {failures[0][1]!r}; last: #{failures[-1][0]}: "
                    f"{failures[-1][1]!r}" if failures else "")
                # All of them are open at this point, at the same time.
                self.assertTrue(all(ws.open for ws in sockets))
                figures["peak"] = self.fds()

                async def echo_one(i, ws):
                    message = f"message {i} for socket {i}: " + "x" * (i % 97)
                    await ws.send(message)
                    return await asyncio.wait_for(ws.recv(), 30) == message

                started = time.monotonic()
                echoed = await asyncio.gather(*(echo_one(i, ws) for i, ws in enumerate(sockets)))
                figures["echo_s"] = time.monotonic() - started
                wrong = [i for i, ok in enumerate(echoed) if not ok]
                self.assertEqual(wrong, [], "these sockets got another message back")

                # Each closes with its own code; the echo app answers with the same one, so
                # a code that comes back intact crossed the tunnel both ways.
                started = time.monotonic()
                await asyncio.gather(*(ws.close(code=4000 + i % 1000, reason=f"bye {i}")
                                       for i, ws in enumerate(sockets)))
                figures["close_s"] = time.monotonic() - started
                codes = [(ws.close_code, ws.close_reason) for ws in sockets]
                expected = [(4000 + i % 1000, f"bye {i}") for i in range(CONNECTIONS)]
                mismatched = [i for i in range(CONNECTIONS) if codes[i] != expected[i]]
                self.assertEqual(mismatched, [],
                                 f"close codes that did not come back: e.g. #{mismatched[:1]} "
                                 f"got {[codes[i] for i in mismatched[:3]]}")
            finally:
                await asyncio.gather(*(ws.close() for ws in sockets), return_exceptions=True)

        asyncio.run(asyncio.wait_for(scenario(), 75))

        # Nothing per WebSocket stays behind once they are all closed.
        deadline = time.monotonic() + 10
        while True:
            after = self.fds()
            settled = all(after[side] <= before[side] + FD_SLACK for side in after)
            if settled or time.monotonic() >= deadline:
                break
            time.sleep(0.2)
        print(f"{CONNECTIONS} WebSockets: opened in {figures['open_s']:.1f} s, echoed in "
              f"{figures['echo_s']:.1f} s, closed in {figures['close_s']:.1f} s; open fds "
              f"peak {figures['peak']}, after {after}", flush=True)
        for side in ("relay", "agent"):
            # The idle count is the lower of before and after: a descriptor of the harness's
            # own readiness check may still be open when `before` is read.
            idle = min(before[side], after[side])
            self.assertGreaterEqual(figures["peak"][side], idle + CONNECTIONS,
                                    f"the {side} did not hold every WebSocket at once")
            self.assertLessEqual(after[side], before[side] + FD_SLACK,
                                 f"the {side} leaks descriptors: {before[side]} before, "
                                 f"{after[side]} after closing every WebSocket")
        self.assertTrue(self.relay.alive() and self.agent.alive())
        self.assertNotRegex(self.relay.text() + self.agent.text(), r"Too many open files")


if __name__ == "__main__":
    unittest.main()
