#!/usr/bin/python3
# SPDX-License-Identifier: AGPL-3.0-or-later
"""A real browser through the relay: headless Chromium loads a page from SLUG.nexus.test, and
the page's JavaScript opens a WebSocket back to its own origin, through the relay and the
tunnel, to the local app.

Python clients prove the bytes; only a browser proves what visitors get: the WebSocket
handshake as Chromium writes it (Origin, Sec-WebSocket-Extensions: permessage-deflate, its
own header casing and order), a same-origin page and socket behind a Host with a port, and
the close handshake seen from the page. Chromium resolves *.nexus.test to 127.0.0.1 by a
host-resolver rule, so nothing outside the machine is involved.
"""

import asyncio
import json
import os
import secrets
import threading
import time
import unittest
from http import HTTPStatus

from harness import DOMAIN, RelayTestCase
from headless_chromium import DevToolsPage, HeadlessChromium, find_chromium

SLUG = "browser"
ECHO_DEADLINE = 20.0

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Tunnel echo</title></head>
<body>
<p>Status: <span id="status">loading</span></p>
<p>Echo: <span id="echo"></span></p>
<script>
  const status = document.getElementById("status");
  const socket = new WebSocket(`ws://${location.host}/live`);
  socket.onopen = () => { status.textContent = "open"; socket.send(MESSAGE); };
  socket.onmessage = (event) => {
    document.getElementById("echo").textContent = event.data;
    socket.close(4321, "page done");
  };
  socket.onerror = () => { status.textContent = "error"; };
  socket.onclose = (event) => { status.textContent = `closed ${event.code} ${event.reason}`; };
</script>
</body></html>
"""


class PageAndEchoSite:
    """The local app: GET / is the page, /live is a WebSocket echo, on one port as a real app
    would have them. Records the WebSocket handshakes and the messages it echoed."""

    def __init__(self, message):
        import websockets
        self.page = PAGE.replace("MESSAGE", json.dumps(message)).encode()
        self.page_requests = []
        self.handshakes = []  # request headers of each WebSocket, as the app received them
        self.echoed = []
        self.close_codes = []
        self._ready = threading.Event()
        self._loop = None
        self._stop = None
        self.port = None

        async def process_request(path, headers):
            if headers.get("Upgrade", "").lower() == "websocket" and path == "/live":
                self.handshakes.append(dict(headers.raw_items()))
                return None  # go on with the WebSocket handshake
            if path == "/":
                self.page_requests.append(dict(headers.raw_items()))
                return HTTPStatus.OK, [("Content-Type", "text/html; charset=utf-8"),
                                       ("Cache-Control", "no-store")], self.page
            return HTTPStatus.NOT_FOUND, [("Content-Type", "text/plain")], b"Not Found"

        async def echo(ws, path=None):
            try:
                async for message in ws:
                    self.echoed.append(message)
                    await ws.send(message)
            except websockets.ConnectionClosed:
                pass
            self.close_codes.append((ws.close_code, ws.close_reason))

        async def run():
            self._loop = asyncio.get_running_loop()
            self._stop = self._loop.create_future()
            server = await websockets.serve(echo, "127.0.0.1", 0, process_request=process_request)
            self.port = server.sockets[0].getsockname()[1]
            self._ready.set()
            await self._stop
            server.close()
            await server.wait_closed()

        self._thread = threading.Thread(target=lambda: asyncio.run(run()), daemon=True)
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("the page site did not start")

    def stop(self):
        if self._loop and self._stop:
            self._loop.call_soon_threadsafe(
                lambda: self._stop.done() or self._stop.set_result(None))
        self._thread.join(5)


@unittest.skipUnless(find_chromium() or os.environ.get("CI"),
                     "chromium is not installed (scripts/install-deps.sh installs it)")
class BrowserTest(RelayTestCase):
    def setUp(self):
        super().setUp()
        binary = find_chromium()
        self.assertIsNotNone(binary, "chromium must be installed in CI (scripts/install-deps.sh)")
        # A fresh nonce per run, with non-ASCII text to check UTF-8 both ways.
        self.message = f"héllo through the tunnel ✓ {secrets.token_hex(8)}"
        self.site = PageAndEchoSite(self.message)
        self.addCleanup(self.site.stop)
        self.relay = self.start_relay()
        token = self.add_slug(SLUG)
        self.agent = self.start_agent(SLUG, token, self.site.port, self.relay.tcp_port)
        self.relay.wait_for(rf'Tunnel registered: slug "{SLUG}" .*, protocol v2')
        self.browser = HeadlessChromium(binary, self.tmp,
                                        host_rules=[f"MAP *.{DOMAIN} 127.0.0.1"])
        # Cleanups run last-in first-out: the browser stops before the relay and the site,
        # and its log is shown if the test failed.
        self.addCleanup(self._stop_browser)
        self.browser.start()

    def _stop_browser(self):
        self.browser.stop()
        if self._failed():
            print(f"\n----- chromium: {' '.join(self.browser.args)}\n{self.browser.log_tail()}")

    def test_page_from_the_tunnel_echoes_over_a_same_origin_websocket(self):
        origin = f"http://{SLUG}.{DOMAIN}:{self.relay.http_port}"

        async def drive():
            page = await DevToolsPage.connect(self.browser.page_websocket_url())
            try:
                await page.call("Page.enable")
                started = time.monotonic()
                navigation = await page.call("Page.navigate", url=origin + "/")
                self.assertNotIn("errorText", navigation, f"navigation failed: {navigation}")
                state = {}
                while time.monotonic() - started < ECHO_DEADLINE:
                    state = await page.evaluate(
                        "({href: location.href,"
                        " status: document.getElementById('status')?.textContent ?? null,"
                        " echo: document.getElementById('echo')?.textContent ?? null})")
                    if (state.get("status") or "").startswith(("closed", "error")):
                        break
                    await asyncio.sleep(0.1)
                return state, time.monotonic() - started
            finally:
                await page.close()

        state, seconds = asyncio.run(asyncio.wait_for(drive(), ECHO_DEADLINE + 20))
        print(f"\npage loaded and echoed through the relay in {seconds:.1f} s: {state}",
              flush=True)
        self.assertEqual(state.get("href"), origin + "/")
        self.assertEqual(state.get("echo"), self.message,
                         f"the page did not show the echo within {ECHO_DEADLINE:.0f}s: {state}")
        self.assertEqual(state.get("status"), "closed 4321 page done",
                         "the close code from the page came back through the tunnel")

        # The page and the WebSocket really went through the relay to the local app, with the
        # visitor's Host and the browser's Origin intact.
        self.assertEqual(len(self.site.page_requests), 1, self.site.page_requests)
        self.assertEqual(len(self.site.handshakes), 1, self.site.handshakes)
        handshake = {name.lower(): value for name, value in self.site.handshakes[0].items()}
        self.assertEqual(handshake.get("host"), f"{SLUG}.{DOMAIN}:{self.relay.http_port}")
        self.assertEqual(handshake.get("origin"), origin)
        self.assertIn("Chrome", handshake.get("user-agent", ""))
        self.assertEqual(self.site.echoed, [self.message])
        self.assertEqual(self.site.close_codes, [(4321, "page done")])
        self.assertRegex(self.agent.text(), r"Forwarding GET / → HTTP 200")
        self.assertRegex(self.agent.text(), r"Forwarding GET /live → HTTP 101")


if __name__ == "__main__":
    unittest.main()
