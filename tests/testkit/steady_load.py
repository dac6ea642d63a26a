#!/usr/bin/python3
# SPDX-License-Identifier: AGPL-3.0-or-later
"""A steady HTTP load with per-request latency: CONNECTIONS keep-alive connections, each
sending one GET at a time at a fixed pace, until its standard input closes.

    steady_load.py --port 7001 --host demo.nexusnode.app --connections 4 --rate 400 < pipe

Prints one JSON object when it ends: {"samples": [[start, latency, status], ...], "errors": N},
start on the system's monotonic clock (time.monotonic() of any process on the machine), both
in seconds. Latency counts from when the request was due, not when it went out (a late start
is latency too, as in wrk2), so a stall shows in full however the pace recovers. It runs as a
process of its own so that what the caller does (spawning busctl a thousand times) does not
share its interpreter lock; the connections are coroutines on one asyncio loop, so no
thread waits for that lock either."""

import argparse
import asyncio
import json
import sys
import threading
import time


async def read_response(reader):
    """The status of one response with a Content-Length body, read whole."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = int(lines[0].split()[1])
    length = 0
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    await reader.readexactly(length)
    return status


async def connection(args, interval, stop, samples, errors):
    request = f"GET {args.path} HTTP/1.1\r\nHost: {args.host}\r\n\r\n".encode()
    reader = writer = None
    due = time.monotonic()
    while not stop.is_set():
        try:
            if writer is None:
                reader, writer = await asyncio.open_connection("127.0.0.1", args.port)
            writer.write(request)
            status = await asyncio.wait_for(read_response(reader), 10)
            samples.append((due, time.monotonic() - due, status))
        except (OSError, asyncio.IncompleteReadError, asyncio.TimeoutError):
            errors.append(due)
            if writer is not None:
                writer.close()
            writer = None
        due += interval
        delay = due - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
    if writer is not None:
        writer.close()


async def run(args):
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    # Until the caller closes our standard input.
    threading.Thread(target=lambda: (sys.stdin.read(), loop.call_soon_threadsafe(stop.set)),
                     daemon=True).start()
    samples, errors = [], []
    interval = args.connections / args.rate
    await asyncio.gather(*(connection(args, interval, stop, samples, errors)
                           for _ in range(args.connections)))
    return samples, errors


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--host", required=True)
    parser.add_argument("--path", default="/")
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--rate", type=float, default=400, help="requests per second, in all")
    args = parser.parse_args()
    samples, errors = asyncio.run(run(args))
    json.dump({"samples": sorted(samples), "errors": len(errors)}, sys.stdout)


if __name__ == "__main__":
    main()
