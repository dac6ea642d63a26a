# SPDX-License-Identifier: AGPL-3.0-or-later
"""A scripted peer speaking the deployed v1 protocol exactly as original-relay.md §2.3 shows it:
4-byte big-endian length, then compact JSON as serde_json emits it (`type` first, fields in
declaration order, `"error":null` spelled out, standard padded base64).

It plays either side of a tunnel:
  - V1Client: a deployed agent, connecting to OUR relay;
  - V1Server: a deployed relay's control port, accepting OUR agent.
Both hand out FrameSocket connections that tests drive frame by frame.
"""

import base64
import json
import socket
import struct
import threading
import time

MAX_FRAME = 16 * 1024 * 1024  # the deployed reader's limit; exactly this is still allowed

PING = {"type": "ping"}
HEARTBEAT = {"type": "heartbeat"}


def dumps(message) -> bytes:
    """serde_json::to_vec: compact, no trailing newline, non-ASCII left as UTF-8."""
    return json.dumps(message, separators=(",", ":"), ensure_ascii=False).encode()


def frame(payload: bytes) -> bytes:
    """The 4-byte big-endian length prefix, then the payload."""
    return struct.pack(">I", len(payload)) + payload


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def register(slug, token):
    return {"type": "register", "slug": slug, "token": token}


def registered(ok, error=None):
    return {"type": "registered", "ok": ok, "error": error}


def request(id, method, path, headers, body=b""):
    return {"type": "request", "id": id, "method": method, "path": path,
            "headers": headers, "body_b64": b64(body)}


def response(id, status, headers, body=b""):
    return {"type": "response", "id": id, "status": status, "headers": headers,
            "body_b64": b64(body)}


# What a deployed (serde) peer requires of each message, field by field (§2.4).
_FIELDS = {
    "register": {"slug": str, "token": str},
    "registered": {"ok": bool, "error": (str, type(None))},
    "request": {"id": str, "method": str, "path": str, "headers": dict, "body_b64": str},
    "response": {"id": str, "status": int, "headers": dict, "body_b64": str},
    "ping": {},
    "heartbeat": {},
}


def check_v1(message) -> dict:
    """Raises AssertionError unless a deployed serde peer would accept `message`."""
    kind = message.get("type")
    assert kind in _FIELDS, f"unknown type {kind!r} in {message}"
    for field, expected in _FIELDS[kind].items():
        assert field in message, f"{kind} lacks {field!r}: {message}"
        value = message[field]
        assert isinstance(value, expected) and not (expected is int and isinstance(value, bool)), \
            f"{kind}.{field} has the wrong JSON type: {message}"
    if "headers" in message:
        for name, value in message["headers"].items():
            assert isinstance(value, str), f"header {name!r} is not a string: {message}"
            assert name == name.lower(), f"header name {name!r} is not lowercase"
    if "body_b64" in message:
        text = message["body_b64"]
        assert b64(base64.b64decode(text, validate=True)) == text, \
            f"body_b64 is not canonical padded standard base64: {text[:80]!r}"
    if kind == "response":
        assert 0 <= message["status"] <= 65535, f"status out of u16 range: {message}"
    return message


def body_of(message) -> bytes:
    return base64.b64decode(message["body_b64"], validate=True)


class Closed(Exception):
    """The other side closed the connection (or reset it)."""


