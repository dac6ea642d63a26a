# SPDX-License-Identifier: AGPL-3.0-or-later
"""The VPS as operators run it: Debian's Caddy on 443 in front of the relay, configured with
the README's Caddyfile (systemd/examples/Caddyfile) and Caddy's internal CA instead of a
public one. A visitor's page and WebSocket go Caddy -> relay -> agent -> local site, and the
agent itself reaches the relay only through Caddy's 443 (wss://tunnel.DOMAIN/tunnel).

The test runs in its own network and mount namespaces (tests/testkit/caddy_world.py): its
own loopback, where Caddy takes ports 80 and 443 and the relay its documented ports, and its
own /etc/hosts naming DOMAIN's hosts, so curl, Python and the agent resolve them as on a real
server. Root only; skipped without root, caddy, curl or unshare.
"""

import asyncio
import shutil
import ssl
import subprocess
import tempfile
import threading
import unittest
from http import HTTPStatus

from caddy_world import (enter_private_network, forget_hosts, issued_names, resolve_hosts,
                         start_caddy)

if __name__ == "__main__":
    enter_private_network(__file__)

from harness import DOMAIN, Agent, RelayTestCase  # noqa: E402

HOSTS = [DOMAIN, f"demo.{DOMAIN}", f"relay.{DOMAIN}", f"tunnel.{DOMAIN}", f"late.{DOMAIN}", f"nothere.{DOMAIN}"]
PAGE = b"<!doctype html><title>demo</title><h1>Hello from the Pi</h1>\n"


class LocalSite:
    """The home machine's site: a page on every path and a WebSocket echo on /ws, on one
    port (Debian's python3-websockets), as a Nexus instance serves pages and Socket.IO."""

    def __init__(self):
        import websockets
        self.port = None
        self.forwarded_for = []
        ready = threading.Event()

        async def page(path, headers):
            if path.startswith("/ws"):
                return None  # the WebSocket handshake goes on
            self.forwarded_for.append(headers.get("X-Forwarded-For"))
            return HTTPStatus.OK, [("Content-Type", "text/html")], PAGE

        async def echo(ws, path=None):
            try:
                async for message in ws:
                    await ws.send(message)
            except websockets.ConnectionClosed:
                pass

        async def main():
            async with websockets.serve(echo, "127.0.0.1", 0, process_request=page) as server:
                self.port = server.sockets[0].getsockname()[1]
                ready.set()
                await asyncio.Future()

        threading.Thread(target=lambda: asyncio.run(main()), daemon=True).start()
        ready.wait(10)


class CaddyFrontTest(RelayTestCase):
    @classmethod
    def setUpClass(cls):
        cls.hosts_dir = tempfile.mkdtemp(prefix="nexus-hosts-")
        resolve_hosts(HOSTS, cls.hosts_dir)

    @classmethod
    def tearDownClass(cls):
        forget_hosts()
        shutil.rmtree(cls.hosts_dir, ignore_errors=True)

    def setUp(self):
        super().setUp()
        # The documented ports: nothing else listens in this namespace.
        self.relay = self.start_relay(tcp_port=7443, http_port=7001, ws_port=7002,
                                      status_listen="127.0.0.1:7071")
        self.root_ca = self.start_caddy()
        self.token = self.add_slug("demo")
        self.site = LocalSite()

    def start_caddy(self):
        caddy, root = start_caddy(self.tmp, DOMAIN)
        self._processes.append(caddy)
        return root

    def curl(self, url, *extra):
        """The real curl, verifying Caddy's certificate with its CA's root only."""
        return subprocess.run(["curl", "-sS", "--max-time", "20", "--cacert", str(self.root_ca),
                               "-w", "\n%{http_code}", *extra, url],
                              capture_output=True, timeout=30)

    def start_wss_agent(self, slug, token, wait=True):
        agent = Agent(self.tmp, self._name("agent-" + slug), slug, token,
                      f"wss://tunnel.{DOMAIN}/tunnel", self.site.port,
                      ["--ca-file", str(self.root_ca)])
        self._processes.append(agent)
        if wait:
            agent.wait_registered(timeout=20)
        return agent

    def test_page_and_websocket_reach_the_local_site_through_caddy_and_a_wss_agent(self):
        self.start_wss_agent("demo", self.token)
        # The agent came in through Caddy's 443 and the WebSocket door, not the control port.
        tunnel = self.relay.wait_tunnel("demo")
        self.assertEqual(tunnel["door"], "ws")
        self.assertEqual(tunnel["protocol"], "v2")

        page = self.curl(f"https://demo.{DOMAIN}/")
        self.assertEqual(page.returncode, 0, page.stderr)
        body, _, status = page.stdout.rpartition(b"\n")
        self.assertEqual(status, b"200")
        self.assertEqual(body, PAGE)
        # Caddy's X-Forwarded-For is believed (loopback is a trusted proxy) and passed on.
        self.assertEqual(self.site.forwarded_for[-1], "127.0.0.1")

        import websockets
        context = ssl.create_default_context(cafile=str(self.root_ca))

        async def chat():
            async with websockets.connect(f"wss://demo.{DOMAIN}/ws", ssl=context,
                                          open_timeout=20) as ws:
                replies = []
                for message in ("hello", b"\x00\x01binary", "x" * 100_000):
                    await ws.send(message)
                    replies.append(await asyncio.wait_for(ws.recv(), 20))
                return replies

        self.assertEqual(asyncio.run(chat()), ["hello", b"\x00\x01binary", "x" * 100_000])

    def test_an_agent_whose_relay_door_is_down_behind_caddy_says_what_caddy_answered(self):
        self.relay.stop()
        agent = self.start_wss_agent("demo", self.token, wait=False)
        status = agent.wait_status(lambda s: s["last_error"], timeout=20, what="a failure")
        self.assertIn("the server answered 502 Bad Gateway", status["last_error"])
        self.assertIn("WebSocket door", status["last_error"])

    def test_caddy_issues_certificates_only_for_slugs_in_the_directory(self):
        # A name the directory does not know: the ask endpoint says no, Caddy asks no CA and
        # the handshake fails (curl's 35), so no certificate exists for it.
        refused = self.curl(f"https://nothere.{DOMAIN}/")
        self.assertEqual(refused.returncode, 35, refused.stderr)
        # The domain itself is the relay's own (its directory API, its redirect).
        apex = self.curl(f"https://{DOMAIN}/")
        self.assertEqual(apex.returncode, 0, apex.stderr)
        self.assertEqual(apex.stdout.rpartition(b"\n")[2], b"302")
        # A slug added while Caddy runs gets its certificate at its first visit, and the
        # relay answers for it (no agent yet: its offline page or redirect, not a TLS error).
        self.add_slug("late")
        late = self.curl(f"https://late.{DOMAIN}/")
        self.assertEqual(late.returncode, 0, late.stderr)
        names = issued_names(self.tmp)
        self.assertIn(f"late.{DOMAIN}", names)
        self.assertNotIn(f"nothere.{DOMAIN}", names)


if __name__ == "__main__":
    unittest.main()
