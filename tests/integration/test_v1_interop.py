#!/usr/bin/python3
# SPDX-License-Identifier: AGPL-3.0-or-later
"""Wire compatibility with the deployed v1 fleet, in both directions: a scripted deployed
agent against our relay, and our agent against a scripted deployed relay. Frames are checked
byte for byte where serde would care (original-relay.md §2 and §8)."""

import json
import threading
import time
import unittest
import uuid

from harness import DOMAIN, RelayTestCase, free_port, run_binary
from sample_site import deterministic_bytes
from v1_peer import (HEARTBEAT, PING, V1Client, V1Server, body_of, dumps, registered,
                     request, response)

HOST = f"demo.{DOMAIN}"
TOKEN = "3f9c0e2a5b7d41c8a6e2f0b19d8c7a6e5f4d3c2b1a0918273645546372819a0b"


def assert_compact(test, payload):
    """serde_json::to_vec output: no whitespace between tokens, no trailing newline."""
    test.assertEqual(payload, dumps(json.loads(payload)), "frame is not compact JSON")


class DeployedAgentAgainstOurRelayTest(RelayTestCase):
    """The scripted peer is a nodyx-relay 0.1.x agent; our relay must serve it unchanged."""

    def setUp(self):
        super().setUp()
        self.relay = self.start_relay(ping_interval=1, heartbeat_timeout=3)
        self.token = self.add_slug("demo")
        self.peer = V1Client.connect(self.relay.tcp_port)
        self.addCleanup(self.peer.stop)

    def register(self):
        reply = self.peer.register("demo", self.token)
        self.assertEqual((reply["type"], reply["ok"], reply["error"]), ("registered", True, None))
        return reply

    def visit_in_background(self, path, **kwargs):
        outcome = {}
        thread = threading.Thread(
            target=lambda: outcome.update(response=self.relay.request(HOST, path, **kwargs)))
        thread.start()
        self.addCleanup(thread.join, 20)
        return thread, outcome

    def test_registration_reply_is_exactly_what_a_deployed_agent_expects(self):
        self.register()
        payload = self.peer.last_payload
        self.assertTrue(payload.startswith(b'{"type":"registered","ok":true,"error":null'), payload)
        assert_compact(self, payload)
        local = self.peer.sock.getsockname()[1]
        self.relay.wait_tunnel("demo", where=lambda t: t["remote"] == f"127.0.0.1:{local}")

    def test_wrong_token_gets_a_v1_rejection_then_the_connection_closes(self):
        reply = self.peer.register("demo", "0" * 64)
        self.assertEqual(reply, registered(False, "Invalid slug or token"))
        self.assertTrue(self.peer.wait_closed(3), "relay kept a rejected connection open")

    def test_request_frame_is_v1_and_the_response_reaches_the_visitor(self):
        self.register()
        body = b"\x00\x01 binary \xff" * 100
        thread, outcome = self.visit_in_background(
            "/api/v1/instance/info?x=1", method="POST", body=body,
            headers=[("X-Multi", "1"), ("X-Multi", "2"), ("CF-Connecting-IP", "198.51.100.23")])
        frame = self.peer.recv(timeout=5, skip=("ping",))
        payload = self.peer.last_payload
        self.assertTrue(payload.startswith(b'{"type":"request","id":"'), payload[:80])
        assert_compact(self, payload)
        self.assertEqual((frame["method"], frame["path"]), ("POST", "/api/v1/instance/info?x=1"))
        self.assertEqual(body_of(frame), body)
        headers = frame["headers"]  # check_v1 already proved: lowercase names, string values
        self.assertEqual(headers.get("host"), HOST)
        self.assertEqual(headers.get("cf-connecting-ip"), "198.51.100.23")
        self.assertIn(headers.get("x-multi"), ("1", "2"))
        self.assertNotIn("connection", headers)
        self.assertTrue(frame["id"])

        self.peer.send(response(frame["id"], 201, {"content-type": "text/plain", "x-v1": "yes"},
                                b"hello from v1"))
        thread.join(timeout=5)
        visitor = outcome["response"]
        self.assertEqual((visitor.status, visitor.body), (201, b"hello from v1"))
        self.assertEqual(visitor.header("x-v1"), "yes")

    def test_out_of_order_responses_reach_the_right_visitors(self):
        self.register()
        visits = {path: self.visit_in_background(path) for path in ("/first", "/second")}
        frames = {}
        for _ in range(2):
            frame = self.peer.recv(timeout=5, skip=("ping",))
            frames[frame["path"]] = frame
        self.assertNotEqual(frames["/first"]["id"], frames["/second"]["id"])
        # Answer the later request first.
        for path in ("/second", "/first"):
            self.peer.send(response(frames[path]["id"], 200, {}, f"answer {path}".encode()))
        for path, (thread, outcome) in visits.items():
            thread.join(timeout=5)
            self.assertEqual(outcome["response"].body, f"answer {path}".encode())

    def test_pings_are_exact_v1_frames_and_heartbeats_keep_the_tunnel_alive(self):
        self.register()
        self.assertEqual(self.peer.recv_payload(timeout=2.5), b'{"type":"ping"}')
        self.peer.send(HEARTBEAT)
        self.peer.answer_in_background(lambda frame: (200, {"content-type": "text/plain"}, b"alive"))
        time.sleep(4.5)  # longer than --heartbeat-timeout 3
        self.assertGreaterEqual(self.peer.pings, 3)
        visitor = self.relay.get(HOST, "/")
        self.assertEqual((visitor.status, visitor.body), (200, b"alive"))
        self.assertNotIn('Tunnel gone: slug "demo"', self.relay.text())

    def test_silent_agent_is_dropped_after_the_heartbeat_timeout(self):
        self.register()
        started = time.monotonic()
        self.assertTrue(self.peer.wait_closed(8), "relay never dropped a silent agent")
        elapsed = time.monotonic() - started
        self.assertGreaterEqual(elapsed, 2.5, "dropped before --heartbeat-timeout 3")
        self.assertLessEqual(elapsed, 6.0)
        self.relay.wait_for(r'Tunnel gone: slug "demo"', timeout=2)
        self.assertNotEqual(self.relay.get(HOST, "/").status, 200)

    def test_repeated_register_and_unknown_response_id_are_ignored(self):
        self.register()
        self.peer.send(dict(type="register", slug="demo", token=self.token))
        self.peer.send(response("no-such-request", 200, {}, b"stray"))
        self.peer.answer_in_background(lambda frame: (200, {}, b"still here"))
        visitor = self.relay.get(HOST, "/")
        self.assertEqual((visitor.status, visitor.body), (200, b"still here"))


