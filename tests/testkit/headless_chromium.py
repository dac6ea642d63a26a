# SPDX-License-Identifier: AGPL-3.0-or-later
"""A headless Chromium driven over the DevTools protocol with python3-websockets: no
Selenium, no chromedriver, only Debian's `chromium` package.

Chromium gets a throw-away profile, picks its own DevTools port (written to
DevToolsActivePort in the profile, so nothing races for a port) and runs in its own process
group, which stop() ends as a whole: the renderer and GPU helpers go with the browser.
"""

import asyncio
import http.client
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def find_chromium():
    """The browser binary: $NEXUS_CHROMIUM, else the first of CANDIDATES on PATH, else None."""
    explicit = os.environ.get("NEXUS_CHROMIUM")
    if explicit:
        return explicit if os.access(explicit, os.X_OK) else None
    for name in CANDIDATES:
        path = shutil.which(name)
        if path:
            return path
    return None


class HeadlessChromium:
    def __init__(self, binary, log_dir, host_rules=()):
        """host_rules: --host-resolver-rules entries such as "MAP *.nexus.test 127.0.0.1"."""
        self.binary = binary
        self.profile = Path(tempfile.mkdtemp(prefix="nexus-chromium-"))
        self.log_path = Path(log_dir) / "chromium.log"
        self.args = [binary, "--headless=new", "--no-sandbox", "--disable-gpu",
                     "--disable-dev-shm-usage", "--no-first-run", "--no-default-browser-check",
                     "--disable-extensions", "--disable-sync", "--disable-background-networking",
                     "--disable-component-update", "--disable-features=HttpsUpgrades",
                     "--remote-debugging-port=0", f"--user-data-dir={self.profile}"]
        if host_rules:
            self.args.append("--host-resolver-rules=" + ", ".join(host_rules))
        self.args.append("about:blank")
        self.popen = None
        self.port = None

    def start(self, timeout=30):
        log = open(self.log_path, "ab")
        try:
            self.popen = subprocess.Popen(self.args, stdin=subprocess.DEVNULL, stdout=log,
                                          stderr=subprocess.STDOUT, start_new_session=True)
        finally:
            log.close()
        active_port = self.profile / "DevToolsActivePort"
        deadline = time.monotonic() + timeout
        while True:
            if active_port.exists():
                lines = active_port.read_text().splitlines()
                if lines and lines[0].isdigit():
                    self.port = int(lines[0])
                    return self
            if self.popen.poll() is not None:
                raise RuntimeError(f"chromium exited with {self.popen.returncode}: "
                                   f"{self.log_tail()}")
            if time.monotonic() >= deadline:
                raise RuntimeError(f"chromium opened no DevTools port within {timeout}s: "
                                   f"{self.log_tail()}")
            time.sleep(0.05)

    def log_tail(self, size=4000):
        try:
            return self.log_path.read_bytes()[-size:].decode("utf-8", errors="replace")
        except OSError:
            return ""

    def page_websocket_url(self):
        """The DevTools WebSocket of the tab Chromium opened at start (about:blank)."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            conn.request("GET", "/json/list")
            targets = json.loads(conn.getresponse().read())
        finally:
            conn.close()
        pages = [t for t in targets if t.get("type") == "page"]
        if not pages:
            raise RuntimeError(f"chromium has no page target: {targets}")
        return pages[0]["webSocketDebuggerUrl"]

    def stop(self):
        if self.popen is not None and self.popen.poll() is None:
            # Its own session: the group id is the browser's pid; helpers die with it.
            try:
                os.killpg(self.popen.pid, signal.SIGTERM)
                self.popen.wait(timeout=5)
            except subprocess.TimeoutExpired:
                os.killpg(self.popen.pid, signal.SIGKILL)
                self.popen.wait(timeout=10)
            except ProcessLookupError:
                pass
        if self.popen is not None:
            try:
                os.killpg(self.popen.pid, signal.SIGKILL)  # helpers that outlived the browser
            except (ProcessLookupError, PermissionError):
                pass
        shutil.rmtree(self.profile, ignore_errors=True)


class DevToolsPage:
    """One tab's DevTools session: call() sends a command and returns its result."""

    def __init__(self, websocket):
        self._ws = websocket
        self._next_id = 0
        self._waiting = {}
        self._reader = asyncio.get_running_loop().create_task(self._read())

    @classmethod
    async def connect(cls, url):
        import websockets
        websocket = await websockets.connect(url, max_size=None, ping_interval=None)
        return cls(websocket)

    async def _read(self):
        try:
            async for message in self._ws:
                answer = json.loads(message)
                future = self._waiting.pop(answer.get("id"), None)
                if future is not None and not future.done():
                    future.set_result(answer)
                # Events (no id) are not needed: the tests poll the page instead.
        finally:
            for future in self._waiting.values():
                if not future.done():
                    future.set_exception(ConnectionError("DevTools connection closed"))

    async def call(self, method, timeout=10, **params):
        self._next_id += 1
        future = asyncio.get_running_loop().create_future()
        self._waiting[self._next_id] = future
        await self._ws.send(json.dumps({"id": self._next_id, "method": method, "params": params}))
        answer = await asyncio.wait_for(future, timeout)
        if "error" in answer:
            raise RuntimeError(f"{method}: {answer['error']}")
        return answer["result"]

    async def evaluate(self, expression):
        """The value of a JavaScript expression in the page (JSON-serialisable values)."""
        result = await self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression}: {result['exceptionDetails']}")
        return result["result"].get("value")

    async def close(self):
        await self._ws.close()
        self._reader.cancel()
