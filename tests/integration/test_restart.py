#!/usr/bin/python3
# SPDX-License-Identifier: AGPL-3.0-or-later
"""The agent survives the relay dying: after `kill -9` and a restart on the same ports it is
back within its backoff. The backoff grows while the relay is unreachable and starts again
from 1 s only after a successful registration."""

import time
import unittest

from harness import DOMAIN, RelayTestCase, free_port

HOST = f"demo.{DOMAIN}"


class RestartTest(RelayTestCase):
    def test_agent_is_back_within_its_backoff_after_relay_kill_and_restart(self):
        relay = self.start_relay()
        _, agent = self.tunnel(relay, "demo")
        self.assertEqual(relay.get(HOST, "/echo").status, 200)

        relay.kill()
        # Let it fail to connect at least once, so it is really in its backoff loop.
        agent.wait_status(lambda s: s["state"] == "backoff" and
                          s["last_error"] == "Connection failed: Connection refused", 5,
                          "a refused connection")
        restarted = self.start_relay(tcp_port=relay.tcp_port, http_port=relay.http_port)
        ready_at = time.monotonic()
        # Whatever it announced last is the longest it may now wait (plus connect/register).
        longest = max(agent.reconnect_delays())
        agent.wait_registered(timeout=longest + 2, after=1)
        self.assertLessEqual(time.monotonic() - ready_at, longest + 1.5)
        response = restarted.get(HOST, "/echo")
        self.assertEqual(response.status, 200)
        self.assertEqual(response.header("x-echo-host"), HOST)

    def test_backoff_grows_while_relay_is_down_and_resets_after_registration(self):
        token = self.add_slug("demo")
        site = self.start_site()
        tcp_port, http_port = free_port(), free_port()
        agent = self.start_agent("demo", token, site.port, tcp_port, wait=False)
        agent.wait_for(r"Connecting to 127\.0\.0\.1:%d" % tcp_port, timeout=5)
        agent.wait_for(r"Reconnecting in 2s", timeout=5)
        self.assertEqual(agent.reconnect_delays()[:2], [1, 2])

        relay = self.start_relay(tcp_port=tcp_port, http_port=http_port)
        agent.wait_registered(timeout=5)
        agent.wait_for(r"Connected to 127\.0\.0\.1:%d" % tcp_port)
        self.assertEqual(relay.get(HOST, "/echo").status, 200)

        mark = agent.mark()
        relay.kill()
        agent.wait_for(r"Reconnecting in \d+s", timeout=5, since=mark)
        self.assertEqual(agent.reconnect_delays(since=mark)[0], 1,
                         "a successful registration must reset the backoff to 1 s")


if __name__ == "__main__":
    unittest.main()
