#!/usr/bin/python3
# SPDX-License-Identifier: AGPL-3.0-or-later
"""The Debian packages, built and installed for real. The tree's files (as a clean clone has
them) are built by `dpkg-buildpackage -b` into the build directory, then once more at a lower
version (the same build, only debian/changelog changed) to have a previous version to upgrade
from; lintian checks both packages. Each scenario then boots the Debian 12 root of the
systemd suite (make-nspawn-root.sh) with systemd-nspawn on a throw-away overlay and installs
the packages with apt inside, never on this machine:

- a fresh install: the program runs, the system user exists, the agent's units are enabled
  but skipped while no token exists, the relay's are installed but not enabled; then set up
  as the README says (relay sockets, directory, client.conf, token) a visitor reaches a local
  site through the packaged relay and agent; debian/tests/loopback (the autopkgtest) passes
  on the installed program; a purge leaves no file behind (the system user stays, as Debian
  leaves system users);
- an upgrade from the previous version with an edited client.conf and a running agent: the
  edits and the token are kept, the agent restarts on the new package and registers again.

Skipped (77) when not root or when debhelper, lintian, systemd-nspawn, debootstrap or
nsenter is missing. The package build is a second full compile: with ccache (pointed at the
user's cache, see ccache_settings) it reuses the objects of the previous run, since the
build always happens in the same directory. The
packages stay in build/package-test when a check fails; NEXUS_PACKAGE_REUSE=1 then runs the
checks again on them without building."""

import glob
import os
import shutil
import signal
import subprocess
import sys
import time
import unittest

from nspawn_container import Container, stop_all, wait_for

SOURCE_ROOT = os.environ["SOURCE_ROOT"]
BUILD_ROOT = os.environ["BUILD_ROOT"]
BIN = os.environ["NEXUS_RELAY_BIN"]
NSPAWN_ROOT = os.environ["NSPAWN_ROOT"]
MAKE_ROOT = os.environ["MAKE_NSPAWN_ROOT"]
WORK = os.path.join(BUILD_ROOT, "package-test")

VERSION = "0.2.0-1"
PREVIOUS = "0.2.0-0~previous1"
PACKAGES = ("nexus-relay", "nexus-relay-server")
AGENT = "nexus-relay-client.service"
AGENT_SOCKET = "nexus-relay-client.socket"
SERVER = "nexus-relay-server.service"
SERVER_SOCKETS = [f"nexus-relay-server-{name}.socket"
                  for name in ("control", "http", "websocket", "status")]
AGENT_REGISTERED_ID = "e205c6a8075b4b79ba17aae3a051f017"
SLUG = "myforum"  # not "demo": the directory API reserves it
SITE_MARKER = "local site behind the packaged agent"
# The VPS scenarios' domain, its hosts named in the container's /etc/hosts.
VPS_DOMAIN = "nexus.test"
VPS_HOSTS = [VPS_DOMAIN] + [f"{name}.{VPS_DOMAIN}" for name in ("relay", "tunnel", SLUG)]
CADDY_DATA = "/var/lib/nexus-test-caddy"
TOKEN_01 = "0123456789abcdef" * 4
DEBS_IN_CONTAINER = "/var/cache/nexus-debs"


def run(argv, cwd=None, env=None, timeout=1800):
    result = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True,
                            timeout=timeout)
    if result.returncode != 0:
        raise AssertionError(f"{' '.join(argv)} exited with {result.returncode}:\n"
                             f"{result.stdout[-3000:]}{result.stderr[-3000:]}")
    return result


