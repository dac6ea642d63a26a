#!/usr/bin/python3
# SPDX-License-Identifier: AGPL-3.0-or-later
"""The doors in detail: wss:// through a TLS proxy in front of the loopback WebSocket door,
the agent's connect and handshake deadlines, one tunnel frame per WebSocket message, the
system's CA store, and the relay's TLS 1.2 minimum."""

import asyncio
import json
import os
import socket
import ssl
import struct
import subprocess
import sys
import threading
import time
import unittest

from harness import DOMAIN, RelayTestCase, free_port, wait_until
from accept_loop import accept_in_background
from test_ca import make_test_ca
import v1_peer


class TlsTerminatingProxy:
    """What Caddy does on 443 for the WebSocket door: ends TLS with the test certificate and
    copies the plain bytes to the relay's loopback --ws-port. Counts the bytes a client sent
    after its handshake: a token can only be among them."""

    def __init__(self, certificate, key, target_port):
        self._context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self._context.load_cert_chain(certificate, key)
        self._target = target_port
        self.handshakes = 0
        self.failed_handshakes = 0
        self.bytes_from_clients = 0
        self._lock = threading.Lock()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        accept_in_background(self._listener, lambda raw: threading.Thread(
            target=self._serve, args=(raw,), daemon=True).start())

    def _serve(self, raw):
        raw.settimeout(10)
        try:
            client = self._context.wrap_socket(raw, server_side=True)
        except (ssl.SSLError, OSError):
            with self._lock:
                self.failed_handshakes += 1
            raw.close()
            return
        with self._lock:
            self.handshakes += 1
        client.settimeout(None)
        upstream = socket.create_connection(("127.0.0.1", self._target))
        threading.Thread(target=self._copy, args=(upstream, client, False), daemon=True).start()
        self._copy(client, upstream, True)

    def _copy(self, source, destination, from_client):
        try:
            while (data := source.recv(65536)):
                if from_client:
                    with self._lock:
                        self.bytes_from_clients += len(data)
                destination.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, destination):
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def stop(self):
        self._listener.close()


class SilentListener:
    """Accepts connections and never says a word: a relay that hangs, a firewall that
    swallows packets after the SYN."""

    def __init__(self):
        self.accepted = []  # monotonic time of each accept
        self._held = []
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        accept_in_background(self._listener, self._hold)

    def _hold(self, conn):
        self.accepted.append(time.monotonic())
        self._held.append(conn)

    def stop(self):
        self._listener.close()
        for conn in self._held:
            conn.close()


class DoorTestCase(RelayTestCase):
    def setUp(self):
        super().setUp()
        self.pki = make_test_ca(str(self.tmp / "pki"))


class SecureWebSocketDoorTest(DoorTestCase):
    def setUp(self):
        super().setUp()
        ws_port = free_port()
        self.relay = self.start_relay(ws_port=ws_port)
        self.relay.wait_for(rf"WebSocket door on 127\.0\.0\.1:{ws_port}")
        self.proxy = TlsTerminatingProxy(self.pki["relay.pem"], self.pki["relay.key"], ws_port)
        self._sites.append(self.proxy)
        self.token = self.add_slug("demo")
        self.url = f"wss://localhost:{self.proxy.port}/tunnel"

    def test_agent_registers_through_wss_with_the_test_ca_and_requests_pass(self):
        site = self.start_site()
        self.start_url_agent("demo", self.token, site.port, self.url,
                             "--ca-file", self.pki["ca.pem"])
        self.relay.wait_tunnel("demo", where=lambda t: t["door"] == "ws")
        self.assertEqual(self.proxy.handshakes, 1)
        self.assert_serves(self.relay, "demo", site)

    def assert_refused_without_sending_anything(self, agent):
        agent.wait_for(r"WebSocket handshake with \S+ failed: the relay's certificate could "
                       r"not be verified")
        # The agent tries again, and is refused again: a settled refusal, not a race.
        agent.wait_for(r"WebSocket handshake with \S+ failed", timeout=10, occurrences=2)
        self.assertEqual(agent.registrations(), 0)
        wait_until(lambda: self.proxy.failed_handshakes >= 2, 5, "two refused handshakes")
        self.assertEqual(self.proxy.handshakes, 0)
        self.assertEqual(self.proxy.bytes_from_clients, 0, "no byte may follow a refused handshake")
        self.assertEqual(self.relay.count(r"Auth failure|Tunnel registered"), 0)

    def test_agent_refuses_a_wss_relay_whose_certificate_is_for_another_name(self):
        agent = self.start_url_agent("demo", self.token, free_port(), self.url,
                                     "--ca-file", self.pki["ca.pem"],
                                     "--server-name", "other.example", wait=False)
        self.assert_refused_without_sending_anything(agent)

    def test_agent_refuses_a_wss_relay_signed_by_a_ca_it_was_not_given(self):
        agent = self.start_url_agent("demo", self.token, free_port(), self.url, wait=False)
        self.assert_refused_without_sending_anything(agent)


