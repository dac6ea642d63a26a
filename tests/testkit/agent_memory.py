# SPDX-License-Identifier: AGPL-3.0-or-later
"""The agent's resident memory, idle and under a defined load, through the real binaries: used
by bench/agent_memory.py (prints the figures) and tests/integration/test_agent_memory.py
(fails above the budgets).

The tunnel is the one users run: TLS to the relay, the relay's CA found in the system's trust
store as the agent finds it under systemd (SSL_CERT_DIR, no SSL_CERT_FILE), protocol v2, the
status pages on. The local app runs in a process of its own, so that neither its memory nor its
interpreter lock mixes with the load's.

The load (Load): CONNECTIONS keep-alive connections to the relay's HTTP front, each sending
GET /bytes?n=16384 (16 KiB answers) one after the other, and UPLOADS more each sending POST
/echo with a BODY-byte body that comes back whole (the body crosses the tunnel both ways), all
at once, for the given time.
"""

import http.client
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

_TESTKIT = Path(__file__).resolve().parent

# The app: sample_site.py's routes, without its record of every request (bodies included),
# which would grow without end under the load.
_APP = ("import sys; sys.path.insert(0, sys.argv[1]); from sample_site import SampleSite; "
        "site = SampleSite(); site.record = lambda *request: None; "
        "print(site.port, flush=True); site.serve_forever()")


def memory_kib(pid):
    """VmRSS, VmHWM, RssAnon and RssFile of the process, in KiB."""
    figures = {}
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            name, _, value = line.partition(":")
            if name in ("VmRSS", "VmHWM", "RssAnon", "RssFile"):
                figures[name] = int(value.split()[0])
    return figures


def settled_rss(pid, settle, samples=5, interval=0.4):
    """The RSS after `settle` seconds, as the median of a few samples (KiB): a heartbeat or a
    status scrape caught in one sample does not move it."""
    time.sleep(settle)
    taken = []
    for _ in range(samples):
        taken.append(memory_kib(pid))
        time.sleep(interval)
    taken.sort(key=lambda figures: figures["VmRSS"])
    return taken[len(taken) // 2]


def start_app(case):
    """The local app in its own process; returns its port. Stopped with the test."""
    app = subprocess.Popen([sys.executable, "-c", _APP, str(_TESTKIT)], stdout=subprocess.PIPE,
                           stdin=subprocess.DEVNULL, text=True)
    case.addCleanup(app.wait)
    case.addCleanup(app.kill)
    return int(app.stdout.readline())


def start_tls_tunnel(case, slug="demo"):
    """A TLS relay, the app and a registered agent trusting the relay through a hashed
    SSL_CERT_DIR; returns (relay, agent, Host header for the slug)."""
    from test_ca import make_test_ca
    pki = make_test_ca(str(case.tmp / "pki"))
    store = case.tmp / "certs"
    store.mkdir()
    subject_hash = subprocess.run(["openssl", "x509", "-noout", "-subject_hash", "-in",
                                   pki["ca.pem"]], capture_output=True, text=True,
                                  check=True).stdout.strip()
    os.symlink(pki["ca.pem"], store / f"{subject_hash}.0")
    relay = case.start_relay(tls_cert=pki["relay.pem"], tls_key=pki["relay.key"])
    token = case.add_slug(slug)
    port = start_app(case)
    env = dict(os.environ, SSL_CERT_DIR=str(store))
    env.pop("SSL_CERT_FILE", None)
    agent = case.start_url_agent(slug, token, port, f"localhost:{relay.tcp_port}", env=env)
    relay.wait_tunnel(slug, where=lambda t: (t["door"], t["protocol"]) == ("tls", "v2"))
    from harness import DOMAIN
    return relay, agent, f"{slug}.{DOMAIN}"


class Load:
    """CONNECTIONS small-answer loops and UPLOADS large-body loops through the relay's HTTP
    front, in threads, until stop(); counts what completed and what failed."""

    def __init__(self, port, host, connections, uploads, body):
        self.port, self.host, self.body = port, host, b"u" * body
        self.requests = self.errors = self.bytes = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._loop, args=("GET", "/bytes?n=16384"),
                                          daemon=True) for _ in range(connections)]
        self._threads += [threading.Thread(target=self._loop, args=("POST", "/echo"),
                                           daemon=True) for _ in range(uploads)]

    def start(self):
        for thread in self._threads:
            thread.start()
        return self

    def stop(self):
        self._stop.set()
        for thread in self._threads:
            thread.join(30)

    def _loop(self, method, path):
        conn = None
        body = self.body if method == "POST" else None
        while not self._stop.is_set():
            try:
                if conn is None:
                    conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
                conn.request(method, path, body=body, headers={"Host": self.host})
                response = conn.getresponse()
                data = response.read()
                ok = response.status == 200 and (body is None or len(data) == len(body))
                with self._lock:
                    self.requests += ok
                    self.errors += not ok
                    self.bytes += len(data) + (len(body) if body else 0)
            except (OSError, http.client.HTTPException):
                with self._lock:
                    self.errors += 1
                if conn is not None:
                    conn.close()
                conn = None
        if conn is not None:
            conn.close()


def under_load(pid, load, seconds, interval=0.2):
    """Runs `load` for `seconds` while sampling the process's RSS; returns (peak, steady) in
    KiB: the largest sample or VmHWM (reset when the load starts) if larger, and the median of the second half's samples
    (the plateau once every connection and buffer is in use)."""
    samples = []
    # The high-water mark from here on only: start-up's is not the load's.
    with open(f"/proc/{pid}/clear_refs", "w", encoding="ascii") as clear:
        clear.write("5")
    load.start()
    try:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            samples.append(memory_kib(pid)["VmRSS"])
            time.sleep(interval)
    finally:
        load.stop()
    second_half = sorted(samples[len(samples) // 2:])
    peak = max(max(samples), memory_kib(pid)["VmHWM"])
    return peak, second_half[len(second_half) // 2]
