# SPDX-License-Identifier: AGPL-3.0-or-later
"""The processes of the integration tests: the REAL nexus-relay binary as relay or agent,
each logging to a file that a test can search while it runs."""

import json
import os
import re
import socket
import subprocess
import time
from pathlib import Path

from http_client import http_request

_REPO = Path(__file__).resolve().parents[2]
BIN = os.environ.get("NEXUS_RELAY_BIN") or str(_REPO / "build" / "src" / "nexus-relay")
DOMAIN = "nexus.test"
MAIN_SLUG = "main"
MAIN_REDIRECT = "https://nexus.test/"
EM_DASH = "\u2014"


_HANDED_OUT = set()


def free_port() -> int:
    """A port nobody listens on right now (the tiny race with other programs is acceptable),
    never one this process was given before: the kernel may hand the same ephemeral port to
    two binds in a row, and a relay given it for two listeners fails to start."""
    while True:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port not in _HANDED_OUT:
            _HANDED_OUT.add(port)
            return port


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


class LoggedProcess:
    """A child whose stdout+stderr go to a file we can search while it runs."""

    def __init__(self, name, args, log_dir, env=None, pass_fds=()):
        self.name = name
        self.args = args
        self.log_path = Path(log_dir) / f"{name}.log"
        self._log = open(self.log_path, "ab")
        self.popen = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=self._log,
                                      stderr=subprocess.STDOUT, env=env, pass_fds=pass_fds)

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
    def __init__(self, log_dir, name, database, tcp_port, http_port, options, env=None,
                 sockets=None):
        """`sockets`: [(name, listening socket)] passed as systemd passes them (control,
        http, status: the ports above and status_listen must be theirs)."""
        self.tcp_port = tcp_port
        self.http_port = http_port
        self.database = database
        args = [BIN, "server",
                "--tcp-port", str(tcp_port), "--tcp-bind", "127.0.0.1",
                "--http-port", str(http_port), "--http-bind", "127.0.0.1",
                "--domain", DOMAIN, "--main-slug", MAIN_SLUG,
                "--main-redirect", MAIN_REDIRECT]
        if "database_url" not in options:  # PostgreSQL instead
            args += ["--database", str(database)]
        # The WebSocket door defaults to 127.0.0.1:7002: off unless a test asks for it, so
        # relays of parallel tests never collide on it.
        options.setdefault("ws_port", 0)
        # A visitor of a slug whose agent is away would wait for it (--agent-wait, 5 s) in
        # the relay's first minute: off unless a test is about that wait.
        options.setdefault("agent_wait", 0)
        # The status pages default to 127.0.0.1:7071: a free port for each relay instead.
        options.setdefault("status_listen", f"127.0.0.1:{free_port()}")
        listen = str(options["status_listen"])
        self.status_port = None if listen == "off" else int(listen.rsplit(":", 1)[1])
        for flag, value in options.items():
            # True: a flag without a value (--directory-api).
            args += ["--" + flag.replace("_", "-")] + ([] if value is True else [str(value)])
        fds = ()
        if sockets:
            from socket_activation import activated_command
            args, env, fds = activated_command(args, sockets, env)
        super().__init__(name, args, log_dir, env=env, pass_fds=fds)

    def wait_ready(self, timeout=10):
        self.wait_for(rf"Control listener on 127\.0\.0\.1:{self.tcp_port}\b", timeout)
        self.wait_for(rf"HTTP front on 127\.0\.0\.1:{self.http_port}\b", timeout)
        return self

    def request(self, host, path="/", method="GET", body=None, headers=(), timeout=10):
        return http_request(self.http_port, host, path, method, body, headers, timeout)

    # The relay's state, read from its status listener rather than from its log wording.

    def status_page(self, path="/status", method="GET", timeout=5):
        """A request to the relay's status listener (Host: localhost)."""
        return http_request(self.status_port, "localhost", path, method, timeout=timeout)

    def status(self):
        """/status as JSON: version, uptime_seconds, tunnels [{slug, remote, door, protocol,
        encrypted, since, requests, ...}], totals."""
        response = self.status_page("/status")
        assert response.status == 200, response
        return json.loads(response.body)

    def tunnel_state(self, slug):
        """The /status entry of the slug's live tunnel, or None."""
        return next((t for t in self.status()["tunnels"] if t["slug"] == slug), None)

    def wait_tunnel(self, slug, timeout=10, where=lambda tunnel: True):
        """Waits until the slug has a live tunnel for which `where(entry)` holds; returns it."""
        def ready():
            if not self.alive():
                raise AssertionError(f"{self.name} exited with {self.popen.returncode}")
            tunnel = self.tunnel_state(slug)
            return tunnel if tunnel is not None and where(tunnel) else None
        return wait_until(ready, timeout, f"a tunnel for {slug!r} in {self.name}'s /status")

    def wait_no_tunnel(self, slug, timeout=10):
        """Waits until the relay lists no live tunnel for the slug."""
        wait_until(lambda: self.tunnel_state(slug) is None, timeout,
                   f"no tunnel for {slug!r} in {self.name}'s /status")

    def get(self, host, path="/", **kwargs):
        return self.request(host, path, **kwargs)