class AgentDeadlinesTest(DoorTestCase):
    """About 10 s: the agent's own deadline is 8 s."""

    DEADLINE = 8

    def test_agent_gives_up_a_silent_relay_after_the_handshake_deadline_and_retries(self):
        tls_listener, ws_listener = SilentListener(), SilentListener()
        self._sites += [tls_listener, ws_listener]
        tls_agent = self.start_url_agent("demo", "0" * 64, free_port(),
                                         f"127.0.0.1:{tls_listener.port}",
                                         "--ca-file", self.pki["ca.pem"], wait=False)
        ws_agent = self.start_url_agent("demo", "0" * 64, free_port(),
                                        f"ws://127.0.0.1:{ws_listener.port}/tunnel",
                                        "--insecure-plaintext", wait=False)
        cases = {tls_agent: (tls_listener, r"TLS handshake with \S+ failed: timed out"),
                 ws_agent: (ws_listener, r"WebSocket handshake with \S+ failed: timed out")}
        gave_up = {}
        deadline = time.monotonic() + self.DEADLINE + 4
        while len(gave_up) < len(cases) and time.monotonic() < deadline:
            for agent, (_, pattern) in cases.items():
                if agent not in gave_up and agent.count(pattern):
                    gave_up[agent] = time.monotonic()
            time.sleep(0.05)
        for agent, (listener, pattern) in cases.items():
            with self.subTest(agent=agent.name):
                self.assertIn(agent, gave_up, f"no /{pattern}/ within {self.DEADLINE + 4}s")
                waited = gave_up[agent] - listener.accepted[0]
                self.assertGreater(waited, self.DEADLINE - 1, "gave up before its deadline")
                self.assertLess(waited, self.DEADLINE + 2, "kept waiting past its deadline")
                agent.wait_for(r"Reconnecting in \d+s", timeout=2)
                wait_until(lambda: len(listener.accepted) >= 2, 5, "a second attempt")
                self.assertEqual(agent.registrations(), 0)


