#!/usr/bin/python3
# SPDX-License-Identifier: AGPL-3.0-or-later
"""The real systemd, booted in a container, runs the installed build as the README says to
set it up: a Debian 12 root (made once by make-nspawn-root.sh) booted with systemd-nspawn on
a throw-away overlay and a private network, `meson install` copied in, then systemd-sysusers,
systemd-tmpfiles, the example client.conf and the token, and the agent's units enabled. The
agent dials a relay started in the container as a plain service. Checked for real: the first
request on the status socket starts the agent, `systemctl status` shows its STATUS= line,
`systemctl reload` goes RELOADING=1 then READY=1 with the agent still running, an agent that
stops answering is killed by the watchdog and restarted, `journalctl NEXUS_SLUG=demo` selects
its lines and `journalctl -x` explains them from the installed catalog.

Skipped (77) when not root or when systemd-nspawn, debootstrap, nsenter or curl is missing."""

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest

from nspawn_container import Container, copy_tree_into, stop_all, wait_for

BIN = os.environ["NEXUS_RELAY_BIN"]
BUILD_ROOT = os.environ["BUILD_ROOT"]
NSPAWN_ROOT = os.environ["NSPAWN_ROOT"]
MAKE_ROOT = os.environ["MAKE_NSPAWN_ROOT"]

# The relay's units (four sockets passed by name to a Type=notify service) are checked once the
# relay takes its listeners from systemd: set this to True then. NEXUS_NSPAWN_RELAY_UNITS=1
# runs that check before, to try a branch that wires it.
RELAY_TAKES_ITS_SOCKETS = True
CHECK_RELAY_UNITS = RELAY_TAKES_ITS_SOCKETS or os.environ.get("NEXUS_NSPAWN_RELAY_UNITS") == "1"

SLUG = "demo"
AGENT = "nexus-relay-client.service"
AGENT_SOCKET = "nexus-relay-client.socket"
RELAY = "nexus-test-relay.service"  # the relay as a plain service, until its units work
SERVER = "nexus-relay-server.service"
SITE_MARKER = "local site behind the agent"
# The installed WatchdogSec=30s would make the test wait over a minute; a drop-in shortens it.
WATCHDOG_SEC = 4
AGENT_REGISTERED_ID = "e205c6a8075b4b79ba17aae3a051f017"
RELAY_SOCKETS = {"control": 7443, "http": 7001, "websocket": 7002, "status": 7071}


def staged_install(build_root, destdir):
    """`meson install` of this build into destdir, as a package would lay it out."""
    subprocess.run([shutil.which("meson"), "install", "-C", build_root, "--no-rebuild",
                    "--quiet", "--destdir", destdir], check=True, capture_output=True,
                   timeout=120)


def set_option(conf_text, name, value):
    """client.conf with `name = value` set, replacing the example's line if it has one."""
    line = f"{name} = {value}"
    pattern = rf"^#?\s*{re.escape(name)}\s*=.*$"
    if re.search(pattern, conf_text, flags=re.M):
        return re.sub(pattern, line, conf_text, count=1, flags=re.M)
    return conf_text + line + "\n"