class FrameSocket:
    def __init__(self, sock):
        self.sock = sock
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._buffer = b""
        self._send_lock = threading.Lock()
        self.last_payload = b""  # raw bytes of the last frame received, for byte-level checks

    # Sending

    def send(self, message):
        self.send_payload(dumps(message))

    def send_payload(self, payload: bytes):
        self.send_raw(frame(payload))

    def send_raw(self, data: bytes):
        with self._send_lock:
            self.sock.sendall(data)

    # Receiving

    def _fill(self, n, deadline):
        """Buffers at least n bytes; a timeout leaves the buffer intact for the next call."""
        while len(self._buffer) < n:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"no complete frame in time ({len(self._buffer)} bytes buffered)")
            self.sock.settimeout(remaining)
            try:
                chunk = self.sock.recv(1 << 20)
            except socket.timeout:
                continue
            except ConnectionResetError as error:
                raise Closed("connection reset") from error
            if not chunk:
                raise Closed("connection closed")
            self._buffer += chunk

    def recv_payload(self, timeout=5.0) -> bytes:
        deadline = time.monotonic() + timeout
        self._fill(4, deadline)
        (length,) = struct.unpack(">I", self._buffer[:4])
        assert length <= MAX_FRAME, f"peer sent a frame of {length} bytes (> 16 MiB)"
        self._fill(4 + length, deadline)
        self.last_payload, self._buffer = self._buffer[4:4 + length], self._buffer[4 + length:]
        return self.last_payload

    def recv(self, timeout=5.0, skip=()) -> dict:
        """The next message, checked against the v1 schema; types in `skip` are dropped."""
        deadline = time.monotonic() + timeout
        while True:
            message = check_v1(json.loads(self.recv_payload(max(0.0, deadline - time.monotonic()))))
            if message["type"] not in skip:
                return message

    def wait_closed(self, timeout) -> bool:
        """True once the other side closed or reset the connection; anything it sent first is
        kept in self.leftover."""
        deadline = time.monotonic() + timeout
        self.leftover = self._buffer
        while time.monotonic() < deadline:
            self.sock.settimeout(max(0.01, deadline - time.monotonic()))
            try:
                chunk = self.sock.recv(65536)
            except socket.timeout:
                continue
            except (ConnectionResetError, BrokenPipeError):
                return True
            if not chunk:
                return True
            self.leftover += chunk
        return False

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


class V1Client(FrameSocket):
    """A deployed agent: registers, answers `request` with `response` (same id) and `ping`
    with `heartbeat`, either scripted by the test or from a background thread."""

    @classmethod
    def connect(cls, port, timeout=5.0):
        return cls(socket.create_connection(("127.0.0.1", port), timeout=timeout))

    def register(self, slug, token, timeout=5.0) -> dict:
        self.send(register(slug, token))
        return self.recv(timeout)

    def answer_in_background(self, handler, answer_pings=True):
        """handler(request_message) -> (status, headers, body). Stops when the relay closes
        the connection or stop() is called; `pings` counts the pings seen."""
        self.pings = 0
        self._stopping = threading.Event()

        def loop():
            while not self._stopping.is_set():
                try:
                    message = self.recv(timeout=0.2)
                except TimeoutError:
                    continue
                except (Closed, OSError):
                    return
                if message["type"] == "ping":
                    self.pings += 1
                    if answer_pings:
                        self.send(HEARTBEAT)
                elif message["type"] == "request":
                    status, headers, body = handler(message)
                    self.send(response(message["id"], status, headers, body))

        self._thread = threading.Thread(target=loop, name="v1-client", daemon=True)
        self._thread.start()

    def stop(self):
        if getattr(self, "_thread", None):
            self._stopping.set()
            self._thread.join(timeout=2)
        self.close()


class V1Server:
    """A deployed relay's control port: accepts agents, checks their `register`, replies."""

    def __init__(self):
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]

    def accept(self, timeout=10.0) -> FrameSocket:
        self.listener.settimeout(timeout)
        sock, _ = self.listener.accept()
        return FrameSocket(sock)

    def accept_registered(self, slug, token, timeout=10.0):
        """Accepts one agent, checks its register frame and says ok. Returns (conn, register)."""
        conn = self.accept(timeout)
        hello = conn.recv(timeout)
        assert hello["type"] == "register", f"first frame must be register, got {hello}"
        assert (hello["slug"], hello["token"]) == (slug, token), f"unexpected register {hello}"
        conn.send(registered(True))
        return conn, hello

    def close(self):
        self.listener.close()
