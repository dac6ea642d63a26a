#!/usr/bin/python3
# SPDX-License-Identifier: AGPL-3.0-or-later
"""The upload test of bench/run.sh: POSTs a file with curl, again and again for the test's
duration (at least once), and appends one JSON line shaped like wrk_report.lua's. wrk cannot
send a 1 GiB body (its Lua state cannot hold it).

    curl_upload.py URL FILE SECONDS HOST_HEADER   (WRK_JSON names the output file)
"""

import json
import os
import subprocess
import sys
import time


def percentile(ordered, p):
    return ordered[min(len(ordered) - 1, int(len(ordered) * p / 100))]


def main():
    url, path, seconds, host = sys.argv[1], sys.argv[2], float(sys.argv[3]), sys.argv[4]
    size = os.path.getsize(path)
    latencies, errors, started = [], {"connect": 0, "read": 0, "write": 0, "status": 0,
                                      "timeout": 0}, time.monotonic()
    while not latencies or time.monotonic() - started < seconds:
        t0 = time.monotonic()
        done = subprocess.run(
            ["curl", "-sS", "-o", "/dev/null", "-X", "POST", "-T", path, "-H", f"Host: {host}",
             "-H", "Content-Type: application/octet-stream", "-m", "60",
             "-w", "%{http_code} %{size_upload}", url],
            capture_output=True, text=True)
        elapsed = time.monotonic() - t0
        code, _, sent = done.stdout.partition(" ")
        if done.returncode == 28:  # curl: operation timed out (a tunnel slower than 17 MB/s)
            errors["timeout"] += 1
            break
        if done.returncode != 0 or int(sent or 0) != size:
            errors["write"] += 1
            break
        if code != "200":
            errors["status"] += 1
        latencies.append(elapsed)
    duration = time.monotonic() - started
    ordered = sorted(latencies) or [0.0]
    us = [round(x * 1e6) for x in ordered]
    with open(os.environ["WRK_JSON"], "a") as out:
        out.write(json.dumps({
            "requests": len(latencies), "bytes_read": 0, "body_bytes": size,
            "duration_us": round(duration * 1e6), "errors": errors,
            "p50_us": percentile(us, 50), "p90_us": percentile(us, 90),
            "p99_us": percentile(us, 99), "max_us": us[-1],
            "mean_us": sum(us) / len(us)}) + "\n")


if __name__ == "__main__":
    main()
