#!/usr/bin/python3
# SPDX-License-Identifier: AGPL-3.0-or-later
"""The command line an operator types: --version, flag errors, and the directory commands."""

import unittest

from harness import RelayTestCase, run_binary


class CliTest(RelayTestCase):
    def test_version_prints_the_program_name_and_a_semantic_version(self):
        result = run_binary("--version")
        self.assertEqual(result.returncode, 0)
        # install.sh-style scripts read the version with awk '{print $2}'.
        self.assertRegex(result.stdout, r"^nexus-relay \d+\.\d+\.\d+\n?$")

    def test_unknown_flag_is_one_line_on_stderr_and_exit_code_2(self):
        for args in (["--no-such-flag"], ["server", "--no-such-flag"],
                     ["client", "--bogus", "1"], ["directory", "list", "--nope"]):
            with self.subTest(args=args):
                result = run_binary(*args)
                self.assertEqual(result.returncode, 2, result.stderr)
                self.assertEqual(len(result.stderr.strip().splitlines()), 1, result.stderr)

    def test_client_help_says_server_takes_a_websocket_url_too(self):
        result = run_binary("client", "--help")
        self.assertEqual(result.returncode, 0, result.stderr)
        server = result.stdout[result.stdout.index("--server"):result.stdout.index("--slug")]
        self.assertIn("host:port", server)
        self.assertIn("wss://", server)
        self.assertIn("ws://", server.replace("wss://", ""))

    def listed(self):
        """`directory list` as {slug: (status, token kind, url)}, after checking the header."""
        result = self.directory("list")
        self.assertEqual(result.returncode, 0, result.stderr)
        lines = result.stdout.strip().splitlines()
        self.assertEqual(lines[0].split(), ["SLUG", "STATUS", "TOKEN", "URL"])
        return {fields[0]: tuple(fields[1:]) for fields in map(str.split, lines[1:])}

    def test_directory_add_list_and_revoke(self):
        added = self.directory("add", "alpha", "--url", "https://alpha.example.org")
        self.assertEqual(added.returncode, 0, added.stderr)
        token = added.stdout.strip()
        self.assertRegex(added.stdout, r"^[0-9a-f]{64}\n?$", "stdout must be the token alone")
        self.assertTrue(added.stderr.strip(), "expected a note on stderr")
        self.assertNotEqual(self.add_slug("beta", url="https://beta.example.org"), token)

        self.assertEqual(self.listed()["alpha"], ("active", "hashed", "https://alpha.example.org"))
        self.assertNotIn(token, self.directory("list").stdout)

        result = self.directory("revoke", "alpha")
        self.assertEqual(result.returncode, 0, result.stderr)
        listed = self.listed()
        self.assertNotEqual(listed["alpha"][0], "active")
        self.assertEqual(listed["beta"][0], "active")

    def test_tokens_are_not_stored_in_plaintext(self):
        token = self.add_slug("alpha")
        for path in self.tmp.glob("directory.sqlite*"):
            self.assertNotIn(token.encode(), path.read_bytes(), f"token in clear in {path.name}")

    def test_default_url_follows_the_domain_when_given(self):
        self.add_slug("beta")
        result = self.directory("add", "gamma", "--domain", "nexus.test")
        self.assertEqual(result.returncode, 0, result.stderr)
        listed = self.listed()
        self.assertEqual(listed["beta"][2], "https://beta.nexusnode.app")
        self.assertEqual(listed["gamma"][2], "https://gamma.nexus.test")

    def test_revoking_an_unknown_slug_exits_1_with_a_message(self):
        self.add_slug("somebody")
        result = self.directory("revoke", "nobody")
        self.assertEqual(result.returncode, 1)
        self.assertIn("nobody", result.stderr)


if __name__ == "__main__":
    unittest.main()
