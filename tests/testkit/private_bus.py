# SPDX-License-Identifier: AGPL-3.0-or-later
"""A private dbus-daemon with the project's busconfig, for the dbus suite.

The bus is configured like Debian's system bus (owning names and calling methods denied by
default) and includes dbus/*.conf as they are installed, so what the tests see allowed and
denied is what the policy files allow and deny. Its socket lives in a directory anyone may
enter, so the tests can call as `nobody` too.
"""

import json
import os
import shutil
import subprocess
import tempfile
import threading
import time
from pathlib import Path

_REPO = Path(__file__).resolve().parents[2]
POLICY_DIR = os.environ.get("NEXUS_DBUS_POLICY_DIR") or str(_REPO / "dbus")
CONF_TEMPLATE = _REPO / "tests" / "dbus" / "bus.conf.in"
NEXUSCTL = os.environ.get("NEXUSCTL_BIN") or str(_REPO / "build" / "src" / "ctl" / "nexusctl")

# setpriv drops to an unprivileged user with no supplementary groups: not root, not in the
# nexus-relay group, like any other user of the machine.
AS_NOBODY = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"]


class PrivateBus:
    def __init__(self):
        self.dir = Path(tempfile.mkdtemp(prefix="nexus-bus-"))
        os.chmod(self.dir, 0o755)
        self.socket = self.dir / "bus"
        self.address = f"unix:path={self.socket}"
        config = CONF_TEMPLATE.read_text().replace("@SOCKET@", str(self.socket))
        (self.dir / "bus.conf").write_text(config.replace("@POLICY_DIR@", POLICY_DIR))
        self.process = None

    def start(self):
        if self.socket.exists():
            self.socket.unlink()  # a killed daemon leaves its socket behind
        self.process = subprocess.Popen(
            ["dbus-daemon", "--config-file", str(self.dir / "bus.conf"), "--nofork",
             "--print-address"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        address = self.process.stdout.readline()
        assert address.startswith("unix:"), f"dbus-daemon did not start: {address!r}"
        return self

    def kill(self):
        """SIGKILL: the bus vanishes under its clients, as in a crash."""
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=5)

    def close(self):
        self.kill()
        shutil.rmtree(self.dir, ignore_errors=True)

    def environment(self, base=None):
        """`base` (os.environ) with both bus addresses on this bus."""
        env = dict(os.environ if base is None else base)
        env["DBUS_SYSTEM_BUS_ADDRESS"] = self.address
        env["DBUS_SESSION_BUS_ADDRESS"] = self.address
        return env

    def busctl(self, *args, nobody=False, check=True, timeout=10):
        """busctl on this bus; with --json=short output parsed when `args` asks for it."""
        command = (AS_NOBODY if nobody else []) + ["busctl", f"--address={self.address}", *args]
        result = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
        if check and result.returncode != 0:
            raise AssertionError(f"{' '.join(command)}: {result.returncode} {result.stderr}")
        if "--json=short" in args and result.returncode == 0 and result.stdout.strip():
            return json.loads(result.stdout)
        return result

    def nexusctl(self, *args, nobody=False, env=None, timeout=15):
        """nexusctl with this bus as both buses, or with `env` as it is."""
        command = (AS_NOBODY if nobody else []) + [NEXUSCTL, *args]
        return subprocess.run(command, capture_output=True, text=True, timeout=timeout,
                              env=self.environment() if env is None else env)

    def has_name(self, name) -> bool:
        names = self.busctl("list", "--json=short", check=False)
        return isinstance(names, list) and any(n.get("name") == name for n in names)

    def wait_name(self, name, timeout=10.0):
        deadline = time.monotonic() + timeout
        while not self.has_name(name):
            if time.monotonic() > deadline:
                raise AssertionError(f"{name} did not appear on the bus within {timeout}s")
            time.sleep(0.05)


class SignalMonitor:
    """Signals from one object, collected by `busctl monitor` (the bus lets root monitor)."""

    def __init__(self, bus, path):
        self.messages = []
        self._lock = threading.Lock()
        self.process = subprocess.Popen(
            ["busctl", f"--address={bus.address}", "monitor", "--json=short",
             f"--match=type='signal',path='{path}'"],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        time.sleep(0.3)  # the monitor's match is in place before the test acts

    def _read(self):
        for line in self.process.stdout:
            try:
                message = json.loads(line)
            except ValueError:
                continue
            with self._lock:
                self.messages.append(message)

    def signals(self, member):
        """The payloads (lists of values) of the signals named `member` so far."""
        with self._lock:
            return [m["payload"]["data"] for m in self.messages if m.get("member") == member]

    def wait(self, member, predicate=lambda data: True, timeout=10.0):
        """The first `member` signal whose payload satisfies `predicate`."""
        deadline = time.monotonic() + timeout
        while True:
            found = [d for d in self.signals(member) if predicate(d)]
            if found:
                return found[0]
            if time.monotonic() > deadline:
                raise AssertionError(f"no {member} signal matching within {timeout}s; got "
                                     f"{[m.get('member') for m in self.messages]}")
            time.sleep(0.05)

    def changed(self, interface):
        """Every property name sent in PropertiesChanged for `interface`, in order."""
        names = []
        for iface, changed, _ in self.signals("PropertiesChanged"):
            if iface == interface:
                names += list(changed)
        return names

    def close(self):
        self.process.kill()
        self.process.wait(timeout=5)
