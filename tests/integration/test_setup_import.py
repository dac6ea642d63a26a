#!/usr/bin/python3
# SPDX-License-Identifier: AGPL-3.0-or-later
"""nexusctl setup --import on a copy of what the 0.1.x installer left (a fixture tree under
--root): the token moves from the hand-written unit into the credential file, client.conf
keeps the slug, relay and local port, the hand-written unit, its enablement link and the old
binary go, the updater is disarmed, and systemd is reloaded and the packaged unit started."""

import stat
import subprocess
import tempfile
import shutil
import unittest
from pathlib import Path

from setup_world import NEXUSCTL

TOKEN = "0123456789abcdef" * 4
OLD_UNIT = f"""[Unit]
Description=Nexus Relay Client
After=network.target

[Service]
ExecStart=/usr/local/bin/nexus-relay client \\
  --server relay.nexusnode.app:7443 \\
  --slug ma-communaute \\
  --token {TOKEN} \\
  --local-port 8080
Restart=on-failure
User=root

[Install]
WantedBy=multi-user.target
"""
SYSTEMCTL = "#!/bin/sh\necho \"$*\" >> \"$(dirname \"$0\")/systemctl.log\"\n{}\n"


class ImportTest(unittest.TestCase):
    def setUp(self):
        self.tmp = Path(tempfile.mkdtemp(prefix="nexus-import-"))
        self.addCleanup(shutil.rmtree, self.tmp, ignore_errors=True)
        self.root = self.tmp / "root"
        files = {
            "etc/systemd/system/nexus-relay-client.service": OLD_UNIT,
            "usr/local/bin/nexus-relay": "\x7fELF old 0.1.4 binary",
            "usr/local/bin/nodyx-update": "#!/bin/sh\n# downloads nexus-relay 0.1.4\n",
            "root/nexus-credentials.txt": f"URL              : https://ma-communaute.nexusnode.app\n"
                                          f"Directory token  : {TOKEN}\n",
            "lib/systemd/system/nexus-relay-client.service": "[Service]\n",
            "etc/nexus-relay/client.conf": "# server = relay.nexusnode.app:7443\n",
        }
        for name, content in files.items():
            (self.root / name).parent.mkdir(parents=True, exist_ok=True)
            (self.root / name).write_text(content)
        (self.root / "usr/local/bin/nodyx-update").chmod(0o755)
        wants = self.root / "etc/systemd/system/multi-user.target.wants"
        wants.mkdir()
        (wants / "nexus-relay-client.service").symlink_to(
            "/etc/systemd/system/nexus-relay-client.service")
        self.systemctl = self.tmp / "systemctl"
        self.set_systemctl("exit 0")

    def set_systemctl(self, body):
        self.systemctl.write_text(SYSTEMCTL.format(body))
        self.systemctl.chmod(0o755)

    def run_import(self, *args):
        return subprocess.run([NEXUSCTL, "setup", "--import", "--no-wait", "--root",
                               str(self.root), "--systemctl", str(self.systemctl), *args],
                              capture_output=True, text=True, timeout=30,
                              stdin=subprocess.DEVNULL)

    def tree(self):
        return sorted(str(p.relative_to(self.root)) for p in self.root.rglob("*")
                      if not p.is_dir())

    def test_moves_the_token_and_hands_over_to_the_packaged_unit(self):
        result = self.run_import()
        self.assertEqual(result.returncode, 0, result)
        token = self.root / "etc/nexus-relay/token"
        self.assertEqual(token.read_text(), TOKEN + "\n")
        self.assertEqual(stat.S_IMODE(token.stat().st_mode), 0o600)
        conf = (self.root / "etc/nexus-relay/client.conf").read_text()
        for line in ("server = relay.nexusnode.app:7443\n", "slug = ma-communaute\n",
                     "local-port = 8080\n"):
            self.assertIn(line, conf)
        self.assertNotIn(TOKEN, conf)
        self.assertEqual(self.tree(), [
            "etc/nexus-relay/client.conf", "etc/nexus-relay/token",
            "lib/systemd/system/nexus-relay-client.service", "root/nexus-credentials.txt",
            "usr/local/bin/nodyx-update", "usr/local/bin/nodyx-update.replaced-by-nexus-relay"])
        updater = self.root / "usr/local/bin/nodyx-update"
        self.assertIn("managed by its Debian package", updater.read_text())
        self.assertEqual(subprocess.run([str(updater)], capture_output=True).returncode, 1)
        kept = self.root / "usr/local/bin/nodyx-update.replaced-by-nexus-relay"
        self.assertEqual(stat.S_IMODE(kept.stat().st_mode), 0o644)
        self.assertIn("Disarmed", result.stdout)
        self.assertEqual((self.tmp / "systemctl.log").read_text().splitlines(), [
            "daemon-reload", "enable nexus-relay-client.service",
            "restart nexus-relay-client.service"])

    def test_a_failed_start_puts_the_old_install_back(self):
        def contents():
            return {p: (self.root / p).read_bytes() for p in self.tree()
                    if not (self.root / p).is_symlink()}
        before = contents()
        self.set_systemctl('case "$*" in restart*) echo "Job failed." >&2; exit 1;; esac')
        result = self.run_import()
        self.assertEqual(result.returncode, 1, result)
        self.assertIn("Job failed.", result.stderr)
        self.assertEqual(contents(), before)
        self.assertTrue((self.root / "etc/systemd/system/multi-user.target.wants/"
                         "nexus-relay-client.service").is_symlink())

    def test_refuses_without_the_package(self):
        (self.root / "lib/systemd/system/nexus-relay-client.service").unlink()
        result = self.run_import()
        self.assertEqual(result.returncode, 1, result)
        self.assertIn("apt install nexus-relay", result.stderr)
        self.assertFalse((self.root / "etc/nexus-relay/token").exists())


if __name__ == "__main__":
    unittest.main()
