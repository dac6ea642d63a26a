#!/usr/bin/python3
# SPDX-License-Identifier: AGPL-3.0-or-later
"""The HTTP front reads a visitor's request one way only, RFC 9112 §6 strictly: a
Transfer-Encoding other than a lone `chunked` is refused before routing, so its body can
never be read as a request for another tenant; the head, chunk lines and trailers are
bounded; a body broken after the head went out gets 400 and the connection closes. Two
tenants, alpha and beta, each with a scripted app recording what reaches it; every case on
a v2 tunnel and on a v1 tunnel."""

import time
import unittest

from front_exchange import exchange, flood
from harness import DOMAIN, RelayTestCase, memory_kib
from scripted_app import ScriptedApp, answer, read_body

ALPHA = f"alpha.{DOMAIN}"
SMUGGLED = f"GET /SMUGGLED HTTP/1.1\r\nHost: beta.{DOMAIN}\r\n\r\n"

# (Transfer-Encoding field lines, status): never a lone `chunked`.
TRANSFER_ENCODINGS = [
    ("Transfer-Encoding: xchunked", 400),
    ("Transfer-Encoding: chunked, identity", 400),
    ("Transfer-Encoding: identity", 400),
    ("Transfer-Encoding: gzip", 400),
    ('Transfer-Encoding: "chunked"', 400),
    ("Transfer-Encoding: chunked;q=1", 400),
    ("Transfer-Encoding: chunked, chunked", 400),
    ("Transfer-Encoding: ,chunked", 400),
    ("Transfer-Encoding: ", 400),
    ("Transfer-Encoding: gzip, chunked", 501),
    ("Transfer-Encoding: identity\r\nTransfer-Encoding: chunked", 501),
    ("Transfer-Encoding: chunked\r\nTransfer-Encoding: identity", 400),
    ("Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked", 400),
    ("Transfer-Encoding: xchunked\r\n chunked", 400),
    ("Transfer-Encoding : chunked", 400),
]


def read_any_body(request):
    """The request's body whatever its framing (the agent sends a chunked upload chunked)."""
    if "content-length" in request.headers:
        return read_body(request)
    if request.headers.get("transfer-encoding", "").lower() != "chunked":
        return b""
    data = b""
    while True:
        size = int(request.reader.readline().split(b";")[0], 16)
        if size == 0:
            while request.reader.readline() not in (b"\r\n", b""):
                pass
            return data
        data += request.reader.read(size)
        request.reader.readline()


def handle(request):
    if request.path.startswith("/hold"):
        # Never answers: only the relay may answer a request whose body breaks.
        request.conn.settimeout(10)
        try:
            request.reader.read()
        except OSError:
            pass
        return False
    body = read_any_body(request)
    return answer(request, "200 OK", f"{len(body)} bytes")


def head_of(total, line, target="/big"):
    """A GET head of exactly `total` bytes made of field lines of `line` bytes (the last one
    longer), so the 64 KiB limit falls at a different place in a line for each size."""
    start = f"GET {target} HTTP/1.1\r\nHost: {ALPHA}\r\n"
    fields = []
    room = total - len(start) - 2
    while room - line >= 2 * line:
        fields.append("x: " + "a" * (line - 5) + "\r\n")
        room -= line
    fields.append("x-last: " + "b" * (room - 10) + "\r\n")
    head = start + "".join(fields) + "\r\n"
    assert len(head) == total, (len(head), total)
    return head


