// SPDX-License-Identifier: AGPL-3.0-or-later
// A driver for request_framing_fuzz without libFuzzer (GCC builds, CI): requests built from
// heads, framings and bodies that hit the front's rules and limits, mutated, truncated and
// spliced from a fixed seed, so every run is the same and a failure reproduces.
#include "mutate.hpp"

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

// NOLINTNEXTLINE(readability-identifier-naming): the name libFuzzer looks for.
extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

namespace {

const std::vector<std::string> kStarts = {
    "POST / HTTP/1.1\r\nHost: a.test\r\n", "GET /x?y HTTP/1.0\r\nHost: b.test\r\n",
    "PUT /u HTTP/1.1\r\nhost: a.test\r\nConnection: keep-alive\r\n"};
const std::vector<std::string> kFramings = {
    "",
    "Content-Length: 5\r\n",
    "Content-Length: 5, 5\r\n",
    "Transfer-Encoding: chunked\r\n",
    "Transfer-Encoding: xchunked\r\n",
    "Transfer-Encoding: chunked, identity\r\n",
    "Transfer-Encoding: gzip, chunked\r\n",
    "Transfer-Encoding: \"chunked\"\r\n",
    "Transfer-Encoding: identity\r\nTransfer-Encoding: chunked\r\n",
    "Transfer-Encoding: chunked\r\nContent-Length: 5\r\n",
    "Content-Length: 5\r\nTransfer-Encoding: gzip\r\n",
    "Transfer-Encoding:\r\n chunked\r\n",
    "Transfer-Encoding: ,\r\n",
    "Transfer-Encoding: CHUNKED ;\r\n"};
const std::vector<std::string> kBodies = {"hello",
                                          "5\r\nhello\r\n0\r\n\r\n",
                                          "5;e=\"q\"\r\nhello\r\n0\r\nx-t: 1\r\n\r\n",
                                          "zz\r\n",
                                          "5\r\nhelloXX0\r\n\r\n",
                                          "ffffffffffffffffff\r\n",
                                          "0\r\n\r\n",
                                          "GET /smuggled HTTP/1.1\r\nHost: b.test\r\n\r\n"};

}  // namespace

int main(int argc, char** argv) {
    const long iterations = argc > 1 ? std::strtol(argv[1], nullptr, 10) : 20000;
    std::mt19937 rng(20261204);
    auto below = [&rng](std::size_t n) {
        return std::uniform_int_distribution<std::size_t>(0, n - 1)(rng);
    };
    std::string input;
    for (long i = 0; i < iterations; ++i) {
        input.assign(1, static_cast<char>(below(256)));  // the read size the entry picks
        input += kStarts[below(kStarts.size())];
        input += kFramings[below(kFramings.size())];
        switch (below(6)) {
            case 0:  // a head near the 64 KiB limit, the limit falling anywhere in a line
                while (input.size() < 65536 - 200 + below(400)) {
                    input += "x: " + std::string(below(8000), 'a') + "\r\n";
                }
                break;
            case 1:  // an endless chunk line, extension or trailer
                input += "\r\n" + std::string(below(2) ? "5;" : "0\r\nt: ");
                input += std::string(4096 + below(8192), 'a');
                break;
            default: break;
        }
        input += "\r\n";
        for (std::size_t k = below(3); k > 0; --k) {
            input += kBodies[below(kBodies.size())];
        }
        switch (below(4)) {
            case 0: break;  // as built
            case 1:         // a few flipped bytes
                nexus::fuzz::flipSomeBytes(input, below);
                break;
            case 2: input.resize(1 + below(input.size())); break;  // truncated
            default:                                               // random bytes appended
                for (std::size_t k = below(64); k > 0; --k) {
                    input += static_cast<char>(below(256));
                }
        }
        LLVMFuzzerTestOneInput(reinterpret_cast<const std::uint8_t*>(input.data()), input.size());
    }
    std::printf("%ld inputs, no failure\n", iterations);
    return 0;
}
