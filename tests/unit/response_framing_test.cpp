// SPDX-License-Identifier: AGPL-3.0-or-later
// How the relay frames a v2 response for the visitor: its own length or chunks, never the
// instance's, and nothing that could split the shared connection.
#include "server/response_framing.hpp"

#include <gtest/gtest.h>

namespace nexus::server {
namespace {

namespace v2 = protocol::v2;

// A response head as the relay receives it: encoded by the agent's encoder, then decoded.
v2::ReceivedResponse head(int status, v2::HeaderList headers = {}) {
    std::string frame;
    EXPECT_TRUE(v2::appendResponse(frame, 1, v2::ResponseHead{status, std::move(headers)}, false));
    auto received = v2::decodeReceivedResponse(frame.substr(v2::kHeaderSize));
    EXPECT_TRUE(received);
    return received ? std::move(*received) : v2::ReceivedResponse{};
}

TEST(ResponseFraming, AKnownLengthIsAnnouncedByTheRelay) {
    const auto framing = chooseFraming(head(200, {{"content-length", "42"}}), false, true, 11);
    EXPECT_EQ(framing.body, BodyFraming::ContentLength);
    EXPECT_EQ(framing.length, 42U);
    EXPECT_EQ(responseHeadText(head(200, {{"content-length", "42"}, {"x-a", "1"}}), framing),
              "HTTP/1.1 200 OK\r\nx-a: 1\r\ncontent-length: 42\r\n\r\n");
}

TEST(ResponseFraming, AnUnknownLengthIsChunkedForHttp11Visitors) {
    const auto framing = chooseFraming(head(200), false, true, 11);
    EXPECT_EQ(framing.body, BodyFraming::Chunked);
    EXPECT_EQ(responseHeadText(head(200), framing),
              "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n");
}

TEST(ResponseFraming, AnUnknownLengthEndsWithTheConnectionForHttp10Visitors) {
    const auto framing = chooseFraming(head(200), false, true, 10);
    EXPECT_EQ(framing.body, BodyFraming::Close);
    EXPECT_FALSE(framing.keepAlive);
    EXPECT_EQ(responseHeadText(head(200), framing), "HTTP/1.1 200 OK\r\nconnection: close\r\n\r\n");
}

TEST(ResponseFraming, HeadKeepsTheLengthButHasNoBody) {
    const auto framing = chooseFraming(head(200, {{"content-length", "7"}}), true, true, 11);
    EXPECT_EQ(framing.body, BodyFraming::None);
    EXPECT_EQ(framing.length, 7U);
}

TEST(ResponseFraming, NoContentAndNotModifiedHaveNeitherBodyNorLength) {
    for (const int status : {204, 304, 103}) {
        const auto framing =
            chooseFraming(head(status, {{"content-length", "7"}}), false, true, 11);
        EXPECT_EQ(framing.body, BodyFraming::None) << status;
        EXPECT_FALSE(framing.length) << status;
        EXPECT_EQ(responseHeadText(head(status, {{"content-length", "7"}}), framing)
                      .find("content-length"),
                  std::string::npos);
    }
}

TEST(ResponseFraming, ConflictingLengthsAreNotBelievedAndTheBodyIsChunked) {
    const auto framing = chooseFraming(
        head(200, {{"content-length", "5"}, {"content-length", "6"}}), false, true, 11);
    EXPECT_EQ(framing.body, BodyFraming::Chunked);
}

TEST(ResponseFraming, InstanceFramingNeverReachesTheVisitor) {
    const v2::HeaderList fields{
        {"transfer-encoding", "chunked"}, {"connection", "close"}, {"x-ok", "yes"}};
    const auto framing = chooseFraming(head(200, fields), false, true, 11);
    EXPECT_EQ(responseHeadText(head(200, fields), framing),
              "HTTP/1.1 200 OK\r\nx-ok: yes\r\ntransfer-encoding: chunked\r\n\r\n");
}

// A RESPONSE payload with one field, written byte by byte (the encoder refuses bad fields).
std::string rawResponse(std::string_view name, std::string_view value) {
    std::string payload = {'\x00', '\xc8', '\x00', '\x01', '\x00', static_cast<char>(name.size())};
    payload += name;
    payload += {'\x00', '\x00', '\x00', static_cast<char>(value.size())};
    payload += value;
    return payload;
}

TEST(ResponseFraming, UnsafeFieldsAreRefusedBeforeAnyHeadIsBuilt) {
    EXPECT_TRUE(v2::decodeReceivedResponse(rawResponse("x-ok", "yes")));
    EXPECT_FALSE(v2::decodeReceivedResponse(rawResponse("x-split", "a\r\nset-cookie: evil=1")));
    EXPECT_FALSE(v2::decodeReceivedResponse(rawResponse("bad name", "v")));
    EXPECT_FALSE(v2::decodeReceivedResponse(rawResponse("Upper", "v")));
}

TEST(ResponseFraming, AnUnknownStatusHasAnEmptyReason) {
    const auto framing = chooseFraming(head(299), false, false, 11);
    EXPECT_EQ(responseHeadText(head(299), framing).substr(0, 15), "HTTP/1.1 299 \r\n");
}

TEST(ResponseFraming, TheLastChunkCarriesSafeTrailers) {
    EXPECT_EQ(lastChunk({}), "0\r\n\r\n");
    EXPECT_EQ(lastChunk({{"x-checksum", "abc"},
                         {"content-length", "1"},
                         {"x-bad", "a\nb"},
                         {"server-timing", "db;dur=53"}}),
              "0\r\nx-checksum: abc\r\nserver-timing: db;dur=53\r\n\r\n");
}

}  // namespace
}  // namespace nexus::server
