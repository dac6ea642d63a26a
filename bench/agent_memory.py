#!/usr/bin/python3
# SPDX-License-Identifier: AGPL-3.0-or-later
"""The agent's resident memory (RSS) idle and under load, through the real binaries on
loopback: a TLS relay, an agent registered on protocol v2 with its status pages on, and the
sample app in its own process (tests/testkit/agent_memory.py sets them up and defines the load).

    NEXUS_RELAY_BIN=build/src/nexus-relay bench/agent_memory.py [--seconds 20]
        [--connections 32] [--uploads 4] [--body-mib 4]

Prints the RSS after registration and a 5 s settle (median of five samples), the peak (the
largest sample, or VmHWM) and the plateau (median of the second half's samples) under the
load, and the RSS 5 s after it; each with its anonymous and file-backed parts where they were
sampled. The load: CONNECTIONS keep-alive connections each sending GET /bytes?n=16384 back to
back, and UPLOADS connections each sending POST /echo with a BODY-MiB body that comes back
whole, all through the relay's HTTP front, for SECONDS. Exits 1 above the budgets (6 MiB idle,
16 MiB under load) that tests/integration/test_agent_memory.py checks with a lighter load."""

import argparse
import sys
import unittest
from pathlib import Path

_ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(_ROOT / "tests" / "integration"), str(_ROOT / "tests" / "testkit")]

from agent_memory import Load, settled_rss, start_tls_tunnel, under_load  # noqa: E402
from harness import RelayTestCase  # noqa: E402

IDLE_BUDGET_KIB = 6 * 1024
LOAD_BUDGET_KIB = 16 * 1024


def mib(kib):
    return f"{kib / 1024:.1f} MiB"


class AgentMemory(RelayTestCase):
    args = None
    within_budget = False

    def test_agent_memory(self):
        args = self.args
        relay, agent, host = start_tls_tunnel(self)
        idle = settled_rss(agent.pid, 5)
        load = Load(relay.http_port, host, args.connections, args.uploads,
                    args.body_mib << 20)
        peak, steady = under_load(agent.pid, load, args.seconds)
        after = settled_rss(agent.pid, 5)
        print(f"agent RSS idle     {mib(idle['VmRSS'])} (anonymous {mib(idle['RssAnon'])}, "
              f"file-backed {mib(idle['RssFile'])})\n"
              f"agent RSS load     peak {mib(peak)}, plateau {mib(steady)}: {args.connections} "
              f"connections of 16 KiB GETs and {args.uploads} of {args.body_mib} MiB POST "
              f"echoes for {args.seconds} s, {load.requests} requests, "
              f"{load.bytes / 2**20:.0f} MiB, {load.errors} errors\n"
              f"agent RSS after    {mib(after['VmRSS'])} (anonymous {mib(after['RssAnon'])}, "
              f"file-backed {mib(after['RssFile'])})", file=sys.stderr)
        self.assertEqual(load.errors, 0)
        AgentMemory.within_budget = idle["VmRSS"] <= IDLE_BUDGET_KIB and peak <= LOAD_BUDGET_KIB
        print(f"budgets: idle {mib(IDLE_BUDGET_KIB)}, under load {mib(LOAD_BUDGET_KIB)}: "
              f"{'met' if AgentMemory.within_budget else 'MISSED'}", file=sys.stderr)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--uploads", type=int, default=4)
    parser.add_argument("--body-mib", type=int, default=4)
    AgentMemory.args = parser.parse_args()
    result = unittest.TextTestRunner(verbosity=0).run(
        unittest.defaultTestLoader.loadTestsFromTestCase(AgentMemory))
    sys.exit(0 if result.wasSuccessful() and AgentMemory.within_budget else 1)


if __name__ == "__main__":
    main()
