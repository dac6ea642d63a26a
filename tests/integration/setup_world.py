# SPDX-License-Identifier: AGPL-3.0-or-later
"""The world `nexusctl setup` meets, on loopback: Debian's Caddy with its internal CA in front
of a directory and of the relay's HTTP front (as in production, on unprivileged ports), a
relay with TLS on its control port, a private system bus, and a stand-in for systemctl that
starts the real agent from the files setup wrote."""

import json
import os
import shutil
import subprocess
import textwrap
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from harness import BIN, DOMAIN, free_port, wait_until

_REPO = Path(__file__).resolve().parents[2]
NEXUSCTL = os.environ.get("NEXUSCTL_BIN") or str(_REPO / "build" / "src" / "ctl" / "nexusctl")

# A systemctl for the test: records its arguments; `enable --now` and `restart` start the
# agent as the packaged unit would (its config, its token file, the system bus), `is-active`
# answers from the agent's pid file.
FAKE_SYSTEMCTL = """#!/bin/sh
echo "$*" >> "$WORLD/systemctl.log"
case "$*" in
  *is-active*) [ -f "$WORLD/agent.pid" ] && kill -0 "$(cat "$WORLD/agent.pid")" 2>/dev/null
    exit ;;
  *--now*|restart*)
    [ -f "$WORLD/agent.pid" ] && kill "$(cat "$WORLD/agent.pid")" 2>/dev/null
    "$NEXUS_RELAY_BIN" client --config "$ROOT/etc/nexus-relay/client.conf" \\
      --token-file "$ROOT/etc/nexus-relay/token" --bus system \\
      --status-listen "127.0.0.1:$AGENT_STATUS_PORT" >> "$WORLD/agent.log" 2>&1 &
    echo $! > "$WORLD/agent.pid" ;;
esac
exit 0
"""


class DirectoryStandIn:
    """POST /api/directory/register with the shapes of the registration API: 201 and a token
    the relay accepts (`nexus-relay directory add`), 409 for "taken", 400 for "www"; DELETE
    /api/directory/SLUG. Records every request."""

    def __init__(self, database):
        self.requests = []
        world = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _answer(self, status, body):
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _body(self):
                length = int(self.headers.get("Content-Length") or 0)
                return json.loads(self.rfile.read(length) or b"{}")

            def do_POST(self):
                body = self._body()
                world.requests.append(("POST", self.path, body))
                slug = body.get("slug", "")
                if slug == "taken":
                    return self._answer(409, {"error": "Slug already taken"})
                if slug == "www":
                    return self._answer(400, {"error": "This slug is reserved for Nodyx "
                                                       "infrastructure", "code": "SLUG_RESERVED"})
                added = subprocess.run([BIN, "directory", "add", slug, "--database",
                                        str(database)], capture_output=True, text=True)
                self._answer(201, {"token": added.stdout.strip(),
                                   "subdomain": f"{slug}.{DOMAIN}"})

            def do_DELETE(self):
                world.requests.append(("DELETE", self.path, self._body()))
                self._answer(200, {"ok": True})

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


def start_caddy(directory, https_port, directory_port, front_port, slugs):
    """Caddy with `tls internal` for DOMAIN (the directory) and SLUG.DOMAIN (the relay's
    front); returns (process, root CA path)."""
    data = directory / "caddy-data"
    sites = ", ".join(f"https://{slug}.{DOMAIN}:{https_port}" for slug in slugs)
    (directory / "Caddyfile").write_text(textwrap.dedent(f"""\
        {{
            admin off
            skip_install_trust
            http_port {free_port()}
            https_port {https_port}
            storage file_system {data}
        }}
        https://{DOMAIN}:{https_port} {{
            tls internal
            reverse_proxy 127.0.0.1:{directory_port}
        }}
        {sites} {{
            tls internal
            reverse_proxy 127.0.0.1:{front_port}
        }}
        """))
    env = dict(os.environ, XDG_DATA_HOME=str(directory), XDG_CONFIG_HOME=str(directory),
               HOME=str(directory))
    log = open(directory / "caddy.log", "w")
    process = subprocess.Popen([shutil.which("caddy") or "/usr/bin/caddy", "run", "--config",
                                str(directory / "Caddyfile"), "--adapter", "caddyfile"],
                               stdout=log, stderr=subprocess.STDOUT, env=env)
    root = data / "pki" / "authorities" / "local" / "root.crt"
    wait_until(lambda: root.exists() and process.poll() is None, 20, "Caddy's internal CA")
    time.sleep(0.5)  # the listener comes up right after the CA
    return process, root
