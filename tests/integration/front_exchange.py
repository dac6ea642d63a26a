# SPDX-License-Identifier: AGPL-3.0-or-later
"""Raw exchanges with the relay's HTTP front for the framing tests: bytes in, everything the
relay answers until it closes, and how it closed (a FIN or a reset)."""

import re
import select
import socket
import time


class Exchange:
    def __init__(self, received, ended):
        self.received = received
        self.ended = ended  # "closed" (FIN), "reset" (RST) or "open" (still open at the deadline)

    def statuses(self):
        return [int(s) for s in re.findall(rb"^HTTP/1\.[01] (\d{3}) ", self.received, re.M)]

    def __repr__(self):
        return f"<{self.ended}: {self.received[:300]!r}>"


def read_until_closed(sock, timeout=5.0) -> Exchange:
    received = b""
    deadline = time.monotonic() + timeout
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return Exchange(received, "open")
        sock.settimeout(remaining)
        try:
            chunk = sock.recv(1 << 16)
        except socket.timeout:
            return Exchange(received, "open")
        except ConnectionResetError:
            return Exchange(received, "reset")
        if not chunk:
            return Exchange(received, "closed")
        received += chunk


def exchange(port, data, half_close=True, timeout=5.0) -> Exchange:
    """Sends `data` on a fresh connection (then ends the sending side, so the relay's
    lingering close ends at once) and reads until the relay closes."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(data if isinstance(data, bytes) else data.encode("latin-1"))
        if half_close:
            sock.shutdown(socket.SHUT_WR)
        return read_until_closed(sock, timeout)


def flood(port, head, filler, limit, timeout=10.0):
    """Sends `head`, then `filler` over and over until the relay answers or stops reading, or
    `limit` bytes went; returns (bytes of filler sent, Exchange)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(head)
        sock.setblocking(False)
        sent, view = 0, memoryview(filler)
        deadline = time.monotonic() + timeout
        while sent < limit and time.monotonic() < deadline:
            readable, writable, _ = select.select([sock], [sock], [], 1)
            if readable:
                break
            if writable:
                try:
                    sent += sock.send(view[sent % len(filler):])
                except BlockingIOError:
                    continue
                except (BrokenPipeError, ConnectionResetError):
                    break
        sock.setblocking(True)
        return sent, read_until_closed(sock, 5.0)
