// SPDX-License-Identifier: AGPL-3.0-or-later
#include "server/request_framing.hpp"

#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/string_body.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <string>

namespace http = boost::beast::http;
using nexus::ErrorCode;
using nexus::server::checkRequestFraming;
using nexus::server::feedRequest;
using nexus::server::kMaxChunkFraming;
using nexus::server::kMaxRequestHead;
using nexus::server::RequestFraming;
using nexus::server::RequestProgress;

namespace {

using Parser = nexus::net::RequestParser<http::empty_body>;

/// Feeds `bytes` as the front's reader does, `piece` bytes arriving at a time: what the parser
/// does not take stays buffered for the next call. Returns the first error other than
/// need_more, or need_more if the bytes ran out first.
ErrorCode feedInPieces(http::basic_parser<true>& parser, const std::string& bytes,
                       std::size_t piece, bool untilHead = true) {
    std::string buffered;
    RequestProgress progress;
    for (std::size_t at = 0; at < bytes.size();) {
        const std::size_t n = std::min(piece, bytes.size() - at);
        buffered.append(bytes, at, n);
        at += n;
        for (;;) {
            std::size_t used = 0;
            const ErrorCode ec = feedRequest(parser, boost::asio::buffer(buffered), progress, used);
            buffered.erase(0, used);
            if (ec == http::error::need_more || (!ec && used == 0)) {
                break;
            }
            if (ec || (untilHead ? parser.is_header_done() : parser.is_done())) {
                return ec;
            }
        }
    }
    return http::error::need_more;
}

RequestFraming framingOf(const std::string& fields, const char* version = "1.1") {
    Parser parser;
    nexus::server::configureRequestParser(parser);
    const std::string head =
        std::string("POST / HTTP/") + version + "\r\nHost: a.test\r\n" + fields + "\r\n";
    ErrorCode ec;
    parser.put(boost::asio::buffer(head), ec);
    EXPECT_FALSE(ec) << fields << ": " << ec.message();
    return checkRequestFraming(parser.get(), parser.get().version(), parser.chunked());
}

/// A GET head of exactly `total` bytes of field lines `line` bytes long (the last longer).
std::string headOf(std::size_t total, std::size_t line) {
    std::string head = "GET / HTTP/1.1\r\nHost: a.test\r\n";
    while (total - head.size() - 2 >= 3 * line) {
        head += "x: " + std::string(line - 5, 'a') + "\r\n";
    }
    head += "x-last: " + std::string(total - head.size() - 12, 'b') + "\r\n\r\n";
    return head;
}

}  // namespace

TEST(RequestFraming, AcceptsNoBodyALengthOrALoneChunked) {
    EXPECT_EQ(framingOf("").status, 0U);
    EXPECT_EQ(framingOf("Content-Length: 5\r\n").status, 0U);
    EXPECT_EQ(framingOf("Transfer-Encoding: chunked\r\n").status, 0U);
    EXPECT_EQ(framingOf("Transfer-Encoding: CHUNKED\r\n").status, 0U);
    EXPECT_FALSE(framingOf("Transfer-Encoding: chunked\r\n").close);
}

TEST(RequestFraming, RefusesChunkedThatIsNotFinalOrRepeatedWith400) {
    for (const char* value :
         {"xchunked", "identity", "gzip", "chunked, identity", "chunked, chunked", "chunked;q=1",
          "\"chunked\"", ",chunked", "chunked,", "", "chunked identity"}) {
        EXPECT_EQ(framingOf(std::string("Transfer-Encoding: ") + value + "\r\n").status, 400U)
            << value;
    }
}

TEST(RequestFraming, RefusesOtherCodingsBeforeChunkedWith501) {
    EXPECT_EQ(framingOf("Transfer-Encoding: gzip, chunked\r\n").status, 501U);
    EXPECT_EQ(framingOf("Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n").status, 501U);
}

TEST(RequestFraming, RefusesTransferEncodingWithContentLength) {
    // Content-Length first, then Transfer-Encoding: Beast refuses it while parsing.
    EXPECT_EQ(framingOf("Transfer-Encoding: identity\r\nContent-Length: 3\r\n").status, 400U);
}

