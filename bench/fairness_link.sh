#!/bin/bash
# SPDX-License-Identifier: AGPL-3.0-or-later
# Fairness on a link like a home uplink, side by side with direct access and with bore.
#
#   bench/fairness_link.sh [--rate 100mbit] [--queue 512kb] [--visitor-rate 25M]
#                          [--samples 300] [--no-bore]
#
# Small GETs (1 KiB, one keep-alive connection) are timed on an idle tunnel, then while one
# visitor downloads a 1 GiB file through the same tunnel, in three settings:
#   visitor   nothing shaped; the downloading visitor reads at VISITOR_RATE bytes/s (curl
#             --limit-rate; 25M is a 200 Mbit/s visitor): the tunnel and the CPU have room, and
#             what the small requests meet is what the tunnel makes them wait for: the
#             download's bytes queued ahead of them, which flow control keeps to a window.
#   loopback  nothing shaped, the visitor reads at full speed: the CPU is the bottleneck (two
#             cores for the relay, the agent, nginx, curl and the measurer), so the figures
#             mostly show the kernel's scheduler; "direct" (the same requests and download
#             straight to nginx) is the control.
#   link      only the tunnel's own TCP port is shaped with HTB to RATE, behind a QUEUE-byte
#             FIFO, MTU 1500: the uplink is the bottleneck, as for an agent at home, and what
#             queues ahead of a small response is what the tunnel put there.
# bore (crates.io bore-cli; bench/install-peers.sh) opens one TCP connection per visitor
# connection, so nothing of the download queues in its tunnel ahead of another visitor: the
# reference for what a single multiplexed connection costs.
# Runs in a private network namespace (unshare -n); needs root for that and for tc.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
RATE=100mbit QUEUE=512kb VISITOR_RATE=25M SAMPLES=300 BORE=1
while (($#)); do
    case $1 in
        --rate) RATE=$2; shift 2 ;;
        --queue) QUEUE=$2; shift 2 ;;
        --visitor-rate) VISITOR_RATE=$2; shift 2 ;;
        --samples) SAMPLES=$2; shift 2 ;;
        --no-bore) BORE=0; shift ;;
        -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
        *) echo "fairness_link.sh: unknown argument: $1" >&2; exit 2 ;;
    esac
done
if [[ -z ${FAIRNESS_IN_NETNS:-} ]]; then
    export FAIRNESS_IN_NETNS=1
    exec unshare -n -- "$0" --rate "$RATE" --queue "$QUEUE" --visitor-rate "$VISITOR_RATE" --samples "$SAMPLES" \
        $( ((BORE)) || echo --no-bore)
fi

BIN=${NEXUS_RELAY_BIN:-$ROOT/build/src/nexus-relay}
[[ -x $BIN ]] || { echo "fairness_link.sh: $BIN missing: build first (meson compile -C build)" >&2; exit 1; }
for tool in nginx curl tc python3; do
    command -v "$tool" >/dev/null || { echo "fairness_link.sh: $tool missing: run bench/install-peers.sh" >&2; exit 1; }
done
BORE_BIN=
if ((BORE)); then
    for candidate in "$(command -v bore || true)" "$HOME/.cargo/bin/bore" "${BENCH_TOOLS_DIR:-/nonexistent}/bin/bore"; do
        [[ -n $candidate && -x $candidate ]] && { BORE_BIN=$candidate; break; }
    done
    [[ -n $BORE_BIN ]] || echo "fairness_link.sh: bore not installed, its rows are skipped" >&2
fi

# shellcheck source=bench/origin.sh
source "$ROOT/bench/origin.sh"
make_scratch fairness

ip link set lo up
APP_PORT=18480 TUNNEL_PORT=17400 RELAY_HTTP=17480 BORE_CONTROL=7835 BORE_PORT=17490
mkdir -p "$T/www"
head -c 1024 /dev/zero > "$T/www/small"
truncate -s 1G "$T/www/big"
start_nginx "$T" "$APP_PORT"
PIDS+=("$(cat "$T/nginx/nginx.pid")")

TOKEN=$("$BIN" directory add demo --database "$T/directory.sqlite" 2>/dev/null)
"$BIN" server --tcp-port "$TUNNEL_PORT" --tcp-bind 127.0.0.1 --http-port "$RELAY_HTTP" \
    --ws-port 0 --status-listen off --database "$T/directory.sqlite" > "$T/relay.log" 2>&1 &
PIDS+=($!)
sleep 0.5
NEXUS_RELAY_TOKEN=$TOKEN "$BIN" client --server "127.0.0.1:$TUNNEL_PORT" --slug demo \
    --local-port "$APP_PORT" --insecure-plaintext > "$T/agent.log" 2>&1 &