class WebSocketDoorFramingTest(DoorTestCase):
    """A deployed-style agent on the WebSocket door: v1 frames, one per binary message."""

    def setUp(self):
        super().setUp()
        self.ws_port = free_port()

    def test_each_binary_message_holds_exactly_one_whole_v1_frame(self):
        import websockets
        relay = self.start_relay(ws_port=self.ws_port)
        token = self.add_slug("demo")
        body = os.urandom(300_000)  # a request frame of ~400 kB: still one message

        def check_one_frame(message):
            self.assertIsInstance(message, bytes, "tunnel frames travel as binary messages")
            self.assertGreaterEqual(len(message), 4)
            (length,) = struct.unpack(">I", message[:4])
            self.assertEqual(len(message), 4 + length, "a message must hold exactly one frame")
            return v1_peer.check_v1(json.loads(message[4:]))

        async def agent():
            async with websockets.connect(f"ws://127.0.0.1:{self.ws_port}/tunnel",
                                          max_size=32 << 20) as ws:
                await ws.send(v1_peer.frame(v1_peer.dumps(v1_peer.register("demo", token))))
                registered = check_one_frame(await ws.recv())
                self.assertEqual((registered["type"], registered["ok"]), ("registered", True))
                requests = []
                for _ in range(2):
                    request = check_one_frame(await ws.recv())
                    self.assertEqual(request["type"], "request")
                    requests.append(request)
                    answer = v1_peer.response(request["id"], 200, {"content-type": "text/plain"},
                                              f"answer to {request['path']}".encode())
                    await ws.send(v1_peer.frame(v1_peer.dumps(answer)))
                return requests

        def visitor():
            relay.wait_tunnel("demo", where=lambda t: t["door"] == "ws")
            first = relay.request(f"demo.{DOMAIN}", "/upload", method="POST", body=body)
            second = relay.get(f"demo.{DOMAIN}", "/second")
            return first, second

        async def both():
            answers = asyncio.get_running_loop().run_in_executor(None, visitor)
            requests = await asyncio.wait_for(agent(), 20)
            return requests, await answers

        requests, (first, second) = asyncio.run(both())
        self.assertEqual(v1_peer.b64(body), requests[0]["body_b64"])
        self.assertEqual((first.status, first.body), (200, b"answer to /upload"))
        self.assertEqual((second.status, second.body), (200, b"answer to /second"))

    def failed_auth_address(self, relay):
        import websockets

        async def attempt():
            async with websockets.connect(f"ws://127.0.0.1:{self.ws_port}/tunnel",
                                          extra_headers={"X-Forwarded-For": "203.0.113.7"}) as ws:
                await ws.send(v1_peer.frame(v1_peer.dumps(v1_peer.register("demo", "f" * 64))))
                try:
                    await ws.recv()
                except websockets.ConnectionClosed:
                    pass

        self.add_slug("demo")
        asyncio.run(asyncio.wait_for(attempt(), 10))
        return relay.wait_for(r"Auth failure from (\S+)").group(1)

    def test_the_door_believes_x_forwarded_for_from_a_trusted_proxy(self):
        relay = self.start_relay(ws_port=self.ws_port)  # loopback is trusted by default
        self.assertEqual(self.failed_auth_address(relay), "203.0.113.7")

    def test_the_door_ignores_x_forwarded_for_from_a_peer_outside_the_trusted_proxies(self):
        relay = self.start_relay(ws_port=self.ws_port, trusted_proxy="192.0.2.1")
        self.assertEqual(self.failed_auth_address(relay), "127.0.0.1")


