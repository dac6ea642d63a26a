// SPDX-License-Identifier: AGPL-3.0-or-later
// libFuzzer entry point for the HTTP front's request reading: arbitrary bytes through Beast's
// request parser configured as the front configures it and fed as the front feeds it
// (feedRequest, in pieces, never more buffered than the front's buffer holds), the framing
// check on every head, then the body as a tunnel reads it. The invariants are the front's
// promises: a refused head or body never gets further; an accepted head is at most 64 KiB
// and its framing is exactly one of none, Content-Length or a lone chunked; nothing waits
// unparsed beyond the bounds; the body delivered is never more than the bytes given.
//
// Build (clang): clang++ -std=c++20 -g -O1 -fsanitize=fuzzer,address,undefined -Isrc
//   tests/fuzz/request_framing_fuzz.cpp src/server/request_framing.cpp
//   src/net/http_headers.cpp -o request_framing_fuzz
#include "server/request_framing.hpp"

#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/error.hpp>

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>

namespace {

namespace http = boost::beast::http;
using nexus::ErrorCode;
using namespace nexus::server;

void check(bool condition) {
    if (!condition) {
        std::abort();
    }
}

/// The front's buffer: at most kMaxRequestHead bytes, `piece` more per read.
struct Feeder {
    std::string_view input;
    std::size_t piece;
    std::string buffered;
    RequestProgress progress;

    /// Feeds until `finished(parser)`, an error, or the input runs out (then need_more).
    template <class Finished>
    ErrorCode run(http::basic_parser<true>& parser, Finished finished) {
        for (;;) {
            if (finished(parser)) {
                return {};
            }
            if (!buffered.empty()) {
                std::size_t used = 0;
                const ErrorCode ec =
                    feedRequest(parser, boost::asio::buffer(buffered), progress, used);
                check(used <= buffered.size());
                buffered.erase(0, used);
                if (ec == http::error::need_more) {
                    // What waits unparsed is within the bounds, or the feed said no.
                    check(parser.is_header_done()
                              ? (!parser.chunked() || buffered.size() < kMaxChunkFraming)
                              : progress.headBytes + buffered.size() < kMaxRequestHead);
                } else if (ec) {
                    return ec;
                }
                if (!ec && used > 0) {
                    continue;
                }
            }
            const std::size_t room = kMaxRequestHead - buffered.size();
            check(room > 0);  // the bounds fail before the front's buffer is full
            const std::size_t n = std::min({piece, room, input.size()});
            if (n == 0) {
                return http::error::need_more;
            }
            buffered.append(input.substr(0, n));
            input.remove_prefix(n);
        }
    }
};

}  // namespace

// NOLINTNEXTLINE(readability-identifier-naming): the name libFuzzer looks for.
extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) {
        return 0;
    }
    // The first byte picks the read size, so splits inside lines get explored.
    static constexpr std::array<std::size_t, 8> kPieces{1, 2, 7, 64, 512, 4096, 8192, 65536};
    Feeder feeder{std::string_view(reinterpret_cast<const char*>(data + 1), size - 1),
                  kPieces[data[0] & 7U]};
    const std::size_t total = feeder.input.size();

    std::optional<nexus::net::RequestParser<http::empty_body>> head;
    head.emplace();
    configureRequestParser(*head);
    if (feeder.run(*head, [](auto& p) { return p.is_header_done(); })) {
        return 0;  // refused or incomplete: nothing of it is routed
    }
    check(feeder.progress.headBytes <= kMaxRequestHead);
    const auto& fields = head->get();
    const auto framing = checkRequestFraming(fields, fields.version(), head->chunked());
    const std::size_t codings = fields.count(http::field::transfer_encoding);
    if (framing.status != 0) {
        check(framing.status == 400 || framing.status == 501);
        return 0;
    }
    // Accepted: one reading of the framing, the same as the parser's.
    check(codings <= 1);
    check(head->chunked() == (codings == 1));
    check(!(head->chunked() && fields.count(http::field::content_length) > 0));
    check(!framing.close || (head->chunked() && fields.version() < 11));

    nexus::net::RequestParser<http::buffer_body> body{std::move(*head)};
    body.body_limit(boost::none);
    body.eager(true);
    std::array<char, 4096> sink{};
    std::size_t delivered = 0;
    for (;;) {
        body.get().body().data = sink.data();
        body.get().body().size = sink.size();
        const ErrorCode ec = feeder.run(body, [](auto& p) { return p.is_done(); });
        delivered += sink.size() - body.get().body().size;
        if (ec != http::error::need_buffer) {
            break;
        }
    }
    check(delivered <= total);
    if (body.is_done() && body.content_length()) {
        check(delivered == *body.content_length());
    }
    return 0;
}
