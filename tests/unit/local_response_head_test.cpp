// SPDX-License-Identifier: AGPL-3.0-or-later
// The agent's reading of the local app's response head, and the RESPONSE frame built from it.
#include "client/local_response_head.hpp"
#include "client/v2_local_http.hpp"
#include "protocol/v2_frames.hpp"

#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace {

using namespace std::string_view_literals;
using nexus::client::isInterim;
using nexus::client::LocalBodyFraming;
using nexus::client::ResponseHeadReader;
using nexus::client::responseHeadSize;

struct Read {
    bool ok = false;
    int status = 0;
    std::vector<std::pair<std::string, std::string>> fields;  ///< name, value
    std::vector<std::string> hopByHop;
    LocalBodyFraming framing{};
    std::uint64_t length = 0;
    bool keepAlive = false;
    bool webSocket = false;
};

Read readHead(std::string_view head, bool headRequest = false) {
    Read read;
    ResponseHeadReader reader(head);
    if (!reader.statusLine()) {
        return read;
    }
    read.status = reader.status();
    while (const auto field = reader.nextField()) {
        read.fields.emplace_back(field->name, field->value);
        if (field->hopByHop) {
            read.hopByHop.emplace_back(field->name);
        }
    }
    read.ok = !reader.error();
    read.framing = reader.framing(headRequest);
    read.length = reader.contentLength();
    read.keepAlive = reader.keepAlive(headRequest);
    read.webSocket = reader.switchesToWebSocket();
    return read;
}

TEST(InterimResponse, IsEvery1xxButTheSwitchToAnotherProtocol) {
    for (const int status : {100, 102, 103, 150, 199}) {
        EXPECT_TRUE(isInterim(status)) << status;
    }
    for (const int status : {101, 200, 204, 302, 99, 0}) {
        EXPECT_FALSE(isInterim(status)) << status;
    }
}

TEST(ResponseHeadSize, WaitsForTheEmptyLineAndCountsIt) {
    EXPECT_EQ(responseHeadSize(""), std::nullopt);
    EXPECT_EQ(responseHeadSize("HTTP/1.1 200 OK\r\n"), std::nullopt);
    EXPECT_EQ(responseHeadSize("HTTP/1.1 200 OK\r\nA: b\r\n\r"), std::nullopt);
    EXPECT_EQ(responseHeadSize("HTTP/1.1 200 OK\r\n\r\n"), 19u);
    EXPECT_EQ(responseHeadSize("HTTP/1.1 200 OK\r\nA: b\r\n\r\nbody"), 25u);
    EXPECT_EQ(responseHeadSize("HTTP/1.1 200 OK\r\nA: \r\r\n\r\n"), 25u);
}

TEST(ResponseHeadReader, ReadsStatusFieldsInOrderAndTheLength) {
    const auto read = readHead(
        "HTTP/1.1 200 OK\r\nServer: nginx\r\nContent-Length: 1024\r\n"
        "Set-Cookie: a=1\r\nset-cookie:b=2  \r\nX-Empty:\r\n\r\n");
    ASSERT_TRUE(read.ok);
    EXPECT_EQ(read.status, 200);
    const std::vector<std::pair<std::string, std::string>> expected{{"Server", "nginx"},
                                                                    {"Content-Length", "1024"},
                                                                    {"Set-Cookie", "a=1"},
                                                                    {"set-cookie", "b=2"},
                                                                    {"X-Empty", ""}};
    EXPECT_EQ(read.fields, expected);
    EXPECT_TRUE(read.hopByHop.empty());
    EXPECT_EQ(read.framing, LocalBodyFraming::Length);
    EXPECT_EQ(read.length, 1024u);
    EXPECT_TRUE(read.keepAlive);
}

TEST(ResponseHeadReader, AcceptsTabsAndBytesAboveAsciiInValuesAndReasons) {
    const auto read = readHead(
        "HTTP/1.1 200 Tr\xc3\xa8s bien\r\nX-Tabbed: a\tb\tc d e f g h\r\n"
        "X-Name: caf\xc3\xa9 \xe2\x98\x95 and more than eight bytes\r\n\r\n");
    ASSERT_TRUE(read.ok);
    ASSERT_EQ(read.fields.size(), 2u);
    EXPECT_EQ(read.fields[0].second, "a\tb\tc d e f g h");
}

