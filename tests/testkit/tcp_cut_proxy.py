# SPDX-License-Identifier: AGPL-3.0-or-later
"""A loopback TCP proxy that can be cut and restored, to simulate a database outage
without touching the real database server; or frozen and thawed, to simulate a path that
silently drops every packet (a NAT that forgot the session, a dead uplink)."""

import socket
import struct
import threading


class _Link:
    """One proxied connection: the visitor's socket and ours to the target."""

    def __init__(self, client, upstream):
        self.sockets = (client, upstream)
        self.frozen = False
        self.done = False
        self.swallowed = [0, 0]  # bytes the blackhole ate: [toward the target, toward the client]


class CutProxy:
    def __init__(self, target_host, target_port, upstream_timeout=3):
        """upstream_timeout: seconds for the connection to the target and, as before, for
        each read from it: a target silent that long loses the connection. None keeps quiet
        connections (a tunnel that only pings every 10 s)."""
        self.target = (target_host, target_port)
        self._upstream_timeout = upstream_timeout
        self.port = None
        self._listener = None
        self._connections = []
        self._lock = threading.Lock()
        self._frozen = False
        self._links = []  # [_Link]: each proxied connection pair, to freeze or thaw it

    def start(self, port=0):
        """Listens (again) on `port` (0 = pick one the first time, then reuse it)."""
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", port or self.port or 0))
        listener.listen(64)
        self.port = listener.getsockname()[1]
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()
        return self

    def cut(self):
        """Refuses new connections and resets the open ones, like a database going away."""
        listener, self._listener = self._listener, None
        if listener:
            try:
                listener.shutdown(socket.SHUT_RDWR)  # wakes the thread blocked in accept()
            except OSError:
                pass
            listener.close()
        with self._lock:
            connections, self._connections = self._connections, []
        for s in connections:
            # shutdown() wakes the pump threads blocked in recv(); close() alone would not.
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()

    def freeze(self):
        """Blackholes the path: from now on every byte either side sends, on the open
        connections and on new ones, is swallowed, yet every socket stays open, so neither
        end sees a FIN or an RST. Only an application heartbeat can notice."""
        with self._lock:
            self._frozen = True
            for link in self._links:
                link.frozen = True

    def thaw(self):
        """The path works again. Connections that lived through the freeze are reset (their
        ends have given up on them, as real peers would have); new connections are forwarded
        normally."""
        with self._lock:
            self._frozen = False
            frozen = [link for link in self._links if link.frozen]
            self._links = [link for link in self._links if not link.frozen]
        for link in frozen:
            for s in link.sockets:
                try:
                    # close() with a zero linger sends an RST, like a peer that forgot us.
                    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    s.shutdown(socket.SHUT_RDWR)  # wakes the pump threads blocked in recv()
                except OSError:
                    pass
                s.close()

    def swallowed_bytes(self):
        """(toward the target, toward the client): bytes sent into the blackhole so far on the
        connections that are frozen now."""
        with self._lock:
            frozen = [link for link in self._links if link.frozen]
        return (sum(link.swallowed[0] for link in frozen),
                sum(link.swallowed[1] for link in frozen))

    def _accept(self, listener):
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target, timeout=3)
                upstream.settimeout(self._upstream_timeout)
            except OSError:
                client.close()
                continue
            link = _Link(client, upstream)
            with self._lock:
                self._connections += [client, upstream]
                link.frozen = self._frozen
                self._links = [old for old in self._links if not old.done] + [link]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(link, a, b), daemon=True).start()

    @staticmethod
    def _pump(link, source, sink):
        try:
            while True:
                data = source.recv(65536)
                if link.frozen:
                    if not data:
                        return  # the end that closed gets no answer; the other never learns
                    link.swallowed[0 if source is link.sockets[0] else 1] += len(data)
                    continue
                if not data:
                    break
                sink.sendall(data)
        except OSError:
            if link.frozen:
                return
        link.done = True
        for s in (source, sink):
            try:
                s.close()
            except OSError:
                pass
