#!/usr/bin/python3
# SPDX-License-Identifier: AGPL-3.0-or-later
"""A relay restart that no visitor notices. The test plays systemd: it holds the relay's
listening sockets and starts the relay with them (LISTEN_FDS, LISTEN_FDNAMES, LISTEN_PID),
then restarts it 20 times (SIGTERM, wait for the exit, start again on the same sockets) under
a steady load of small GETs through a v2 tunnel and a v1 tunnel (both our agent). No request
may fail.

The visitors behave as Caddy (Go's HTTP transport) and browsers do: kept-alive connections,
and a request whose REUSED connection closes before any byte of the response is sent once
more on a new connection (nothing was forwarded, RFC 9112 §9.3.1). A new connection gets no
such second chance. Meanwhile new connections wait in the kernel's backlog of the sockets the
test holds, and a request that reaches the new relay before its slug's agent waits for the
agent (--agent-wait).

Also printed: the time from each SIGTERM to each tunnel serving again, median and max (see
docs/benchmarks.md).
"""

import http.client
import signal
import statistics
import threading
import time
import unittest

from harness import DOMAIN, RelayTestCase, wait_until
from socket_activation import listening_socket

RESTARTS = 20
VISITORS_PER_TUNNEL = 2
CLOSED_BEFORE_ANY_BYTE = (http.client.RemoteDisconnected, ConnectionResetError,
                          BrokenPipeError, ConnectionAbortedError)


class Visitor(threading.Thread):
    """GETs /echo on one Host in a loop on a kept-alive connection; counts what failed."""

    def __init__(self, port, host, stop):
        super().__init__(daemon=True)
        self.port, self.host, self.stop = port, host, stop
        self.served = 0
        self.retried = 0
        self.failures = []

    def run(self):
        conn, used = None, False
        while not self.stop.is_set():
            if conn is None:
                conn, used = http.client.HTTPConnection("127.0.0.1", self.port, timeout=15), False
            try:
                status, body = self.get(conn)
            except CLOSED_BEFORE_ANY_BYTE as error:
                conn.close()
                conn = None
                if not used:
                    self.failures.append(f"new connection closed: {error!r}")
                    continue
                self.retried += 1
                continue  # the same request again, on a new connection
            except OSError as error:
                self.failures.append(repr(error))
                conn.close()
                conn = None
                continue
            used = True
            if status != 200 or body != b"":
                self.failures.append(f"HTTP {status} {body[:100]!r}")
            else:
                self.served += 1
        if conn is not None:
            conn.close()

    def get(self, conn):
        conn.request("GET", "/echo", headers={"Host": self.host})
        response = conn.getresponse()
        body = response.read()
        if response.getheader("connection", "").lower() == "close":
            conn.close()  # as a client does: the relay is draining this one
        return response.status, body


class RestartInvisibleTest(RelayTestCase):
    def setUp(self):
        super().setUp()
        # The sockets systemd's socket units would hold across the restarts.
        self.sockets = [(name, listening_socket()) for name in ("control", "http", "status")]
        for _, sock in self.sockets:
            self.addCleanup(sock.close)
        self.port = {name: sock.getsockname()[1] for name, sock in self.sockets}

    def activated_relay(self, **options):
        return self.start_relay(tcp_port=self.port["control"], http_port=self.port["http"],
                                status_listen=f"127.0.0.1:{self.port['status']}",
                                sockets=self.sockets, **options)

    def restart_under_load(self, restarts, **options):
        """Restarts the relay `restarts` times under load; (visitors, times to serving again
        per protocol, in seconds)."""
        options.setdefault("agent_wait", 5)  # the relay's default (the harness turns it off)
        relay = self.activated_relay(**options)
        site = self.start_site()
        agents = {}
        for protocol in ("v2", "v1"):
            slug = f"{protocol}site"
            extra = ["--protocol", "v1"] if protocol == "v1" else []
            agents[protocol] = self.start_agent(slug, self.add_slug(slug), site.port,
                                                self.port["control"], *extra)
            relay.wait_tunnel(slug, where=lambda t, p=protocol: t["protocol"] == p)
        stop = threading.Event()
        visitors = [Visitor(self.port["http"], f"{protocol}site.{DOMAIN}", stop)
                    for protocol in agents for _ in range(VISITORS_PER_TUNNEL)]
        for visitor in visitors:
            visitor.start()
        back = {protocol: [] for protocol in agents}
        try:
            for restart in range(restarts):
                time.sleep(0.3)  # steady load on the relay as it is
                terminated = time.monotonic()
                relay.signal(signal.SIGTERM)
                self.assertEqual(relay.popen.wait(timeout=15), 0, "a drained relay exits 0")
                relay = self.activated_relay(wait=False, **options)
                for protocol, agent in agents.items():
                    wait_until(lambda a=agent: a.status()["registrations"] >= restart + 2, 10,
                               f"the {protocol} agent registered again after restart "
                               f"{restart + 1}", interval=0.01)
                    back[protocol].append(time.monotonic() - terminated)
            time.sleep(0.3)
        finally:
            stop.set()
            for visitor in visitors:
                visitor.join(timeout=20)
        return visitors, back

    def test_twenty_restarts_fail_no_request(self):
        visitors, back = self.restart_under_load(RESTARTS)
        failures = [f for v in visitors for f in v.failures]
        served = sum(v.served for v in visitors)
        retried = sum(v.retried for v in visitors)
        for protocol, times in back.items():
            print(f"\n{protocol} tunnel serving again after SIGTERM: median "
                  f"{statistics.median(times) * 1000:.0f} ms, max {max(times) * 1000:.0f} ms "
                  f"({RESTARTS} restarts; {served} requests, {retried} retried on a new "
                  "connection)")
        self.assertEqual(failures, [], f"{len(failures)} of {served + len(failures)} failed")
        self.assertGreater(served, RESTARTS * 10)
        # v2 comes back on the relay's GOAWAY (200 ms + jitter), not after a 1 s backoff.
        self.assertLess(statistics.median(back["v2"]), 1.0)

    def test_without_agent_wait_the_restarts_are_seen(self):
        """The same with --agent-wait 0: the test can fail."""
        visitors, _ = self.restart_under_load(3, agent_wait=0)
        failures = [f for v in visitors for f in v.failures]
        self.assertTrue(any(f.startswith("HTTP 302") or f.startswith("HTTP 404")
                            for f in failures), failures[:5])