TEST(ResponseHeadReader, AcceptsAStatusLineWithoutReason) {
    EXPECT_TRUE(readHead("HTTP/1.1 204\r\n\r\n").ok);
    EXPECT_TRUE(readHead("HTTP/1.1 204 \r\n\r\n").ok);
    EXPECT_EQ(readHead("HTTP/1.1 599 Whatever it likes\r\n\r\n").status, 599);
}

TEST(ResponseHeadReader, MarksHopByHopFieldsWhateverTheirCase) {
    const auto read = readHead(
        "HTTP/1.1 200 OK\r\nConnection: keep-alive\r\nKEEP-ALIVE: timeout=5\r\nTE: x\r\n"
        "Trailer: y\r\nTransfer-Encoding: chunked\r\nUpgrade: h2c\r\nProxy-Connection: a\r\n"
        "Proxy-Authenticate: b\r\nProxy-Authorization: c\r\nContent-Type: text/plain\r\n\r\n");
    ASSERT_TRUE(read.ok);
    EXPECT_EQ(read.hopByHop.size(), 9u);
    EXPECT_EQ(read.fields.size(), 10u);
}

TEST(ResponseHeadReader, KeepsUpgradeAndConnectionOfA101AndSeesTheWebSocket) {
    const auto read = readHead(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: WebSocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Accept: x\r\n\r\n");
    ASSERT_TRUE(read.ok);
    EXPECT_TRUE(read.hopByHop.empty());
    EXPECT_TRUE(read.webSocket);
    EXPECT_FALSE(readHead("HTTP/1.1 101 Switching\r\nUpgrade: h2c\r\n\r\n").webSocket);
    EXPECT_FALSE(readHead("HTTP/1.1 200 OK\r\nUpgrade: websocket\r\n\r\n").webSocket);
}

TEST(ResponseHeadReader, FramesTheBodyAsRfc9112Says) {
    EXPECT_EQ(readHead("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n").framing,
              LocalBodyFraming::Chunked);
    EXPECT_EQ(readHead("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, Chunked\r\n\r\n").framing,
              LocalBodyFraming::Chunked);
    EXPECT_EQ(readHead("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\n").framing,
              LocalBodyFraming::UntilClose);
    EXPECT_EQ(readHead("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n"
                       "Transfer-Encoding: chunked\r\n\r\n")
                  .framing,
              LocalBodyFraming::Chunked);
    EXPECT_EQ(readHead("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n").framing,
              LocalBodyFraming::None);
    const auto untilClose = readHead("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\n");
    EXPECT_EQ(untilClose.framing, LocalBodyFraming::UntilClose);
    EXPECT_FALSE(untilClose.keepAlive);
}

TEST(ResponseHeadReader, NoBodyAfterHeadRequests204And304WhateverTheyAnnounce) {
    const auto head = readHead("HTTP/1.1 200 OK\r\nContent-Length: 5000\r\n\r\n", true);
    EXPECT_EQ(head.framing, LocalBodyFraming::None);
    EXPECT_TRUE(head.keepAlive);
    EXPECT_EQ(readHead("HTTP/1.1 204 No Content\r\n\r\n").framing, LocalBodyFraming::None);
    EXPECT_TRUE(readHead("HTTP/1.1 204 No Content\r\n\r\n").keepAlive);
    EXPECT_EQ(readHead("HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n").framing,
              LocalBodyFraming::None);
}

TEST(ResponseHeadReader, KeepsTheConnectionAliveAsTheVersionAndConnectionFieldSay) {
    const std::string_view length = "Content-Length: 1\r\n";
    auto head = [&](std::string_view version, std::string_view extra) {
        return readHead(std::string(version) + " 200 OK\r\n" + std::string(length) +
                        std::string(extra) + "\r\n");
    };
    EXPECT_TRUE(head("HTTP/1.1", "").keepAlive);
    EXPECT_FALSE(head("HTTP/1.1", "Connection: close\r\n").keepAlive);
    EXPECT_FALSE(head("HTTP/1.1", "connection: Foo, CLOSE\r\n").keepAlive);
    EXPECT_FALSE(head("HTTP/1.0", "").keepAlive);
    EXPECT_TRUE(head("HTTP/1.0", "Connection: Keep-Alive\r\n").keepAlive);
}

TEST(ResponseHeadReader, RefusesMalformedHeads) {
    const std::vector<std::string_view> malformed{
        "HTTP/2.0 200 OK\r\n\r\n",
        "HTTP/1.2 200 OK\r\n\r\n",
        "http/1.1 200 OK\r\n\r\n",
        "HTTP/1.1 20 OK\r\n\r\n",
        "HTTP/1.1 2000 OK\r\n\r\n",
        "HTTP/1.1 2x0 OK\r\n\r\n",
        "HTTP/1.1 099 Low\r\n\r\n",
        "HTTP/1.1  200 OK\r\n\r\n",
        "HTTP/1.1 200 O\nK\r\n\r\n",
        "HTTP/1.1 200 OK\r\nA: b\nC: d\r\n\r\n",
        "HTTP/1.1 200 OK\r\nA: b\rc\r\n\r\n",
        "HTTP/1.1 200 OK\r\nA: b\0c\r\n\r\n"sv,
        "HTTP/1.1 200 OK\r\nA: b\r\n folded\r\n\r\n",
        "HTTP/1.1 200 OK\r\nA: b\x01c\r\n\r\n",
        "HTTP/1.1 200 OK\r\nA: 0123456789\x1f\r\n\r\n",
        "HTTP/1.1 200 OK\r\nA: del\x7f\r\n\r\n",
        "HTTP/1.1 200 O\x02K\r\n\r\n",
        "HTTP/1.1 200 OK\r\nA : b\r\n\r\n",
        "HTTP/1.1 200 OK\r\n: b\r\n\r\n",
        "HTTP/1.1 200 OK\r\nNo colon\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 12a\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: \r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999999\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n",
    };
    for (const auto head : malformed) {
        EXPECT_FALSE(readHead(head).ok) << head;
    }
}

TEST(ResponseHeadReader, AnErrorStopsTheFieldsAndIsAProtocolViolation) {
    ResponseHeadReader reader("HTTP/1.1 200 OK\r\nA: 1\r\nbad line\r\nB: 2\r\n\r\n");
    ASSERT_TRUE(reader.statusLine());
    ASSERT_TRUE(reader.nextField());
    EXPECT_FALSE(reader.nextField());
    EXPECT_FALSE(reader.nextField());
    EXPECT_EQ(reader.error(), nexus::makeError(nexus::Errc::ProtocolViolation));
}

TEST(AppendResponseFrame, LowercasesNamesDropsHopByHopAndEndsABodilessResponse) {
    namespace v2 = nexus::protocol::v2;
    std::string out;
    ResponseHeadReader reader(
        "HTTP/1.1 204 No Content\r\nX-Trace: a\r\nConnection: keep-alive\r\nSet-Cookie: b=1\r\n"
        "\r\n");
    ASSERT_TRUE(reader.statusLine());
    const auto framing = nexus::client::appendResponseFrame(out, 3, reader, false);
    ASSERT_TRUE(framing);
    EXPECT_EQ(*framing, LocalBodyFraming::None);
    const auto header = v2::decodeHeader(out);
    ASSERT_TRUE(header);
    EXPECT_TRUE(header->endStream());
    const auto decoded = v2::decodeResponse(std::string_view(out).substr(v2::kHeaderSize));
    ASSERT_TRUE(decoded);
    EXPECT_EQ(decoded->status, 204);
    EXPECT_EQ(decoded->headers, (v2::HeaderList{{"x-trace", "a"}, {"set-cookie", "b=1"}}));
}

TEST(AppendResponseFrame, LeavesNothingBehindForAMalformedHead) {
    std::string out = "before";
    ResponseHeadReader reader("HTTP/1.1 200 OK\r\nX-Trace: a\r\nContent-Length: x\r\n\r\n");
    ASSERT_TRUE(reader.statusLine());
    const auto framing = nexus::client::appendResponseFrame(out, 3, reader, false);
    EXPECT_EQ(framing.error(), nexus::makeError(nexus::Errc::ProtocolViolation));
    EXPECT_EQ(out, "before");
}

}  // namespace
