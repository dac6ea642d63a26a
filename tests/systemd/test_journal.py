#!/usr/bin/python3
# SPDX-License-Identifier: AGPL-3.0-or-later
"""The journal sink, read back from a real systemd-journald: the test runs itself again in a
private mount namespace (tmpfs on /run and /var/log/journal, so nothing reaches the host's
journal), starts systemd-journald there, lets the probe log through sd_journal_sendv, and
reads the entries with `journalctl --directory ... NEXUS_SLUG=demo`. Where journald cannot
start, it owns /run/systemd/journal/socket itself and decodes the datagrams instead.
Also: the daemon picks the journal only when JOURNAL_STREAM names its stderr."""

import glob
import json
import os
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time
import unittest

PROBE = os.environ["SD_PROBE"]
CATALOG = os.environ.get("CATALOG")
JOURNALD = "/lib/systemd/systemd-journald"
SOCKET = "/run/systemd/journal/socket"


def wait_for(predicate, timeout):
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def decode_native(datagram: bytes) -> dict:
    """journald's native protocol: NAME=value\\n, or NAME\\n <le64 size> value \\n."""
    fields, rest = {}, datagram
    while rest:
        line_end = rest.index(b"\n")
        equals = rest.find(b"=", 0, line_end)
        if equals >= 0:
            fields[rest[:equals].decode()] = rest[equals + 1:line_end].decode()
            rest = rest[line_end + 1:]
        else:
            (size,) = struct.unpack("<Q", rest[line_end + 1:line_end + 9])
            start = line_end + 9
            fields[rest[:line_end].decode()] = rest[start:start + size].decode()
            rest = rest[start + size + 1:]
    return fields


def files_of_journal() -> list:
    return glob.glob("/var/log/journal/*/system.journal") + \
        glob.glob("/run/log/journal/*/system.journal")


def explain(directory) -> str:
    """`journalctl -x` of the registration entry, with our catalog indexed in place of the
    system's (both catalog directories are swapped for private ones in this namespace)."""
    catalogs = "/run/test-catalog"
    os.makedirs(catalogs)
    shutil.copy(CATALOG, catalogs)
    subprocess.run(["mount", "--bind", catalogs, "/usr/lib/systemd/catalog"], check=True)
    os.makedirs("/var/lib/systemd/catalog", exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "tmpfs", "/var/lib/systemd/catalog"], check=True)
    subprocess.run(["journalctl", "--update-catalog"], check=True, timeout=30)
    return subprocess.run(
        ["journalctl", "--directory", directory, "-x", "--no-pager",
         "MESSAGE_ID=bf140bc93007453b90e801f51ec34449"],
        capture_output=True, text=True, timeout=10).stdout


