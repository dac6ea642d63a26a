# SPDX-License-Identifier: AGPL-3.0-or-later
"""nexusctl's bash completion (completions/nexusctl): sourced, it completes nexusctl; it offers
the commands, each command's flags, files after set-slug --token-file, and the relay's live
slugs (read over the bus) after disconnect and revoke."""

import os
import subprocess
import unittest
from pathlib import Path

from dbus_case import BusTestCase
from private_bus import NEXUSCTL

SCRIPT = Path(__file__).resolve().parents[2] / "completions" / "nexusctl"


class Completion(BusTestCase):
    def complete(self, *words):
        """What the completion offers for the command line `words` (the last one being
        completed), one word per list item, in bash's order."""
        line = " ".join(f"'{w}'" for w in words)
        script = (f"source {SCRIPT}; COMP_WORDS=(nexusctl {line}); "
                  f"COMP_CWORD={len(words)}; _nexusctl; printf '%s\\n' \"${{COMPREPLY[@]}}\"")
        env = dict(os.environ)
        env["PATH"] = f"{Path(NEXUSCTL).parent}:{env['PATH']}"  # the built nexusctl first
        result = subprocess.run(["bash", "--norc", "-c", script], capture_output=True,
                                text=True, env=env, cwd=self.tmp, check=True, timeout=20)
        return [word for word in result.stdout.split("\n") if word]

    def test_sourcing_registers_the_function(self):
        result = subprocess.run(["bash", "--norc", "-c", f"source {SCRIPT}; complete -p nexusctl"],
                                capture_output=True, text=True, check=True)
        self.assertEqual(result.stdout, "complete -F _nexusctl nexusctl\n")

    def test_commands_and_their_flags(self):
        self.assertEqual(sorted(self.complete("")), sorted([
            "status", "reconnect", "set-slug", "tunnels", "disconnect", "revoke", "setup",
            "--user", "--help", "--version"]))
        self.assertEqual(self.complete("s"), ["status", "set-slug", "setup"])
        self.assertEqual(self.complete("status", "--"), ["--json", "--watch"])
        self.assertEqual(self.complete("--user", "tunnels", ""), ["--json"])
        self.assertEqual(self.complete("set-slug", "new", "--"), ["--token-file"])
        self.assertEqual(self.complete("setup", "--im"), ["--import"])
        self.assertEqual(self.complete("setup", "--slug", ""), [])
        (self.tmp / "new-token").write_text("x\n")
        self.assertEqual(self.complete("set-slug", "new", "--token-file", "new-"), ["new-token"])

    def test_live_slugs_after_disconnect_and_revoke(self):
        relay, agent, site = self.tunnel("demo")
        self.assertEqual(self.complete("disconnect", ""), ["demo"])
        self.assertEqual(self.complete("revoke", "d"), ["demo"])
        self.assertEqual(self.complete("revoke", "x"), [])


if __name__ == "__main__":
    unittest.main()
