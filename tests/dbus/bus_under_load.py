# SPDX-License-Identifier: AGPL-3.0-or-later
"""The bus under a steady HTTP load, for the dbus suite (functional checks) and
bench/bus_latency.py (the latency figures): a relay and an agent on the private bus, a site
in a process of its own behind them, tests/testkit/steady_load.py loading the tunnel, and in
the same run a quiet window, then CALLS rapid busctl calls (half `get-property` State of the
agent, half ListTunnels of the relay), one after the other from one shell, then a quiet
window again. The origin is
tests/testkit/fast_origin.py, in a process of its own: what is measured is the tunnel."""

import json
import socket
import subprocess
import sys
import time
from pathlib import Path

from dbus_case import CLIENT, SERVER
from harness import DOMAIN
from processes import free_port

_TESTKIT = Path(__file__).resolve().parents[1] / "testkit"


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[int(fraction * (len(ordered) - 1))] if ordered else float("nan")


def _start_origin(case):
    """tests/testkit/fast_origin.py in a process of its own; returns its port."""
    port = free_port()
    site = subprocess.Popen([sys.executable, str(_TESTKIT / "fast_origin.py"), "--port",
                             str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    case.addCleanup(lambda: (site.kill(), site.wait()))
    deadline = time.monotonic() + 10
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return port
        except OSError:
            if time.monotonic() > deadline:
                raise AssertionError("the origin did not listen") from None
            time.sleep(0.05)


def calls_script(address, pairs):
    """A shell loop of 2 * pairs busctl calls that prints how many failed."""
    busctl = f"busctl --address={address}"
    get = f"{busctl} get-property {' '.join(CLIENT)} State"
    listing = f"{busctl} call {' '.join(SERVER)} ListTunnels"
    return (f"failed=0; i=0; while [ $i -lt {pairs} ]; do "
            f"{get} >/dev/null || failed=$((failed+1)); "
            f"{listing} >/dev/null || failed=$((failed+1)); "
            "i=$((i+1)); done; echo $failed")


def run(case, calls=1000, quiet=4.0, rate=400, connections=4):
    """Runs the scenario in `case` (a BusTestCase); returns the figures as a dict."""
    relay = case.start_relay()
    site_port = _start_origin(case)
    case.start_agent("demo", case.add_slug("demo"), site_port, relay.tcp_port)
    case.bus.wait_name(SERVER[0])
    case.bus.wait_name(CLIENT[0])
    load = subprocess.Popen(
        [sys.executable, str(_TESTKIT / "steady_load.py"), "--port", str(relay.http_port),
         "--host", f"demo.{DOMAIN}", "--rate", str(rate), "--connections", str(connections)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    case.addCleanup(lambda: load.poll() is None and (load.kill(), load.wait()))
    time.sleep(1.0)  # connections open, the agent's local pool warm
    quiet_start = time.monotonic()
    time.sleep(quiet)
    calls_start = time.monotonic()
    failed = subprocess.run(["sh", "-c", calls_script(case.bus.address, calls // 2)],
                            capture_output=True, text=True, check=True).stdout.strip()
    calls_end = time.monotonic()
    time.sleep(quiet)
    after_end = time.monotonic()
    out, _ = load.communicate(timeout=30)
    result = json.loads(out)
    samples = result["samples"]

    def window(start, end):
        return [latency for due, latency, _ in samples if start <= due < end]

    # Quiet before and after the calls, so that a drift of the machine's load reaches both.
    without = window(quiet_start, calls_start) + window(calls_end, after_end)
    during = window(calls_start, calls_end)
    def summary(latencies):
        return {"count": len(latencies), "p50_ms": percentile(latencies, 0.5) * 1e3,
                "p99_ms": percentile(latencies, 0.99) * 1e3,
                "max_ms": max(latencies, default=float("nan")) * 1e3}

    return {
        "calls": calls,
        "calls_failed": int(failed),
        "calls_seconds": calls_end - calls_start,
        "requests": len(samples),
        "requests_not_200": sum(1 for _, _, status in samples if status != 200),
        "request_errors": result["errors"],
        "without": summary(without),
        "during": summary(during),
    }
