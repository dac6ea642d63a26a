# SPDX-License-Identifier: AGPL-3.0-or-later
"""A systemd-nspawn container booted with the real systemd, for tests of the units: a root
left untouched (--volatile=overlay: writes go to a tmpfs), a loopback of its own
(--private-network, so its ports meet no other test's), driven by nsenter into its init's
namespaces (a host without systemd-machined has no machinectl nor systemd-run --machine).
Stopped whatever happens: by stop(), by stop_all() at the end of the test process, and by
systemd-nspawn's parent-death signal if that process is killed."""

import ctypes
import os
import signal
import subprocess
import time

CONTAINER_ENV = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8",
                 "SYSTEMD_COLORS": "0", "SYSTEMD_PAGER": ""}
STARTED = []


def die_with_parent():
    """In the child before exec: SIGTERM when the test process dies, however it dies, so
    systemd-nspawn halts the container even after a SIGKILL of the test."""
    PR_SET_PDEATHSIG = 1
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def wait_for(what, predicate, timeout=30.0, interval=0.2):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(interval)


class Container:
    """systemd-nspawn --boot of `root`; path(), run() and http_get() reach inside."""

    def __init__(self, root, log_path):
        self.leader = None
        self.log = open(log_path, "w", encoding="utf-8")
        self.nspawn = subprocess.Popen(
            ["systemd-nspawn", "--quiet", "--boot", f"--directory={root}",
             f"--machine=nexus-test-{os.getpid()}", "--volatile=overlay", "--private-network",
             "--register=no", "--keep-unit", "--console=pipe"],
            stdin=subprocess.DEVNULL, stdout=self.log, stderr=subprocess.STDOUT,
            preexec_fn=die_with_parent)
        STARTED.append(self)
        self.leader = wait_for("the container's init", self._find_leader, timeout=30)

    def _find_leader(self):
        if self.nspawn.poll() is not None:
            raise AssertionError(f"systemd-nspawn exited with {self.nspawn.returncode}: "
                                 f"{self.boot_log()}")
        own_ns = os.readlink("/proc/self/ns/pid")
        try:
            with open(f"/proc/{self.nspawn.pid}/task/{self.nspawn.pid}/children") as f:
                children = [int(pid) for pid in f.read().split()]
            for pid in children:
                with open(f"/proc/{pid}/comm") as f:
                    comm = f.read().strip()
                if os.readlink(f"/proc/{pid}/ns/pid") != own_ns and comm == "systemd":
                    return pid
        except (FileNotFoundError, ProcessLookupError):
            pass
        return None

    def boot_log(self):
        with open(self.log.name, encoding="utf-8", errors="replace") as f:
            return f.read()[-3000:]

    def path(self, path):
        """A path inside the container, as the host reaches it."""
        return f"/proc/{self.leader}/root{path}"

    def run(self, *argv, check=True, timeout=60):
        result = subprocess.run(["nsenter", f"--target={self.leader}", "--all", "--", *argv],
                                capture_output=True, text=True, timeout=timeout,
                                env=CONTAINER_ENV)
        if check and result.returncode != 0:
            raise AssertionError(f"{' '.join(argv)} exited with {result.returncode}:\n"
                                 f"{result.stdout}{result.stderr}")
        return result

    def http_get(self, port, path="/", host=None):
        """(status, body) of a GET on the container's loopback, by the host's curl in the
        container's network namespace; status 0 when nothing answered."""
        argv = ["nsenter", f"--target={self.leader}", "--net", "--", "curl", "-sS", "-m", "10",
                "-o", "-", "-w", "\n%{http_code}", f"http://127.0.0.1:{port}{path}"]
        if host:
            argv[-1:-1] = ["-H", f"Host: {host}"]
        result = subprocess.run(argv, capture_output=True, text=True, timeout=20)
        body, _, status = result.stdout.rpartition("\n")
        return int(status or 0), body

    def stop(self):
        """Halts the container (systemd-nspawn turns SIGTERM into a halt); if it is stuck,
        SIGKILL to the namespace's init ends every process in it."""
        if self.nspawn.poll() is None:
            self.nspawn.terminate()
            try:
                self.nspawn.wait(timeout=30)
            except subprocess.TimeoutExpired:
                if self.leader:
                    try:
                        os.kill(self.leader, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
                self.nspawn.kill()
                self.nspawn.wait(timeout=10)
        if not self.log.closed:
            self.log.close()


def copy_tree_into(source, target):
    """Copies source's files into target, keeping target's /lib -> usr/lib and the like."""
    pack = subprocess.Popen(["tar", "-C", source, "-c", "."], stdout=subprocess.PIPE)
    subprocess.run(["tar", "-C", target, "-x", "--keep-directory-symlink", "--no-same-owner"],
                   stdin=pack.stdout, check=True, timeout=60)
    pack.stdout.close()
    if pack.wait(timeout=60) != 0:
        raise AssertionError(f"tar of {source} failed")


def stop_all():
    """Stops every container this process started (each stop is idempotent)."""
    for container in STARTED:
        container.stop()
