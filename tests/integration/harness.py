# SPDX-License-Identifier: AGPL-3.0-or-later
"""Helpers for the integration tests: they start the REAL nexus-relay binary on loopback.

Every process a test starts logs to a file in the test's temporary directory, is killed
when the test ends (pass or fail), and has its log printed when the test failed.
"""

import os
import re
import select
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import http.client
import unittest
from pathlib import Path

_REPO = Path(__file__).resolve().parents[2]
# Meson sets PYTHONPATH; this lets a test file also run alone from a checkout.
sys.path.append(str(_REPO / "tests" / "testkit"))

from sample_site import SampleSite  # noqa: E402

BIN = os.environ.get("NEXUS_RELAY_BIN") or str(_REPO / "build" / "src" / "nexus-relay")
DOMAIN = "nexus.test"
MAIN_SLUG = "main"
MAIN_REDIRECT = "https://nexus.test/"
EM_DASH = "\u2014"


def free_port() -> int:
    """A port nobody listens on right now (the tiny race with other programs is acceptable)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(predicate, timeout, what, interval=0.02):
    """Polls predicate until it returns something truthy; fails the test after timeout."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


def memory_kib(pid, field="VmRSS"):
    """A process's memory figure from /proc/PID/status in KiB: VmRSS now, VmHWM its peak."""
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def run_binary(*args, env=None, timeout=10) -> subprocess.CompletedProcess:
    return subprocess.run([BIN, *args], capture_output=True, text=True, timeout=timeout,
                          env=env, stdin=subprocess.DEVNULL)


# --- processes ---------------------------------------------------------------------------

class LoggedProcess:
    """A child whose stdout+stderr go to a file we can search while it runs."""

    def __init__(self, name, args, log_dir, env=None):
        self.name = name
        self.args = args
        self.log_path = Path(log_dir) / f"{name}.log"
        self._log = open(self.log_path, "ab")
        self.popen = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=self._log,
                                      stderr=subprocess.STDOUT, env=env)

    @property
    def pid(self):
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def text(self) -> str:
        return self.log_path.read_bytes().decode("utf-8", errors="replace")

    def mark(self) -> int:
        """Position in the log; pass it as `since` to only look at what comes after."""
        return len(self.text())

    def find_all(self, pattern, since=0):
        return list(re.finditer(pattern, self.text()[since:]))

    def count(self, pattern, since=0) -> int:
        return len(self.find_all(pattern, since))

    def wait_for(self, pattern, timeout=5.0, since=0, occurrences=1):
        """Waits until `pattern` (a regex) has appeared `occurrences` times after `since`;
        returns the last match. Fails at once if the process died meanwhile."""
        deadline = time.monotonic() + timeout
        while True:
            matches = self.find_all(pattern, since)
            if len(matches) >= occurrences:
                return matches[occurrences - 1]
            if not self.alive():
                raise AssertionError(f"{self.name} exited with {self.popen.returncode} while "
                                     f"waiting for /{pattern}/")
            if time.monotonic() >= deadline:
                raise AssertionError(f"{self.name}: /{pattern}/ not seen {occurrences}x within "
                                     f"{timeout}s")
            time.sleep(0.02)

    def signal(self, sig):
        if self.alive():
            self.popen.send_signal(sig)

    def kill(self):
        """SIGKILL: no chance to clean up, like a crash or an OOM kill."""
        if self.alive():
            self.popen.kill()
        self.popen.wait(timeout=10)

    def stop(self):
        if self.alive():
            self.popen.terminate()
            try:
                self.popen.wait(timeout=3)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(timeout=10)

    def close(self):
        self.kill()
        self._log.close()


class Relay(LoggedProcess):
    def __init__(self, log_dir, name, database, tcp_port, http_port, options, env=None):
        self.tcp_port = tcp_port
        self.http_port = http_port
        self.database = database
        args = [BIN, "server",
                "--tcp-port", str(tcp_port), "--tcp-bind", "127.0.0.1",
                "--http-port", str(http_port), "--http-bind", "127.0.0.1",
                "--domain", DOMAIN, "--main-slug", MAIN_SLUG,
                "--main-redirect", MAIN_REDIRECT, "--database", str(database)]
        # The WebSocket door defaults to 127.0.0.1:7002: off unless a test asks for it, so
        # relays of parallel tests never collide on it.
        options.setdefault("ws_port", 0)
        for flag, value in options.items():
            args += ["--" + flag.replace("_", "-"), str(value)]
        super().__init__(name, args, log_dir, env=env)

    def wait_ready(self, timeout=10):
        self.wait_for(rf"Control listener on 127\.0\.0\.1:{self.tcp_port}\b", timeout)
        self.wait_for(rf"HTTP front on 127\.0\.0\.1:{self.http_port}\b", timeout)
        return self

    def request(self, host, path="/", method="GET", body=None, headers=(), timeout=10):
        return http_request(self.http_port, host, path, method, body, headers, timeout)

    def get(self, host, path="/", **kwargs):
        return self.request(host, path, **kwargs)


