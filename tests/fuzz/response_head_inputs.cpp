// SPDX-License-Identifier: AGPL-3.0-or-later
// A driver for the response head entry point without libFuzzer (GCC builds, CI): feeds it
// heads a local app might send, edited where a head parser goes wrong (a CR, LF or NUL put in,
// a colon or a space moved, framing fields added, lines doubled, cut anywhere) and random
// bytes, from a fixed seed, so every run is the same and a failure reproduces.
#include <array>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <string_view>

// NOLINTNEXTLINE(readability-identifier-naming): the name libFuzzer looks for.
extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

namespace {

constexpr std::array<std::string_view, 10> kHeads{
    "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 5\r\n\r\nhello",
    "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\nTrailer: X-Sum\r\n\r\n5\r\nhello\r\n",
    "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n",
    "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\nSet-Cookie: a=b\r\n\r\n",
    "HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\n",
    "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n",
    "HTTP/1.1 304 Not Modified\r\nETag: \"x\"\r\nKeep-Alive: timeout=5\r\nTE: trailers\r\n\r\n",
    "HTTP/1.1 302\r\nLocation: /login\r\nConnection: close\r\n\r\n",
    "HTTP/1.1 200 OK\r\nX-Tab:\tvalue\t\r\nX-Obs: caf\xc3\xa9\r\nProxy-Connection: x\r\n\r\n",
    "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nno",
};

// What goes wrong in heads: line ends and their halves, NUL, DEL, folding, separators, and
// fields that change the framing.
constexpr std::array<std::string_view, 16> kPieces{
    "\r",
    "\n",
    "\r\n",
    "\r\n\r\n",
    std::string_view("\0", 1),
    "\x7f",
    "\r\n ",
    ":",
    " ",
    ",",
    "HTTP/1.1 ",
    "Content-Length: 18446744073709551616\r\n",
    "Transfer-Encoding: chunked\r\n",
    "Connection: close, upgrade\r\n",
    "Upgrade: websocket\r\n",
    "HTTP/1.1 100 Continue\r\n\r\n",
};

}  // namespace

int main(int argc, char** argv) {
    const long iterations = argc > 1 ? std::strtol(argv[1], nullptr, 10) : 100000;
    std::mt19937 rng(20261202);
    auto below = [&rng](std::size_t n) {
        return std::uniform_int_distribution<std::size_t>(0, n - 1)(rng);
    };
    std::string input;
    for (long i = 0; i < iterations; ++i) {
        input.assign(1, static_cast<char>(below(256)));  // the flags byte the entry reads
        for (std::size_t k = 1 + below(3); k > 0; --k) {
            input += kHeads[below(kHeads.size())];
        }
        switch (below(5)) {
            case 0: break;  // as sent
            case 1:         // pieces put in anywhere
                for (std::size_t k = 1 + below(4); k > 0; --k) {
                    const auto& piece = kPieces[below(kPieces.size())];
                    input.insert(1 + below(input.size()), piece);
                }
                break;
            case 2:  // bytes deleted or changed
                for (std::size_t k = 1 + below(4); k > 0 && input.size() > 1; --k) {
                    const std::size_t at = 1 + below(input.size() - 1);
                    if (below(2) == 0) {
                        input.erase(at, 1);
                    } else {
                        input[at] = static_cast<char>(below(256));
                    }
                }
                break;
            case 3: {  // a stretch repeated: many fields, long values, many heads
                const std::size_t from = 1 + below(input.size() - 1);
                const std::string stretch = input.substr(from, 1 + below(input.size() - from));
                std::string repeated;
                for (std::size_t k = below(2000); k > 0 && repeated.size() < 100 * 1024; --k) {
                    repeated += stretch;
                }
                input.insert(from, repeated);
                break;
            }
            default:  // cut anywhere
                input.resize(1 + below(input.size()));
        }
        LLVMFuzzerTestOneInput(reinterpret_cast<const std::uint8_t*>(input.data()), input.size());
    }
    std::printf("%ld inputs, no failure\n", iterations);
    return 0;
}
