# SPDX-License-Identifier: AGPL-3.0-or-later
"""A local app whose every answer a test writes by hand on the raw socket: one that never
answers, stalls in the middle of a body, stops reading an upload, or answers an Upgrade with
something other than a real 101. Anything http.server would tidy up is the point here."""

import socket
import struct
import threading

from accept_loop import accept_in_background


class Request:
    def __init__(self, method, path, headers, conn, reader):
        self.method = method
        self.path = path
        self.headers = headers  # lowercase name -> value (the last one if repeated)
        self.conn = conn        # the raw socket, to answer on
        self.reader = reader    # a buffered reader positioned at the body

    def send(self, data):
        self.conn.sendall(data if isinstance(data, bytes) else data.encode())


class ScriptedApp:
    """Serves on 127.0.0.1 in threads; `handler(request)` answers each request and returns
    True to read the next request on the same connection, False to close it."""

    def __init__(self, handler, receive_buffer=None):
        """`receive_buffer`: SO_RCVBUF of every connection, to keep the kernel from holding
        megabytes of a body the app does not read."""
        self._handler = handler
        self.requests = []  # (method, path, headers) of every request, in arrival order
        self.connections = 0
        self._sockets = []
        self._lock = threading.Lock()
        self._listener = socket.socket()
        if receive_buffer is not None:
            self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(128)
        self.port = self._listener.getsockname()[1]
        accept_in_background(self._listener, self._accepted)

    def _accepted(self, conn):
        with self._lock:
            self.connections += 1
            self._sockets.append(conn)
        threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn):
        reader = conn.makefile("rb")
        try:
            while True:
                line = reader.readline()
                if not line:
                    return
                method, path, _ = line.decode("latin-1").split(" ", 2)
                headers = {}
                while (field := reader.readline().decode("latin-1").strip()):
                    name, _, value = field.partition(":")
                    headers[name.strip().lower()] = value.strip()
                with self._lock:
                    self.requests.append((method, path, headers))
                if not self._handler(Request(method, path, headers, conn, reader)):
                    return
        except (OSError, ValueError):
            return
        finally:
            try:
                conn.close()
            except OSError:
                pass

    def paths(self):
        with self._lock:
            return [path for _, path, _ in self.requests]

    def stop(self):
        self._listener.close()
        with self._lock:
            for conn in self._sockets:
                try:
                    conn.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                conn.close()


def answer(request, status, body=b"", headers=()):
    """A complete response with Content-Length; True: the connection stays open."""
    body = body if isinstance(body, bytes) else body.encode()
    head = f"HTTP/1.1 {status}\r\nContent-Length: {len(body)}\r\n"
    head += "".join(f"{name}: {value}\r\n" for name, value in headers)
    request.send(head.encode() + b"\r\n" + body)
    return True


def read_body(request):
    """Reads a Content-Length body the app will answer after (the relay sends it whole)."""
    return request.reader.read(int(request.headers.get("content-length", "0")))


def send_now(request, data):
    """Sends without Nagle's delay, so bytes written right after a response leave at once
    rather than when the agent acknowledges the first ones."""
    request.conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    request.send(data)


def reset(request):
    """Ends the connection with a TCP reset (RST) instead of a clean close (FIN); return False
    from the handler after it."""
    request.conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    request.reader.close()  # the makefile's reference would keep the descriptor open
    request.conn.close()
