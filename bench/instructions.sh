#!/bin/bash
# SPDX-License-Identifier: AGPL-3.0-or-later
# Instructions and heap allocations per small request in the relay and in the agent, counted
# by callgrind. Requests/s on a shared machine drift by a quarter from one minute to the next;
# these counts do not, so they tell a change of a few per cent from noise. User space only:
# the kernel's share (loopback TCP, more than half of each side's CPU) is not counted.
#
#   bench/instructions.sh [--seconds 8] [--connections 16]
#
# Both daemons run under valgrind --tool=callgrind with instrumentation off. After a warm-up,
# it is switched on for SECONDS of wrk (1 thread, CONNECTIONS keep-alive connections, GET of a
# 1 KiB file from nginx through a v2 tunnel), then the counts are dumped and divided by the
# requests wrk completed. Needs valgrind, wrk and nginx; runs in a private network namespace
# (unshare -n, as root).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
SECONDS_ON=8 CONNECTIONS=16
while (($#)); do
    case $1 in
        --seconds) SECONDS_ON=$2; shift 2 ;;
        --connections) CONNECTIONS=$2; shift 2 ;;
        -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
        *) echo "instructions.sh: unknown argument: $1" >&2; exit 2 ;;
    esac
done
if [[ -z ${INSTRUCTIONS_IN_NETNS:-} ]]; then
    export INSTRUCTIONS_IN_NETNS=1
    exec unshare -n -- "$0" --seconds "$SECONDS_ON" --connections "$CONNECTIONS"
fi

BIN=${NEXUS_RELAY_BIN:-$ROOT/build/src/nexus-relay}
[[ -x $BIN ]] || { echo "instructions.sh: $BIN missing: build first (meson compile -C build)" >&2; exit 1; }
for tool in valgrind callgrind_control callgrind_annotate wrk nginx curl python3; do
    command -v "$tool" >/dev/null || { echo "instructions.sh: $tool missing (apt-get install valgrind wrk nginx)" >&2; exit 1; }
done

# shellcheck source=bench/origin.sh
source "$ROOT/bench/origin.sh"
make_scratch instructions

ip link set lo up
APP_PORT=18580 TUNNEL_PORT=17500 RELAY_HTTP=17580 HOST=demo.nexusnode.app
mkdir -p "$T/www"
head -c 1024 /dev/zero > "$T/www/small"
start_nginx "$T" "$APP_PORT"
PIDS+=("$(cat "$T/nginx/nginx.pid")")

CG=(valgrind --tool=callgrind --instr-atstart=no)
TOKEN=$("$BIN" directory add demo --database "$T/directory.sqlite" 2>/dev/null)
"${CG[@]}" --callgrind-out-file="$T/cg.relay" "$BIN" server --tcp-port "$TUNNEL_PORT" \
    --tcp-bind 127.0.0.1 --http-port "$RELAY_HTTP" --ws-port 0 \
    --database "$T/directory.sqlite" > "$T/relay.log" 2>&1 &
RELAY=$!
PIDS+=($RELAY)
sleep 3
NEXUS_RELAY_TOKEN=$TOKEN "${CG[@]}" --callgrind-out-file="$T/cg.agent" "$BIN" client \
    --server "127.0.0.1:$TUNNEL_PORT" --slug demo --local-port "$APP_PORT" \
    --insecure-plaintext > "$T/agent.log" 2>&1 &
AGENT=$!
PIDS+=($AGENT)
for _ in $(seq 60); do  # valgrind starts slowly
    code=$(curl -s -o /dev/null -w '%{http_code}' -H "Host: $HOST" "http://127.0.0.1:$RELAY_HTTP/small" || true)
    [[ $code == 200 ]] && break
    sleep 0.5
done
[[ $code == 200 ]] || { echo "instructions.sh: the tunnel did not come up" >&2; cat "$T/relay.log" "$T/agent.log" >&2; exit 1; }

URL="http://127.0.0.1:$RELAY_HTTP/small"
wrk -t1 -c"$CONNECTIONS" -d3s -H "Host: $HOST" "$URL" > /dev/null  # warm-up: pools, caches
callgrind_control -i on "$RELAY" "$AGENT" > /dev/null 2>&1
wrk -t1 -c"$CONNECTIONS" -d"${SECONDS_ON}s" -H "Host: $HOST" "$URL" > "$T/wrk.txt"
callgrind_control -i off "$RELAY" "$AGENT" > /dev/null 2>&1
callgrind_control -d "$RELAY" "$AGENT" > /dev/null 2>&1
sleep 1
REQUESTS=$(awk '/requests in/ {print $1}' "$T/wrk.txt")

python3 - "$T" "$REQUESTS" "$CONNECTIONS" "$SECONDS_ON" <<'EOF'
import glob, re, subprocess, sys
tmp, requests, conns, secs = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]

def dump(side):
    files = sorted(glob.glob(f"{tmp}/cg.{side}.*"))
    return files[-1] if files else None

def instructions(path):
    out = subprocess.run(["callgrind_annotate", path], capture_output=True, text=True).stdout
    m = re.search(r"^([\d,]+) \S*\s*PROGRAM TOTALS", out, re.M)
    return int(m.group(1).replace(",", "")) if m else 0

ALLOCATOR_ENTRIES = re.compile(
    r"^(malloc|calloc|realloc|aligned_alloc|posix_memalign|memalign|operator new(\[\])?\(.*)$")

def malloc_calls(path):
    """Calls into the allocator's entry points (malloc, operator new, aligned_alloc, …) from
    outside them: with glibc, operator new calls malloc, and mimalloc has its own operator new,
    so each heap allocation counts once whichever allocator the build links."""
    names, caller, callee, total = {}, None, None, 0
    for line in open(path):
        m = re.match(r"(c?fn)=\((\d+)\)(?: (.*))?", line.strip())
        if m:
            if m.group(3):
                names[m.group(2)] = m.group(3)
            if m.group(1) == "fn":
                caller = names.get(m.group(2), "")
            else:
                callee = names.get(m.group(2), "")
        elif (line.startswith("calls=") and callee and ALLOCATOR_ENTRIES.match(callee)
              and not ALLOCATOR_ENTRIES.match(caller or "")):
            total += int(line[6:].split()[0])
    return total

print(f"{requests} requests through the tunnel in {secs} s (wrk -t1 -c{conns}), counted by callgrind:")
print(f"{'':6} {'instructions/request':>21} {'allocations/request':>20}")
for side in ("relay", "agent"):
    path = dump(side)
    if not path or requests == 0:
        print(f"{side:6} no dump")
        continue
    print(f"{side:6} {instructions(path) / requests:>21,.0f} {malloc_calls(path) / requests:>20.1f}")
EOF
