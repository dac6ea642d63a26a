// SPDX-License-Identifier: AGPL-3.0-or-later
// A driver for the libFuzzer entry points without libFuzzer (GCC builds, CI): feeds them
// valid frames, mutated frames and random bytes from a fixed seed, so every run is the same
// and a failure reproduces. Real fuzzing uses clang's -fsanitize=fuzzer on the same entry.
#include "protocol/v2_frames.hpp"

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

using namespace nexus::protocol::v2;

std::vector<std::string> seeds() {
    std::vector<std::string> frames;
    std::string f;
    (void)appendRequest(f, 1, RequestHead{"GET", "/a?b=c", {{"host", "x.test"}, {"a", "b"}}}, true);
    frames.push_back(std::exchange(f, {}));
    (void)appendResponse(f, 1, ResponseHead{200, {{"content-type", "text/plain"}}}, false);
    frames.push_back(std::exchange(f, {}));
    (void)appendData(f, 1, std::string(40000, 'd'), true);
    frames.push_back(std::exchange(f, {}));
    (void)appendTrailers(f, 3, {{"x-checksum", "abc"}});
    frames.push_back(std::exchange(f, {}));
    appendWindowUpdate(f, 0, 65536);
    appendReset(f, 5, ResetCode::Refused);
    appendPing(f, 42, true);
    appendGoaway(f, GoawayCode::Shutdown, 1000);
    frames.push_back(std::exchange(f, {}));
    return frames;
}

}  // namespace

int main(int argc, char** argv) {
    const long iterations = argc > 1 ? std::strtol(argv[1], nullptr, 10) : 100000;
    std::mt19937 rng(20261124);
    auto below = [&rng](std::size_t n) {
        return std::uniform_int_distribution<std::size_t>(0, n - 1)(rng);
    };
    const auto corpus = seeds();
    std::string input;
    for (long i = 0; i < iterations; ++i) {
        input.assign(1, static_cast<char>(below(256)));  // the chunk size the entry reads
        const std::size_t frames = 1 + below(4);
        for (std::size_t k = 0; k < frames; ++k) {
            input += corpus[below(corpus.size())];
        }
        switch (below(4)) {
            case 0: break;  // valid frames
            case 1:         // a few flipped bytes
                nexus::fuzz::flipSomeBytes(input, below);
                break;
            case 2: input.resize(1 + below(input.size())); break;  // truncated
            default:                                               // random bytes
                input.resize(1 + below(64));
                for (std::size_t k = 1; k < input.size(); ++k) {
                    input[k] = static_cast<char>(below(256));
                }
        }
        LLVMFuzzerTestOneInput(reinterpret_cast<const std::uint8_t*>(input.data()), input.size());
    }
    std::printf("%ld inputs, no failure\n", iterations);
    return 0;
}