class Agent(LoggedProcess):
    """An agent; its status pages listen on a free loopback port (status_port) unless the
    test passes its own --status-listen. Tests about state read /status through it."""

    def __init__(self, log_dir, name, slug, token, server, local_port, extra, env=None,
                 as_given=False):
        """`server`: the relay's control port on loopback, or a --server value as such (a
        ws:// URL). `as_given`: only `extra`, without the loopback and plaintext defaults."""
        self.slug = slug
        server = server if isinstance(server, str) else f"127.0.0.1:{server}"
        args = [BIN, "client", "--server", server, "--slug", slug,
                "--local-port", str(local_port)]
        if not as_given:
            args += ["--local-host", "127.0.0.1"]
        args += extra
        # Agents speak TLS by default; relays in these tests have no certificate unless the
        # test gives one (and then its agents pass --ca-file).
        if not as_given and not {"--ca-file", "--server-name", "--insecure-plaintext"} & set(extra):
            args.append("--insecure-plaintext")
        # The default port 127.0.0.1:7070 would be shared by every agent of the run.
        self.status_port = None
        if "--status-listen" not in extra:
            self.status_port = free_port()
            args += ["--status-listen", f"127.0.0.1:{self.status_port}"]
        env = dict(os.environ if env is None else env)
        env.pop("NODYX_RELAY_TOKEN", None)
        env["NEXUS_RELAY_TOKEN"] = token
        super().__init__(name, args, log_dir, env=env)

    def page(self, path, method="GET"):
        """(status, body) of one of the agent's status pages."""
        result = http_request(self.status_port, "127.0.0.1", path, method, timeout=5)
        return result.status, result.body

    def status(self, timeout=5.0):
        """The agent's /status as a dict, once its status listener answers."""
        assert self.status_port is not None, f"{self.name} runs with --status-listen off"
        def fetch():
            if not self.alive():
                raise AssertionError(f"{self.name} exited with {self.popen.returncode}")
            try:
                return json.loads(self.page("/status")[1])
            except OSError:
                return None
        return wait_until(fetch, timeout, f"{self.name}'s /status")

    def wait_status(self, predicate, timeout=10.0, what="a status"):
        """Polls /status until predicate(status) holds; returns that status."""
        def check():
            status = self.status(timeout)
            return status if predicate(status) else None
        try:
            return wait_until(check, timeout, what)
        except AssertionError as failure:
            raise AssertionError(f"{self.name}: {failure}; last: {self.status()}") from None

    def wait_state(self, state, timeout=10.0, **at_least):
        """Waits for `state` with each named counter (reconnects=2, registrations=1) at least
        the given value."""
        def reached(status):
            return status["state"] == state and all(status[k] >= v for k, v in at_least.items())
        return self.wait_status(reached, timeout, f"state {state} {at_least or ''}")

    def wait_registered(self, timeout=10, after=0):
        """Waits until the agent is registered for the (after+1)-th time (from its log when
        its status pages are off)."""
        if self.status_port is None:
            return self.wait_for(self.registered_pattern(), timeout, occurrences=after + 1)
        return self.wait_state("registered", timeout, registrations=after + 1)

    def registrations(self) -> int:
        return self.status()["registrations"]

    def registered_pattern(self):
        """The log line users grep for; tests about state use wait_registered instead."""
        return rf'Registered as slug "{re.escape(self.slug)}" {EM_DASH} OK'

    def reconnect_delays(self, since=0):
        """The nominal delays of `Reconnecting in Ns` lines, in seconds."""
        return [int(m.group(1)) for m in self.find_all(r"Reconnecting in (\d+)s", since)]
