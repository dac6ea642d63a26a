# SPDX-License-Identifier: AGPL-3.0-or-later
"""A thousand rapid busctl calls on both daemons while a steady load goes through the tunnel:
every call is answered and every request served. The latency comparison (p99 with and
without the calls, under 10 ms apart) depends on the machine's other load and lives in
bench/bus_latency.py; its figures are in docs/benchmarks.md."""

import unittest

import bus_under_load
from dbus_case import BusTestCase


class BusUnderLoad(BusTestCase):
    def test_calls_are_answered_and_requests_served_together(self):
        figures = bus_under_load.run(self, calls=1000, quiet=1.0)
        self.assertEqual(figures["calls_failed"], 0, figures)
        self.assertEqual((figures["requests_not_200"], figures["request_errors"]), (0, 0), figures)
        # The load kept going during the calls (nothing waited for the bus).
        self.assertGreater(figures["during"]["count"], 0.5 * figures["calls_seconds"] * 400,
                           figures)


if __name__ == "__main__":
    unittest.main()