PIDS+=($!)
if [[ -n $BORE_BIN ]]; then
    "$BORE_BIN" server --min-port "$BORE_PORT" --max-port "$BORE_PORT" --bind-addr 127.0.0.1 \
        > "$T/bore-server.log" 2>&1 &
    PIDS+=($!)
    sleep 0.5
    "$BORE_BIN" local "$APP_PORT" --local-host 127.0.0.1 --to 127.0.0.1 --port "$BORE_PORT" \
        > "$T/bore-local.log" 2>&1 &
    PIDS+=($!)
fi
sleep 1

shape() {  # shape on|off: HTB on the tunnels' own ports (both directions), MTU 1500
    tc qdisc del dev lo root 2>/dev/null || true
    if [[ $1 == off ]]; then
        ip link set lo mtu 65536
        return
    fi
    ip link set lo mtu 1500
    tc qdisc add dev lo root handle 1: htb default 20 r2q 1000
    tc class add dev lo parent 1: classid 1:10 htb rate "$RATE" ceil "$RATE"
    tc class add dev lo parent 1: classid 1:11 htb rate "$RATE" ceil "$RATE"
    tc class add dev lo parent 1: classid 1:20 htb rate 40gbit
    tc qdisc add dev lo parent 1:10 handle 10: bfifo limit "$QUEUE"
    tc qdisc add dev lo parent 1:11 handle 11: bfifo limit "$QUEUE"
    for port in "$TUNNEL_PORT" "$BORE_CONTROL"; do
        tc filter add dev lo parent 1: protocol ip prio 1 u32 match ip dport "$port" 0xffff flowid 1:10
        tc filter add dev lo parent 1: protocol ip prio 1 u32 match ip sport "$port" 0xffff flowid 1:11
    done
}

measure() {  # measure SETTING NAME PORT HOST [VISITOR_RATE]
    python3 - "$1" "$2" "$3" "$4" "$SAMPLES" "${5:-}" <<'EOF'
import http.client, subprocess, sys, time
setting, name, port, host, samples = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], int(sys.argv[5])
limit = ["--limit-rate", sys.argv[6]] if sys.argv[6] else []

def latencies(n, seconds=0.0):  # n samples, and for at least `seconds`
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    out = []
    until = time.perf_counter() + seconds
    while len(out) < n or time.perf_counter() < until:
        start = time.perf_counter()
        conn.request("GET", "/small", headers={"Host": host})
        response = conn.getresponse()
        if response.status != 200 or len(response.read()) != 1024:
            sys.exit(f"{name}: small GET answered {response.status}")
        out.append(time.perf_counter() - start)
    conn.close()
    return sorted(out)

def pct(values, q):
    return values[min(len(values) - 1, int(len(values) * q))] * 1e3

latencies(20)
# A visitor held to a rate reads in bursts: measure across many of them.
span = 3.0 if limit else 0.0
idle = latencies(samples, span)
launched = time.perf_counter()
download = subprocess.Popen(
    ["curl", "-sS", "-o", "/dev/null", "-H", f"Host: {host}", "-w", "%{size_download}", *limit,
     f"http://127.0.0.1:{port}/big"], stdout=subprocess.PIPE, text=True)
def written():  # what curl has written to /dev/null so far
    with open(f"/proc/{download.pid}/io") as io:
        return next(int(line.split()[1]) for line in io if line.startswith("wchar:"))

time.sleep(1.0)  # flowing at full speed
loaded = latencies(samples, span)
# From the start: a window of the visitor's bursts would be too coarse.
elapsed, moved = time.perf_counter() - launched, written()
running = download.poll() is None
download.terminate()
download.communicate()
note = "" if running else " (download ended first)"
print(f"| {setting} | {name} | {pct(idle, .5):.2f} / {pct(idle, .99):.2f} | "
      f"{pct(loaded, .5):.2f} / {pct(loaded, .99):.2f} | {pct(loaded, .99) / pct(idle, .99):.1f}×{note} | "
      f"{moved / elapsed / 1e6:.1f} |",
      flush=True)
EOF
}

echo "Small GETs: $SAMPLES per row, p50 / p99 in ms; visitor setting: the download read at $VISITOR_RATE bytes/s; link setting: $RATE behind a $QUEUE FIFO on the tunnel's port."
echo
echo "| setting | path | idle p50 / p99 | during a 1 GiB download p50 / p99 | p99 ratio | download MB/s meanwhile |"
echo "| --- | --- | ---: | ---: | ---: | ---: |"
shape off
measure visitor direct "$APP_PORT" direct "$VISITOR_RATE"
measure visitor nexus-relay "$RELAY_HTTP" demo.nexusnode.app "$VISITOR_RATE"
[[ -z $BORE_BIN ]] || measure visitor bore "$BORE_PORT" bore "$VISITOR_RATE"
measure loopback direct "$APP_PORT" direct
measure loopback nexus-relay "$RELAY_HTTP" demo.nexusnode.app
[[ -z $BORE_BIN ]] || measure loopback bore "$BORE_PORT" bore
shape on
measure link nexus-relay "$RELAY_HTTP" demo.nexusnode.app
[[ -z $BORE_BIN ]] || measure link bore "$BORE_PORT" bore
shape off
