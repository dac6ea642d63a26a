# SPDX-License-Identifier: AGPL-3.0-or-later
"""Small HTTP/1.1 clients for the integration tests: explicit Host headers, kept-alive
connections, and uploads that stop as soon as the relay answers."""

import http.client
import select
import socket
import time


class HttpResult:
    def __init__(self, status, reason, headers, body):
        self.status = status
        self.reason = reason
        self.headers = headers  # [(lowercase name, value)] in wire order, repeats kept
        self.body = body

    def header(self, name):
        values = self.all(name)
        return values[0] if values else None

    def all(self, name):
        return [v for n, v in self.headers if n == name.lower()]

    def __repr__(self):
        return f"<HTTP {self.status} {self.headers} {self.body[:200]!r}>"


def read_head(reader):
    """(status line, {lowercase name: value}) of the next response on `reader` (a binary file
    of a socket)."""
    status = reader.readline().decode()
    headers = {}
    while (line := reader.readline().decode().strip()):
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return status, headers


def http_request(port, host, path="/", method="GET", body=None, headers=(), timeout=10):
    """One request on a fresh connection, with an explicit Host (None: no Host at all)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        return request_on(conn, host, path, method, body, headers)
    finally:
        conn.close()


def request_on(conn, host, path="/", method="GET", body=None, headers=()):
    """A request on an existing (possibly kept-alive) http.client connection."""
    conn.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
    if host is not None:
        conn.putheader("Host", host)
    for name, value in headers:
        conn.putheader(name, value)
    if body is not None:
        conn.putheader("Content-Length", str(len(body)))
    conn.endheaders()
    if body:
        conn.send(body)
    response = conn.getresponse()
    data = response.read()
    return HttpResult(response.status, response.reason,
                      [(n.lower(), v) for n, v in response.getheaders()], data)


def post_body(port, host, path, body, timeout=30):
    """POSTs a large body the relay may refuse before reading it all: stops sending as soon
    as a response arrives, then reads it (http.client would die on EPIPE instead)."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        head = (f"POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Length: {len(body)}\r\n"
                "Content-Type: application/octet-stream\r\n\r\n").encode()
        sock.sendall(head)
        view, sent = memoryview(body), 0
        deadline = time.monotonic() + timeout
        while sent < len(body) and time.monotonic() < deadline:
            readable, writable, _ = select.select([sock], [sock], [], 1)
            if readable:
                break  # the relay answered early
            if writable:
                try:
                    sent += sock.send(view[sent:sent + 65536])
                except (BrokenPipeError, ConnectionResetError):
                    break
        response = http.client.HTTPResponse(sock)
        response.begin()
        data = response.read()
        return HttpResult(response.status, response.reason,
                          [(n.lower(), v) for n, v in response.getheaders()], data)
    finally:
        sock.close()