TEST(RequestFraming, ClosesAfterAChunkedHttp10Request) {
    const auto framing = framingOf("Transfer-Encoding: chunked\r\n", "1.0");
    EXPECT_EQ(framing.status, 0U);
    EXPECT_TRUE(framing.close);
    EXPECT_EQ(framingOf("Transfer-Encoding: gzip\r\n", "1.0").status, 400U);
}

TEST(RequestFraming, RefusesAChunkedParserWithoutTheField) {
    Parser parser;
    nexus::server::configureRequestParser(parser);
    const std::string head = "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n";
    ErrorCode ec;
    parser.put(boost::asio::buffer(head), ec);
    parser.get().erase(http::field::transfer_encoding);
    EXPECT_EQ(checkRequestFraming(parser.get(), 11, parser.chunked()).status, 400U);
}

TEST(RequestFeed, TakesAHeadOfExactlyTheLimitInAnyPieces) {
    for (const std::size_t line : {6U, 97U, 7001U}) {
        for (const std::size_t piece : {1000U, 4096U, 65536U}) {
            Parser parser;
            nexus::server::configureRequestParser(parser);
            EXPECT_FALSE(feedInPieces(parser, headOf(kMaxRequestHead, line), piece))
                << line << "/" << piece;
            EXPECT_TRUE(parser.is_header_done());
        }
    }
}

TEST(RequestFeed, RefusesAHeadAboveTheLimitWhereverTheLimitFalls) {
    for (const std::size_t total : {kMaxRequestHead + 1, kMaxRequestHead + 2, kMaxRequestHead + 3,
                                    kMaxRequestHead + 50, 300000UL}) {
        for (const std::size_t line : {6U, 97U, 7001U}) {
            for (const std::size_t piece : {1U << 9, 4096U, 8192U, 65536U}) {
                Parser parser;
                nexus::server::configureRequestParser(parser);
                EXPECT_EQ(feedInPieces(parser, headOf(total, line), piece),
                          http::error::header_limit)
                    << total << "/" << line << "/" << piece;
            }
        }
    }
}

TEST(RequestFeed, RefusesAHeadAboveTheLimitThatEndsInTheLastRead) {
    // 8 KiB of fields taken, then the other 62 KiB arrive at once: that read ends the head,
    // and the limit is on the head, not on what one call saw.
    Parser parser;
    nexus::server::configureRequestParser(parser);
    const std::string head = headOf(70000, 97);
    RequestProgress progress;
    std::size_t used = 0;
    EXPECT_EQ(feedRequest(parser, boost::asio::buffer(head.data(), 8192), progress, used),
              http::error::need_more);
    const std::string rest = head.substr(used);
    EXPECT_EQ(feedRequest(parser, boost::asio::buffer(rest), progress, used),
              http::error::header_limit);
}

TEST(RequestFeed, RefusesEndlessChunkLinesAndTrailers) {
    const std::string head = "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n";
    for (const std::string start : {"5;", "5;name=", "", "0\r\nx-t: "}) {
        Parser parser;
        nexus::server::configureRequestParser(parser);
        ASSERT_FALSE(feedInPieces(parser, head, head.size()));
        nexus::net::RequestParser<http::buffer_body> body{std::move(parser)};
        char sink[256];
        body.get().body().data = sink;
        body.get().body().size = sizeof sink;
        body.eager(true);
        const std::string endless = start + std::string(kMaxChunkFraming * 4, 'a');
        EXPECT_EQ(feedInPieces(body, endless, 100, false), http::error::bad_chunk) << start;
    }
}

TEST(RequestFeed, TakesChunkLinesJustBelowTheBound) {
    const std::string head = "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n";
    Parser parser;
    nexus::server::configureRequestParser(parser);
    ASSERT_FALSE(feedInPieces(parser, head, head.size()));
    nexus::net::RequestParser<http::string_body> body{std::move(parser)};
    body.eager(true);
    const std::string extension = ";e=" + std::string(kMaxChunkFraming - 16, 'v');
    const std::string chunks = "5" + extension + "\r\nhello\r\n0\r\nx-t: 1\r\n\r\n";
    EXPECT_FALSE(feedInPieces(body, chunks, 100, false));
    EXPECT_EQ(body.get().body(), "hello");
}
