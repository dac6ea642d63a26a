#!/usr/bin/python3
# SPDX-License-Identifier: AGPL-3.0-or-later
"""SIGHUP (`systemctl reload`) reads the configuration file again: what can change while a
daemon runs changes, what cannot (listen addresses) stays as it was, a broken file changes
nothing, and neither the tunnel nor the process is touched."""

import signal
import time
import unittest

from harness import DOMAIN, MAIN_SLUG, RelayTestCase, free_port, wait_until
from processes import BIN, LoggedProcess


class ReloadTest(RelayTestCase):
    def write_config(self, name, lines):
        path = self.tmp / name
        path.write_text("".join(f"{key} = {value}\n" for key, value in lines.items()))
        return path

    def start_configured(self, name, args, env=None):
        process = LoggedProcess(name, [BIN, *args], self.tmp, env=env)
        self._processes.append(process)
        return process

    def start_relay_from_file(self, settings):
        self.assertEqual(self.directory("init").returncode, 0)
        self.relay_config = self.write_config("server.conf", settings)
        relay = self.start_configured("relay", ["server", "--config", str(self.relay_config)])
        relay.wait_for(rf"HTTP front on 127\.0\.0\.1:{settings['http-port']}\b")
        return relay

    def relay_settings(self, **changes):
        settings = {"tcp-bind": "127.0.0.1", "tcp-port": self.tcp_port,
                    "http-bind": "127.0.0.1", "http-port": self.http_port,
                    "ws-port": 0, "status-listen": "off", "domain": DOMAIN,
                    "main-slug": MAIN_SLUG, "main-redirect": "https://one.example/",
                    "database": self.database}
        settings.update(changes)
        return settings

    def main_redirect(self):
        response = self.get(f"{MAIN_SLUG}.{DOMAIN}")
        self.assertEqual(response.status, 302, response)
        return response.header("location")

    def get(self, host, path="/"):
        from http_client import http_request
        return http_request(self.http_port, host, path)

    def setUp(self):
        super().setUp()
        self.tcp_port, self.http_port = free_port(), free_port()

    def test_relay_applies_live_settings_and_keeps_its_listeners(self):
        relay = self.start_relay_from_file(self.relay_settings())
        self.assertEqual(self.main_redirect(), "https://one.example/")
        moved_port = free_port()
        self.write_config("server.conf", self.relay_settings(
            **{"main-redirect": "https://two.example/", "http-port": moved_port}))
        relay.signal(signal.SIGHUP)
        wait_until(lambda: self.main_redirect() == "https://two.example/", 5,
                   "the new --main-redirect after SIGHUP")
        # The listen address waits for a restart: still served where it was, named in one line.
        relay.wait_for(r"Reload: --http-port changed, but it is read at start only")
        self.assertTrue(relay.alive())

    def test_relay_keeps_running_on_a_broken_file(self):
        relay = self.start_relay_from_file(self.relay_settings())
        self.relay_config.write_text(self.relay_config.read_text() + "no-such-option = 1\n")
        relay.signal(signal.SIGHUP)
        relay.wait_for(r"Reload failed, the running configuration stays: .*no-such-option")
        self.assertTrue(relay.alive())
        self.assertEqual(self.main_redirect(), "https://one.example/")
        # Mended, the next reload applies.
        self.write_config("server.conf", self.relay_settings(**{"main-redirect": "https://three.example/"}))
        relay.signal(signal.SIGHUP)
        wait_until(lambda: self.main_redirect() == "https://three.example/", 5,
                   "the mended file applied at the next SIGHUP")

    def test_agent_moves_to_a_new_local_address_without_dropping_its_tunnel(self):
        relay = self.start_relay()
        token = self.add_slug("demo")
        first, second = self.start_site(), self.start_site()
        status_port = free_port()
        settings = {"server": f"127.0.0.1:{relay.tcp_port}", "slug": "demo",
                    "insecure-plaintext": "true", "local-host": "127.0.0.1",
                    "local-port": first.port, "status-listen": f"127.0.0.1:{status_port}"}
        config = self.write_config("client.conf", settings)
        import os
        env = dict(os.environ, NEXUS_RELAY_TOKEN=token)
        agent = self.start_configured("agent", ["client", "--config", str(config)], env=env)
        tunnel = relay.wait_tunnel("demo")
        host = f"demo.{DOMAIN}"
        self.assertEqual(relay.get(host, "/").status, 200)
        before = len(second.requests)

        settings["local-port"] = second.port
        self.write_config("client.conf", settings)
        agent.signal(signal.SIGHUP)

        def reached_second():
            self.assertEqual(relay.get(host, "/").status, 200)
            return len(second.requests) > before
        wait_until(reached_second, 5, "a request reaching the new local port after SIGHUP")
        # Keep-alive connections to the old app are retired: nothing more goes there.
        count = len(first.requests)
        for _ in range(5):
            self.assertEqual(relay.get(host, "/").status, 200)
        self.assertEqual(len(first.requests), count)
        # The tunnel is the same session: registered since the same moment.
        self.assertEqual(relay.tunnel_state("demo")["since"], tunnel["since"])
        self.assertTrue(agent.alive())


if __name__ == "__main__":
    unittest.main()