def copy_tracked_tree(source, target):
    """The files git knows (committed or added, plus new files not ignored), as a clean
    clone has them: never the build directories nor a developer's stray outputs."""
    listed = run(["git", "-C", source, "ls-files", "-z", "--cached", "--others",
                  "--exclude-standard"]).stdout.split("\0")
    files = [f for f in listed if f and os.path.lexists(os.path.join(source, f))]
    os.makedirs(target)
    pack = subprocess.Popen(["tar", "-C", source, "--null", "-T", "-", "-c"],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    unpack = subprocess.Popen(["tar", "-C", target, "-x"], stdin=pack.stdout)
    pack.stdout.close()
    pack.stdin.write("\0".join(files).encode())
    pack.stdin.close()
    if pack.wait(timeout=120) != 0 or unpack.wait(timeout=120) != 0:
        raise AssertionError(f"copying {source} failed")


def debs_in(directory):
    return sorted(d for d in glob.glob(os.path.join(directory, "*.deb")) if "-dbgsym_" not in d)


def ccache_settings():
    """debhelper 13 builds with HOME in the package tree, where ccache would start an empty
    cache each time: name the user's cache and configuration instead."""
    if not shutil.which("ccache"):
        return {}
    settings = {"CCACHE_DIR": run(["ccache", "-k", "cache_dir"]).stdout.strip()}
    config = os.path.join(os.environ.get("XDG_CONFIG_HOME", os.path.expanduser("~/.config")),
                          "ccache", "ccache.conf")
    if "CCACHE_CONFIGPATH" not in os.environ and os.path.exists(config):
        settings["CCACHE_CONFIGPATH"] = config
    return settings


def build_packages(tree, version, output, clean, host_arch=None):
    """dpkg-buildpackage -b at `version`, the .debs moved into `output`; without `clean`,
    only the binary stage runs again on the previous build. With `host_arch`, a cross build
    (-a) for that Debian architecture."""
    with open(os.path.join(tree, "debian/changelog"), encoding="utf-8") as f:
        changelog = f.read()
    first, rest = changelog.split("\n", 1)
    with open(os.path.join(tree, "debian/changelog"), "w", encoding="utf-8") as f:
        f.write(f"nexus-relay ({version}) {first.split(') ', 1)[1]}\n{rest}")
    # No -dbgsym package: compressing the debug symbols takes a minute and nothing uses them.
    env = dict(os.environ, DEB_BUILD_OPTIONS="nocheck noautodbgsym parallel=2", LC_ALL="C.UTF-8")
    env.update(ccache_settings())
    cross = []
    if host_arch:
        cross = ["-a", host_arch]
        # debhelper's cross file names the first cross compiler on PATH: ccache's, if any.
        env["PATH"] = f"/usr/lib/ccache:{env['PATH']}"
    if not clean:
        # The list of the files built last time, which were moved away.
        os.remove(os.path.join(tree, "debian/files"))
    argv = ["dpkg-buildpackage", "-us", "-uc", "-b", "-Pnocheck", *cross]
    argv += [] if clean else ["-nc"]
    started = time.monotonic()
    run(argv, cwd=tree, env=env, timeout=3600)
    print(f"dpkg-buildpackage {version}: {time.monotonic() - started:.0f} s", file=sys.stderr)
    os.makedirs(output)
    parent = os.path.dirname(tree)
    for name in glob.glob(os.path.join(parent, f"*_{version}_*")):
        shutil.move(name, output)
    return debs_in(output)


class PackageTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        new, previous = os.path.join(WORK, "new"), os.path.join(WORK, "previous")
        if os.environ.get("NEXUS_PACKAGE_REUSE") == "1" and os.path.isdir(previous):
            print(f"reusing the packages in {WORK}", file=sys.stderr)
            cls.debs, cls.previous_debs = debs_in(new), debs_in(previous)
        else:
            shutil.rmtree(WORK, ignore_errors=True)
            tree = os.path.join(WORK, "src", "nexus-relay-0.2.0")
            copy_tracked_tree(SOURCE_ROOT, tree)
            cls.debs = build_packages(tree, VERSION, new, clean=True)
            cls.previous_debs = build_packages(tree, PREVIOUS, previous, clean=False)
        made = subprocess.run([MAKE_ROOT, NSPAWN_ROOT, BIN], stderr=subprocess.PIPE, text=True,
                              timeout=900)
        sys.stderr.write(made.stderr)
        if made.returncode != 0:
            raise AssertionError(f"could not make the root {NSPAWN_ROOT}")

    # Helpers.

    def boot(self, name):
        started = time.monotonic()
        c = Container(NSPAWN_ROOT, os.path.join(WORK, f"{name}.boot.log"))
        self.addCleanup(c.stop)
        state = wait_for("systemd's bus", lambda: c.run(
            "systemctl", "is-system-running", "--wait", check=False, timeout=90).stdout.strip(),
            timeout=90)
        self.assertIn(state, ("running", "degraded"))
        os.makedirs(c.path(DEBS_IN_CONTAINER))
        print(f"{name}: booted in {time.monotonic() - started:.0f} s", file=sys.stderr)
        return c

    def apt_install(self, c, debs):
        inside = []
        for deb in debs:
            shutil.copy(deb, c.path(DEBS_IN_CONTAINER))
            inside.append(f"{DEBS_IN_CONTAINER}/{os.path.basename(deb)}")
        # The root has every library the program links: nothing comes from the network (the
        # container has none).
        return c.run("env", "DEBIAN_FRONTEND=noninteractive", "apt-get", "install", "-y",
                     "--no-install-recommends", *inside, timeout=300)

    def show(self, c, unit, prop):
        return c.run("systemctl", "show", unit, f"--property={prop}", "--value").stdout.strip()

    def installed_version(self, c, package):
        return c.run("dpkg-query", "-W", "-f=${Status} ${Version}", package,
                     check=False).stdout.strip()

    def set_up_relay_site_and_agent(self, c):
        """As the README sets them up: the relay's directory and sockets, a local site, the
        agent's client.conf (the shipped one with settings appended) and its token."""
        as_service_user = ["runuser", "-u", "nexus-relay", "--", "/usr/bin/nexus-relay"]
        c.run(*as_service_user, "directory", "init")
        token = c.run(*as_service_user, "directory", "add", SLUG).stdout.strip()
        c.run("systemctl", "enable", "--now", *SERVER_SOCKETS)
        self.start_site(c)
        with open(c.path("/etc/nexus-relay/client.conf"), "a", encoding="utf-8") as f:
            f.write(f"server = 127.0.0.1:7443\nslug = {SLUG}\nlocal-port = 8080\n"
                    "insecure-plaintext = true\n")
        c.run("install", "-m", "0600", "/dev/null", "/etc/nexus-relay/token")
        with open(c.path("/etc/nexus-relay/token"), "w", encoding="utf-8") as f:
            f.write(token + "\n")
        c.run("systemctl", "start", AGENT)

    def wait_registered(self, c):
        wait_for(f'the agent registered as "{SLUG}"', lambda: (
            self.show(c, AGENT, "ActiveState") == "active"
            and self.show(c, AGENT, "StatusText").startswith(f'Registered as slug "{SLUG}"')),
            timeout=60)

    def assert_site_reached_through_the_relay(self, c):
        status, body = c.http_get(7001, "/", host=f"{SLUG}.nexusnode.app")
        self.assertEqual(status, 200, body)
        self.assertIn(SITE_MARKER, body)

    def set_up_vps(self, c):
        """The VPS as the README sets it up from the packages, in the same container: the
        relay for VPS_DOMAIN with its directory API, its sockets, and Caddy with the shipped
        example Caddyfile. Caddy's certificates come from its internal CA, which is made a
        CA of the system (as Let's Encrypt's is), so nothing is told to trust it. The caddy
        program is the host's (the root has no caddy package, the container no network)."""
        with open(c.path("/etc/hosts"), "a", encoding="utf-8") as f:
            f.write("127.0.0.1 " + " ".join(VPS_HOSTS) + "\n")
        with open(c.path("/etc/nexus-relay/server.conf"), "a", encoding="utf-8") as f:
            f.write(f"domain = {VPS_DOMAIN}\nmain-slug = www\n"
                    f"main-redirect = https://www.{VPS_DOMAIN}/\ndirectory-api = true\n")
        c.run("runuser", "-u", "nexus-relay", "--", "/usr/bin/nexus-relay", "directory", "init")
        c.run("systemctl", "enable", "--now", *SERVER_SOCKETS)
        shutil.copy("/usr/bin/caddy", c.path("/usr/local/bin/caddy"))
        # No admin endpoint: Caddy would resolve "localhost" for it, and Go's resolver asks the
        # DNS first, which the container (no network) does not have.
        example = c.run("zcat", "-f", "/usr/share/doc/nexus-relay-server/examples/Caddyfile")
        os.makedirs(c.path("/etc/caddy"))
        with open(c.path("/etc/caddy/Caddyfile"), "w", encoding="utf-8") as f:
            f.write(example.stdout.replace("nexusnode.app", VPS_DOMAIN).replace(
                "{\n", "{\n\tlocal_certs\n\tskip_install_trust\n\tadmin off\n", 1))
        c.run("systemd-run", "--unit=nexus-test-caddy", "--property=Type=exec",
              f"--setenv=XDG_DATA_HOME={CADDY_DATA}", f"--setenv=HOME={CADDY_DATA}",
              "/usr/local/bin/caddy", "run", "--config", "/etc/caddy/Caddyfile")
        ca = f"{CADDY_DATA}/caddy/pki/authorities/local/root.crt"
        wait_for("Caddy's CA and its port 443", lambda: os.path.exists(c.path(ca)) and c.run(
            "curl", "-sk", "-o", "/dev/null", f"https://{VPS_DOMAIN}/", check=False,
            timeout=20).returncode == 0, timeout=30)
        # OpenSSL's hashed directory (the agent) and Debian's bundle (libcurl, curl).
        digest = subprocess.run(["openssl", "x509", "-hash", "-noout", "-in", c.path(ca)],
                                capture_output=True, text=True, check=True).stdout.strip()
        os.makedirs(c.path("/etc/ssl/certs"), exist_ok=True)
        # copyfile, not copy: Caddy keeps its root 0600, and the agent reads the store as the
        # nexus-relay user.
        shutil.copyfile(c.path(ca), c.path(f"/etc/ssl/certs/{digest}.0"))
        with open(c.path(ca), encoding="utf-8") as source, open(
                c.path("/etc/ssl/certs/ca-certificates.crt"), "a", encoding="utf-8") as bundle:
            bundle.write(source.read())

    def start_site(self, c):
        os.makedirs(c.path("/srv/site"), exist_ok=True)
        with open(c.path("/srv/site/index.html"), "w", encoding="utf-8") as f:
            f.write(SITE_MARKER + "\n")
        c.run("systemd-run", "--unit=nexus-test-site", "--property=Type=exec", "python3", "-m",
              "http.server", "8080", "--bind", "127.0.0.1", "--directory", "/srv/site")

    def public_page(self, c):
        return c.run("curl", "-sS", "-m", "20", f"https://{SLUG}.{VPS_DOMAIN}/",
                     check=False).stdout

    def agent_files(self, c):
        def content(path):
            if not os.path.exists(c.path(path)):
                return None
            with open(c.path(path), "rb") as f:
                return f.read()
        return {path: content(path)
                for path in ("/etc/nexus-relay/client.conf", "/etc/nexus-relay/token")}

    @staticmethod
    def token_in(c):
        with open(c.path("/etc/nexus-relay/token"), encoding="utf-8") as f:
            return f.read().strip()

    def files_named_nexus(self, c):
        # Not the test's own files: the copied packages, the site's transient unit.
        found = c.run("find", "/etc", "/usr", "/var", "/run", "/srv", "-xdev", "-name",
                      "*nexus*", "-not", "-path", f"{DEBS_IN_CONTAINER}*", "-not", "-name",
                      "nexus-test-*", check=False).stdout
        return sorted(found.split())

    # Scenarios.

    def test_lintian_reports_no_error(self):
        changes = glob.glob(os.path.join(WORK, "new", "*.changes"))
        self.assertEqual(len(changes), 1, changes)
        result = subprocess.run(["lintian", "--fail-on", "error", "--tag-display-limit", "0",
                                 changes[0]], capture_output=True, text=True, timeout=600)
        print(f"lintian:\n{result.stdout}", file=sys.stderr)
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        self.assertNotRegex(result.stdout, r"(?m)^E: ")

    def test_install_set_up_and_purge(self):
        c = self.boot("install")
        before = self.files_named_nexus(c)
        self.apt_install(c, self.debs)
        for package in PACKAGES:
            self.assertEqual(self.installed_version(c, package), f"install ok installed {VERSION}")
        self.assertEqual(c.run("nexus-relay", "--version").stdout.strip(), "nexus-relay 0.2.0")
        user = c.run("getent", "passwd", "nexus-relay").stdout.strip().split(":")
        self.assertEqual(user[5], "/var/lib/nexus-relay")
        self.assertIn("nologin", user[6])
        self.assertEqual(c.run("stat", "-c", "%a %U %G", "/etc/nexus-relay").stdout.strip(),
                         "750 root nexus-relay")
        self.assertEqual(c.run("stat", "-c", "%a %U", "/var/lib/nexus-relay").stdout.strip(),
                         "750 nexus-relay")
        conffiles = c.run("dpkg-query", "-W", "-f=${Conffiles}", *PACKAGES).stdout
        self.assertIn("/etc/nexus-relay/client.conf", conffiles)
        self.assertIn("/etc/nexus-relay/server.conf", conffiles)
        self.assertTrue(os.path.exists(c.path("/usr/share/man/man1/nexus-relay.1.gz")))
        self.assertIn(AGENT_REGISTERED_ID, c.run("journalctl", "--list-catalog").stdout)

        # The agent: enabled and started at installation, skipped until configured.
        for unit in (AGENT, AGENT_SOCKET):
            self.assertEqual(c.run("systemctl", "is-enabled", unit, check=False).stdout.strip(),
                             "enabled", unit)
        for unit in (AGENT, AGENT_SOCKET):
            self.assertEqual(self.show(c, unit, "ActiveState"), "inactive", unit)
            self.assertEqual(self.show(c, unit, "ConditionResult"), "no", unit)
        self.assertEqual(c.http_get(7070, "/healthz")[0], 0, "the status port stays closed")
        self.assertEqual(self.show(c, AGENT, "NRestarts"), "0")
        self.assertIn("unmet condition check (ConditionPathExists=/etc/nexus-relay/token)",
                      c.run("systemctl", "status", "--no-pager", AGENT, check=False).stdout)
        for url in self.show(c, AGENT, "Documentation").split():
            self.assertTrue(os.path.exists(c.path(url.removeprefix("file://"))), url)
        # The relay: installed, not enabled, not listening.
        for unit in [SERVER] + SERVER_SOCKETS:
            self.assertEqual(c.run("systemctl", "is-enabled", unit, check=False).stdout.strip(),
                             "disabled", unit)
            self.assertEqual(self.show(c, unit, "ActiveState"), "inactive", unit)

        # Set up: a visitor reaches the local site through the packaged relay and agent.
        self.set_up_relay_site_and_agent(c)
        self.wait_registered(c)
        self.assert_site_reached_through_the_relay(c)
        self.assertEqual(self.show(c, AGENT_SOCKET, "ActiveState"), "active",
                         "starting the agent opened its status socket")
        self.assertEqual(c.http_get(7070, "/healthz")[0], 200)

        # The autopkgtest, in a copy of the source tree as autopkgtest runs it; beside the
        # packaged relay and agent, which keep their ports.
        tree = c.path("/root/src")
        for name in ("debian/tests/loopback", "scripts/demo.sh", "tests/testkit/sample_site.py"):
            os.makedirs(os.path.dirname(os.path.join(tree, name)), exist_ok=True)
            shutil.copy2(os.path.join(SOURCE_ROOT, name), os.path.join(tree, name))
        os.makedirs(c.path("/root/autopkgtest-tmp"))
        loopback = c.run("sh", "-c", "cd /root/src && AUTOPKGTEST_TMP=/root/autopkgtest-tmp "
                         "debian/tests/loopback", timeout=120)
        self.assertIn("demo OK", loopback.stdout)
        shutil.rmtree(tree)

        # Purge: no file of the packages, the configuration or the state is left.
        c.run("systemctl", "stop", "nexus-test-site.service")
        c.run("env", "DEBIAN_FRONTEND=noninteractive", "apt-get", "purge", "-y", *PACKAGES,
              timeout=300)
        for package in PACKAGES:
            self.assertIn(self.installed_version(c, package), ("", "unknown ok not-installed"))
        self.assertEqual(self.files_named_nexus(c), before)
        for unit in [AGENT, AGENT_SOCKET, SERVER] + SERVER_SOCKETS:
            self.assertEqual(self.show(c, unit, "LoadState"), "not-found", unit)
        self.assertNotIn(AGENT_REGISTERED_ID, c.run("journalctl", "--list-catalog").stdout)
        # Debian keeps system users: files elsewhere may still carry the uid.
        self.assertEqual(c.run("getent", "passwd", "nexus-relay", check=False).returncode, 0)

    def test_nexusctl_setup_takes_a_fresh_install_to_its_public_url(self):
        c = self.boot("setup")
        self.apt_install(c, self.debs)
        self.set_up_vps(c)
        self.start_site(c)
        before = self.agent_files(c)

        # What the home user types, with no terminal: the relay's control port has no
        # certificate here, so setup falls back to the WebSocket door through Caddy's 443.
        argv = ["nexusctl", "setup", "--slug", SLUG, "--name", "Demo", "--relay",
                f"relay.{VPS_DOMAIN}:7443", "--directory", f"https://{VPS_DOMAIN}",
                "--local-port", "8080", "--yes"]
        done = c.run(*argv, check=False, timeout=180)
        self.assertEqual(done.returncode, 0, done.stdout + done.stderr)
        self.assertIn(f"wss://relay.{VPS_DOMAIN}/tunnel", done.stdout)
        self.assertIn(f"https://{SLUG}.{VPS_DOMAIN}/", done.stdout)
        # The real systemd runs the packaged agent, enabled for the next boot.
        self.assertEqual(c.run("systemctl", "is-enabled", AGENT).stdout.strip(), "enabled")
        self.wait_registered(c)
        self.assertEqual(c.run("stat", "-c", "%a %U", "/etc/nexus-relay/token").stdout.strip(),
                         "600 root")
        with open(c.path("/etc/nexus-relay/client.conf"), encoding="utf-8") as f:
            conf = f.read()
        self.assertIn(f"slug = {SLUG}", conf)
        token = self.token_in(c)
        self.assertNotIn(token, conf)
        self.assertIn(SITE_MARKER, self.public_page(c))
        self.assertNotEqual(self.agent_files(c), before)

        # Bad input changes nothing: the slug is now taken, and no terminal asks for another.
        written = self.agent_files(c)
        agent_pid = self.show(c, AGENT, "MainPID")
        again = c.run(*argv, check=False, timeout=120)
        self.assertNotEqual(again.returncode, 0)
        self.assertEqual(len(again.stderr.strip().splitlines()), 1, again.stderr)
        self.assertIn("taken", again.stderr)
        self.assertEqual(self.agent_files(c), written)
        self.assertEqual(self.show(c, AGENT, "MainPID"), agent_pid)

    def test_setup_import_moves_a_0_1_install_to_the_package_for_good(self):
        c = self.boot("import")
        self.apt_install(c, self.debs)
        self.set_up_vps(c)
        self.start_site(c)
        token = c.run("runuser", "-u", "nexus-relay", "--", "/usr/bin/nexus-relay", "directory",
                      "add", SLUG).stdout.strip()
        # What the 0.1.x installer and the user guide left: the old binary (here a stand-in
        # that only knows --version), its hand-written unit with the token on ExecStart, the
        # credentials file and the updater that re-downloads 0.1.4.
        old = {
            "/usr/local/bin/nexus-relay": "#!/bin/sh\n[ \"$1\" = --version ] && "
                                          "{ echo 'nexus-relay 0.1.4'; exit 0; }\n"
                                          "exec sleep infinity\n",
            "/etc/systemd/system/nexus-relay-client.service":
                "[Unit]\nDescription=Nexus Relay Client\nAfter=network.target\n\n[Service]\n"
                "ExecStart=/usr/local/bin/nexus-relay client \\\n"
                f"  --server wss://tunnel.{VPS_DOMAIN}/tunnel \\\n  --slug {SLUG} \\\n"
                f"  --token {token} \\\n  --local-port 8080\nRestart=on-failure\n"
                "RestartSec=5s\nUser=root\n\n[Install]\nWantedBy=multi-user.target\n",
            "/root/nexus-credentials.txt": f"URL              : https://{SLUG}.{VPS_DOMAIN}\n"
                                           f"Directory token  : {token}\n",
            "/usr/local/bin/nodyx-update": "#!/bin/sh\n# re-downloads nexus-relay 0.1.4\n"
                                           "touch /tmp/old-updater-ran\n",
        }
        for path, content in old.items():
            with open(c.path(path), "w", encoding="utf-8") as f:
                f.write(content)
        c.run("chmod", "755", "/usr/local/bin/nexus-relay", "/usr/local/bin/nodyx-update")
        c.run("systemctl", "daemon-reload")
        c.run("systemctl", "enable", "--now", AGENT)
        self.assertEqual(self.show(c, AGENT, "FragmentPath"),
                         "/etc/systemd/system/nexus-relay-client.service")

        done = c.run("nexusctl", "setup", "--import", "--yes", check=False, timeout=180)
        self.assertEqual(done.returncode, 0, done.stdout + done.stderr)
        self.assertIn("nodyx-update", done.stdout)
        # The packaged unit runs the packaged program with the same slug and token.
        self.assertEqual(self.show(c, AGENT, "FragmentPath"),
                         "/lib/systemd/system/nexus-relay-client.service")
        self.wait_registered(c)
        self.assertIn(SITE_MARKER, self.public_page(c))
        self.assertEqual(self.token_in(c),
                         token)
        self.assertFalse(os.path.exists(c.path("/etc/systemd/system/nexus-relay-client.service")))
        self.assertEqual(c.run("sh", "-c", "command -v nexus-relay").stdout.strip(),
                         "/usr/bin/nexus-relay")
        self.assertEqual(c.run("nexus-relay", "--version").stdout.strip(), "nexus-relay 0.2.0")
        # The old updater can no longer put 0.1.4 back.
        updater = c.run("/usr/local/bin/nodyx-update", check=False)
        self.assertNotEqual(updater.returncode, 0)
        self.assertFalse(os.path.exists(c.path("/tmp/old-updater-ran")))
        self.assertEqual(c.run("sh", "-c", "command -v nexus-relay").stdout.strip(),
                         "/usr/bin/nexus-relay")

    def test_upgrade_from_the_previous_version_keeps_the_administrators_files(self):
        c = self.boot("upgrade")
        self.apt_install(c, self.previous_debs)
        self.assertEqual(self.installed_version(c, "nexus-relay"),
                         f"install ok installed {PREVIOUS}")
        self.set_up_relay_site_and_agent(c)
        self.wait_registered(c)
        with open(c.path("/etc/nexus-relay/client.conf"), encoding="utf-8") as f:
            edited = f.read()
        agent_pid = self.show(c, AGENT, "MainPID")

        self.apt_install(c, self.debs)
        for package in PACKAGES:
            self.assertEqual(self.installed_version(c, package), f"install ok installed {VERSION}")
        with open(c.path("/etc/nexus-relay/client.conf"), encoding="utf-8") as f:
            self.assertEqual(f.read(), edited)
        self.assertEqual(glob.glob(c.path("/etc/nexus-relay/*.dpkg-*")), [])
        self.assertEqual(c.run("stat", "-c", "%a %U", "/etc/nexus-relay/token").stdout.strip(),
                         "600 root")
        # The running agent is restarted on the new package and registers again; the relay's
        # sockets stay enabled.
        self.assertNotEqual(self.show(c, AGENT, "MainPID"), agent_pid)
        self.wait_registered(c)
        for unit in SERVER_SOCKETS:
            self.assertEqual(c.run("systemctl", "is-enabled", unit).stdout.strip(), "enabled")
        self.assert_site_reached_through_the_relay(c)


def main():
    if os.geteuid() != 0:
        print("skipped: installing packages in a container needs root", file=sys.stderr)
        return 77
    tools = ("dpkg-buildpackage", "dh", "lintian", "systemd-nspawn", "debootstrap", "nsenter",
             "curl", "git")
    missing = [tool for tool in tools if not shutil.which(tool)]
    if missing:
        print(f"skipped: {', '.join(missing)} not installed (scripts/install-deps.sh installs "
              "them)", file=sys.stderr)
        return 77
    # meson's timeout sends SIGTERM: end as after Ctrl-C, so the containers are stopped.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    started = time.monotonic()
    try:
        result = unittest.main(exit=False, verbosity=2).result
    finally:
        stop_all()
        print(f"package suite: {time.monotonic() - started:.0f} s", file=sys.stderr)
    if result.wasSuccessful():
        shutil.rmtree(WORK, ignore_errors=True)
    return 0 if result.wasSuccessful() else 1


if __name__ == "__main__":
    sys.exit(main())