class TlsTrustTest(DoorTestCase):
    def tls_relay(self, env=None):
        return self.start_relay(tls_cert=self.pki["relay.pem"], tls_key=self.pki["relay.key"],
                                env=env)

    def test_agent_trusts_the_system_store_from_ssl_cert_file(self):
        relay = self.tls_relay()
        token = self.add_slug("demo")
        site = self.start_site()
        env = dict(os.environ, SSL_CERT_FILE=self.pki["ca.pem"])
        env.pop("SSL_CERT_DIR", None)
        self.start_url_agent("demo", token, site.port, f"localhost:{relay.tcp_port}", env=env)
        relay.wait_tunnel("demo", where=lambda t: t["door"] == "tls")
        self.assert_serves(relay, "demo", site)

    def test_agent_trusts_the_system_store_from_a_hashed_ssl_cert_dir(self):
        # Without SSL_CERT_FILE the agent reads the store's hashed directory on demand rather
        # than the whole bundle: the relay's CA must be found there alone.
        hashed = self.tmp / "hashed-certs"
        hashed.mkdir()
        subject_hash = subprocess.run(["openssl", "x509", "-noout", "-subject_hash", "-in",
                                       self.pki["ca.pem"]], capture_output=True, text=True,
                                      check=True).stdout.strip()
        os.symlink(self.pki["ca.pem"], hashed / f"{subject_hash}.0")
        relay = self.tls_relay()
        token = self.add_slug("demo")
        site = self.start_site()
        env = dict(os.environ, SSL_CERT_DIR=f"{self.tmp / 'absent'}:{hashed}")
        env.pop("SSL_CERT_FILE", None)
        self.start_url_agent("demo", token, site.port, f"localhost:{relay.tcp_port}", env=env)
        relay.wait_tunnel("demo", where=lambda t: t["door"] == "tls")
        self.assert_serves(relay, "demo", site)

    def test_relay_refuses_tls_below_1_2_even_when_openssl_config_allows_it(self):
        # Debian's openssl.cnf already sets MinProtocol = TLSv1.2: a permissive configuration
        # leaves the relay's own minimum as the only thing refusing TLS 1.1.
        # This one also lowers the default security level to 0 (TLS 1.1 signs with MD5-SHA1),
        # for the relay as for the client.
        permissive = self.tmp / "openssl-permissive.cnf"
        permissive.write_text("openssl_conf = default_conf\n[default_conf]\nssl_conf = ssl_sect\n"
                              "[ssl_sect]\nsystem_default = system_default_sect\n"
                              "[system_default_sect]\nMinProtocol = TLSv1\n"
                              "CipherString = DEFAULT@SECLEVEL=0\n")
        env = dict(os.environ, OPENSSL_CONF=str(permissive))
        relay = self.tls_relay(env)
        script = r"""
import socket, ssl, sys, threading
ca, key, cert, port = sys.argv[1:5]

def handshake(target, maximum):
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.minimum_version = ssl.TLSVersion.TLSv1
    context.maximum_version = maximum
    context.set_ciphers("DEFAULT:@SECLEVEL=0")
    context.load_verify_locations(ca)
    try:
        with socket.create_connection(("127.0.0.1", target), timeout=5) as raw:
            with context.wrap_socket(raw, server_hostname="localhost") as tls:
                return tls.version()
    except (ssl.SSLError, OSError) as error:
        return "refused: " + type(error).__name__

# Control: this interpreter can speak TLS 1.1 at all (to a server that allows it).
server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
server.minimum_version = ssl.TLSVersion.TLSv1
server.set_ciphers("DEFAULT:@SECLEVEL=0")
server.load_cert_chain(cert, key)
listener = socket.create_server(("127.0.0.1", 0))
def serve():
    conn, _ = listener.accept()
    try:
        server.wrap_socket(conn, server_side=True).close()
    except (ssl.SSLError, OSError):
        conn.close()
threading.Thread(target=serve, daemon=True).start()
print(handshake(listener.getsockname()[1], ssl.TLSVersion.TLSv1_1))
print(handshake(int(port), ssl.TLSVersion.TLSv1_1))
print(handshake(int(port), ssl.TLSVersion.TLSv1_2))
"""
        result = subprocess.run(
            [sys.executable, "-c", script, self.pki["ca.pem"], self.pki["relay.key"],
             self.pki["relay.pem"], str(relay.tcp_port)],
            capture_output=True, text=True, timeout=30, env=env)
        self.assertEqual(result.returncode, 0, result.stderr)
        control, old, current = result.stdout.strip().split("\n")
        if control != "TLSv1.1":
            self.skipTest(f"this OpenSSL cannot speak TLS 1.1 at all ({control})")
        self.assertTrue(old.startswith("refused"), f"TLS 1.1 was accepted: {old}")
        self.assertEqual(current, "TLSv1.2")
        relay.wait_for(r"TLS handshake failed")


if __name__ == "__main__":
    unittest.main()
