# SPDX-License-Identifier: AGPL-3.0-or-later
"""A scripted agent speaking protocol v2 (docs/protocol.md §4) to OUR relay, frame by frame:
it registers with the `v2` feature, then answers each REQUEST as the test writes it, hostile
answers (an interim 1xx as final, a body cut by a RESET or a dead connection) included."""

import socket
import struct
import threading

from v1_peer import Closed, V1Client

REQUEST, RESPONSE, DATA, TRAILERS, WINDOW_UPDATE, RESET, PING, GOAWAY = range(1, 9)
END_STREAM, ACK = 0x01, 0x02


def v2_frame(kind, stream, payload=b"", flags=0) -> bytes:
    return struct.pack(">IBBHI", len(payload), kind, flags, 0, stream) + payload


def header_block(headers) -> bytes:
    out = struct.pack(">H", len(headers))
    for name, value in headers:
        name, value = name.encode(), value.encode()
        out += struct.pack(">H", len(name)) + name + struct.pack(">I", len(value)) + value
    return out


def response_frame(stream, status, headers=(), end=False) -> bytes:
    payload = struct.pack(">H", status) + header_block(list(headers))
    return v2_frame(RESPONSE, stream, payload, END_STREAM if end else 0)


def data_frame(stream, data, end=False) -> bytes:
    return v2_frame(DATA, stream, data, END_STREAM if end else 0)


def reset_frame(stream, code=0) -> bytes:
    return v2_frame(RESET, stream, struct.pack(">I", code))


class V2Agent:
    """Registers `slug` on v2; `handler(agent, stream, method, target)` answers each REQUEST
    from a background thread by calling agent.send(frames). PINGs are answered."""

    def __init__(self, port, slug, token, handler):
        self._peer = V1Client.connect(port)
        self._peer.send({"type": "register", "slug": slug, "token": token,
                         "features": ["header_list", "v2"]})
        reply = self._peer.recv()
        assert reply["ok"] and "v2" in reply.get("features", []), f"no v2 session: {reply}"
        self.sock = self._peer.sock
        self._buffer = self._peer._buffer  # v2 bytes that came with `registered`
        self._handler = handler
        self._lock = threading.Lock()
        threading.Thread(target=self._loop, name="v2-agent", daemon=True).start()

    def send(self, data: bytes):
        with self._lock:
            self.sock.sendall(data)

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def _read(self, n):
        while len(self._buffer) < n:
            self.sock.settimeout(None)
            chunk = self.sock.recv(1 << 16)
            if not chunk:
                raise Closed("relay closed the connection")
            self._buffer += chunk
        data, self._buffer = self._buffer[:n], self._buffer[n:]
        return data

    def _loop(self):
        try:
            while True:
                length, kind, flags, _, stream = struct.unpack(">IBBHI", self._read(12))
                payload = self._read(length)
                if kind == PING and not flags & ACK:
                    self.send(v2_frame(PING, 0, payload, ACK))
                elif kind == REQUEST:
                    method = payload[1:1 + payload[0]].decode()
                    at = 1 + payload[0]
                    (target_length,) = struct.unpack(">H", payload[at:at + 2])
                    target = payload[at + 2:at + 2 + target_length].decode("latin-1")
                    self._handler(self, stream, method, target)
        except (Closed, OSError):
            return
