#!/usr/bin/python3
# SPDX-License-Identifier: AGPL-3.0-or-later
"""The relay's status listener: /healthz, /status (the tunnels as data), /metrics in the
Prometheus text format, checked by Prometheus' own tools (promtool, and a real scrape by the
Prometheus server where it runs). Loopback only, never a token, 404 for anything else."""

import json
import re
import shutil
import socket
import subprocess
import unittest
import urllib.request

from harness import DOMAIN, LoggedProcess, RelayTestCase, free_port, run_binary, wait_until

PROMTOOL = shutil.which("promtool") or "/usr/bin/promtool"
PROMETHEUS = shutil.which("prometheus") or "/usr/bin/prometheus"


def samples(text, name):
    """{labels text: value} of a metric's samples in an exposition."""
    found = {}
    for line in text.splitlines():
        m = re.match(rf"^{re.escape(name)}(\{{[^}}]*\}})? (\S+)$", line)
        if m:
            found[m.group(1) or ""] = float(m.group(2))
    return found


class RelayStatusTest(RelayTestCase):
    def setUp(self):
        super().setUp()
        self.relay = self.start_relay()

    def test_healthz_answers_while_the_listeners_are_up_with_the_tunnel_count(self):
        response = self.relay.status_page("/healthz")
        self.assertEqual((response.status, response.body), (200, b"ok: 0 tunnels\n"))
        self.tunnel(self.relay, "demo")
        self.relay.wait_tunnel("demo")
        self.assertEqual(self.relay.status_page("/healthz").body, b"ok: 1 tunnels\n")
        head = self.relay.status_page("/healthz", method="HEAD")
        self.assertEqual((head.status, head.body), (200, b""))

    def test_status_lists_each_tunnel_with_its_door_protocol_and_counters(self):
        token = self.add_slug("demo")
        site, _ = self.tunnel(self.relay, "web")
        self.start_agent("demo", token, site.port, self.relay.tcp_port, "--protocol", "v1")
        web = self.relay.wait_tunnel("web", where=lambda t: t["protocol"] == "v2")
        demo = self.relay.wait_tunnel("demo", where=lambda t: t["protocol"] == "v1")
        for tunnel in (web, demo):
            self.assertEqual(tunnel["door"], "tcp")
            self.assertFalse(tunnel["encrypted"])
            self.assertRegex(tunnel["remote"], r"^127\.0\.0\.1:\d+$")
            self.assertRegex(tunnel["since"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
            self.assertEqual((tunnel["requests"], tunnel["active_streams"]), (0, 0))

        self.assertEqual(self.relay.get(f"web.{DOMAIN}", "/echo", method="POST",
                                        body=b"x" * 100).status, 200)
        self.assertEqual(self.relay.get(f"web.{DOMAIN}", "/status/404").status, 404)
        self.assertEqual(self.relay.get(f"web.{DOMAIN}", "/status/503").status, 503)
        self.assertEqual(self.relay.get(f"nobody.{DOMAIN}", "/").status, 404)
        status = self.relay.status()
        web = self.relay.tunnel_state("web")
        self.assertEqual(web["requests"], 3)
        self.assertEqual(web["errors"], {"4xx": 1, "5xx": 1})
        self.assertEqual(web["received_bytes"], 100)
        self.assertGreaterEqual(web["sent_bytes"], 100)
        self.assertEqual(self.relay.tunnel_state("demo")["requests"], 0)
        totals = status["totals"]
        self.assertEqual((totals["tunnels"], totals["requests"], totals["registrations"]),
                         (2, 4, 2))
        self.assertEqual(totals["requests_by_class"]["4xx"], 2)  # the fallback counts too
        self.assertEqual(status["version"], run_binary("--version").stdout.split()[-1])
        self.assertGreaterEqual(status["uptime_seconds"], 0)
        self.assertNotIn(token, json.dumps(status), "a token on the status page")

    def test_a_takeover_and_a_revocation_show_in_status(self):
        token = self.add_slug("demo")
        site = self.start_site()
        self.start_agent("demo", token, site.port, self.relay.tcp_port)
        first = self.relay.wait_tunnel("demo")["remote"]
        self.start_agent("demo", token, site.port, self.relay.tcp_port)
        second = self.relay.wait_tunnel("demo", where=lambda t: t["remote"] != first)
        self.assertEqual(self.relay.status()["totals"]["registrations"], 2)
        self.assertEqual(self.directory("revoke", "demo").returncode, 0)
        self.relay.wait_no_tunnel("demo", timeout=5)
        self.assertRegex(self.relay.text(),
                         rf'Tunnel revoked: slug "demo" from {re.escape(second["remote"])}')

    def test_unknown_paths_are_404_and_other_methods_405(self):
        self.assertEqual(self.relay.status_page("/nope").status, 404)
        self.assertEqual(self.relay.status_page("/").status, 404)
        self.assertEqual(self.relay.status_page("/status/../metrics").status, 404)
        self.assertEqual(self.relay.status_page("/status", method="POST").status, 405)
        self.assertEqual(self.relay.status_page("/status?x=1").status, 200)

    def metrics_after_traffic(self):
        site, _ = self.tunnel(self.relay, "demo")
        self.relay.wait_tunnel("demo")
        for path in ("/echo", "/status/404", "/bytes?n=5000"):
            self.relay.get(f"demo.{DOMAIN}", path)
        self.relay.get(f"nobody.{DOMAIN}", "/")
        response = self.relay.status_page("/metrics")
        self.assertEqual(response.status, 200)
        self.assertTrue(response.header("content-type").startswith("text/plain; version=0.0.4"))
        return response.body.decode()

    def test_metrics_pass_promtool_and_count_the_traffic(self):
        text = self.metrics_after_traffic()
        check = subprocess.run([PROMTOOL, "check", "metrics"], input=text, text=True,
                               capture_output=True, timeout=30)
        self.assertEqual(check.returncode, 0, check.stdout + check.stderr)
        self.assertEqual(samples(text, "nexus_relay_tunnels"), {"": 1})
        requests = samples(text, "nexus_relay_requests_total")
        self.assertEqual(requests['{class="2xx"}'], 2)
        self.assertEqual(requests['{class="4xx"}'], 2)
        self.assertGreaterEqual(samples(text, "nexus_relay_sent_bytes_total")[""], 5000)
        self.assertEqual(samples(text, "nexus_relay_registrations_total"), {"": 1})
        self.assertEqual(samples(text, "nexus_relay_auth_failures_total"), {"": 0})
        self.assertEqual(samples(text, "nexus_relay_active_streams"), {"": 0})
        counts = samples(text, "nexus_relay_request_duration_seconds_count")
        self.assertEqual(counts['{door="tcp",protocol="v2"}'], 3)
        self.assertEqual(counts['{door="none",protocol="none"}'], 1)
        self.assertIn('{door="tcp",protocol="v2"}',
                      samples(text, "nexus_relay_time_to_first_byte_seconds_count"))
        per_slug = samples(text, "nexus_relay_tunnel_requests_total")
        self.assertEqual(per_slug['{slug="demo",class="2xx"}'], 2)
        self.assertEqual(per_slug['{slug="demo",class="4xx"}'], 1)
        self.assertGreater(samples(text, "process_resident_memory_bytes")[""], 1e6)
        self.assertGreater(samples(text, "process_open_fds")[""], 3)

    def test_an_auth_failure_is_counted(self):
        self.add_slug("demo")
        agent = self.start_agent("demo", "0" * 64, free_port(), self.relay.tcp_port, wait=False)
        agent.wait_for("Registration rejected", timeout=10)
        text = self.relay.status_page("/metrics").body.decode()
        self.assertGreaterEqual(samples(text, "nexus_relay_auth_failures_total")[""], 1)
        self.relay.wait_for(r'Auth failure from 127\.0\.0\.1 \(slug "demo"\)')  # word for word

    def test_a_real_prometheus_scrapes_the_relay(self):
        self.metrics_after_traffic()
        port = free_port()
        config = self.tmp / "prometheus.yml"
        config.write_text(
            "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n"
            "scrape_configs:\n  - job_name: nexus-relay\n    static_configs:\n"
            f"      - targets: ['127.0.0.1:{self.relay.status_port}']\n")
        server = LoggedProcess("prometheus", [
            PROMETHEUS, f"--config.file={config}", f"--storage.tsdb.path={self.tmp / 'tsdb'}",
            f"--web.listen-address=127.0.0.1:{port}"], self.tmp)
        self._processes.append(server)

        def query(expression):
            url = f"http://127.0.0.1:{port}/api/v1/query?query={expression}"
            try:
                with urllib.request.urlopen(url, timeout=2) as response:
                    result = json.load(response)["data"]["result"]
            except OSError:
                if not server.alive():
                    self.skipTest(f"the Prometheus server does not run here: {server.text()[-500:]}")
                return None
            return result or None

        up = wait_until(lambda: query("up"), 30, "Prometheus to scrape the relay", interval=0.5)
        self.assertEqual(up[0]["metric"]["job"], "nexus-relay")
        self.assertEqual(up[0]["value"][1], "1", "the scrape failed")
        tunnels = wait_until(lambda: query("nexus_relay_tunnels"), 10, "a nexus metric")
        self.assertEqual(tunnels[0]["value"][1], "1")
        requests = wait_until(lambda: query('nexus_relay_requests_total{class="2xx"}'), 10,
                              "the request counter")
        self.assertEqual(requests[0]["value"][1], "2")


class RelayStatusOptionsTest(RelayTestCase):
    def test_per_slug_series_can_be_turned_off(self):
        relay = self.start_relay(metrics_per_slug="off")
        self.tunnel(relay, "demo")
        relay.wait_tunnel("demo")
        self.assertEqual(relay.get(f"demo.{DOMAIN}", "/echo").status, 200)
        text = relay.status_page("/metrics").body.decode()
        self.assertNotIn("slug=", text)
        self.assertNotIn("demo", text)
        self.assertEqual(samples(text, "nexus_relay_requests_total")['{class="2xx"}'], 1)

    def test_the_default_is_loopback_port_7071(self):
        help_text = run_binary("server", "--help").stdout
        self.assertRegex(help_text, r"--status-listen TEXT=127\.0\.0\.1:7071\s")
        relay = self.start_relay()
        relay.wait_for(rf"Status pages on http://127\.0\.0\.1:{relay.status_port}/")
        # Bound to loopback only: another address of this machine is refused.
        others = [a for a in subprocess.run(["hostname", "-I"], capture_output=True,
                                            text=True).stdout.split() if ":" not in a]
        for address in others:
            with self.assertRaises(OSError, msg=f"the status pages answer on {address}"):
                socket.create_connection((address, relay.status_port), timeout=2).close()

    def test_off_serves_no_status_pages(self):
        relay = self.start_relay(status_listen="off")
        self.assertNotIn("Status pages on", relay.text())
        self.tunnel(relay, "demo")  # the relay itself still works

    def test_a_busy_status_port_is_named_with_its_option(self):
        with socket.socket() as busy:
            busy.bind(("127.0.0.1", 0))
            busy.listen()
            port = busy.getsockname()[1]
            self.assertEqual(self.directory("init").returncode, 0)
            result = run_binary("server", "--database", str(self.database), "--tcp-bind",
                                "127.0.0.1", "--tcp-port", str(free_port()), "--http-port",
                                str(free_port()), "--ws-port", "0", "--status-listen",
                                f"127.0.0.1:{port}")
        self.assertEqual(result.returncode, 1, result.stderr)
        self.assertIn(f"Cannot listen on 127.0.0.1:{port} for the status pages "
                      "(--status-listen): Address already in use", result.stderr)

    def test_a_malformed_status_address_is_a_usage_error(self):
        result = run_binary("server", "--status-listen", "localhost:7071")
        self.assertEqual(result.returncode, 2, result.stderr)
        self.assertIn("--status-listen", result.stderr)


if __name__ == "__main__":
    unittest.main()
