// SPDX-License-Identifier: AGPL-3.0-or-later
// Tests for appendForwardedRequest: the REQUEST frame encoded straight from the parsed fields
// is, byte for byte, the one appendRequest makes of forwardedRequestFields' copies.
#include "server/v2_request_frame.hpp"

#include "protocol/v2_frames.hpp"

#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <string_view>

namespace nexus::server {
namespace {

namespace http = boost::beast::http;
namespace v2 = protocol::v2;

using Parser = net::RequestParser<http::empty_body>;

struct Parsed {
    net::HeadArena arena;
    std::optional<Parser> parser;
};

// Parses `head` as the front does (fields in a head arena), then applies the forwarding policy
// for `visitor`.
const Parser::value_type& parse(Parsed& parsed, std::string_view head, const Visitor& visitor) {
    auto& parser = parsed.arena.emplace(parsed.parser);
    parser.header_limit(128 * 1024);
    boost::system::error_code ec;
    parser.put(boost::asio::buffer(head.data(), head.size()), ec);
    EXPECT_FALSE(ec) << ec.message();
    EXPECT_TRUE(parser.is_header_done());
    applyForwardingPolicy(parser.get(), visitor);
    return parser.get();
}

std::string payloadOf(const std::string& frame) {
    return frame.substr(v2::kHeaderSize);
}

struct Frames {
    std::string direct;
    std::string copied;
    std::string directId;
    std::string copiedId;
};

Frames encodeBothWays(std::string_view head, const Visitor& visitor, bool upgrade, bool endStream) {
    Frames frames;
    Parsed parsed;
    const auto& request = parse(parsed, head, visitor);
    RequestIds ids;
    EXPECT_TRUE(appendForwardedRequest(frames.direct, 5, request.method_string(), request.target(),
                                       request, upgrade, endStream, visitor, ids, frames.directId));
    auto fields = forwardedRequestFields(request, upgrade, visitor, ids, frames.copiedId);
    // A generated id is the next one; the frame carries whichever id was chosen.
    const v2::RequestHead copied{std::string(request.method_string()),
                                 std::string(request.target()), std::move(fields), kRequestIdField,
                                 frames.directId};
    EXPECT_TRUE(v2::appendRequest(frames.copied, 5, copied, endStream));
    return frames;
}

const Visitor kVisitor{"203.0.113.7", false};
const Visitor kProxy{"127.0.0.1", true};

TEST(AppendForwardedRequest, EncodesWhatTheCopiedFieldsEncodeTo) {
    const auto frames = encodeBothWays(
        "GET /a/b?c=d HTTP/1.1\r\n"
        "Host: Demo.Example.COM\r\n"
        "User-Agent: curl/8.5\r\n"
        "Accept: */*\r\n"
        "X-Custom-THING: \xc3\xa9t\xe9\r\n"
        "Cookie: a=1\r\n"
        "Cookie: b=2\r\n"
        "\r\n",
        kVisitor, false, true);
    EXPECT_EQ(frames.direct, frames.copied);
    EXPECT_FALSE(frames.directId.empty());
    auto decoded = v2::decodeRequest(payloadOf(frames.direct));
    ASSERT_TRUE(decoded);
    EXPECT_EQ(decoded->headers.front(),
              (std::pair<std::string, std::string>{"host", "Demo.Example.COM"}));
    EXPECT_EQ(decoded->headers.back().first, "x-request-id");
}

TEST(AppendForwardedRequest, LeavesOutHopByHopFieldsExpectAndTheVisitorsForwardingFields) {
    const auto frames = encodeBothWays(
        "POST /upload HTTP/1.1\r\n"
        "Host: demo.example.com\r\n"
        "Connection: keep-alive, X-Secret\r\n"
        "Keep-Alive: timeout=5\r\n"
        "TE: trailers\r\n"
        "Trailer: X-Checksum\r\n"
        "Proxy-Authorization: Basic abc\r\n"
        "Proxy-Connection: close\r\n"
        "Upgrade: h2c\r\n"
        "Expect: 100-continue\r\n"
        "X-Forwarded-For: 10.0.0.1\r\n"
        "Forwarded: for=10.0.0.1\r\n"
        "X-Real-IP: 10.0.0.1\r\n"
        "X-Request-Id: visitors-own-id\r\n"
        "Content-Length: 5\r\n"
        "\r\n",
        kVisitor, false, false);
    EXPECT_EQ(frames.direct, frames.copied);
    EXPECT_NE(frames.directId, "visitors-own-id");  // an untrusted visitor's id is replaced
    auto decoded = v2::decodeRequest(payloadOf(frames.direct));
    ASSERT_TRUE(decoded);
    EXPECT_EQ(decoded->headers, (v2::HeaderList{{"host", "demo.example.com"},
                                                {"content-length", "5"},
                                                {"x-forwarded-for", "203.0.113.7"},
                                                {"x-forwarded-proto", "http"},
                                                {"x-forwarded-host", "demo.example.com"},
                                                {"x-request-id", frames.directId}}));
}

TEST(AppendForwardedRequest, KeepsATrustedProxysIdAndForwardingFields) {
    const auto frames = encodeBothWays(
        "GET / HTTP/1.1\r\n"
        "Host: demo.example.com\r\n"
        "X-Forwarded-For: 198.51.100.2\r\n"
        "X-Forwarded-Proto: https\r\n"
        "x-request-id: caddy-1234\r\n"
        "\r\n",
        kProxy, false, true);
    EXPECT_EQ(frames.direct, frames.copied);
    EXPECT_EQ(frames.directId, "caddy-1234");
    EXPECT_EQ(frames.copiedId, "caddy-1234");
}

TEST(AppendForwardedRequest, ForwardsAWebSocketUpgradeWithItsConnectionField) {
    const auto frames = encodeBothWays(
        "GET /ws HTTP/1.1\r\n"
        "Host: demo.example.com\r\n"
        "Upgrade: websocket\r\n"
        "Connection: Upgrade\r\n"
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
        "Sec-WebSocket-Version: 13\r\n"
        "\r\n",
        kVisitor, true, false);
    EXPECT_EQ(frames.direct, frames.copied);
    auto decoded = v2::decodeRequest(payloadOf(frames.direct));
    ASSERT_TRUE(decoded);
    EXPECT_EQ(decoded->headers[1], (std::pair<std::string, std::string>{"upgrade", "websocket"}));
    EXPECT_EQ(decoded->headers[decoded->headers.size() - 2],
              (std::pair<std::string, std::string>{"connection", "upgrade"}));
}

TEST(AppendForwardedRequest, RefusesAHeadTooLargeForOneFrameAndLeavesTheBufferAlone) {
    const std::string big(v2::kMaxControlPayload / 2, 'a');  // a field the parser takes
    Parsed parsed;
    const auto& request = parse(parsed,
                                "GET / HTTP/1.1\r\nHost: demo.example.com\r\nX-Big: " + big +
                                    "\r\nX-Big: " + big + "\r\n\r\n",
                                kVisitor);
    RequestIds ids;
    std::string out = "before";
    std::string id;
    const auto encoded = appendForwardedRequest(out, 5, request.method_string(), request.target(),
                                                request, false, true, kVisitor, ids, id);
    ASSERT_FALSE(encoded);
    EXPECT_EQ(encoded.error(), makeError(Errc::FrameTooLarge));
    EXPECT_EQ(out, "before");
}

}  // namespace
}  // namespace nexus::server
