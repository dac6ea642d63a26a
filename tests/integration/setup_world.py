# SPDX-License-Identifier: AGPL-3.0-or-later
"""What `nexusctl setup` needs from a test besides the VPS (tests/testkit/caddy_world.py):
the nexusctl binary, and a stand-in for systemctl that starts the real agent from the files
setup wrote. The package suite (tests/package) runs setup with the real systemd and the
packaged unit instead."""

import os
from pathlib import Path

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

# The same, failing to start the unit as systemd does when the agent's start job fails.
FAILING_SYSTEMCTL = """#!/bin/sh
echo "$*" >> "$WORLD/systemctl.log"
case "$*" in *--now*) echo 'Job for nexus-relay-client.service failed.' >&2; exit 1;; esac
exit 3
"""
