#!/usr/bin/python3
# SPDX-License-Identifier: AGPL-3.0-or-later
"""The bus never stalls the network: a steady load (400 requests/s of 1 KiB on 4 keep-alive
connections, tests/testkit/steady_load.py) goes through a tunnel while, in the same run, a
quiet window, 1,000 rapid busctl calls on the private bus (500 `get-property` State of the
agent, 500 ListTunnels of the relay) and a quiet window again. Target: the request latency p99 during
the calls within 10 ms of the p99 without them. The scenario is tests/dbus/bus_under_load.py;
the dbus suite runs it too (test_bus_under_load) but checks only that every call and every
request was answered, since latency depends on what else the machine runs.

    NEXUS_RELAY_BIN=build/src/nexus-relay bench/bus_latency.py [--rounds 3]

Prints one line per round and exits 1 when the median round misses the target."""

import argparse
import json
import os
import statistics
import sys
import unittest
from pathlib import Path

_ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(_ROOT / "tests" / "dbus"), str(_ROOT / "tests" / "integration"),
                str(_ROOT / "tests" / "testkit")]
os.environ.setdefault("NEXUS_DBUS_POLICY_DIR", str(_ROOT / "dbus"))

import bus_under_load  # noqa: E402
from dbus_case import BusTestCase  # noqa: E402

TARGET_MS = 10.0
rounds = []


class BusLatency(BusTestCase):
    def test_round(self):
        figures = bus_under_load.run(self, calls=1000, quiet=3.0)
        rounds.append(figures)
        w, d = figures["without"], figures["during"]
        print(f"round {len(rounds)}: without calls p50 {w['p50_ms']:.2f} p99 {w['p99_ms']:.2f} "
              f"max {w['max_ms']:.2f} ms ({w['count']} requests); during {figures['calls']} "
              f"calls in {figures['calls_seconds']:.1f} s p50 {d['p50_ms']:.2f} p99 "
              f"{d['p99_ms']:.2f} max {d['max_ms']:.2f} ms ({d['count']} requests); "
              f"p99 difference {d['p99_ms'] - w['p99_ms']:+.2f} ms; calls failed "
              f"{figures['calls_failed']}, requests failed "
              f"{figures['requests_not_200'] + figures['request_errors']}", flush=True)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--json", action="store_true", help="also print every round as JSON")
    args = parser.parse_args()
    runner = unittest.TextTestRunner(verbosity=0, stream=open(os.devnull, "w"))
    for _ in range(args.rounds):
        if not runner.run(BusLatency("test_round")).wasSuccessful():
            print("a round failed to run", file=sys.stderr)
            return 2
    differences = [r["during"]["p99_ms"] - r["without"]["p99_ms"] for r in rounds]
    median = statistics.median(differences)
    if args.json:
        print(json.dumps(rounds, indent=1))
    failed = sum(r["calls_failed"] + r["requests_not_200"] + r["request_errors"] for r in rounds)
    verdict = "met" if median < TARGET_MS and failed == 0 else "MISSED"
    print(f"median p99 difference {median:+.2f} ms (target < {TARGET_MS:.0f} ms): {verdict}")
    return 0 if verdict == "met" else 1


if __name__ == "__main__":
    sys.exit(main())
