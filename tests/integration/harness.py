# SPDX-License-Identifier: AGPL-3.0-or-later
"""Helpers for the integration tests: they start the REAL nexus-relay binary on loopback.

Every process a test starts logs to a file in the test's temporary directory, is killed
when the test ends (pass or fail), and has its log printed when the test failed. The test
case base is here; the processes and the HTTP clients it hands out are in processes.py and
http_client.py, and are importable from here too.
"""

import os
import shutil
import sys
import tempfile
import unittest
from pathlib import Path

_REPO = Path(__file__).resolve().parents[2]
# Meson sets PYTHONPATH; this lets a test file also run alone from a checkout.
sys.path.append(str(_REPO / "tests" / "testkit"))

from http_client import (HttpResult, http_request, post_body, read_head,  # noqa: E402
                         request_on)
from processes import (BIN, DOMAIN, EM_DASH, MAIN_REDIRECT, MAIN_SLUG, Agent,  # noqa: E402
                       LoggedProcess, Relay, free_port, memory_kib, run_binary, wait_until)
from sample_site import SampleSite  # noqa: E402

__all__ = ["BIN", "DOMAIN", "EM_DASH", "MAIN_REDIRECT", "MAIN_SLUG", "Agent", "HttpResult",
           "LoggedProcess", "Relay", "RelayTestCase", "free_port", "http_request", "memory_kib",
           "post_body", "read_head", "request_on", "run_binary", "wait_until"]


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

    def start_relay(self, tcp_port=None, http_port=None, wait=True, env=None, sockets=None,
                    **options):
        """Options are server flags with '_' for '-', e.g. register_timeout=2; `env` replaces
        the relay's environment; `sockets` are passed to it as systemd does (Relay)."""
        if not self.database.exists():  # the relay never creates its directory
            self.assertEqual(self.directory("init").returncode, 0)
        relay = Relay(self.tmp, self._name("relay"), self.database,
                      tcp_port or free_port(), http_port or free_port(), options, env, sockets)
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

    def start_url_agent(self, slug, token, local_port, server, *extra, env=None, wait=True):
        """An agent with its --server and TLS flags as given (start_agent adds
        --insecure-plaintext unless given a CA)."""
        agent = Agent(self.tmp, self._name("agent-" + slug), slug, token, server, local_port,
                      list(extra), env=env, as_given=True)
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
        relay.wait_tunnel(slug, where=lambda t: (t["door"], t["protocol"]) ==
                          ("tls" if tls else "tcp", "v2"))
        return relay, site, agent, f"{slug}.{DOMAIN}"

    def scripted_tunnel(self, relay, slug, handler, *extra):
        """A ScriptedApp (tests/testkit/scripted_app.py) answering with `handler` and a
        registered agent for `slug` on protocol v2 in front of it; returns the app."""
        from scripted_app import ScriptedApp
        app = ScriptedApp(handler)
        self._sites.append(app)
        self.start_agent(slug, self.add_slug(slug), app.port, relay.tcp_port, *extra)
        relay.wait_tunnel(slug, where=lambda t: t["protocol"] == "v2")
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