class FrontFramingV2Test(RelayTestCase):
    PROTOCOL = "auto"
    LOGGED = "v2"

    def setUp(self):
        super().setUp()
        self.relay = self.start_relay()
        self.alpha = self.app("alpha")
        self.beta = self.app("beta")

    def app(self, slug):
        app = ScriptedApp(handle)
        self._sites.append(app)
        self.start_agent(slug, self.add_slug(slug), app.port, self.relay.tcp_port,
                         "--protocol", self.PROTOCOL)
        self.relay.wait_tunnel(slug, where=lambda t: t["protocol"] == self.LOGGED)
        return app

    def send(self, data, **kwargs):
        return exchange(self.relay.http_port, data, **kwargs)

    def assert_refused(self, data, status, what, routed=False):
        result = self.send(data)
        self.assertEqual(result.statuses(), [status], f"{what}: {result}")
        self.assertIn(result.ended, ("closed", "reset"), f"{what}: connection left open")
        time.sleep(0.1)
        self.assertEqual(self.beta.paths(), [], f"{what}: beta received a request")
        if not routed:
            self.assertEqual(self.alpha.paths(), [], f"{what}: alpha received a request")

    def test_transfer_encodings_other_than_a_lone_chunked_are_refused_before_routing(self):
        for lines, status in TRANSFER_ENCODINGS:
            with self.subTest(lines=lines):
                data = f"POST / HTTP/1.1\r\nHost: {ALPHA}\r\n{lines}\r\n\r\n{SMUGGLED}"
                self.assert_refused(data, status, lines)
        # The smuggled request itself reaches beta when sent as a request: the check above
        # could not pass by beta recording nothing.
        self.assertEqual(self.send(SMUGGLED).statuses(), [200])
        self.assertEqual(self.beta.paths(), ["/SMUGGLED"])

    def test_content_length_with_transfer_encoding_is_refused(self):
        for lines in ("Content-Length: 5\r\nTransfer-Encoding: chunked",
                      "Transfer-Encoding: chunked\r\nContent-Length: 5",
                      "Content-Length: 0\r\nTransfer-Encoding: gzip",
                      "Transfer-Encoding: identity\r\nContent-Length: 47"):
            with self.subTest(lines=lines):
                data = f"POST / HTTP/1.1\r\nHost: {ALPHA}\r\n{lines}\r\n\r\n0\r\n\r\n{SMUGGLED}"
                self.assert_refused(data, 400, lines)

    def test_chunked_http10_request_is_answered_then_the_connection_closes(self):
        keep = "Connection: keep-alive\r\n"
        data = (f"POST /first HTTP/1.0\r\nHost: {ALPHA}\r\n{keep}Transfer-Encoding: chunked\r\n\r\n"
                f"5\r\nhello\r\n0\r\n\r\nGET /second HTTP/1.0\r\nHost: {ALPHA}\r\n{keep}\r\n")
        result = self.send(data, half_close=False)
        self.assertEqual(result.statuses(), [200], result)
        self.assertIn(b"5 bytes", result.received)
        self.assertEqual(result.ended, "closed")
        self.assertEqual(self.alpha.paths(), ["/first"])

    def test_a_lone_chunked_body_is_forwarded_whole(self):
        data = (f"POST /up HTTP/1.1\r\nHost: {ALPHA}\r\nTransfer-Encoding: Chunked\r\n\r\n"
                "5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nx-trailer: t\r\n\r\n")
        result = self.send(data)
        self.assertEqual(result.statuses(), [200], result)
        self.assertIn(b"11 bytes", result.received)

    def test_endless_chunk_lines_and_trailers_close_with_bounded_memory(self):
        head = f"POST /hold HTTP/1.1\r\nHost: {ALPHA}\r\nTransfer-Encoding: chunked\r\n\r\n"
        cases = [("chunk-size line", "5;", b"a"), ("hex digits", "", b"1"),
                 ("extension value", "5;name=", b"v"), ("trailer", "0\r\nx-t: ", b"t")]
        limit = 64 << 20
        for what, start, filler in cases:
            with self.subTest(what=what):
                before = memory_kib(self.relay.pid, "VmHWM")
                sent, result = flood(self.relay.http_port, (head + start).encode(),
                                     filler * (1 << 20), limit)
                grown = memory_kib(self.relay.pid, "VmHWM") - before
                print(f"{self.PROTOCOL} endless {what}: relay read {sent} bytes, then "
                      f"{result.ended}; peak RSS grew by {grown} KiB", flush=True)
                self.assertLess(sent, limit, f"{what}: the relay read {sent} bytes of it")
                self.assertIn(result.ended, ("closed", "reset"), f"{what}: {result}")
                if result.received:
                    self.assertEqual(result.statuses(), [400], f"{what}: {result}")
                self.assertLess(grown, 16 * 1024, f"{what}: the relay grew by {grown} KiB")
        self.assertTrue(self.relay.alive())

    def test_heads_above_64_kib_get_431_wherever_the_limit_falls(self):
        for total in (65537, 65538, 65539, 65540, 65600, 66000, 100000, 262144):
            for line in (6, 97, 7001):
                with self.subTest(total=total, line=line):
                    self.assert_refused(head_of(total, line), 431, f"{total}/{line}")

    def test_heads_below_64_kib_with_few_fields_are_forwarded(self):
        # Room for the forwarding fields the relay adds and for v2's longer field lengths.
        for total in (65536 - 512, 65000, 40000):
            for line in (7001, 20000):
                with self.subTest(total=total, line=line):
                    result = self.send(head_of(total, line, f"/big{total}-{line}"))
                    self.assertEqual(result.statuses(), [200], f"{total}/{line}: {result}")
                    self.assertIn(f"/big{total}-{line}", self.alpha.paths())

    def many_small_fields_below_the_limit(self):
        """A 50 KB head of 8,000 short fields: fits the front's limit, not one v2 REQUEST."""
        return self.send(head_of(50_000, 6, "/many"))

    def test_a_head_that_cannot_cross_the_tunnel_gets_431_not_503(self):
        result = self.many_small_fields_below_the_limit()
        self.assertEqual(result.statuses(), [431], result)
        self.assertEqual(self.alpha.paths(), [])

    def test_a_body_broken_after_the_head_went_out_gets_400_and_close(self):
        chunked = f"POST /hold HTTP/1.1\r\nHost: {ALPHA}\r\nTransfer-Encoding: chunked\r\n\r\n"
        sized = f"POST /hold HTTP/1.1\r\nHost: {ALPHA}\r\nContent-Length: 100\r\n\r\n"
        cases = [("bad chunk size", chunked + "zz\r\nhello\r\n0\r\n\r\n"),
                 ("no CRLF after the data", chunked + "5\r\nhelloXX0\r\n\r\n"),
                 ("missing last chunk", chunked + "5\r\nhello\r\n"),
                 ("cut inside a chunk", chunked + "a\r\nhel"),
                 ("cut before the length", sized + "0123456789")]
        for what, data in cases:
            with self.subTest(what=what):
                started = time.monotonic()
                result = self.send(data)
                self.assertEqual(result.statuses(), [400], f"{what}: {result}")
                self.assertIn(result.ended, ("closed", "reset"), what)
                self.assertLess(time.monotonic() - started, 4, what)
        self.assertEqual(self.beta.paths(), [])


class FrontFramingV1Test(FrontFramingV2Test):
    PROTOCOL = "v1"
    LOGGED = "v1"

    def test_a_head_that_cannot_cross_the_tunnel_gets_431_not_503(self):
        # A v1 frame holds any head the front takes: forwarded.
        result = self.many_small_fields_below_the_limit()
        self.assertEqual(result.statuses(), [200], result)
        self.assertEqual(self.alpha.paths(), ["/many"])

    def test_heads_of_exactly_64_kib_are_forwarded(self):
        for line in (6, 97, 7001):
            with self.subTest(line=line):
                result = self.send(head_of(65536, line, f"/exact{line}"))
                self.assertEqual(result.statuses(), [200], f"{line}: {result}")


del RelayTestCase  # only the two concrete cases run

if __name__ == "__main__":
    unittest.main()