class OurAgentAgainstDeployedRelayTest(RelayTestCase):
    """The scripted peer is a nodyx-relay 0.1.x relay; our agent must work with it unchanged."""

    def setUp(self):
        super().setUp()
        self.v1_relay = V1Server()
        self.addCleanup(self.v1_relay.close)
        self.site = self.start_site()

    def connect_agent(self, *extra, local_port=None):
        agent = self.start_agent("demo", TOKEN, local_port or self.site.port, self.v1_relay.port,
                                 *extra, wait=False)
        conn, hello = self.v1_relay.accept_registered("demo", TOKEN)
        self.addCleanup(conn.close)
        agent.wait_registered()
        return agent, conn, hello

    def call(self, conn, method, path, headers=None, body=b"", timeout=10):
        """Sends one request frame and returns the agent's response frame for it."""
        request_id = str(uuid.uuid4())
        conn.send(request(request_id, method, path, headers or {"host": HOST}, body))
        reply = conn.recv(timeout=timeout, skip=("heartbeat",))
        self.assertEqual((reply["type"], reply["id"]), ("response", request_id))
        return reply

    def test_register_frame_is_v1_plus_our_extension_fields(self):
        agent, conn, hello = self.connect_agent()
        payload = conn.last_payload
        self.assertTrue(payload.startswith(
            b'{"type":"register","slug":"demo","token":"%s"' % TOKEN.encode()), payload)
        assert_compact(self, payload)
        self.assertIn("header_list", hello.get("features", []))
        version = run_binary("--version").stdout.split()[-1]
        self.assertEqual(hello.get("agent"), f"nexus-relay/{version}")
        agent.wait_for(rf"Connecting to 127\.0\.0\.1:{self.v1_relay.port}")
        agent.wait_for(rf"Connected to 127\.0\.0\.1:{self.v1_relay.port}")

    def test_requests_are_answered_with_their_id_and_the_app_s_answer(self):
        _, conn, _ = self.connect_agent()
        reply = self.call(conn, "GET", "/echo?x=1", {"host": HOST, "x-test-req-id": "r1"})
        assert_compact(self, conn.last_payload)
        self.assertEqual(reply["status"], 200)
        self.assertEqual(reply["headers"].get("x-echo-path"), "/echo?x=1")
        self.assertEqual(reply["headers"].get("x-echo-host"), HOST)
        self.assertEqual(reply["headers"].get("x-test-req-id"), "r1")

        body = deterministic_bytes(100_003)
        reply = self.call(conn, "POST", "/echo", {"host": HOST, "content-type": "application/x"},
                          body)
        self.assertEqual(body_of(reply), body)
        self.assertEqual(self.site.requests[-1][3], body)

    def test_repeated_response_headers_stay_readable_by_a_deployed_relay(self):
        _, conn, _ = self.connect_agent()
        reply = self.call(conn, "GET", "/cookies")
        # The map a deployed relay reads keeps one value; the extension keeps both, in order.
        self.assertIn(reply["headers"].get("set-cookie"), ("a=1; Path=/", "b=2; Path=/; HttpOnly"))
        header_list = reply.get("header_list")
        self.assertIsNotNone(header_list, "repeated Set-Cookie without a header_list")
        self.assertEqual([v for n, v in header_list if n == "set-cookie"],
                         ["a=1; Path=/", "b=2; Path=/; HttpOnly"])

    def test_ping_is_answered_with_an_exact_heartbeat_frame(self):
        _, conn, _ = self.connect_agent()
        for _ in range(2):
            conn.send(PING)
            self.assertEqual(conn.recv_payload(timeout=2), b'{"type":"heartbeat"}')

    def test_concurrent_requests_are_answered_out_of_order(self):
        _, conn, _ = self.connect_agent()
        conn.send(request("slow", "GET", "/delay?ms=800", {"host": HOST}))
        conn.send(request("fast", "GET", "/echo?fast", {"host": HOST}))
        first = conn.recv(timeout=5, skip=("heartbeat",))
        second = conn.recv(timeout=5, skip=("heartbeat",))
        self.assertEqual([first["id"], second["id"]], ["fast", "slow"],
                         "the agent handled requests one at a time")
        self.assertEqual(body_of(second), b"/delay?ms=800")

    def test_redirect_is_passed_back_not_followed(self):
        _, conn, _ = self.connect_agent()
        reply = self.call(conn, "GET", "/redirect")
        self.assertEqual((reply["status"], reply["headers"].get("location")), (302, "/target"))
        self.assertNotIn("/target", self.site.paths())

    def test_invalid_method_gets_400_without_touching_the_app(self):
        _, conn, _ = self.connect_agent()
        for method in ("GE T", "", "GET\r\nX-Injected: 1"):
            with self.subTest(method=method):
                reply = self.call(conn, method, "/echo")
                self.assertEqual((reply["status"], body_of(reply)), (400, b"Invalid HTTP method"))
        self.assertEqual(self.site.requests, [])

    def test_path_not_starting_with_a_slash_gets_400_and_no_connection_anywhere(self):
        # The deployed agent glued the path to http://127.0.0.1:PORT, so "@host/x" reached
        # another host (SSRF). A sentinel listener catches any connection that escapes.
        _, conn, _ = self.connect_agent()
        sentinel = self.start_site()
        before = self.site.connections
        for path in (f"@127.0.0.1:{sentinel.port}/echo", f"http://127.0.0.1:{sentinel.port}/echo",
                     "echo", ""):
            with self.subTest(path=path):
                self.assertEqual(self.call(conn, "GET", path)["status"], 400)
        time.sleep(0.2)
        self.assertEqual((sentinel.connections, self.site.connections), (0, before))
        self.assertEqual(self.site.requests, [])

    def test_local_app_down_gets_502_local_server_unreachable(self):
        _, conn, _ = self.connect_agent(local_port=free_port())
        reply = self.call(conn, "GET", "/")
        self.assertEqual((reply["status"], body_of(reply)), (502, b"Local server unreachable"))

    def test_agent_reconnects_when_the_relay_goes_silent(self):
        agent, conn, _ = self.connect_agent("--heartbeat-timeout", "2")
        started = time.monotonic()
        second = self.v1_relay.accept(timeout=8)
        self.addCleanup(second.close)
        elapsed = time.monotonic() - started
        self.assertGreaterEqual(elapsed, 1.5, "gave up on the relay before --heartbeat-timeout 2")
        self.assertEqual(second.recv()["type"], "register")
        self.assertTrue(conn.wait_closed(1), "the dead session's socket was left open")

    def test_v1_rejection_is_logged_and_retried(self):
        agent = self.start_agent("demo", TOKEN, self.site.port, self.v1_relay.port, wait=False)
        for _ in range(2):
            conn = self.v1_relay.accept(timeout=5)
            self.addCleanup(conn.close)
            self.assertEqual(conn.recv()["type"], "register")
            conn.send(registered(False, "Invalid slug or token"))
        agent.wait_for(r"Registration rejected: Invalid slug or token", occurrences=2)
        agent.wait_for(r"Reconnecting in 2s")
        self.assertEqual(agent.reconnect_delays()[:2], [1, 2])


if __name__ == "__main__":
    unittest.main()
