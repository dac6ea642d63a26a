#!/usr/bin/env bash
# A 30-second local demo: a relay (SQLite directory), an agent and a small sample site,
# reachable at http://demo.localhost:7001/ (any *.localhost name is loopback).
# --check: start everything, fetch the page once through the relay, stop (used by the tests).
set -euo pipefail
cd "$(dirname "$0")/.."
check=false
[ "${1:-}" = "--check" ] && check=true

if [ -z "${NEXUS_RELAY_BIN:-}" ]; then
  scripts/install-deps.sh
  scripts/build.sh
fi
bin="${NEXUS_RELAY_BIN:-build/src/nexus-relay}"
http_port="${DEMO_HTTP_PORT:-7001}"
tcp_port="${DEMO_TCP_PORT:-7443}"
site_port="${DEMO_SITE_PORT:-18080}"
state="$(mktemp -d "${TMPDIR:-/tmp}/nexus-relay-demo.XXXXXX")"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$state"
}
trap cleanup EXIT INT TERM

token="$("$bin" directory add demo --url https://demo.localhost --domain localhost \
          --database "$state/directory.sqlite" 2>/dev/null)"
printf '%s\n' "$token" > "$state/token"
chmod 600 "$state/token"

/usr/bin/python3 tests/testkit/sample_site.py --port "$site_port" > "$state/site.log" 2>&1 &
pids+=($!)
"$bin" server --domain localhost --main-slug www --tcp-bind 127.0.0.1 --tcp-port "$tcp_port" --ws-port 0 \
  --http-port "$http_port" --database "$state/directory.sqlite" 2> "$state/relay.log" &
pids+=($!)
sleep 0.5
"$bin" client --server "127.0.0.1:$tcp_port" --insecure-plaintext --slug demo \
  --token-file "$state/token" \
  --local-port "$site_port" 2> "$state/agent.log" &
pids+=($!)

url="http://demo.localhost:$http_port/"
for _ in $(seq 50); do
  grep -q 'Registered as slug' "$state/agent.log" 2>/dev/null && break
  sleep 0.1
done
if $check; then
  curl -fsS --max-time 5 -H "Host: demo.localhost:$http_port" "http://127.0.0.1:$http_port/" \
    | grep -q 'Nexus Relay demo' || { cat "$state"/*.log >&2; exit 1; }
  echo "demo OK: $url"
  exit 0
fi
echo
echo "  Nexus Relay demo is running: open $url"
echo "  (relay log: $state/relay.log, agent log: $state/agent.log; Ctrl-C stops everything)"
echo
tail -f "$state/agent.log"
