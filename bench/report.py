#!/usr/bin/python3
"""Turn bench/run.sh results into docs/benchmarks.md and docs/benchmarks.png.

usage: report.py RESULTS.jsonl META.json OUT.md OUT.png
RESULTS.jsonl holds one JSON object a line: kind "wrk" (one wrk run), "idle" (idle RSS and the
machine's load before a contestant) or "status" (included / skipped and why).
bench/notes.md, if present, is appended as the hand-written reading of the numbers.
"""
import json
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

ORDER = ["direct", "forwarder", "relay-plain", "relay-tls", "relay-v2-plain", "relay-v2-tls",
         "bore", "rathole", "ssh", "pagekite", "localtunnel"]
LABEL = {
    "direct": "nginx direct",
    "forwarder": "two-hop reference forwarder",
    "relay-plain": "nexus-relay v1 (plaintext)",
    "relay-tls": "nexus-relay v1 (TLS agent leg)",
    "relay-v2-plain": "nexus-relay v2 (plaintext)",
    "relay-v2-tls": "nexus-relay v2 (TLS agent leg)",
    "bore": "bore",
    "rathole": "rathole",
    "ssh": "ssh -R",
    "pagekite": "pagekite",
    "localtunnel": "localtunnel",
}
SHORT = {
    "direct": "nginx\ndirect",
    "forwarder": "two-hop\nreference",
    "relay-plain": "relay\nv1\nplaintext",
    "relay-tls": "relay\nv1\nTLS",
    "relay-v2-plain": "relay\nv2\nplaintext",
    "relay-v2-tls": "relay\nv2\nTLS",
    "ssh": "ssh -R",
}
GIB = 1024**3


def load(path):
    wrk, idle, status = {}, {}, {}
    with open(path) as f:
        for line in f:
            if not line.strip():
                continue
            r = json.loads(line)
            name = r["contestant"]
            if r["kind"] == "wrk":
                wrk.setdefault(name, {}).setdefault(r["test"], []).append(r)
            elif r["kind"] == "idle":
                idle[name] = r
            else:
                status[name] = r
    spread = {}
    for name, tests in wrk.items():
        for test, runs in tests.items():
            spread.setdefault(name, {})[test] = [score(r) for r in runs]
            tests[test] = median_run(runs)
    return wrk, idle, status, spread


def score(r):
    """The figure a test is judged by: requests/s for small GETs, MB/s for transfers."""
    return rps(r) if r["test"].startswith("small") else mbps(r)