class BootedSystemTest(unittest.TestCase):
    container = None

    @classmethod
    def setUpClass(cls):
        started = time.monotonic()
        made = subprocess.run([MAKE_ROOT, NSPAWN_ROOT, BIN], stderr=subprocess.PIPE, text=True,
                              timeout=900)
        sys.stderr.write(made.stderr)
        if made.returncode != 0:
            raise AssertionError(f"could not make the root {NSPAWN_ROOT}")
        # In the build directory: what a SIGKILL of the test leaves stays there.
        cls.work = tempfile.TemporaryDirectory(dir=BUILD_ROOT, prefix="nspawn-run-")
        cls.addClassCleanup(cls.work.cleanup)
        stage = os.path.join(cls.work.name, "stage")
        staged_install(BUILD_ROOT, stage)
        cls.container = Container(NSPAWN_ROOT, os.path.join(cls.work.name, "boot.log"))
        # Cleanups run even when setUpClass fails, unlike tearDownClass.
        cls.addClassCleanup(cls.container.stop)
        booted = wait_for("systemd's bus", lambda: cls.container.run(
            "systemctl", "is-system-running", "--wait", check=False, timeout=90).stdout.strip(),
            timeout=90)
        if booted not in ("running", "degraded"):
            raise AssertionError(f"the container's system is {booted}")
        copy_tree_into(stage, cls.container.path("/"))
        cls.installed_bin = cls.exec_start_binary(stage)
        cls.set_up_as_the_readme_says()
        print(f"container booted and set up in {time.monotonic() - started:.0f} s",
              file=sys.stderr)

    @classmethod
    def exec_start_binary(cls, stage):
        """The binary the installed agent unit starts: the build's own prefix."""
        for unit_dir in ("lib/systemd/system", "usr/lib/systemd/system"):
            unit_path = os.path.join(stage, unit_dir, AGENT)
            if os.path.exists(unit_path):
                with open(unit_path, encoding="utf-8") as f:
                    return re.search(r"^ExecStart=(\S+)", f.read(), flags=re.M).group(1)
        raise AssertionError(f"meson install placed no {AGENT}")

    @classmethod
    def set_up_as_the_readme_says(cls):
        c = cls.container
        c.run("sh", "-c", "systemd-sysusers && systemd-tmpfiles --create nexus-relay.conf"
                          " && journalctl --update-catalog")
        # The D-Bus policies, where the system bus reads them whatever the build's prefix.
        prefix = os.path.dirname(os.path.dirname(cls.installed_bin))
        c.run("sh", "-c", f"cp {prefix}/share/dbus-1/system.d/*.conf /etc/dbus-1/system.d/"
                          " && systemctl reload dbus")
        # The relay, as the service user, with a directory holding the slug; its token is
        # printed once on stdout.
        as_service_user = ["runuser", "-u", "nexus-relay", "--", cls.installed_bin]
        c.run(*as_service_user, "directory", "init")
        token = c.run(*as_service_user, "directory", "add", SLUG).stdout.strip()
        cls.start_plain_relay()
        # The local site the agent forwards visitors to.
        os.makedirs(c.path("/srv/site"))
        with open(c.path("/srv/site/index.html"), "w", encoding="utf-8") as f:
            f.write(SITE_MARKER + "\n")
        c.run("systemd-run", "--unit=nexus-test-site", "--property=Type=exec", "python3", "-m",
              "http.server", "8080", "--bind", "127.0.0.1", "--directory", "/srv/site")
        # The example configuration, edited; the token in its own file, root's, 0600.
        docdir = os.path.dirname(os.path.dirname(cls.installed_bin)) + "/share/doc/nexus-relay"
        c.run("cp", f"{docdir}/examples/client.conf", "/etc/nexus-relay/")
        with open(c.path("/etc/nexus-relay/client.conf"), encoding="utf-8") as f:
            conf = f.read()
        for name, value in (("server", "127.0.0.1:7443"), ("slug", SLUG),
                            ("local-port", "8080"), ("insecure-plaintext", "true")):
            conf = set_option(conf, name, value)
        with open(c.path("/etc/nexus-relay/client.conf"), "w", encoding="utf-8") as f:
            f.write(conf)
        c.run("install", "-m", "0600", "/dev/null", "/etc/nexus-relay/token")
        with open(c.path("/etc/nexus-relay/token"), "w", encoding="utf-8") as f:
            f.write(token + "\n")
        dropin = c.path(f"/etc/systemd/system/{AGENT}.d")
        os.makedirs(dropin)
        with open(os.path.join(dropin, "test-watchdog.conf"), "w", encoding="utf-8") as f:
            f.write(f"[Service]\nWatchdogSec={WATCHDOG_SEC}s\n")
        c.run("systemctl", "daemon-reload")
        c.run("systemctl", "enable", "--now", AGENT_SOCKET, AGENT)

    @classmethod
    def start_plain_relay(cls):
        cls.container.run(
            "systemd-run", f"--unit={RELAY}", "--property=Type=exec",
            "--property=User=nexus-relay", "--property=StateDirectory=nexus-relay",
            cls.installed_bin, "server", "--ws-port", "0", "--status-listen", "off")

    # Helpers.

    def show(self, unit, prop):
        return self.container.run("systemctl", "show", unit, f"--property={prop}",
                                  "--value").stdout.strip()

    def journal(self, *match):
        result = self.container.run("journalctl", "--no-pager", "--output=json", *match)
        return [json.loads(line) for line in result.stdout.splitlines() if line.strip()]

    def wait_registered(self, timeout=30):
        return wait_for(f'the agent registered as "{SLUG}"', lambda: (
            self.show(AGENT, "ActiveState") == "active"
            and self.show(AGENT, "StatusText").startswith(f'Registered as slug "{SLUG}"')),
            timeout=timeout)

    def agent_journal_text(self, since_cursor=None):
        argv = ["journalctl", "--no-pager", "-u", AGENT, "-o", "cat"]
        if since_cursor:
            argv.append(f"--after-cursor={since_cursor}")
        return self.container.run(*argv).stdout

    def journal_cursor(self):
        out = self.container.run("journalctl", "--no-pager", "-n", "0", "--show-cursor").stdout
        return out.strip().rpartition("-- cursor: ")[2]

    # The agent's units.

    def test_first_request_on_the_status_socket_starts_the_agent(self):
        c = self.container
        c.run("systemctl", "stop", AGENT)
        self.assertEqual(self.show(AGENT, "ActiveState"), "inactive")
        self.assertEqual(self.show(AGENT_SOCKET, "ActiveState"), "active",
                         "the socket keeps listening while the agent is stopped")
        status, body = c.http_get(7070, "/status")
        self.assertEqual(status, 200, body)
        self.assertEqual(json.loads(body)["slug"], SLUG)
        self.assertEqual(self.show(AGENT, "ActiveState"), "active")
        self.assertEqual(self.show(AGENT, "TriggeredBy"), AGENT_SOCKET)
        self.wait_registered()
        status, body = c.http_get(7070, "/healthz")
        self.assertEqual(status, 200, body)

    def test_systemctl_status_shows_the_agents_state_line(self):
        c = self.container
        self.wait_registered()
        shown = c.run("systemctl", "status", "--no-pager", AGENT).stdout
        self.assertIn(f'Status: "Registered as slug "{SLUG}" on 127.0.0.1:7443 (v2, plaintext)"',
                      shown)
        # The line follows the state: the relay gone, the agent backs off and says why.
        c.run("systemctl", "stop", RELAY)
        try:
            # First "Relay closed the connection", then refused dials.
            seen = []

            def refused():
                seen.append(self.show(AGENT, "StatusText"))
                return re.fullmatch(r"Backing off \d+ s after: .*Connection refused", seen[-1])

            try:
                wait_for("a backoff state line", refused)
            except AssertionError as e:
                raise AssertionError(f"{e}; the agent said: {sorted(set(seen))}") from None
            self.assertRegex(c.run("systemctl", "status", "--no-pager", AGENT).stdout,
                             r'Status: "Backing off \d+ s after: .*Connection refused"')
        finally:
            self.start_plain_relay()
        self.wait_registered(timeout=60)

    def test_reload_goes_reloading_then_ready_and_the_agent_keeps_running(self):
        c = self.container
        self.wait_registered()
        pid = self.show(AGENT, "MainPID")
        restarts = self.show(AGENT, "NRestarts")
        cursor = self.journal_cursor()
        # systemd logs the notifications it receives at debug level only.
        c.run("systemctl", "log-level", "debug")
        try:
            c.run("systemctl", "reload", AGENT)
            wait_for("READY=1 after the reload", lambda: re.search(
                rf"from PID {pid} \(RELOADING=1.*\n(.*\n)*.*from PID {pid} \(READY=1",
                c.run("journalctl", "--no-pager", "_PID=1", "-o", "cat",
                      f"--after-cursor={cursor}").stdout), timeout=10)
        finally:
            c.run("systemctl", "log-level", "info")
        self.assertEqual(self.show(AGENT, "ActiveState"), "active")
        self.assertEqual(self.show(AGENT, "SubState"), "running")
        self.assertEqual(self.show(AGENT, "MainPID"), pid, "reloaded in place, not restarted")
        self.assertEqual(self.show(AGENT, "NRestarts"), restarts)
        self.assertIn("Configuration reloaded", self.agent_journal_text(cursor))
        self.wait_registered()

    def test_watchdog_restarts_an_agent_that_stops_answering(self):
        c = self.container
        self.wait_registered()
        pid = self.show(AGENT, "MainPID")
        restarts = int(self.show(AGENT, "NRestarts"))
        self.assertEqual(self.show(AGENT, "WatchdogUSec"), f"{WATCHDOG_SEC}s")
        # Alive, the agent pings in time: well past WatchdogSec, the same process.
        time.sleep(2.5 * WATCHDOG_SEC)
        self.assertEqual(self.show(AGENT, "MainPID"), pid)
        self.assertEqual(int(self.show(AGENT, "NRestarts")), restarts)
        cursor = self.journal_cursor()
        c.run("systemctl", "kill", "--signal=SIGSTOP", "--kill-who=main", AGENT)
        wait_for("the watchdog's restart", lambda: int(self.show(AGENT, "NRestarts")) > restarts,
                 timeout=WATCHDOG_SEC + 20)
        self.assertIn(f"{AGENT}: Watchdog timeout (limit {WATCHDOG_SEC}s)!", c.run(
            "journalctl", "--no-pager", "_PID=1", "-o", "cat", f"--after-cursor={cursor}").stdout)
        self.wait_registered()
        self.assertNotEqual(self.show(AGENT, "MainPID"), pid)

    def test_journal_selects_the_agents_lines_by_slug_and_explains_them(self):
        c = self.container
        self.wait_registered()
        entries = self.journal(f"NEXUS_SLUG={SLUG}")
        agents = [e for e in entries if e.get("_SYSTEMD_UNIT") == AGENT]
        self.assertTrue(agents, f"no line of {AGENT} with NEXUS_SLUG={SLUG}")
        registered = [e for e in agents if e.get("MESSAGE_ID") == AGENT_REGISTERED_ID]
        self.assertTrue(registered, "the registration carries its MESSAGE_ID")
        self.assertIn(f'Registered as slug "{SLUG}"', registered[-1]["MESSAGE"])
        self.assertEqual(registered[-1]["NEXUS_PROTOCOL"], "v2")
        self.assertEqual(self.journal(f"NEXUS_SLUG=not-{SLUG}"), [])
        explained = c.run("journalctl", "--no-pager", "-x", f"MESSAGE_ID={AGENT_REGISTERED_ID}",
                          "-n", "1").stdout
        self.assertIn(f"Subject: Agent registered as slug {SLUG}", explained)

    def test_a_missing_or_empty_token_stops_the_start_with_one_line_naming_it(self):
        c = self.container
        c.run("mv", "/etc/nexus-relay/token", "/etc/nexus-relay/token.away")
        try:
            c.run("systemctl", "stop", AGENT_SOCKET, AGENT)
            c.run("systemctl", "reset-failed", AGENT, check=False)
            # Missing: not configured yet, so the start is skipped, the file named.
            c.run("systemctl", "start", AGENT, check=False)
            shown = c.run("systemctl", "status", "--no-pager", AGENT, check=False).stdout
            self.assertRegex(shown, r"ConditionPathExists=/etc/nexus-relay/token was not met",
                             shown)
            # Empty: the start fails at once, the file named, and is not retried.
            c.run("install", "-m", "0600", "/dev/null", "/etc/nexus-relay/token")
            started = c.run("systemctl", "start", AGENT, check=False)
            self.assertNotEqual(started.returncode, 0, "the start must fail")
            shown = c.run("systemctl", "status", "--no-pager", AGENT, check=False).stdout
            self.assertRegex(shown, r"AssertFileNotEmpty=/etc/nexus-relay/token was not met",
                             shown)
            time.sleep(6)
            self.assertIn(self.show(AGENT, "ActiveState"), ("failed", "inactive"), shown)
            self.assertEqual(self.show(AGENT, "NRestarts"), "0", shown)
        finally:
            c.run("mv", "/etc/nexus-relay/token.away", "/etc/nexus-relay/token")
            c.run("systemctl", "reset-failed", AGENT, check=False)
            c.run("systemctl", "start", AGENT_SOCKET, AGENT)
        self.wait_registered()

    def test_busctl_and_nexusctl_read_the_agent_on_the_system_bus(self):
        c = self.container
        self.wait_registered()
        state = wait_for("the agent's object on the system bus", lambda: c.run(
            "busctl", "get-property", "app.nexusnode.Relay1.Client",
            "/app/nexusnode/Relay1/Client", "app.nexusnode.Relay1.Client", "State",
            check=False).stdout.strip(), timeout=15)
        self.assertEqual(state, 's "registered"')
        nexusctl = os.path.join(os.path.dirname(self.installed_bin), "nexusctl")
        shown = json.loads(c.run(nexusctl, "status", "--json").stdout)
        self.assertEqual(shown["State"], "registered", shown)

    def test_a_visitor_reaches_the_local_site_through_relay_and_agent(self):
        self.wait_registered()
        status, body = self.container.http_get(7001, "/", host=f"{SLUG}.nexusnode.app")
        self.assertEqual(status, 200, body)
        self.assertIn(SITE_MARKER, body)

    # The relay's units.

    @unittest.skipUnless(CHECK_RELAY_UNITS, "the relay does not take its listeners from "
                         "systemd yet (RELAY_TAKES_ITS_SOCKETS)")
    def test_relay_units_take_their_four_sockets_by_name(self):
        c = self.container
        sockets = [f"nexus-relay-server-{name}.socket" for name in RELAY_SOCKETS]
        c.run("systemctl", "stop", RELAY)
        docdir = os.path.dirname(os.path.dirname(self.installed_bin)) + "/share/doc/nexus-relay"
        c.run("cp", f"{docdir}/examples/server.conf", "/etc/nexus-relay/")
        try:
            self.check_relay_units(sockets)
        except AssertionError:
            print("the relay's journal:\n" + c.run("journalctl", "--no-pager", "-u",
                  SERVER, "-o", "cat", check=False).stdout, file=sys.stderr)
            raise
        finally:
            c.run("systemctl", "disable", "--now", SERVER, *sockets, check=False)
            self.start_plain_relay()
        self.wait_registered(timeout=60)

    def check_relay_units(self, sockets):
        c = self.container
        c.run("systemctl", "enable", "--now", *sockets)
        for name in sockets:
            self.assertEqual(self.show(name, "ActiveState"), "active", name)
        self.assertEqual(self.show(SERVER, "ActiveState"), "inactive")
        # status: the first request starts the relay. systemd holds every port, so a relay
        # that bound its own instead of taking them would fail with EADDRINUSE.
        status, body = c.http_get(RELAY_SOCKETS["status"], "/healthz")
        self.assertIn(status, (200, 503), body)
        wait_for("the relay's READY=1", lambda: self.show(SERVER, "ActiveState") == "active")
        # control: the agent, backing off since the plain relay left, registers again.
        self.wait_registered(timeout=60)
        # http: a visitor reaches the site through the relay's socket.
        status, body = c.http_get(RELAY_SOCKETS["http"], "/", host=f"{SLUG}.nexusnode.app")
        self.assertEqual(status, 200, body)
        self.assertIn(SITE_MARKER, body)
        # The request's journal entry carries its fields: `journalctl NEXUS_SLUG=demo` works.
        def request_entry():
            entries = self.journal(f"_SYSTEMD_UNIT={SERVER}", f"NEXUS_SLUG={SLUG}",
                                   "NEXUS_STATUS=200")
            return entries[-1] if entries else None
        entry = wait_for("the relay's request line in the journal", request_entry, timeout=10)
        for field in ("NEXUS_REQUEST_ID", "NEXUS_METHOD", "NEXUS_PATH", "NEXUS_DURATION_US",
                      "NEXUS_REMOTE", "NEXUS_DOOR", "NEXUS_PROTOCOL"):
            self.assertIn(field, entry)
        # STATUS=: the relay's load, as `systemctl status` shows it.
        wait_for("the relay's STATUS= line with its tunnel", lambda: re.fullmatch(
            r"1 tunnel, \d+ req/min", self.show(SERVER, "StatusText")), timeout=15)
        # websocket: the door answers HTTP (a plain GET is no upgrade).
        status, _ = c.http_get(RELAY_SOCKETS["websocket"], "/tunnel")
        self.assertEqual(status, 426)
        # A restart keeps the sockets open: the agent's next dial is queued, never refused.
        cursor = self.journal_cursor()
        c.run("systemctl", "restart", SERVER)
        self.wait_registered(timeout=60)
        self.assertNotIn("Connection refused", self.agent_journal_text(cursor))


def main():
    if os.geteuid() != 0:
        print("skipped: booting a container needs root", file=sys.stderr)
        return 77
    missing = [tool for tool in ("systemd-nspawn", "debootstrap", "nsenter", "curl", "meson")
               if not shutil.which(tool)]
    if missing:
        print(f"skipped: {', '.join(missing)} not installed (scripts/install-deps.sh installs "
              "them)", file=sys.stderr)
        return 77
    # meson's timeout sends SIGTERM: end as after Ctrl-C, so the container is stopped.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        result = unittest.main(exit=False, verbosity=2).result
    finally:
        stop_all()
    return 0 if result.wasSuccessful() else 1


if __name__ == "__main__":
    sys.exit(main())