class Agent(LoggedProcess):
    def __init__(self, log_dir, name, slug, token, server_port, local_port, extra):
        self.slug = slug
        args = [BIN, "client", "--server", f"127.0.0.1:{server_port}", "--slug", slug,
                "--local-port", str(local_port), "--local-host", "127.0.0.1", *extra]
        # Agents speak TLS by default; relays in these tests have no certificate unless the
        # test gives one (and then its agents pass --ca-file).
        if not {"--ca-file", "--server-name", "--insecure-plaintext"} & set(extra):
            args.append("--insecure-plaintext")
        env = dict(os.environ)
        env.pop("NODYX_RELAY_TOKEN", None)
        env["NEXUS_RELAY_TOKEN"] = token
        super().__init__(name, args, log_dir, env=env)

    def registered_pattern(self):
        return rf'Registered as slug "{re.escape(self.slug)}" {EM_DASH} OK'

    def wait_registered(self, timeout=10, since=0, occurrences=1):
        return self.wait_for(self.registered_pattern(), timeout, since, occurrences)

    def registrations(self) -> int:
        return self.count(self.registered_pattern())

    def reconnect_delays(self, since=0):
        """The nominal delays of `Reconnecting in Ns` lines, in seconds."""
        return [int(m.group(1)) for m in self.find_all(r"Reconnecting in (\d+)s", since)]


# --- HTTP ------------------------------------------------------------------------------

class HttpResult:
    def __init__(self, status, reason, headers, body):
        self.status = status
        self.reason = reason
        self.headers = headers  # [(lowercase name, value)] in wire order, repeats kept
        self.body = body

    def header(self, name):
        values = self.all(name)
        return values[0] if values else None

    def all(self, name):
        return [v for n, v in self.headers if n == name.lower()]

    def __repr__(self):
        return f"<HTTP {self.status} {self.headers} {self.body[:200]!r}>"


def read_head(reader):
    """(status line, {lowercase name: value}) of the next response on `reader` (a binary file
    of a socket)."""
    status = reader.readline().decode()
    headers = {}
    while (line := reader.readline().decode().strip()):
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return status, headers


def http_request(port, host, path="/", method="GET", body=None, headers=(), timeout=10):
    """One request on a fresh connection, with an explicit Host (None: no Host at all)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        return request_on(conn, host, path, method, body, headers)
    finally:
        conn.close()


def request_on(conn, host, path="/", method="GET", body=None, headers=()):
    """A request on an existing (possibly kept-alive) http.client connection."""
    conn.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
    if host is not None:
        conn.putheader("Host", host)
    for name, value in headers:
        conn.putheader(name, value)
    if body is not None:
        conn.putheader("Content-Length", str(len(body)))
    conn.endheaders()
    if body:
        conn.send(body)
    response = conn.getresponse()
    data = response.read()
    return HttpResult(response.status, response.reason,
                      [(n.lower(), v) for n, v in response.getheaders()], data)


def post_body(port, host, path, body, timeout=30):
    """POSTs a large body the relay may refuse before reading it all: stops sending as soon
    as a response arrives, then reads it (http.client would die on EPIPE instead)."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        head = (f"POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Length: {len(body)}\r\n"
                "Content-Type: application/octet-stream\r\n\r\n").encode()
        sock.sendall(head)
        view, sent = memoryview(body), 0
        deadline = time.monotonic() + timeout
        while sent < len(body) and time.monotonic() < deadline:
            readable, writable, _ = select.select([sock], [sock], [], 1)
            if readable:
                break  # the relay answered early
            if writable:
                try:
                    sent += sock.send(view[sent:sent + 65536])
                except (BrokenPipeError, ConnectionResetError):
                    break
        response = http.client.HTTPResponse(sock)
        response.begin()
        data = response.read()
        return HttpResult(response.status, response.reason,
                          [(n.lower(), v) for n, v in response.getheaders()], data)
    finally:
        sock.close()


# --- test case base --------------------------------------------------------------------

