# SPDX-License-Identifier: AGPL-3.0-or-later
"""The agent's resident memory stays within its budgets, idle and under a modest load, through
a TLS tunnel as users run it (tests/testkit/agent_memory.py; bench/agent_memory.py gives the
figures under a heavier load, docs/benchmarks.md records them).

The budgets are the README's: 6 MiB idle, 16 MiB under load. What they catch: a library
loaded again at start (libpq and its Kerberos/LDAP/GnuTLS tree), the system's CA bundle parsed
whole again, buffers kept after a burst, or the resident page trimmer
(daemon/resident_pages) no longer keeping the program's and libraries' pages to those in use.
"""

import unittest

from agent_memory import Load, settled_rss, start_tls_tunnel, under_load
from harness import RelayTestCase

# KiB. Measured on amd64 (docs/benchmarks.md): 3.6 MiB idle, 2.0 MiB of it anonymous; peak
# about 11 MiB under the load below; about 5 MiB anonymous a few seconds after it.
IDLE_RSS = 6 * 1024
IDLE_ANONYMOUS = 2560
LOAD_RSS = 16 * 1024
AFTER_LOAD_ANONYMOUS = 6 * 1024


class AgentMemoryTest(RelayTestCase):
    def setUp(self):
        super().setUp()
        self.relay, self.agent, self.host = start_tls_tunnel(self)

    def test_idle_registered_agent_stays_within_its_budget(self):
        idle = settled_rss(self.agent.pid, 3)
        self.assertLessEqual(idle["VmRSS"], IDLE_RSS, idle)
        self.assertLessEqual(idle["RssAnon"], IDLE_ANONYMOUS, idle)

    def test_agent_under_load_stays_within_its_budget_and_gives_memory_back(self):
        # 8 connections of small answers and 2 of 2 MiB bodies both ways, for 6 s.
        load = Load(self.relay.http_port, self.host, connections=8, uploads=2, body=2 << 20)
        # Once started: start-up's own peak (the program's pages before the first trim) is
        # not the load's, and under_load counts from the moment the load starts.
        settled_rss(self.agent.pid, 1, samples=1)
        peak, _ = under_load(self.agent.pid, load, 6)
        self.assertEqual(load.errors, 0)
        self.assertGreater(load.requests, 0)
        self.assertLessEqual(peak, LOAD_RSS)
        after = settled_rss(self.agent.pid, 3)
        self.assertLessEqual(after["RssAnon"], AFTER_LOAD_ANONYMOUS, after)


if __name__ == "__main__":
    unittest.main()
