#!/usr/bin/python3
# SPDX-License-Identifier: AGPL-3.0-or-later
"""How the HTTP front picks a destination from the Host header: main slug and non-slugs go
to the main site, live tunnels are forwarded, offline slugs fall back to their directory URL
(or an offline page when that URL would loop back to the relay), anything else is 404."""

import unittest

from harness import DOMAIN, MAIN_REDIRECT, RelayTestCase


class RoutingTest(RelayTestCase):
    def setUp(self):
        super().setUp()
        self.relay = self.start_relay()

    def assert_main_redirect(self, host, path="/some/page"):
        response = self.relay.get(host, path)
        self.assertEqual(response.status, 302, f"Host {host!r}: {response}")
        self.assertEqual(response.header("location"), MAIN_REDIRECT, f"Host {host!r}")

    def test_main_slug_redirects_to_the_main_site(self):
        self.assert_main_redirect(f"main.{DOMAIN}")
        self.assert_main_redirect(f"MAIN.{DOMAIN}:443")

    def test_hosts_without_a_slug_redirect_to_the_main_site(self):
        # Not exactly one [a-z0-9-] label under the domain: never routed to any tunnel.
        for host in (DOMAIN, "example.org", f"a.demo.{DOMAIN}", f"dem_o.{DOMAIN}",
                     f"demo.{DOMAIN}.evil.org", f"{'x' * 64}.{DOMAIN}"):
            with self.subTest(host=host):
                self.assert_main_redirect(host)

    def test_live_tunnel_is_forwarded_whatever_the_host_spelling(self):
        site, _ = self.tunnel(self.relay, "demo")
        for host in (f"demo.{DOMAIN}", f"DeMo.{DOMAIN.upper()}", f"demo.{DOMAIN}:7001",
                     f"demo.{DOMAIN}."):
            with self.subTest(host=host):
                before = len(site.requests)
                response = self.relay.get(host, "/echo")
                self.assertEqual(response.status, 200, response)
                self.assertEqual(len(site.requests), before + 1)

    def test_offline_slug_redirects_to_its_directory_url_with_the_path(self):
        self.add_slug("offsite", url="https://offsite.example.org")
        response = self.relay.get(f"offsite.{DOMAIN}", "/forum/t/42?page=2")
        self.assertEqual(response.status, 302)
        self.assertEqual(response.header("location"),
                         "https://offsite.example.org/forum/t/42?page=2")

    def test_offline_redirect_does_not_double_the_slash_of_a_trailing_slash_url(self):
        self.add_slug("slashed", url="https://slashed.example.org/")
        response = self.relay.get(f"slashed.{DOMAIN}", "/a")
        self.assertEqual(response.status, 302)
        self.assertEqual(response.header("location"), "https://slashed.example.org/a")

    def test_offline_slug_whose_url_points_back_at_the_relay_gets_an_offline_page(self):
        # Redirecting to https://looped.nexus.test would come straight back here: a loop.
        self.add_slug("looped", url=f"https://looped.{DOMAIN}")
        response = self.relay.get(f"looped.{DOMAIN}", "/")
        self.assertEqual(response.status, 503, response)
        self.assertIsNone(response.header("location"))
        self.assertIn("text/html", response.header("content-type") or "")
        self.assertIn(b"offline", response.body.lower())

    def test_unknown_slug_is_404_not_found(self):
        response = self.relay.get(f"nobody.{DOMAIN}", "/")
        self.assertEqual((response.status, response.body), (404, b"Not Found"))

    def test_slug_falls_back_to_its_url_once_its_agent_is_gone(self):
        site = self.start_site()
        token = self.add_slug("comeback", url="https://comeback.example.org")
        agent = self.start_agent("comeback", token, site.port, self.relay.tcp_port)
        self.assertEqual(self.relay.get(f"comeback.{DOMAIN}", "/echo").status, 200)
        agent.kill()
        self.relay.wait_for(r'Tunnel gone: slug "comeback"', timeout=5)
        response = self.relay.get(f"comeback.{DOMAIN}", "/x")
        self.assertEqual(response.status, 302)
        self.assertEqual(response.header("location"), "https://comeback.example.org/x")


if __name__ == "__main__":
    unittest.main()