def median_run(runs):
    """The round with the median score (the lower middle one of an even count), kept whole so
    its latency, CPU and memory figures belong to the same run."""
    ordered = sorted(runs, key=score)
    return ordered[(len(ordered) - 1) // 2]


def span(values):
    """' (low–high)' over the rounds, or nothing for a single round."""
    if len(values) < 2:
        return ""
    return f" ({min(values):,.0f}–{max(values):,.0f})"


def rps(r):
    return r["requests"] / (r["duration_us"] / 1e6)


def mbps(r):
    moved = max(r["bytes_read"], r["requests"] * r["body_bytes"])
    return moved / (r["duration_us"] / 1e6) / 1e6


def moved_bytes(r):
    return max(r["bytes_read"], r["requests"] * r["body_bytes"])


def ms(us):
    return f"{us / 1000:.2f}"


def mib(kb):
    return f"{kb / 1024:.1f}"


def errors(r):
    return sum(r["errors"].values())


def main():
    results, meta_path, out_md, out_png = sys.argv[1:5]
    wrk, idle, status, spread = load(results)
    meta = json.load(open(meta_path))
    names = [n for n in ORDER if n in wrk] + sorted(n for n in wrk if n not in ORDER)

    md = []
    w = md.append
    w("# Benchmarks: Nexus Relay vs the local server vs peer tunnels (loopback)")
    w("")
    w(f"Measured {meta['date']} with `{meta['command']}` (from the repository root). "
      f"Everything ran on one machine over {meta['network']}; wrk, nginx, the tunnel's server "
      f"side and its client side all shared the same {meta['nproc']} cores, so these are "
      "relative numbers, not capacity planning.")
    w("")
    w("Every contestant forwards to the same origin: nginx (1 worker) serving a 1 KiB file "
      "(`/small`), a 1 GiB file (`/big`) and a POST sink (`/upload`, "
      "`client_max_body_size 0`; nginx's mirror module reads the whole body (into a temporary "
      "file) before the `200 ok` goes out — a bare `return 200` answers before the body has arrived, which "
      "breaks the timing). "
      "Visitors always send `Host: bench.nexusnode.app`.")
    w("")
    w("## Results")
    w("")
    w(f"wrk {meta['duration_s']} s per test, `--latency`, `--timeout 30s`. "
      "*1c*: 1 thread, 1 connection; *64c*: 2 threads, 64 connections (both keep-alive). "
      "Download: wrk, 1 connection, GET `/big` (1 GiB) repeatedly; upload: wrk, 1 connection, "
      "POST of a 1 GiB body to `/upload` repeatedly (a transfer still running at the end "
      "counts with the bytes it moved). MB = 10^6 bytes.")
    rounds = meta.get("rounds", 1)
    if rounds > 1:
        w("")
        w(f"Each contestant was measured in {rounds} rounds, one after the other (all "
          "contestants, then all again), so that the machine's drift reaches every row alike. "
          "A row shows, for each test, the round with the median requests/s or MB/s, with the "
          "lowest and highest of the rounds in brackets; its latency and CPU figures come from "
          "that same round.")
    w("")
    w("| | small GET 1c req/s | 1c p50 ms | 1c p99 ms | small GET 64c req/s | 64c p50 ms "
      "| 64c p99 ms | download MB/s | upload MB/s | errors | others' CPU % |")
    w("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for n in names:
        t = wrk[n]
        cells = [f"**{LABEL.get(n, n)}**"]
        for test in ("small-c1", "small-c64"):
            r = t.get(test)
            if r and r["requests"]:
                cells += [f"{rps(r):,.0f}{span(spread[n][test])}", ms(r["p50_us"]),
                          ms(r["p99_us"])]
            else:
                cells += ["0" if r else "—", "—", "—"]
        for test in ("download", "upload"):
            r = t.get(test)
            cells.append(f"{mbps(r):,.0f}{span(spread[n][test])}" if r else "—")
        cells.append(str(sum(errors(r) for r in t.values())))
        others = [r.get("others_cpu_pct", 0) for r in t.values()]
        cells.append(f"{sum(others) / len(others):.0f} (max {max(others):.0f})")
        w("| " + " | ".join(cells) + " |")
    w("")
    w("*errors*: wrk's connect/read/write/timeout errors plus non-2xx/3xx answers, summed over "
      "the four tests. *others' CPU %*: the share of the whole machine (100 % = both cores) "
      "that processes outside the benchmark used during that contestant's tests (mean and "
      "worst of the four): all busy time from /proc/stat minus wrk, nginx and the tunnel. "
      "Rows with a high figure were measured while other people's builds competed for the "
      "CPUs and understate that contestant.")
    w("")
    w("### Memory and CPU of the tunnel itself")
    w("")
    w("*server* is the relay side (nexus-relay server, bore server, rathole server, sshd and "
      "its session processes, the pagekite front end), *client* the side next to the web "
      "server (agent, bore local, rathole client, ssh, pagekite back end). RSS is VmRSS from "
      "/proc/PID/status summed over the process tree: idle = tunnel up, after one small "
      "request and before any large one; peak = highest 0.25 s sample during any of the four tests. CPU is utime+stime "
      "from /proc/PID/stat of both sides together, divided by the bytes moved in that test.")
    w("")
    w("| | RSS idle server / client MiB | RSS peak server / client MiB "
      "| CPU s per GiB downloaded (server + client) | CPU s per GiB uploaded (server + client) "
      "| CPU µs per small request, 64c (server + client) |")
    w("| --- | ---: | ---: | ---: | ---: | ---: |")
    for n in names:
        if n == "direct":
            continue
        t = wrk[n]
        i = idle.get(n, {})
        peak_s = max((r["rss_peak_server_kb"] for r in t.values()), default=0)
        peak_c = max((r["rss_peak_client_kb"] for r in t.values()), default=0)
        cells = [f"**{LABEL.get(n, n)}**",
                 f"{mib(i.get('rss_idle_server_kb', 0))} / {mib(i.get('rss_idle_client_kb', 0))}",
                 f"{mib(peak_s)} / {mib(peak_c)}"]
        for test in ("download", "upload"):
            r = t.get(test)
            if r and moved_bytes(r):
                g = moved_bytes(r) / GIB
                cells.append(f"{r['tunnel_cpu_s'] / g:.2f} ({r['cpu_server_s'] / g:.2f} + "
                             f"{r['cpu_client_s'] / g:.2f})")
            else:
                cells.append("—")
        r = t.get("small-c64")
        if r and r["requests"]:
            n_req = r["requests"] / 1e6
            cells.append(f"{r['tunnel_cpu_s'] / n_req:.0f} ({r['cpu_server_s'] / n_req:.0f} + "
                         f"{r['cpu_client_s'] / n_req:.0f})")
        else:
            cells.append("—")
        w("| " + " | ".join(cells) + " |")
    w("")
    w("**1 GiB transfers.** The deployed v1 protocol carries a whole request or response body "
      "in one JSON frame of at most 16 MiB (≈ 12 MiB of body once base64-encoded), so a 1 GiB "
      "download or upload through the v1 relay is impossible (it answers 413 / 502): the v1 rows "
      "have no transfer figures. Protocol v2 streams bodies of any size.")
    w("")
    w("**TCP tunnels are a lower bound.** bore, rathole and ssh -R forward raw TCP: they never "
      "parse HTTP and cannot route by Host name, so one port serves one site. They show what "
      "moving the bytes costs; a layer-7 relay that reads every request, picks the tunnel by "
      "Host and rewrites forwarding headers (nexus-relay, and pagekite, which also routes by "
      "Host) does strictly more work per request.")
    w("")

    w("## Contestants")
    w("")
    w("| | status | what was measured / why not |")
    w("| --- | --- | --- |")
    for n in ORDER + sorted(n for n in status if n not in ORDER):
        s = status.get(n)
        if not s:
            continue
        w(f"| {LABEL.get(n, n)} | {s['status']} | {s['note']} |")
    w("")

    w("## Machine and load")
    w("")
    w(f"- date: {meta['date']}")
    w(f"- command: `{meta['command']}`")
    w(f"- kernel: {meta['kernel']}; OS: {meta['os']}")
    w(f"- `nproc`: {meta['nproc']}")
    w("- `lscpu`:")
    w("")
    w("```")
    w(meta["lscpu"])
    w("```")
    w("")
    w("- `free -g`:")
    w("")
    w("```")
    w(meta["free_g"])
    w("```")
    w("")
    w(f"- load average (1/5/15 min) at start: {meta['load_start']}; at the end: {meta['load_end']}")
    w("- whole-machine CPU busy in the 2 s before each contestant started (while the bench's "
      "own processes sat idle — that is other people's work on the shared machine): "
      + ", ".join(f"{LABEL.get(n, n)} {idle[n]['background_cpu_busy_pct']:.0f} %"
                  for n in names if n in idle))
    w("- tools: " + "; ".join(f"{k}: {v}" for k, v in meta["versions"].items()))
    w("")
    w("<details><summary><code>top -bn1</code> at start</summary>")
    w("")
    w("```")
    w(meta["top_start"])
    w("```")
    w("")
    w("</details>")
    w("")
    notes = os.path.join(os.path.dirname(os.path.abspath(__file__)), "notes.md")
    if os.path.exists(notes):
        w(open(notes).read().rstrip())
        w("")
    w(f"![benchmark chart](benchmarks.png)")
    w("")
    with open(out_md, "w") as f:
        f.write("\n".join(md))

    plot(names, wrk, idle, meta, out_png)


def plot(names, wrk, idle, meta, out_png):
    labels = [SHORT.get(n, LABEL.get(n, n)) for n in names]
    colors = ["#888888" if n == "direct" else "#bbbbbb" if n == "forwarder"
              else "#1f77b4" if n.startswith("relay") else "#ff7f0e" for n in names]
    fig, axes = plt.subplots(2, 2, figsize=(14, 9))

    def bars(ax, values, title, ylabel, log=False, fmt="{:,.0f}"):
        xs = range(len(names))
        b = ax.bar(xs, values, color=colors)
        ax.set_xticks(list(xs))
        ax.set_xticklabels(labels, fontsize=8)
        ax.set_title(title, fontsize=10)
        ax.set_ylabel(ylabel)
        if log:
            ax.set_yscale("log")
        for rect, v in zip(b, values):
            if v:
                ax.annotate(fmt.format(v), (rect.get_x() + rect.get_width() / 2, v),
                            ha="center", va="bottom", fontsize=7)

    def val(n, test, f):
        r = wrk[n].get(test)
        return f(r) if r else 0

    bars(axes[0][0], [val(n, "small-c1", rps) for n in names],
         "small GET (1 KiB), 1 connection", "requests/s")
    bars(axes[0][1], [val(n, "small-c64", rps) for n in names],
         "small GET (1 KiB), 64 connections / 2 threads", "requests/s")

    ax = axes[1][0]
    xs = list(range(len(names)))
    width = 0.2
    series = [("small-c1", "p50_us", "1c p50"), ("small-c1", "p99_us", "1c p99"),
              ("small-c64", "p50_us", "64c p50"), ("small-c64", "p99_us", "64c p99")]
    for k, (test, key, lab) in enumerate(series):
        ax.bar([x + (k - 1.5) * width for x in xs],
               [val(n, test, lambda r: r[key] / 1000) for n in names], width, label=lab)
    ax.set_yscale("log")
    ax.set_xticks(xs)
    ax.set_xticklabels(labels, fontsize=8)
    ax.set_ylabel("latency, ms (log)")
    ax.set_title("small GET latency", fontsize=10)
    ax.legend(fontsize=8)

    ax = axes[1][1]
    for k, (test, lab) in enumerate([("download", "download 1 GiB"), ("upload", "upload 1 GiB")]):
        vals = [val(n, test, mbps) for n in names]
        b = ax.bar([x + (k - 0.5) * 0.38 for x in xs], vals, 0.38, label=lab)
        for rect, v in zip(b, vals):
            if v:
                ax.annotate(f"{v:,.0f}", (rect.get_x() + rect.get_width() / 2, v),
                            ha="center", va="bottom", fontsize=6.5)
    ax.set_yscale("log")
    ax.set_xticks(xs)
    ax.set_xticklabels(labels, fontsize=8)
    ax.set_ylabel("MB/s, 1 connection (log)")
    ax.set_title("bulk transfer", fontsize=10)
    ax.legend(fontsize=8)

    others = [r.get("others_cpu_pct", 0) for n in names for r in wrk[n].values()]
    fig.suptitle(f"Nexus Relay loopback benchmark — {meta['date']}\n{meta['nproc']} cores shared by "
                 f"wrk, nginx and both tunnel ends; other people's jobs used "
                 f"{sum(others) / max(len(others), 1):.0f} % of the machine on average "
                 f"(load avg at start {meta['load_start']})", fontsize=10.5)
    fig.tight_layout()
    fig.savefig(out_png, dpi=110)


if __name__ == "__main__":
    main()