class AgentWaitTest(RelayTestCase):
    """--agent-wait: who waits, how long, and what ends the wait."""

    def test_a_listed_slug_waits_for_its_agent_and_an_unknown_one_does_not(self):
        relay = self.start_relay(agent_wait=2)
        started = time.monotonic()
        self.assertEqual(relay.get(f"nobody.{DOMAIN}", "/echo").status, 404)
        self.assertLess(time.monotonic() - started, 1.0, "an unknown slug answers at once")

        token = self.add_slug("demo")
        started = time.monotonic()
        self.assertEqual(relay.get(f"demo.{DOMAIN}", "/echo").status, 302)
        self.assertGreaterEqual(time.monotonic() - started, 1.9, "no agent within the wait")

        # The agent comes while a request waits: the request goes on through it at once.
        site = self.start_site()
        result = {}
        waiting = threading.Thread(target=lambda: result.update(
            response=relay.get(f"demo.{DOMAIN}", "/echo"), at=time.monotonic()))
        waiting.start()
        time.sleep(0.3)
        agent = self.start_agent("demo", token, site.port, relay.tcp_port, wait=False)
        agent.wait_registered(timeout=5)
        registered = time.monotonic()
        waiting.join(timeout=5)
        self.assertEqual(result["response"].status, 200, result["response"])
        self.assertLess(result["at"] - registered, 0.5)

    def test_a_revoked_slug_does_not_wait(self):
        relay = self.start_relay(agent_wait=3)
        self.tunnel(relay, "demo")
        relay.wait_tunnel("demo")
        self.assertEqual(self.directory("revoke", "demo").returncode, 0)
        relay.wait_no_tunnel("demo")
        started = time.monotonic()
        self.assertEqual(relay.get(f"demo.{DOMAIN}", "/echo").status, 404)
        self.assertLess(time.monotonic() - started, 1.0)


class DrainTest(RelayTestCase):
    """SIGTERM: requests in flight finish (with Connection: close), then exit 0; a second
    signal exits at once."""

    def slow_request_in_flight(self, relay, ms):
        result = {}

        def get():
            try:
                result["response"] = relay.get(f"demo.{DOMAIN}", f"/delay?ms={ms}", timeout=20)
            except OSError as error:  # cut by the relay's exit
                result["error"] = error
        thread = threading.Thread(target=get)
        thread.start()
        time.sleep(0.3)  # forwarded meanwhile
        return thread, result

    def test_a_request_in_flight_finishes_before_the_relay_exits(self):
        relay = self.start_relay(drain_timeout=10)
        self.tunnel(relay, "demo")
        thread, result = self.slow_request_in_flight(relay, 1500)
        relay.signal(signal.SIGTERM)
        time.sleep(0.5)
        self.assertTrue(relay.alive(), "the relay waits for the request in flight")
        thread.join(timeout=10)
        self.assertEqual(result["response"].status, 200)
        self.assertEqual(result["response"].header("connection"), "close")
        self.assertEqual(relay.popen.wait(timeout=5), 0)
        relay.wait_for(r"Drained in \d+ ms")

    def test_a_second_signal_exits_at_once(self):
        relay = self.start_relay(drain_timeout=30)
        self.tunnel(relay, "demo")
        self.slow_request_in_flight(relay, 8000)
        relay.signal(signal.SIGTERM)
        time.sleep(0.3)
        self.assertTrue(relay.alive())
        sent = time.monotonic()
        relay.signal(signal.SIGTERM)
        self.assertEqual(relay.popen.wait(timeout=5), 128 + signal.SIGTERM)
        self.assertLess(time.monotonic() - sent, 1.0)


if __name__ == "__main__":
    unittest.main()
