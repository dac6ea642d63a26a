#!/usr/bin/python3
# SPDX-License-Identifier: AGPL-3.0-or-later
"""The aarch64 build a Raspberry Pi runs, made on this machine with cross/aarch64-linux-gnu.ini
and run under user-mode qemu. A second build directory (build/cross-aarch64, configured once
and reused, ccache in front of the cross compiler) builds only what is checked here: the
program and the unit suite's binaries, not the fuzzers, benchmarks and D-Bus tools a second
full compile would add. Then:

- the unit suite passes on the aarch64 binaries (meson runs them through the cross file's
  exe_wrapper);
- the README's demo, a relay, an agent and a sample site on loopback, passes with both
  daemons the aarch64 program;
- the program is an aarch64 executable, and stripped it fits in 3 MiB: the budget of an agent
  on a Pi's SD card and of the arm64 package.

Skipped (77) when the cross compiler, qemu or the :arm64 libraries are missing
(scripts/install-deps.sh --cross installs them)."""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

SOURCE_ROOT = os.environ["SOURCE_ROOT"]
BUILD_ROOT = os.environ["BUILD_ROOT"]
CROSS_FILE = os.path.join(SOURCE_ROOT, "cross", "aarch64-linux-gnu.ini")
CROSS_BUILD = os.path.join(BUILD_ROOT, "cross-aarch64")
BIN = os.path.join(CROSS_BUILD, "src", "nexus-relay")
STRIPPED_LIMIT = 3 * 1024 * 1024
TOOLS = ("aarch64-linux-gnu-g++", "aarch64-linux-gnu-strip", "aarch64-linux-gnu-pkg-config",
         "qemu-aarch64-static", "readelf", "curl")
# What meson.build asks pkg-config for; boost and mimalloc are found by their headers, libpq
# (loaded at run time) by the build machine's.
ARM64_LIBRARIES = ("openssl", "fmt", "sqlite3", "libsystemd", "sdbus-c++", "gtest", "gmock",
                   "nlohmann_json", "CLI11")
# The native demo test's ports plus ten, so both can run at once.
DEMO_PORTS = {"DEMO_HTTP_PORT": "17911", "DEMO_TCP_PORT": "17953", "DEMO_SITE_PORT": "17990"}


def run(argv, env=None, timeout=3600):
    result = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=timeout)
    if result.returncode != 0:
        raise AssertionError(f"{' '.join(argv)} exited with {result.returncode}:\n"
                             f"{result.stdout[-4000:]}{result.stderr[-4000:]}")
    return result


def configure():
    """meson setup once; afterwards ninja reconfigures by itself when a meson.build changed.
    ccache goes in front of the cross compiler through a second cross file: meson puts it in
    front of the compilers it finds itself, not of those a cross file names."""
    if os.path.exists(os.path.join(CROSS_BUILD, "build.ninja")):
        return
    argv = ["meson", "setup", CROSS_BUILD, SOURCE_ROOT, "--cross-file", CROSS_FILE]
    if shutil.which("ccache"):
        ccache_file = os.path.join(BUILD_ROOT, "cross-aarch64-ccache.ini")
        with open(ccache_file, "w", encoding="utf-8") as f:
            f.write("[binaries]\nc = ['ccache', 'aarch64-linux-gnu-gcc']\n"
                    "cpp = ['ccache', 'aarch64-linux-gnu-g++']\n")
        argv += ["--cross-file", ccache_file]
    run(argv, timeout=600)


def build_program_and_unit_tests():
    # The test list as the current meson.build files have it, not as at the last build.
    run(["ninja", "-C", CROSS_BUILD, "build.ninja"], timeout=600)
    tests = json.loads(run(["meson", "introspect", CROSS_BUILD, "--tests"]).stdout)
    targets = [os.path.relpath(BIN, CROSS_BUILD)]
    # Suites are named PROJECT:SUITE.
    targets += [os.path.relpath(t["cmd"][0], CROSS_BUILD) for t in tests
                if any(suite.split(":")[-1] == "unit" for suite in t["suite"])]
    run(["ninja", "-C", CROSS_BUILD, *targets])


class CrossAarch64Test(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        configure()
        build_program_and_unit_tests()

    def test_unit_suite_passes_under_qemu(self):
        # qemu runs each test a few times slower than the native build. Its system call layer
        # returns only an int for any TCP-level getsockopt, so TCP_INFO has no delivery rate
        # and the send queue's limiter rightly stays at its floor: the one test that needs a
        # kernel's measured rate is left to the native suite.
        env = dict(os.environ, GTEST_FILTER="-LoopbackPair.FollowsTheMeasuredRateAfterAMegabyte")
        run(["meson", "test", "-C", CROSS_BUILD, "--no-rebuild", "--suite", "unit",
             "--print-errorlogs", "--num-processes", "2", "--timeout-multiplier", "4"], env=env)

    def test_demo_relay_and_agent_on_loopback_under_qemu(self):
        with tempfile.TemporaryDirectory() as scratch:
            # The demo starts the program by one path: a script that hands it to qemu.
            wrapper = os.path.join(scratch, "nexus-relay")
            with open(wrapper, "w", encoding="utf-8") as f:
                f.write(f'#!/bin/sh\nexec qemu-aarch64-static "{BIN}" "$@"\n')
            os.chmod(wrapper, 0o755)
            env = dict(os.environ, NEXUS_RELAY_BIN=wrapper, TMPDIR=scratch, **DEMO_PORTS)
            result = run(["bash", os.path.join(SOURCE_ROOT, "scripts", "demo.sh"), "--check"],
                         env=env, timeout=120)
        self.assertIn("demo OK", result.stdout + result.stderr)

    def test_program_is_an_aarch64_executable(self):
        header = run(["readelf", "--file-header", BIN]).stdout
        self.assertRegex(header, r"Machine:\s+AArch64")

    def test_stripped_program_fits_in_3_mib(self):
        with tempfile.TemporaryDirectory() as scratch:
            stripped = os.path.join(scratch, "nexus-relay")
            run(["aarch64-linux-gnu-strip", "-o", stripped, BIN])
            size = os.path.getsize(stripped)
        print(f"stripped aarch64 nexus-relay: {size} bytes", file=sys.stderr)
        self.assertLessEqual(size, STRIPPED_LIMIT)


def missing_toolchain():
    missing = [tool for tool in TOOLS if not shutil.which(tool)]
    if not missing:
        found = subprocess.run(["aarch64-linux-gnu-pkg-config", "--print-errors", "--exists",
                                *ARM64_LIBRARIES], capture_output=True, text=True)
        if found.returncode != 0:
            missing.append(f"arm64 libraries ({found.stderr.strip()})")
    return missing


def main():
    missing = missing_toolchain()
    if missing:
        print(f"skipped: {', '.join(missing)} not installed (scripts/install-deps.sh --cross "
              "installs them)", file=sys.stderr)
        return 77
    result = unittest.main(exit=False, verbosity=2).result
    return 0 if result.wasSuccessful() else 1


if __name__ == "__main__":
    sys.exit(main())
