#!/usr/bin/env bash
# A 30-second local demo: a relay (SQLite directory), an agent and a small sample site,
# reachable at http://demo.localhost:7001/ (any *.localhost name is loopback).
# Installs only what the binary needs and builds only the binary (in build-demo/, no tests).
# --check: start everything, fetch the page once through the relay, stop (used by the tests).
set -euo pipefail
cd "$(dirname "$0")/.."
check=false
[ "${1:-}" = "--check" ] && check=true

if [ -z "${NEXUS_RELAY_BIN:-}" ]; then
  scripts/install-deps.sh --demo
  [ -f build-demo/build.ninja ] ||
    meson setup build-demo -Dtests=disabled -Doptimization=2 -Ddebug=false >&2
  ninja -C build-demo src/nexus-relay >&2
fi
bin="${NEXUS_RELAY_BIN:-build-demo/src/nexus-relay}"
http_port="${DEMO_HTTP_PORT:-7001}"
tcp_port="${DEMO_TCP_PORT:-7443}"
site_port="${DEMO_SITE_PORT:-18080}"
status_listen="${DEMO_STATUS_LISTEN:-off}"  # e.g. 127.0.0.1:7071 for /status and /metrics
state="$(mktemp -d "${TMPDIR:-/tmp}/nexus-relay-demo.XXXXXX")"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$state"
}
trap cleanup EXIT INT TERM

# fail WHO LOG: the demo did not come up; show that program's own words and stop.
fail() {
  echo "nexus-relay demo: the $1 failed; its log ($2):" >&2
  sed 's/^/  /' "$2" >&2
  exit 1
}

# wait_for PID LOG PATTERN WHO: until LOG shows PATTERN; fails if PID exits or after 10 s.
wait_for() {
  for _ in $(seq 100); do
    grep -q "$3" "$2" 2>/dev/null && return 0
    kill -0 "$1" 2>/dev/null || fail "$4" "$2"
    sleep 0.1
  done
  fail "$4" "$2"
}

token="$("$bin" directory add demo --url https://demo.localhost --domain localhost \
          --database "$state/directory.sqlite" 2> "$state/directory.log")" ||
  fail "directory" "$state/directory.log"
printf '%s\n' "$token" > "$state/token"
chmod 600 "$state/token"

/usr/bin/python3 tests/testkit/sample_site.py --port "$site_port" > "$state/site.log" 2>&1 &
pids+=($!)
wait_for "$!" "$state/site.log" 'listening on' 'sample site'
"$bin" server --domain localhost --main-slug www --tcp-bind 127.0.0.1 --tcp-port "$tcp_port" --ws-port 0 \
  --http-port "$http_port" --status-listen "$status_listen" --database "$state/directory.sqlite" \
  2> "$state/relay.log" &
pids+=($!)
wait_for "$!" "$state/relay.log" 'HTTP front on' relay
# No status pages for the demo's agent: 127.0.0.1:7070 may be an installed agent's.
"$bin" client --server "127.0.0.1:$tcp_port" --insecure-plaintext --slug demo \
  --token-file "$state/token" --status-listen off \
  --local-port "$site_port" 2> "$state/agent.log" &
pids+=($!)
wait_for "$!" "$state/agent.log" 'Registered as slug' agent

# The page through the relay proves all three are up; else the log that says why.
url="http://demo.localhost:$http_port/"
if ! curl -fsS --max-time 5 -H "Host: demo.localhost:$http_port" "http://127.0.0.1:$http_port/" \
     2> "$state/curl.log" | grep -q 'Nexus Relay demo'; then
  echo "nexus-relay demo: the page did not come through the tunnel:" >&2
  for log in curl relay agent site; do
    echo "--- $log" >&2
    cat "$state/$log.log" >&2
  done
  exit 1
fi
if $check; then
  echo "demo OK: $url"
  exit 0
fi
echo
echo "  Nexus Relay demo is running: open $url"
echo "  (relay log: $state/relay.log, agent log: $state/agent.log; Ctrl-C stops everything)"
echo
tail -f "$state/agent.log"