def from_journald() -> list | None:
    journald = subprocess.Popen([JOURNALD], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        if not wait_for(lambda: os.path.exists(SOCKET), 5):
            return None
        subprocess.run([PROBE, "journal"], check=True, timeout=10)
        entries = []

        def read_back():
            nonlocal entries
            files = files_of_journal()
            if not files:
                return False
            result = subprocess.run(
                ["journalctl", "--directory", os.path.dirname(files[0]), "-o", "json",
                 "NEXUS_SLUG=demo"], capture_output=True, text=True, timeout=10)
            entries = [json.loads(line) for line in result.stdout.splitlines()]
            return len(entries) >= 2

        wait_for(read_back, 10)
        if entries and CATALOG:
            entries[0]["explained"] = explain(os.path.dirname(files_of_journal()[0]))
        return entries
    finally:
        journald.terminate()
        journald.wait(timeout=10)


def from_own_socket() -> list:
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind(SOCKET)
        sock.settimeout(2)
        subprocess.run([PROBE, "journal"], check=True, timeout=10)
        entries = []
        try:
            while True:
                entries.append(decode_native(sock.recv(65536)))
        except TimeoutError:
            pass
        return [entry for entry in entries if entry.get("NEXUS_SLUG") == "demo"]


def inner(out_path):
    """In the private mount namespace: collect the probe's entries into out_path (JSON)."""
    subprocess.run(["mount", "-t", "tmpfs", "-o", "mode=0755", "tmpfs", "/run"], check=True)
    os.makedirs("/run/systemd/journal")
    if os.path.isdir("/var/log/journal"):
        subprocess.run(["mount", "-t", "tmpfs", "tmpfs", "/var/log/journal"], check=True)
    entries, source = None, "journald"
    if os.access(JOURNALD, os.X_OK) and shutil.which("journalctl"):
        entries = from_journald()
    if entries is None:
        for leftover in glob.glob("/run/systemd/journal/*"):
            os.unlink(leftover)
        entries, source = from_own_socket(), "socket"
    with open(out_path, "w", encoding="utf-8") as out:
        json.dump({"source": source, "entries": entries}, out)


class JournalSinkTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        unshare = ["unshare", "-m", "--propagation", "private"]
        if os.geteuid() != 0:
            unshare.insert(1, "-r")
        if shutil.which("unshare") is None or subprocess.run(
                [*unshare, "true"], capture_output=True).returncode != 0:
            raise unittest.SkipTest("cannot make a private mount namespace here")
        with tempfile.TemporaryDirectory() as tmp:
            out = os.path.join(tmp, "entries.json")
            subprocess.run([*unshare, sys.executable, __file__, "--inner", out], check=True,
                           timeout=60)
            with open(out, encoding="utf-8") as f:
                collected = json.load(f)
        cls.source = collected["source"]
        cls.entries = collected["entries"]
        print(f"\nentries read back from: {cls.source}", file=sys.stderr)

    def test_only_entries_at_or_above_the_minimum_level_are_written(self):
        self.assertEqual(len(self.entries), 2, self.entries)

    def test_event_carries_message_priority_identifier_id_and_nexus_fields(self):
        entry = self.entries[0]
        self.assertEqual(entry["MESSAGE"],
                         'Tunnel registered: slug "demo" from 203.0.113.7:50122 over tcp')
        self.assertEqual(entry["PRIORITY"], "6")
        self.assertEqual(entry["SYSLOG_IDENTIFIER"], "nexus-relay")
        self.assertEqual(entry["MESSAGE_ID"], "bf140bc93007453b90e801f51ec34449")
        self.assertEqual(entry["NEXUS_SLUG"], "demo")
        self.assertEqual(entry["NEXUS_REMOTE"], "203.0.113.7:50122")
        self.assertEqual(entry["NEXUS_DOOR"], "tcp")
        self.assertEqual(entry["NEXUS_PROTOCOL"], "v2")

    def test_request_fields_are_kept_and_text_from_the_network_cannot_break_lines(self):
        entry = self.entries[1]
        self.assertEqual(entry["MESSAGE"], "GET /a\\x0aforged line")
        self.assertEqual(entry["PRIORITY"], "4")
        self.assertEqual(entry["NEXUS_PATH"], "/a\\x0ab")
        for name, value in (("NEXUS_REQUEST_ID", "r-1"), ("NEXUS_METHOD", "GET"),
                            ("NEXUS_STATUS", "502"), ("NEXUS_DURATION_US", "1234")):
            self.assertEqual(entry[name], value)
        self.assertNotIn("bad-name", entry)

    def test_journalctl_x_explains_the_event_from_the_catalog(self):
        if self.source != "journald" or not CATALOG:
            self.skipTest("needs systemd-journald and the catalog")
        explained = self.entries[0]["explained"]
        self.assertIn("Subject: Tunnel registered: slug demo", explained)
        self.assertIn("An agent at 203.0.113.7:50122 authenticated for the slug demo", explained)

    def test_journald_itself_was_used_where_it_runs(self):
        if self.source != "journald":
            self.skipTest("systemd-journald could not start; datagrams were decoded instead")
        # Trusted fields only journald adds: the entry went through the real daemon.
        self.assertEqual(self.entries[0]["_TRANSPORT"], "journal")
        self.assertIn("_PID", self.entries[0])


class SinkChoiceTest(unittest.TestCase):
    def sink(self, journal_stream):
        env = {k: v for k, v in os.environ.items() if k != "JOURNAL_STREAM"}
        if journal_stream is not None:
            env["JOURNAL_STREAM"] = journal_stream
        with tempfile.TemporaryFile() as stderr:
            status = os.fstat(stderr.fileno())
            if journal_stream == "stderr":
                env["JOURNAL_STREAM"] = f"{status.st_dev}:{status.st_ino}"
            result = subprocess.run([PROBE, "sink"], env=env, stderr=stderr,
                                    capture_output=False, stdout=subprocess.PIPE, timeout=10)
        return result.stdout.decode().strip()

    def test_journal_when_journal_stream_names_stderr(self):
        self.assertEqual(self.sink("stderr"), "journal")

    def test_stderr_when_stderr_was_redirected_elsewhere(self):
        self.assertEqual(self.sink("1:1"), "stderr")

    def test_stderr_when_not_run_by_systemd(self):
        self.assertEqual(self.sink(None), "stderr")


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--inner":
        inner(sys.argv[2])
    else:
        unittest.main()