class RelayTestCase(unittest.TestCase):
    """Gives each test a temp dir, a SQLite directory, and process helpers with cleanup."""

    def setUp(self):
        if not os.access(BIN, os.X_OK):
            self.fail(f"nexus-relay binary not found at {BIN} (set NEXUS_RELAY_BIN)")
        self.tmp = Path(tempfile.mkdtemp(prefix="nexus-it-"))
        self.database = self.tmp / "directory.sqlite"
        self._processes = []
        self._sites = []
        self._names = {}
        self.addCleanup(self._cleanup)

    def _failed(self) -> bool:
        # The result already holds this test's failures when cleanups run (unittest records
        # each failing part at once); a subtest's failure names the subtest, not the test.
        result = getattr(getattr(self, "_outcome", None), "result", None)
        if result is None:
            return True
        return any(getattr(test, "test_case", test) is self
                   for test, _ in result.failures + result.errors)

    def _cleanup(self):
        failed = self._failed()
        # Exit codes before the cleanup kill: -11 here means the process crashed mid-test.
        exits = {id(p): p.popen.poll() for p in self._processes}
        # Newest first: agents go before their relay, so their logs end with what the test
        # saw rather than with "Relay closed the connection" from this cleanup.
        for process in reversed(self._processes):
            process.close()
        for site in self._sites:
            site.stop()
        if failed:
            for process in self._processes:
                status = "running" if exits[id(process)] is None else f"exited {exits[id(process)]}"
                sys.stderr.write(f"\n----- {process.name} ({status}): {' '.join(process.args)}\n")
                sys.stderr.write(process.text()[-20000:])
            sys.stderr.write("\n-----\n")
        shutil.rmtree(self.tmp, ignore_errors=True)

    def _name(self, base):
        self._names[base] = self._names.get(base, 0) + 1
        return base if self._names[base] == 1 else f"{base}{self._names[base]}"

    # Relay and directory

    def start_relay(self, tcp_port=None, http_port=None, wait=True, env=None, **options):
        """Options are server flags with '_' for '-', e.g. register_timeout=2; `env` replaces
        the relay's environment."""
        relay = Relay(self.tmp, self._name("relay"), self.database,
                      tcp_port or free_port(), http_port or free_port(), options, env)
        self._processes.append(relay)
        return relay.wait_ready() if wait else relay

    def directory(self, *args):
        return run_binary("directory", *args, "--database", str(self.database))

    def add_slug(self, slug, url=None):
        """`directory add`; returns the token it prints (and checks it is one)."""
        result = self.directory("add", slug, *(["--url", url] if url else []))
        self.assertEqual(result.returncode, 0, f"directory add {slug}: {result.stderr}")
        token = result.stdout.strip()
        self.assertRegex(token, r"^[0-9a-f]{64}$", "directory add must print only the token")
        return token

    # Local site and agent

    def start_site(self):
        site = SampleSite().start()
        self._sites.append(site)
        return site

    def start_agent(self, slug, token, local_port, server_port, *extra, wait=True):
        agent = Agent(self.tmp, self._name("agent-" + slug), slug, token, server_port,
                      local_port, extra)
        self._processes.append(agent)
        if wait:
            agent.wait_registered()
        return agent

    def stream_tunnel(self, slug="demo", tls=False):
        """A relay, the streaming test app (tests/testkit/stream_site.py) and an agent on
        protocol v2: (relay, site, agent, visitor Host). With `tls`, the agent-relay leg is
        TLS as users run it, verified against a CA made for the test."""
        from stream_site import StreamSite
        from test_ca import make_test_ca
        extra, options = ["--insecure-plaintext"], {}
        if tls:
            pki = make_test_ca(str(self.tmp / "pki"))
            extra = ["--ca-file", pki["ca.pem"]]
            options = {"tls_cert": pki["relay.pem"], "tls_key": pki["relay.key"]}
        relay = self.start_relay(**options)
        site = StreamSite()
        agent = self.start_agent(slug, self.add_slug(slug), site.port, relay.tcp_port, *extra)
        relay.wait_for(rf'Tunnel registered: slug "{slug}" .* over {"tls" if tls else "tcp"} \(v2\)')
        return relay, site, agent, f"{slug}.{DOMAIN}"

    def scripted_tunnel(self, relay, slug, handler, *extra):
        """A ScriptedApp (tests/testkit/scripted_app.py) answering with `handler` and a
        registered agent for `slug` on protocol v2 in front of it; returns the app."""
        from scripted_app import ScriptedApp
        app = ScriptedApp(handler)
        self._sites.append(app)
        self.start_agent(slug, self.add_slug(slug), app.port, relay.tcp_port, *extra)
        relay.wait_for(rf'Tunnel registered: slug "{slug}" .* \(v2\)')
        return app

    def tunnel(self, relay, slug="demo", *extra):
        """A slug in the directory, a sample site and a registered agent for it."""
        token = self.add_slug(slug)
        site = self.start_site()
        agent = self.start_agent(slug, token, site.port, relay.tcp_port, *extra)
        return site, agent

    def assert_serves(self, relay, slug, site, timeout=5):
        """The slug's tunnel answers, and the request really reached this site."""
        before = len(site.requests)
        response = relay.get(f"{slug}.{DOMAIN}", "/echo", timeout=timeout)
        self.assertEqual(response.status, 200, response)
        self.assertEqual(response.header("x-echo-host"), f"{slug}.{DOMAIN}")
        self.assertGreater(len(site.requests), before, "the request never reached the site")
