#!/usr/bin/python3
# SPDX-License-Identifier: AGPL-3.0-or-later
"""What the relay writes to a visitor from a hostile or dying agent: never an interim 1xx as
the final response (v1 or v2), and never a clean close after a body that ended early: the
visitor's connection is reset, whatever the framing (length, chunked, or the close itself)."""

import socket
import time
import unittest

from front_exchange import exchange, read_until_closed
from harness import DOMAIN, RelayTestCase
from v1_peer import V1Client
from v2_peer import V2Agent, data_frame, reset_frame, response_frame

HOST = f"hostile.{DOMAIN}"


class InterimAsFinalTest(RelayTestCase):
    def setUp(self):
        super().setUp()
        self.relay = self.start_relay()
        self.token = self.add_slug("hostile")

    def assert_502_for_each_interim(self):
        for status in (100, 103, 101, 199):
            with self.subTest(status=status):
                started = time.monotonic()
                result = exchange(self.relay.http_port,
                                  f"GET /{status} HTTP/1.1\r\nHost: {HOST}\r\n\r\n")
                self.assertEqual(result.statuses(), [502], f"{status}: {result}")
                self.assertLess(time.monotonic() - started, 3)

    def test_a_v1_agent_answering_1xx_gets_502(self):
        agent = V1Client.connect(self.relay.tcp_port)
        self.addCleanup(agent.stop)
        self.assertTrue(agent.register("hostile", self.token)["ok"])
        agent.answer_in_background(
            lambda request: (int(request["path"][1:]), {"link": "</a.css>; rel=preload"}, b""))
        self.assert_502_for_each_interim()

    def test_a_v2_agent_answering_1xx_gets_502(self):
        def handler(agent, stream, method, target):
            agent.send(response_frame(stream, int(target[1:]), [("link", "</a.css>")], end=True))
        agent = V2Agent(self.relay.tcp_port, "hostile", self.token, handler)
        self.addCleanup(agent.close)
        self.relay.wait_for(r'Tunnel registered: slug "hostile" .*, protocol v2')
        self.assert_502_for_each_interim()


class CutBodyTest(RelayTestCase):
    """The agent sends part of a body, then resets the stream or dies."""

    CASES = [  # (visitor's request line and fields, response fields): one per framing
        ("GET /cut HTTP/1.1", [("content-length", "100000")]),
        ("GET /cut HTTP/1.1", []),  # chunked
        ("GET /cut HTTP/1.0", []),  # delimited by the close
    ]

    def setUp(self):
        super().setUp()
        self.relay = self.start_relay()
        self.slugs = 0

    def agent(self, end):
        """An agent that answers with `fields` and 1000 bytes, then `end(agent, stream)`."""
        fields = {}

        def handler(agent, stream, method, target):
            agent.send(response_frame(stream, 200, fields["now"]) + data_frame(stream, b"x" * 1000))
            time.sleep(0.2)  # the visitor has the head and the first bytes
            end(agent, stream)
        # A slug of its own each time: an agent that stays connected is not taken over.
        self.slugs += 1
        slug = f"hostile{self.slugs}"
        agent = V2Agent(self.relay.tcp_port, slug, self.add_slug(slug), handler)
        self.addCleanup(agent.close)
        self.relay.wait_for(rf'Tunnel registered: slug "{slug}" .*, protocol v2')
        fields["host"] = f"{slug}.{DOMAIN}"
        return fields

    def visit(self, request_line, host):
        with socket.create_connection(("127.0.0.1", self.relay.http_port), timeout=5) as sock:
            sock.sendall(f"{request_line}\r\nHost: {host}\r\n\r\n".encode())
            return read_until_closed(sock, 5)

    def assert_reset(self, end):
        for request_line, response_fields in self.CASES:
            with self.subTest(request=request_line, fields=response_fields):
                fields = self.agent(end)
                fields["now"] = response_fields
                result = self.visit(request_line, fields["host"])
                self.assertEqual(result.ended, "reset", f"{request_line} {response_fields}: "
                                 f"the cut body ended like a whole one: {result}")

    def test_a_stream_reset_mid_body_resets_the_visitor(self):
        self.assert_reset(lambda agent, stream: agent.send(reset_frame(stream)))

    def test_an_agent_dying_mid_body_resets_the_visitor(self):
        self.assert_reset(lambda agent, stream: agent.close())


if __name__ == "__main__":
    unittest.main()
