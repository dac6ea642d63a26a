#!/usr/bin/python3
# SPDX-License-Identifier: AGPL-3.0-or-later
"""The arm64 packages a Raspberry Pi installs, cross-built on this machine as
`dpkg-buildpackage -a arm64` builds them from a clean clone (the package suite's copy of the
tracked files, DEB_BUILD_OPTIONS=nocheck), then read with dpkg-deb, not installed:

- nexus-relay is an arm64 package whose programs are aarch64 executables that run (under
  qemu) and whose dependencies dpkg-shlibdeps found among the :arm64 libraries; the program
  as shipped, stripped by debhelper, fits in 3 MiB;
- both packages hold every file their debian/*.install lists, as the amd64 ones do.

Skipped (77) without debhelper, the cross compiler, qemu or the :arm64 build dependencies
(scripts/install-deps.sh installs them)."""

import fnmatch
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

from test_package import BUILD_ROOT, SOURCE_ROOT, VERSION, build_packages, copy_tracked_tree, run

WORK = os.path.join(BUILD_ROOT, "package-test-arm64")
STRIPPED_LIMIT = 3 * 1024 * 1024


def package_files(deb):
    """The paths in the package, as /usr/bin/x (directories end in /)."""
    listing = run(["dpkg-deb", "--contents", deb]).stdout.splitlines()
    return [line.split(None, 5)[5].split(" -> ")[0].removeprefix(".") for line in listing]


def installed_patterns(package):
    """The paths debian/PACKAGE.install puts in the package (a second field is a directory)."""
    with open(os.path.join(SOURCE_ROOT, "debian", f"{package}.install"), encoding="utf-8") as f:
        for line in f:
            fields = line.split()
            if len(fields) == 1:
                yield "/" + fields[0]
            elif len(fields) == 2:
                yield "/" + fields[1].rstrip("/") + "/" + os.path.basename(fields[0])


class Arm64PackageTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        shutil.rmtree(WORK, ignore_errors=True)
        tree = os.path.join(WORK, "src", "nexus-relay-0.2.0")
        copy_tracked_tree(SOURCE_ROOT, tree)
        debs = build_packages(tree, VERSION, os.path.join(WORK, "debs"), clean=True,
                              host_arch="arm64")
        cls.debs = {os.path.basename(d).split("_")[0]: d for d in debs}
        cls.root = tempfile.mkdtemp(prefix="unpacked-", dir=WORK)
        run(["dpkg-deb", "--extract", cls.debs["nexus-relay"], cls.root])

    def field(self, package, name):
        return run(["dpkg-deb", "--field", self.debs[package], name]).stdout.strip()

    def test_agent_package_is_arm64_with_aarch64_programs_that_run(self):
        self.assertEqual(self.field("nexus-relay", "Architecture"), "arm64")
        self.assertEqual(self.field("nexus-relay-server", "Architecture"), "all")
        self.assertRegex(self.field("nexus-relay", "Depends"), r"\blibc6 \(>= [0-9.]+\)")
        self.assertIn("libsdbus-c++1", self.field("nexus-relay", "Depends"))
        for program in ("nexus-relay", "nexusctl"):
            path = os.path.join(self.root, "usr/bin", program)
            self.assertRegex(run(["readelf", "--file-header", path]).stdout,
                             r"Machine:\s+AArch64", program)
        version = run(["qemu-aarch64-static", os.path.join(self.root, "usr/bin/nexus-relay"),
                       "--version"]).stdout.strip()
        self.assertEqual(version, "nexus-relay 0.2.0")

    def test_shipped_program_fits_in_3_mib(self):
        path = os.path.join(self.root, "usr/bin/nexus-relay")
        self.assertNotIn("debug_info", run(["readelf", "--section-headers", path]).stdout,
                         "the packaged program is stripped")
        size = os.path.getsize(path)
        print(f"nexus-relay in the arm64 package: {size} bytes", file=sys.stderr)
        self.assertLessEqual(size, STRIPPED_LIMIT)

    def test_packages_hold_every_file_their_install_lists_name(self):
        for package, deb in self.debs.items():
            files = package_files(deb)
            for pattern in installed_patterns(package):
                # dh_installman compresses the man pages.
                self.assertTrue(fnmatch.filter(files, pattern) or
                                fnmatch.filter(files, pattern + ".gz"),
                                f"{package}: nothing matches {pattern}")
        self.assertIn("/etc/nexus-relay/client.conf", package_files(self.debs["nexus-relay"]))


def main():
    tools = ("dpkg-buildpackage", "dh", "git", "aarch64-linux-gnu-g++", "qemu-aarch64-static",
             "readelf")
    missing = [tool for tool in tools if not shutil.which(tool)]
    if missing:
        print(f"skipped: {', '.join(missing)} not installed (scripts/install-deps.sh installs "
              "them)", file=sys.stderr)
        return 77
    unmet = subprocess.run(["dpkg-checkbuilddeps", "-a", "arm64", "-B", "-Pnocheck"],
                           cwd=SOURCE_ROOT, capture_output=True, text=True)
    if unmet.returncode != 0:
        print(f"skipped: {unmet.stderr.strip()}", file=sys.stderr)
        return 77
    result = unittest.main(exit=False, verbosity=2).result
    if result.wasSuccessful():
        shutil.rmtree(WORK, ignore_errors=True)
    return 0 if result.wasSuccessful() else 1


if __name__ == "__main__":
    sys.exit(main())
