#!/usr/bin/python3
# SPDX-License-Identifier: AGPL-3.0-or-later
"""The directory API on the relay's HTTP front (--directory-api): register, ping, delete and
list at http://DOMAIN/api/directory with the deployed directory's answers (original-relay.md
S5.3), its limits, and Caddy's on-demand TLS ask endpoint on the status listener. Run on
SQLite, and on the deployed PostgreSQL table when NEXUS_TEST_DATABASE_URL is set."""

import json
import os
import re
import subprocess
import time
import unittest
import urllib.parse

from deployed_table import DATABASE_URL, SCHEMA_SQL, psql
from harness import DOMAIN, MAIN_SLUG, RelayTestCase, http_request, post_body

HEADERS = [("Content-Type", "application/json")]


class DirectoryApiCase(RelayTestCase):
    """The API's behaviour; subclasses choose the backend."""

    def relay_options(self):
        return {}

    def setUp(self):
        super().setUp()
        self.relay = self.start_relay(directory_api=True, **self.relay_options())

    def call(self, method, path, payload=None, raw=None, caller=None, host=DOMAIN):
        """(status, JSON body, response) of one API call; `caller` sets X-Forwarded-For as
        Caddy would (the test talks from loopback, a trusted proxy)."""
        body = raw if raw is not None else (
            None if payload is None else json.dumps(payload).encode())
        headers = HEADERS + ([("X-Forwarded-For", caller)] if caller else [])
        response = http_request(self.relay.http_port, host, "/api/directory" + path, method,
                                body, headers)
        try:
            data = json.loads(response.body) if response.body else None
        except ValueError:
            data = response.body
        return response.status, data, response

    def register(self, slug, url=None, caller=None, **fields):
        payload = {"name": f"Site {slug}", "slug": slug,
                   "url": url or f"https://{slug}.example.org", **fields}
        return self.call("POST", "/register", payload, caller=caller)

    def ask(self, name):
        query = urllib.parse.urlencode({"domain": name})
        return self.relay.status_page(f"/caddy/ask?{query}").status

    def test_register_answers_201_with_a_token_the_agent_can_use_at_once(self):
        status, data, response = self.register("mysite", description="Our forum",
                                                country="FR", version="1.2.3")
        self.assertEqual(status, 201, data)
        self.assertEqual(response.header("content-type"), "application/json; charset=utf-8")
        self.assertEqual(list(data), ["message", "token", "subdomain", "instance"])
        self.assertRegex(data["token"], r"^[0-9a-f]{64}$")
        self.assertEqual(data["subdomain"], f"mysite.{DOMAIN}")
        instance = data["instance"]
        self.assertEqual(list(instance), ["id", "slug", "name", "url", "status", "registered_at"])
        self.assertEqual((instance["slug"], instance["name"], instance["url"], instance["status"]),
                         ("mysite", "Site mysite", "https://mysite.example.org", "active"))
        self.assertIsInstance(instance["id"], int)
        self.assertRegex(instance["registered_at"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")

        site = self.start_site()
        self.start_agent("mysite", data["token"], site.port, self.relay.tcp_port)
        self.assert_serves(self.relay, "mysite", site)

    def test_register_refuses_bad_bodies_with_the_deployed_messages(self):
        cases = [
            ({"slug": "abc", "url": "https://a.example.org"}, 400,
             {"error": "name, slug and url are required"}),
            ({"name": "A", "slug": "Bad_Slug", "url": "https://a.example.org"}, 400,
             {"error": "Invalid slug format (lowercase alphanumeric and hyphens, 3-63 chars)"}),
            ({"name": "A", "slug": "ab", "url": "https://a.example.org"}, 400,
             {"error": "Invalid slug format (lowercase alphanumeric and hyphens, 3-63 chars)"}),
            ({"name": "A", "slug": "abc", "url": "http://a.example.org"}, 400,
             {"error": "URL must use HTTPS"}),
            ({"name": "A", "slug": "abc", "url": "https://192.168.1.10"}, 400,
             {"error": "Private or reserved IP addresses are not allowed"}),
            ({"name": "A", "slug": "abc", "url": "https://localhost/"}, 400,
             {"error": "Private or reserved IP addresses are not allowed"}),
            ({"name": "A", "slug": "abc", "url": "not a url"}, 400, {"error": "Invalid URL"}),
        ]
        for payload, status, expected in cases:
            with self.subTest(payload=payload):
                self.assertEqual(self.call("POST", "/register", payload)[:2], (status, expected))
        self.assertEqual(self.call("POST", "/register", raw=b"{not json")[:2],
                         (400, {"error": "Invalid JSON body"}))

    def test_reserved_slugs_and_the_main_slug_are_refused_with_a_code_and_a_hint(self):
        for slug in ("www", "relay", "tunnel", "api", MAIN_SLUG):
            with self.subTest(slug=slug):
                status, data, _ = self.register(slug)
                self.assertEqual(status, 400)
                self.assertEqual(data["error"], "This slug is reserved for Nexus infrastructure")
                self.assertEqual(data["code"], "SLUG_RESERVED")
                self.assertTrue(data["hint"])

    def test_a_taken_slug_is_409(self):
        self.assertEqual(self.register("taken")[0], 201)
        self.assertEqual(self.register("taken")[:2], (409, {"error": "Slug already taken"}))

    def test_ping_marks_the_instance_seen_and_lists_it_without_its_token(self):
        token = self.register("pinged")[1]["token"]
        self.register("silent")
        self.assertEqual(self.call("GET", "")[:2], (200, []))
        status, data, _ = self.call("POST", "/ping", {"token": token, "members": 12,
                                                      "online": 3, "version": "2.0.0"})
        self.assertEqual((status, data), (200, {"ok": True, "slug": "pinged", "status": "active"}))
        status, listed, _ = self.call("GET", "")
        self.assertEqual(status, 200)
        self.assertEqual([entry["slug"] for entry in listed], ["pinged"])
        entry = listed[0]
        self.assertEqual((entry["members"], entry["online"], entry["version"]), (12, 3, "2.0.0"))
        self.assertRegex(entry["last_seen"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
        self.assertNotIn("token", entry)
        self.assertNotIn(token, json.dumps(listed))

    def test_ping_with_an_unknown_or_missing_token_is_404_or_400(self):
        self.assertEqual(self.call("POST", "/ping", {"token": "0" * 64})[:2],
                         (404, {"error": "Unknown token"}))
        self.assertEqual(self.call("POST", "/ping", {"members": 1})[:2],
                         (400, {"error": "token required"}))

    def test_an_instance_with_a_live_tunnel_is_listed_without_pinging(self):
        token = self.register("live")[1]["token"]
        site = self.start_site()
        self.start_agent("live", token, site.port, self.relay.tcp_port)
        self.relay.wait_tunnel("live")
        time.sleep(10.5)  # past the listing kept in memory (10 s) since the first GET
        listed = self.call("GET", "")[1]
        self.assertEqual([entry["slug"] for entry in listed], ["live"])

    def test_delete_needs_the_token_and_drops_the_live_tunnel_at_once(self):
        token = self.register("gone")[1]["token"]
        site = self.start_site()
        agent = self.start_agent("gone", token, site.port, self.relay.tcp_port)
        self.assert_serves(self.relay, "gone", site)

        self.assertEqual(self.call("DELETE", "/gone", {"token": "f" * 64})[:2],
                         (403, {"error": "Invalid slug or token"}))
        self.assertEqual(self.call("DELETE", "/nosuch", {"token": token})[:2],
                         (403, {"error": "Invalid slug or token"}))
        self.assertEqual(self.call("DELETE", "/gone", {})[0], 400)
        self.assertIsNotNone(self.relay.tunnel_state("gone"))

        deleted_at = time.monotonic()
        self.assertEqual(self.call("DELETE", "/gone", {"token": token})[:2], (200, {"ok": True}))
        # At once, not at the next revocation check (every 2 s).
        self.relay.wait_no_tunnel("gone", timeout=1)
        self.assertLess(time.monotonic() - deleted_at, 1)
        self.relay.wait_for(r'Tunnel revoked: slug "gone"', timeout=1)
        self.assertEqual(self.relay.get(f"gone.{DOMAIN}", "/echo").status, 404)
        agent.wait_for(r"Registration rejected: Invalid slug or token", timeout=5)
        # The slug is free again.
        self.assertEqual(self.register("gone")[0], 201)

    def test_registrations_are_limited_per_caller_with_retry_after(self):
        for n in range(6):
            self.assertEqual(self.register(f"burst{n}", caller="203.0.113.7")[0], 201)
        status, data, response = self.register("burst6", caller="203.0.113.7")
        self.assertEqual(status, 429, data)
        self.assertGreater(int(response.header("retry-after")), 0)
        # Another caller behind the same proxy is not limited by the first one.
        self.assertEqual(self.register("other", caller="198.51.100.9")[0], 201)

    def test_a_body_above_4_kib_is_413_and_the_api_is_off_for_other_hosts(self):
        big = json.dumps({"name": "x" * 5000, "slug": "big", "url": "https://b.example"})
        response = post_body(self.relay.http_port, DOMAIN, "/api/directory/register",
                             big.encode())
        self.assertEqual(response.status, 413)
        self.assertEqual(json.loads(response.body), {"error": "Request body too large"})
        # Not the apex: routed as before (an unknown slug), never to the API.
        status = self.call("GET", "", host=f"www.{DOMAIN}")[0]
        self.assertEqual(status, 404)

    def test_caddy_ask_approves_the_domain_and_active_slugs_only(self):
        token = self.register("asked")[1]["token"]
        self.assertEqual(self.ask(DOMAIN), 200)
        self.assertEqual(self.ask(f"{MAIN_SLUG}.{DOMAIN}"), 200)
        self.assertEqual(self.ask(f"asked.{DOMAIN}"), 200)
        self.assertEqual(self.ask(f"ASKED.{DOMAIN}."), 200)
        for name in (f"unknown.{DOMAIN}", f"a.b.{DOMAIN}", "asked.example.com", "", "bad name",
                     f"-x-.{DOMAIN}"):
            with self.subTest(name=name):
                self.assertEqual(self.ask(name), 404)
        self.assertEqual(self.relay.status_page("/caddy/ask").status, 404)
        # Deleted through the API: no certificate from now on.
        self.assertEqual(self.call("DELETE", "/asked", {"token": token})[0], 200)
        self.assertEqual(self.ask(f"asked.{DOMAIN}"), 404)


class DirectoryApiSqliteTest(DirectoryApiCase):
    def test_the_api_is_off_unless_asked_for(self):
        relay = self.start_relay()
        response = http_request(relay.http_port, DOMAIN, "/api/directory/register", "POST",
                                b'{"name":"a","slug":"abc","url":"https://a.example"}', HEADERS)
        self.assertEqual(response.status, 302)  # the apex's redirect, as before
        self.assertEqual(self.directory("list").stdout.count("abc"), 0)

    def test_an_older_directory_file_gains_the_new_columns_in_place(self):
        # The columns as the previous release created them, with a row of it.
        self.relay.stop()
        old = self.tmp / "old.sqlite"
        subprocess.run(["sqlite3", str(old),
                        "CREATE TABLE directory_instances (id INTEGER PRIMARY KEY, slug TEXT NOT "
                        "NULL UNIQUE, name TEXT NOT NULL, url TEXT NOT NULL, status TEXT NOT NULL "
                        "DEFAULT 'pending', token TEXT NOT NULL UNIQUE, registered_at TEXT "
                        "DEFAULT CURRENT_TIMESTAMP, relay_transport TEXT, relay_transport_at "
                        "TEXT); INSERT INTO directory_instances (slug, name, url, status, token) "
                        "VALUES ('kept', 'kept', 'https://kept.example', 'active', 'x');"],
                       check=True)
        self.database = old
        self.relay = self.start_relay(directory_api=True)
        self.assertEqual(self.register("fresh", description="new column")[0], 201)
        columns = subprocess.run(["sqlite3", str(old), "SELECT slug, description FROM "
                                  "directory_instances ORDER BY slug"],
                                 capture_output=True, text=True, check=True).stdout
        self.assertEqual(columns, "fresh|new column\nkept|\n")


@unittest.skipUnless(DATABASE_URL or os.environ.get("CI"),
                     "NEXUS_TEST_DATABASE_URL is not set (scripts/test.sh sets it)")
class DirectoryApiPostgresTest(DirectoryApiCase):
    def relay_options(self):
        self.assertTrue(DATABASE_URL, "NEXUS_TEST_DATABASE_URL must be set in CI")
        schema = f"dirapi_{os.getpid()}_{int(time.time() * 1000) % 1000000}"
        psql(SCHEMA_SQL.format(schema=schema))
        self.addCleanup(psql, f"DROP SCHEMA {schema} CASCADE")
        url = urllib.parse.urlsplit(DATABASE_URL)
        separator = "&" if url.query else ""
        query = url.query + separator + urllib.parse.urlencode(
            {"options": f"-csearch_path={schema}"})
        return {"database_url": urllib.parse.urlunsplit(url._replace(query=query))}

    def test_the_token_is_stored_as_its_digest_in_the_deployed_column(self):
        token = self.register("hashed")[1]["token"]
        url = self.relay_url()
        stored = subprocess.run(["psql", "-tA", url, "-c",
                                 "SELECT token, name, language FROM directory_instances"],
                                capture_output=True, text=True, check=True).stdout.strip()
        self.assertNotIn(token, stored)
        self.assertRegex(stored, r"^sha256:[A-Za-z0-9_-]{43}\|Site hashed\|fr$")

    def relay_url(self):
        args = self.relay.args
        return args[args.index("--database-url") + 1]


del DirectoryApiCase  # only its subclasses run

if __name__ == "__main__":
    unittest.main()
