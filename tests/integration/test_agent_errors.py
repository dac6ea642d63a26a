#!/usr/bin/python3
# SPDX-License-Identifier: AGPL-3.0-or-later
"""An agent pointed at the wrong thing says what it found: a relay that does not speak TLS on
its port (the deployed 0.1.x relay, or ours without a certificate), an HTTP server, a TLS
server that refuses with an alert, a TLS-only server, something else. It tells from what the
other side did with its first bytes, and never sends the token in clear to find out."""

import socket
import struct
import threading
import unittest

from accept_loop import accept_in_background
from harness import RelayTestCase
from v1_peer import MAX_FRAME

TOKEN = "f" * 64
# A fatal TLS alert record: handshake_failure (40), as a server that will not talk sends it.
HANDSHAKE_FAILURE_ALERT = bytes([0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 40])


class ScriptedServer:
    """A listener on loopback that runs `behave(conn, received)` for each connection;
    `received` collects every byte the agents sent, to check what went out in clear."""

    def __init__(self, behave):
        self.received = bytearray()
        self.lines = []  # what the scripted server would have logged
        self._lock = threading.Lock()
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]

        def serve(conn):
            threading.Thread(target=self._serve, args=(conn, behave), daemon=True).start()
        accept_in_background(self.listener, serve)

    def recv(self, conn, n):
        data = b""
        while len(data) < n:
            chunk = conn.recv(n - len(data))
            if not chunk:
                break
            data += chunk
        with self._lock:
            self.received += data
        return data

    def _serve(self, conn, behave):
        conn.settimeout(10)
        try:
            behave(self, conn)
        except OSError:
            pass
        finally:
            conn.close()

    def close(self):
        self.listener.close()


def reset(conn):
    """Close with a RST, as a process that drops a socket with unread bytes does."""
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    conn.close()


def deployed_v1_relay(server, conn):
    """The deployed 0.1.4 relay's control port: the first four bytes are a frame length; above
    16 MiB it logs `frame too large` and drops the connection unread (a reset)."""
    (length,) = struct.unpack(">I", server.recv(conn, 4))
    if length > MAX_FRAME:
        server.lines.append(f"frame too large: {length} bytes")
        reset(conn)


def http_server(server, conn):
    """Any web server: whatever arrives is a bad request."""
    server.recv(conn, 1)
    conn.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")


def tls_server_refusing(server, conn):
    """A TLS server that turns the greeting down with a fatal alert."""
    server.recv(conn, 5)
    conn.sendall(HANDSHAKE_FAILURE_ALERT)


def ssh_server(server, conn):
    """Something else entirely."""
    conn.sendall(b"SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n")
    server.recv(conn, 1)


class AgentErrorTest(RelayTestCase):
    def scripted(self, behave):
        server = ScriptedServer(behave)
        self.addCleanup(server.close)
        return server

    def agent(self, port, *extra):
        """An agent for `port` (TLS unless `extra` says --insecure-plaintext); not waited for."""
        tls = [] if "--insecure-plaintext" in extra else ["--server-name", "relay.test"]
        return self.start_agent("demo", TOKEN, 9, port, *tls, *extra, wait=False)

    def test_deployed_plaintext_relay_resetting_at_the_tls_greeting(self):
        relay = self.scripted(deployed_v1_relay)
        agent = self.agent(relay.port)
        line = agent.wait_for(rf"TLS handshake with 127\.0\.0\.1:{relay.port} failed: .*").group(0)
        self.assertIn("the relay does not speak TLS on this port", line)
        self.assertIn("--insecure-plaintext only if you trust the network", line)
        self.assertNotIn("reset", line.lower())
        # The scripted relay saw what 0.1.4 sees: a TLS record read as a huge frame length.
        self.assertRegex(relay.lines[0], r"^frame too large: \d+ bytes$")
        self.assertEqual(relay.received[0], 0x16)
        self.assertNotIn(TOKEN.encode(), bytes(relay.received))
        self.assertNotIn(b"register", bytes(relay.received))

    def test_our_relay_without_a_certificate(self):
        relay = self.start_relay()
        agent = self.agent(relay.tcp_port)
        agent.wait_for(r"TLS handshake with .* failed: the relay does not speak TLS on this port: "
                       r"it closed the connection at our TLS greeting")
        relay.wait_for(r"TLS requested but no certificate is configured")

    def test_tls_agent_at_the_relays_http_port(self):
        relay = self.start_relay()
        agent = self.agent(relay.http_port)
        agent.wait_for(r"TLS handshake with .* failed: this is an HTTP server, not a relay's "
                       r"control port \(did you give the HTTP port\?\)")

    def test_plaintext_agent_at_the_relays_http_port(self):
        relay = self.start_relay()
        agent = self.agent(relay.http_port, "--insecure-plaintext")
        agent.wait_for(r"Session ended: this is an HTTP server, not a relay's control port "
                       r"\(did you give the HTTP port\?\)")
        self.assertEqual(agent.count(r"frame too large"), 0)

    def test_plaintext_agent_at_any_http_server(self):
        server = self.scripted(http_server)
        agent = self.agent(server.port, "--insecure-plaintext")
        agent.wait_for(r"Session ended: this is an HTTP server, not a relay's control port")

    def test_tls_alert_is_named_in_openssls_words(self):
        server = self.scripted(tls_server_refusing)
        agent = self.agent(server.port)
        agent.wait_for(r"TLS handshake with .* failed: the relay refused TLS \(its alert: "
                       r"sslv3 alert handshake failure\)")

    def test_plaintext_agent_at_a_tls_only_server(self):
        server = self.scripted(tls_server_refusing)
        agent = self.agent(server.port, "--insecure-plaintext")
        agent.wait_for(r"Session ended: the server answered in TLS: it wants TLS on this port "
                       r"\(drop --insecure-plaintext\)")

    def test_something_else_answering(self):
        server = self.scripted(ssh_server)
        for extra in ((), ("--insecure-plaintext",)):
            with self.subTest(extra=extra):
                agent = self.agent(server.port, *extra)
                agent.wait_for(r"this is not a relay's control port")


if __name__ == "__main__":
    unittest.main()
