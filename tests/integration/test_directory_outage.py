#!/usr/bin/python3
# SPDX-License-Identifier: AGPL-3.0-or-later
"""A PostgreSQL directory that goes away: live tunnels stay up, new registrations fail
fast with a clear message, and everything recovers by itself when the database returns."""

import os
import time
import unittest
import urllib.parse

from deployed_table import DATABASE_URL, SCHEMA_SQL, psql
from harness import (BIN, DOMAIN, LoggedProcess, RelayTestCase, free_port, http_request,
                     run_binary)
from tcp_cut_proxy import CutProxy


@unittest.skipUnless(DATABASE_URL or os.environ.get("CI"),
                     "NEXUS_TEST_DATABASE_URL is not set (scripts/test.sh sets it)")
class DirectoryOutageTest(RelayTestCase):
    def setUp(self):
        super().setUp()
        self.assertTrue(DATABASE_URL, "NEXUS_TEST_DATABASE_URL must be set in CI")
        self.schema = f"outage_{os.getpid()}_{int(time.time() * 1000) % 100000}"
        psql(SCHEMA_SQL.format(schema=self.schema))
        self.addCleanup(psql, f"DROP SCHEMA {self.schema} CASCADE")
        url = urllib.parse.urlsplit(DATABASE_URL)
        self.proxy = CutProxy(url.hostname, url.port or 5432).start()
        self.addCleanup(self.proxy.cut)
        netloc = f"{url.username}:{url.password}@127.0.0.1:{self.proxy.port}"
        query = urllib.parse.urlencode({"options": f"-csearch_path={self.schema}"})
        self.url = urllib.parse.urlunsplit((url.scheme, netloc, url.path, query, ""))

    def add(self, slug):
        result = run_binary("directory", "add", slug, "--database-url", self.url)
        self.assertEqual(result.returncode, 0, result.stderr)
        return result.stdout.strip()

    def start_pg_relay(self):
        tcp_port, http_port = free_port(), free_port()
        relay = LoggedProcess("relay-pg", [
            BIN, "server", "--tcp-port", str(tcp_port), "--tcp-bind", "127.0.0.1",
            "--http-port", str(http_port), "--ws-port", "0", "--status-listen", "off",
            "--domain", DOMAIN, "--database-url", self.url], self.tmp)
        self._processes.append(relay)
        relay.wait_for(r"HTTP front on", 10)
        relay.tcp_port, relay.http_port = tcp_port, http_port
        return relay

    def test_outage_keeps_tunnels_and_recovers_registrations(self):
        first, second = self.add("first"), self.add("second")
        relay = self.start_pg_relay()
        site = self.start_site()
        self.start_agent("first", first, site.port, relay.tcp_port, "--insecure-plaintext")
        self.assertEqual(http_request(relay.http_port, f"first.{DOMAIN}").status, 200)

        self.proxy.cut()
        time.sleep(3)  # longer than the relay's revocation check period (2 s)
        self.assertEqual(http_request(relay.http_port, f"first.{DOMAIN}").status, 200,
                         "a database outage must not drop a live tunnel")

        started = time.monotonic()
        agent = self.start_agent("second", second, site.port, relay.tcp_port,
                                 "--insecure-plaintext", wait=False)
        agent.wait_for(r"Registration rejected: Relay directory unavailable", 5)
        self.assertLess(time.monotonic() - started, 4, "registration must fail fast")

        self.proxy.start()
        agent.wait_registered(timeout=20)
        self.assertEqual(http_request(relay.http_port, f"second.{DOMAIN}").status, 200)
        self.assertEqual(http_request(relay.http_port, f"first.{DOMAIN}").status, 200)


if __name__ == "__main__":
    unittest.main()
