#!/usr/bin/python3
# SPDX-License-Identifier: AGPL-3.0-or-later
"""The agent's status pages on loopback: /healthz (200 while registered, else 503 with the
state), /status (its state as JSON, never the token), /metrics (Prometheus text format, checked
by promtool where installed); the option that moves or disables them and its errors."""

import datetime
import json
import os
import shutil
import socket
import subprocess
import unittest

from harness import (BIN, DOMAIN, LoggedProcess, RelayTestCase, free_port, http_request,
                     run_binary, wait_until)

PROMTOOL = shutil.which("promtool") or "/usr/bin/promtool"


def parse_time(text):
    return datetime.datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(
        tzinfo=datetime.timezone.utc)


def samples(metrics):
    """{'name{labels}': value} of a /metrics page."""
    values = {}
    for line in metrics.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            values[name] = float(value)
    return values


class AgentStatusTest(RelayTestCase):
    def registered_agent(self, *extra):
        relay = self.start_relay()
        token = self.add_slug("demo")
        site = self.start_site()
        agent = self.start_agent("demo", token, site.port, relay.tcp_port, *extra)
        return relay, agent, token

    def test_registered_agent_is_healthy_and_says_how_it_is_connected(self):
        relay, agent, token = self.registered_agent()
        self.assertEqual(agent.page("/healthz"), (200, b"registered\n"))
        status = agent.status()
        self.assertEqual(status["state"], "registered")
        self.assertEqual(status["slug"], "demo")
        self.assertEqual(status["server"], f"127.0.0.1:{relay.tcp_port}")
        self.assertEqual((status["door"], status["protocol"], status["encrypted"]),
                         ("tcp", "v2", False))
        since = parse_time(status["connected_since"])
        self.assertLess(abs(datetime.datetime.now(datetime.timezone.utc) - since).total_seconds(),
                        30)
        self.assertIsNone(status["next_retry"])
        self.assertEqual((status["registrations"], status["reconnects"]), (1, 0))
        self.assertNotIn(token, json.dumps(status))

    def test_requests_and_bytes_are_counted(self):
        relay, agent, _ = self.registered_agent()
        self.assertEqual(relay.get(f"demo.{DOMAIN}", "/echo").status, 200)
        self.assertEqual(relay.get(f"demo.{DOMAIN}", "/missing").status, 404)
        status = agent.wait_status(lambda s: s["requests"]["total"] == 2, 5, "two requests")
        self.assertEqual((status["requests"]["2xx"], status["requests"]["4xx"]), (1, 1))
        self.assertGreater(status["bytes_in"], 0)
        self.assertGreater(status["bytes_out"], 0)
        self.assertEqual(status["active_streams"], 0)

    def test_an_agent_without_a_relay_is_unhealthy_and_says_when_it_retries(self):
        agent = self.start_agent("demo", "f" * 64, 9, free_port(), wait=False)
        status = agent.wait_state("backoff", timeout=5)
        self.assertEqual(status["last_error"], "Connection failed: Connection refused")
        self.assertIsNotNone(status["last_error_at"])
        retry = parse_time(status["next_retry"])
        # Seconds resolution: the retry is due within the first backoff step (1 s, jittered).
        now = datetime.datetime.now(datetime.timezone.utc)
        self.assertLessEqual((retry - now).total_seconds(), 2)
        code, body = agent.page("/healthz")
        self.assertEqual(code, 503)
        self.assertIn(body, (b"backoff\n", b"connecting\n"))
        self.assertIsNone(status["connected_since"])
        self.assertIsNone(status["protocol"])

    def test_reconnects_are_counted_across_a_relay_restart(self):
        relay, agent, _ = self.registered_agent()
        relay.kill()
        agent.wait_state("backoff", timeout=5)
        self.start_relay(tcp_port=relay.tcp_port, http_port=relay.http_port)
        status = agent.wait_registered(timeout=40, after=1)
        self.assertEqual(status["registrations"], 2)
        self.assertGreaterEqual(status["reconnects"], 1)
        self.assertEqual(agent.page("/healthz")[0], 200)

    def test_metrics_follow_prometheus_conventions(self):
        relay, agent, _ = self.registered_agent()
        self.assertEqual(relay.get(f"demo.{DOMAIN}", "/echo").status, 200)
        agent.wait_status(lambda s: s["requests"]["total"] == 1, 5, "the request counted")
        code, body = agent.page("/metrics")
        self.assertEqual(code, 200)
        text = body.decode()
        values = samples(text)
        self.assertEqual(values["nexus_relay_agent_registered"], 1)
        self.assertEqual(values['nexus_relay_agent_requests_total{class="2xx"}'], 1)
        self.assertEqual(values['nexus_relay_agent_state{state="registered"}'], 1)
        self.assertEqual(values["nexus_relay_agent_request_duration_seconds_count"], 1)
        self.assertEqual(values["nexus_relay_agent_time_to_first_byte_seconds_count"], 1)
        self.assertEqual(values['nexus_relay_agent_request_duration_seconds_bucket{le="+Inf"}'], 1)
        self.assertGreater(values["nexus_relay_agent_received_bytes_total"], 0)
        self.assertGreater(values["nexus_relay_agent_sent_bytes_total"], 0)
        for name in ("nexus_relay_agent_active_streams", "nexus_relay_agent_open_websockets",
                     "nexus_relay_agent_reconnects_total"):
            self.assertEqual(values[name], 0, name)
        self.assertGreater(values["process_resident_memory_bytes"], 1 << 20)
        self.assertGreater(values["process_open_fds"], 3)
        if not os.access(PROMTOOL, os.X_OK):
            self.skipTest("promtool not installed (Debian package prometheus)")
        check = subprocess.run([PROMTOOL, "check", "metrics"], input=text, capture_output=True,
                               text=True, timeout=30)
        self.assertEqual(check.returncode, 0, check.stdout + check.stderr)
        self.assertEqual(check.stdout.strip() + check.stderr.strip(), "", "promtool's lint")

    def test_unknown_paths_are_404_and_other_methods_405(self):
        _, agent, _ = self.registered_agent()
        self.assertEqual(agent.page("/token")[0], 404)
        self.assertEqual(agent.page("/status/../healthz")[0], 404)
        self.assertEqual(agent.page("/status", method="POST")[0], 405)
        self.assertEqual(agent.page("/healthz", method="HEAD"), (200, b""))

    def test_off_turns_the_pages_off(self):
        relay, agent, _ = self.registered_agent("--status-listen", "off")
        self.assertIsNone(agent.status_port)
        self.assertNotIn("Status :", agent.text())
        self.assertTrue(agent.alive())

    def test_a_busy_port_is_a_start_up_error_naming_the_option(self):
        with socket.create_server(("127.0.0.1", 0)) as busy:
            port = busy.getsockname()[1]
            agent = self.start_agent("demo", "f" * 64, 9, free_port(), "--status-listen",
                                     f"127.0.0.1:{port}", wait=False)
            self.assertEqual(agent.popen.wait(timeout=10), 1)
        self.assertIn(f"Cannot listen on 127.0.0.1:{port} for the status pages "
                      f"(--status-listen): Address already in use", agent.text())

    def test_an_address_that_is_not_one_is_a_usage_error(self):
        for value in ("localhost:7070", "7070", "127.0.0.1"):
            with self.subTest(value=value):
                result = run_binary("client", "--slug", "demo", "--status-listen", value)
                self.assertEqual(result.returncode, 2, result.stderr)
                self.assertIn(f"--status-listen: '{value}' is not ADDRESS:PORT", result.stderr)

    def test_the_default_is_loopback_port_7070(self):
        help_text = run_binary("client", "--help").stdout
        self.assertRegex(help_text, r"--status-listen TEXT=127\.0\.0\.1:7070")
        try:
            with socket.create_server(("127.0.0.1", 7070)):
                pass
        except OSError:
            self.skipTest("127.0.0.1:7070 is taken on this machine")
        env = dict(os.environ, NEXUS_RELAY_TOKEN="f" * 64)
        agent = LoggedProcess("agent-default", [BIN, "client", "--server",
                                                f"127.0.0.1:{free_port()}", "--slug", "demo",
                                                "--insecure-plaintext"], self.tmp, env=env)
        self._processes.append(agent)
        agent.wait_for(r"Status : http://127\.0\.0\.1:7070/healthz")
        health = wait_until(lambda: http_request(7070, "127.0.0.1", "/healthz", timeout=2), 5,
                            "the default status port")
        self.assertEqual(health.status, 503)
        # Bound to the loopback address itself, not to every address of the machine.
        with self.assertRaises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.2", 7070), timeout=2).close()

if __name__ == "__main__":
    unittest.main()
