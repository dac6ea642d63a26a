# SPDX-License-Identifier: AGPL-3.0-or-later
"""The VPS's front as operators run it, for tests: Debian's Caddy on 443 with the README's
Caddyfile (systemd/examples/Caddyfile), its certificates from Caddy's internal CA rather than
Let's Encrypt, in a private network and mount namespace with its own /etc/hosts.

A test file calls `enter_private_network(__file__)` before anything else: it re-runs the
file inside `unshare --net --mount` (or exits 77, meson's skip, without root or the tools).
There it may take ports 80 and 443 and the relay's documented ports, and
`resolve_hosts(names)` makes those names 127.0.0.1 for curl, Python, the agent and nexusctl,
without touching the machine's /etc/hosts (the mount is private to the namespace).
"""

import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

from processes import LoggedProcess, wait_until

_REPO = Path(__file__).resolve().parents[2]
_NAMESPACED = "NEXUS_TEST_PRIVATE_NETWORK"
EXAMPLE_CADDYFILE = _REPO / "systemd" / "examples" / "Caddyfile"
EXAMPLE_DOMAIN = "nexusnode.app"


def enter_private_network(test_file):
    """Re-runs `test_file` in new network and mount namespaces, once; exits 77 to skip."""
    if os.environ.get(_NAMESPACED) == "1":
        subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
        return
    missing = [tool for tool in ("caddy", "curl", "unshare", "ip") if not shutil.which(tool)]
    if os.geteuid() != 0 or missing:
        print(f"skipped: needs root and {', '.join(missing) or 'nothing else'}")
        sys.exit(77)
    env = dict(os.environ, **{_NAMESPACED: "1"})
    os.execvpe("unshare", ["unshare", "--net", "--mount", "--fork", "--",
                           sys.executable, test_file, *sys.argv[1:]], env)


def resolve_hosts(names, directory):
    """Bind-mounts a hosts file naming `names` as 127.0.0.1 over /etc/hosts (namespace only)."""
    hosts = Path(directory) / "hosts"
    hosts.write_text("127.0.0.1 localhost " + " ".join(names) + "\n")
    subprocess.run(["mount", "--bind", str(hosts), "/etc/hosts"], check=True)


def forget_hosts():
    subprocess.run(["umount", "/etc/hosts"], check=False)


def listening(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return True
    except OSError:
        return False


def start_caddy(directory, domain):
    """Caddy with the example Caddyfile for `domain`, every certificate from Caddy's own CA
    (`local_certs`); returns (LoggedProcess, the CA's root certificate path) once 443 listens.
    Caddy asks the relay's status listener (127.0.0.1:7071) before each certificate."""
    directory = Path(directory)
    data = directory / "caddy"
    example = EXAMPLE_CADDYFILE.read_text()
    assert EXAMPLE_DOMAIN in example
    caddyfile = example.replace(EXAMPLE_DOMAIN, domain).replace(
        "{\n", f"{{\n\tlocal_certs\n\tskip_install_trust\n\tadmin off\n"
               f"\tstorage file_system {data}\n", 1)
    (directory / "Caddyfile").write_text(caddyfile)
    caddy = LoggedProcess("caddy", ["caddy", "run", "--adapter", "caddyfile",
                                    "--config", str(directory / "Caddyfile")],
                          directory, env=dict(os.environ, HOME=str(data)))
    root = data / "pki" / "authorities" / "local" / "root.crt"
    wait_until(lambda: root.exists() and listening(443), 20, "Caddy serving on 443")
    return caddy, root


def issued_names(directory):
    """The names Caddy holds a certificate for, from its storage."""
    return {path.stem for path in (Path(directory) / "caddy" / "certificates").rglob("*.crt")}
