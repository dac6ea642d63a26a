// SPDX-License-Identifier: AGPL-3.0-or-later
// Tests for the v2 frame codec: the byte vectors of docs/protocol.md §4, every limit, hostile
// lengths, and incremental decoding.
#include "protocol/v2_frames.hpp"
#include "protocol/v1_messages.hpp"
#include "protocol/v2_frame_decoder.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <string>
#include <string_view>
#include <vector>

namespace nexus::protocol::v2 {
namespace {

using namespace std::string_literals;

/// "00 01 ff" -> the three bytes. Whitespace is ignored.
std::string hex(std::string_view text) {
    std::string out;
    int high = -1;
    for (const char c : text) {
        int nibble = -1;
        if (c >= '0' && c <= '9') {
            nibble = c - '0';
        } else if (c >= 'a' && c <= 'f') {
            nibble = c - 'a' + 10;
        } else {
            continue;
        }
        if (high < 0) {
            high = nibble;
        } else {
            out.push_back(static_cast<char>((high << 4) | nibble));
            high = -1;
        }
    }
    return out;
}

/// A 12-byte header with arbitrary (possibly invalid) fields.
std::string rawHeader(std::uint32_t length, std::uint8_t type, std::uint8_t flags,
                      std::uint32_t stream, std::uint16_t reserved = 0) {
    std::string out;
    for (const std::uint32_t v : {length >> 24, length >> 16, length >> 8, length}) {
        out.push_back(static_cast<char>(v & 0xffU));
    }
    out.push_back(static_cast<char>(type));
    out.push_back(static_cast<char>(flags));
    out.push_back(static_cast<char>(reserved >> 8));
    out.push_back(static_cast<char>(reserved & 0xffU));
    for (const std::uint32_t v : {stream >> 24, stream >> 16, stream >> 8, stream}) {
        out.push_back(static_cast<char>(v & 0xffU));
    }
    return out;
}

std::string u16(std::uint32_t v) {
    return {static_cast<char>((v >> 8) & 0xffU), static_cast<char>(v & 0xffU)};
}
std::string u32(std::uint32_t v) {
    return u16(v >> 16) + u16(v & 0xffffU);
}

ErrorCode violation() {
    return makeError(Errc::ProtocolViolation);
}
ErrorCode tooLarge() {
    return makeError(Errc::FrameTooLarge);
}
ErrorCode invalid() {
    return makeError(Errc::InvalidArgument);
}

// The vectors printed in docs/protocol.md §4.5. They were written from the specification (a
// separate script), not captured from the encoder.
const std::string kRequest =
    hex("00 00 00 25 01 01 00 00 00 00 00 01 03 47 45 54"
        "00 01 2f 00 01 00 04 68 6f 73 74 00 00 00 12 64"
        "65 6d 6f 2e 6e 65 78 75 73 6e 6f 64 65 2e 61 70"
        "70");
const std::string kResponse =
    hex("00 00 00 20 02 00 00 00 00 00 00 01 00 c8 00 01"
        "00 0c 63 6f 6e 74 65 6e 74 2d 74 79 70 65 00 00"
        "00 0a 74 65 78 74 2f 70 6c 61 69 6e");
const std::string kData = hex("00 00 00 05 03 01 00 00 00 00 00 01 68 65 6c 6c 6f");
const std::string kTrailers =
    hex("00 00 00 15 04 01 00 00 00 00 00 01 00 01 00 0a"
        "78 2d 63 68 65 63 6b 73 75 6d 00 00 00 03 61 62 63");
const std::string kConnectionWindowUpdate = hex("00 00 00 04 05 00 00 00 00 00 00 00 00 01 00 00");
const std::string kStreamWindowUpdate = hex("00 00 00 04 05 00 00 00 00 00 00 01 00 04 00 00");
const std::string kReset = hex("00 00 00 04 06 00 00 00 00 00 00 03 00 00 00 03");
const std::string kPing = hex("00 00 00 08 07 00 00 00 00 00 00 00 01 02 03 04 05 06 07 08");
const std::string kPong = hex("00 00 00 08 07 02 00 00 00 00 00 00 01 02 03 04 05 06 07 08");
const std::string kGoaway = hex("00 00 00 08 08 00 00 00 00 00 00 00 00 00 00 00 00 00 13 88");
const std::string kUpgradeResponse =
    hex("00 00 00 31 02 00 00 00 00 00 00 05 00 65 00 02"
        "00 07 75 70 67 72 61 64 65 00 00 00 09 77 65 62"
        "73 6f 63 6b 65 74 00 0a 63 6f 6e 6e 65 63 74 69"
        "6f 6e 00 00 00 07 75 70 67 72 61 64 65");

const RequestHead kRequestHead{"GET", "/", {{"host", "demo.nexusnode.app"}}};
const ResponseHead kResponseHead{200, {{"content-type", "text/plain"}}};

/// A header list whose block is exactly `blockSize` bytes (>= 2 + 7), one header.
HeaderList headersWithBlockSize(std::size_t blockSize) {
    // 2 (count) + 2 (name length) + 1 (name) + 4 (value length) + value.
    return {{"x", std::string(blockSize - 9, 'v')}};
}

std::string payloadOf(const std::string& frame) {
    return frame.substr(kHeaderSize);
}

// --- Encoder: exact bytes ---------------------------------------------------------------------

TEST(V2FrameEncoder, EncodesRequestAsDocumented) {
    std::string out;
    ASSERT_TRUE(appendRequest(out, 1, kRequestHead, true));
    EXPECT_EQ(out, kRequest);
}

TEST(V2FrameEncoder, EncodesResponseAsDocumented) {
    std::string out;
    ASSERT_TRUE(appendResponse(out, 1, kResponseHead, false));
    EXPECT_EQ(out, kResponse);
}

TEST(V2FrameEncoder, EncodesUpgradeResponseAsDocumented) {
    std::string out;
    const ResponseHead head{101, {{"upgrade", "websocket"}, {"connection", "upgrade"}}};
    ASSERT_TRUE(appendResponse(out, 5, head, false));
    EXPECT_EQ(out, kUpgradeResponse);
}

TEST(ResponseFrameBuilder, LowercasesNamesAndLeavesOutFieldsThatCannotTravel) {
    std::string out = "before";
    ResponseFrameBuilder frame(out, 3, 200);
    EXPECT_TRUE(frame.addLowercased("Content-Type", "text/plain"));
    EXPECT_FALSE(frame.addLowercased("Bad Name", "x"));         // a space is no token character
    EXPECT_FALSE(frame.addLowercased("X-Split", "a\r\nb: c"));  // would split the head
    EXPECT_FALSE(frame.add("X-Upper", "1"));                    // add() wants lowercase already
    EXPECT_TRUE(frame.add("set-cookie", "a=1"));
    ASSERT_TRUE(frame.finish(true));
    ASSERT_EQ(out.substr(0, 6), "before");
    const std::string built = out.substr(6);
    EXPECT_TRUE(decodeHeader(built)->endStream());
    auto decoded = decodeResponse(payloadOf(built));
    ASSERT_TRUE(decoded);
    EXPECT_EQ(decoded->status, 200);
    EXPECT_EQ(decoded->headers,
              (HeaderList{{"content-type", "text/plain"}, {"set-cookie", "a=1"}}));
}

TEST(ResponseFrameBuilder, LeavesTheBufferAsItWasWhenTheHeadIsTooLarge) {
    std::string out = "before";
    ResponseFrameBuilder frame(out, 1, 200);
    ASSERT_TRUE(frame.add("x-big", std::string(kMaxControlPayload, 'a')));
    EXPECT_EQ(frame.finish(false).error(), makeError(Errc::FrameTooLarge));
    EXPECT_EQ(out, "before");
}

TEST(V2FrameEncoder, EncodesDataAsRawBytesAsDocumented) {
    std::string out;
    ASSERT_TRUE(appendData(out, 1, "hello", true));
    EXPECT_EQ(out, kData);
}

TEST(V2FrameEncoder, EncodesEmptyDataCarryingOnlyEndStream) {
    std::string out;
    ASSERT_TRUE(appendData(out, 7, "", true));
    EXPECT_EQ(out, hex("00 00 00 00 03 01 00 00 00 00 00 07"));
}

TEST(V2FrameEncoder, EncodesTrailersWithEndStreamAsDocumented) {
    std::string out;
    ASSERT_TRUE(appendTrailers(out, 1, {{"x-checksum", "abc"}}));
    EXPECT_EQ(out, kTrailers);
}

TEST(V2FrameEncoder, EncodesWindowUpdatesAsDocumented) {
    std::string out;
    appendWindowUpdate(out, 0, 65536);
    EXPECT_EQ(out, kConnectionWindowUpdate);
    out.clear();
    appendWindowUpdate(out, 1, kInitialStreamWindow);
    EXPECT_EQ(out, kStreamWindowUpdate);
}

TEST(V2FrameEncoder, EncodesResetAsDocumented) {
    std::string out;
    appendReset(out, 3, ResetCode::Timeout);
    EXPECT_EQ(out, kReset);
}

TEST(V2FrameEncoder, EncodesPingAndItsAckAsDocumented) {
    std::string out;
    appendPing(out, 0x0102030405060708ULL, false);
    EXPECT_EQ(out, kPing);
    out.clear();
    appendPing(out, 0x0102030405060708ULL, true);
    EXPECT_EQ(out, kPong);
}

TEST(V2FrameEncoder, EncodesGoawayAsDocumented) {
    std::string out;
    appendGoaway(out, GoawayCode::Shutdown, 5000);
    EXPECT_EQ(out, kGoaway);
}

TEST(V2FrameEncoder, AppendsAfterBytesAlreadyInTheBuffer) {
    std::string out = "prefix";
    ASSERT_TRUE(appendData(out, 1, "hello", true));
    appendPing(out, 0x0102030405060708ULL, false);
    EXPECT_EQ(out, "prefix" + kData + kPing);
}

TEST(V2FrameEncoder, KeepsHeaderOrderAndRepeatedNames) {
    std::string out;
    const ResponseHead head{200, {{"set-cookie", "a=1"}, {"vary", "x"}, {"set-cookie", "b=2"}}};
    ASSERT_TRUE(appendResponse(out, 1, head, true));
    auto decoded = decodeResponse(payloadOf(out));
    ASSERT_TRUE(decoded) << decoded.error().message();
    EXPECT_EQ(decoded->headers, head.headers);
}

TEST(V2FrameEncoder, EncodesTheSendersOwnFieldAfterTheOthers) {
    std::string withOwn;
    RequestHead head{"GET", "/", {{"host", "demo.example"}}, "x-request-id", "1f2e3d4c-7"};
    ASSERT_TRUE(appendRequest(withOwn, 1, head, true));
    // The same bytes as the field sent among the others: the agent cannot tell them apart.
    std::string asListed;
    ASSERT_TRUE(appendRequest(
        asListed, 1, {"GET", "/", {{"host", "demo.example"}, {"x-request-id", "1f2e3d4c-7"}}},
        true));
    EXPECT_EQ(withOwn, asListed);
    auto decoded = decodeRequest(payloadOf(withOwn));
    ASSERT_TRUE(decoded) << decoded.error().message();
    EXPECT_EQ(decoded->headers,
              (HeaderList{{"host", "demo.example"}, {"x-request-id", "1f2e3d4c-7"}}));
}

TEST(V2FrameEncoder, CountsTheSendersOwnFieldInTheLimit) {
    // 1 + 3 ("GET") + 2 + 1 ("/") bytes before the block, and 2 + 1 + 4 + 1 for the own field.
    std::string out;
    ASSERT_TRUE(appendRequest(
        out, 1, {"GET", "/", headersWithBlockSize(kMaxControlPayload - 7 - 8), "a", "b"}, true));
    EXPECT_EQ(out.size(), kHeaderSize + 65536U);
    out = "keep";
    EXPECT_EQ(
        appendRequest(
            out, 1, {"GET", "/", headersWithBlockSize(kMaxControlPayload - 6 - 8), "a", "b"}, true)
            .error(),
        tooLarge());
    EXPECT_EQ(out, "keep");
}

// --- Encoder: limits and invalid input --------------------------------------------------------

TEST(V2FrameEncoder, AcceptsDataPayloadOfExactly256KiB) {
    std::string out;
    ASSERT_TRUE(appendData(out, 1, std::string(kMaxDataPayload, 'd'), false));
    EXPECT_EQ(out.size(), kHeaderSize + 262144U);
    EXPECT_EQ(out.substr(0, 4), hex("00 04 00 00"));
}

TEST(V2FrameEncoder, RejectsDataPayloadOneByteAbove256KiBAndLeavesBufferUnchanged) {
    std::string out = "keep";
    auto result = appendData(out, 1, std::string(kMaxDataPayload + 1, 'd'), false);
    ASSERT_FALSE(result);
    EXPECT_EQ(result.error(), tooLarge());
    EXPECT_EQ(out, "keep");
}

TEST(V2FrameEncoder, AcceptsHeaderBlockFillingExactly64KiB) {
    std::string out;
    ASSERT_TRUE(appendTrailers(out, 1, headersWithBlockSize(kMaxControlPayload)));
    EXPECT_EQ(out.size(), kHeaderSize + 65536U);
    out.clear();
    // Response: 2 bytes of status before the block.
    ASSERT_TRUE(appendResponse(out, 1, {200, headersWithBlockSize(kMaxControlPayload - 2)}, true));
    EXPECT_EQ(out.size(), kHeaderSize + 65536U);
    out.clear();
    // Request: 1 + 3 ("GET") + 2 + 1 ("/") bytes before the block.
    ASSERT_TRUE(
        appendRequest(out, 1, {"GET", "/", headersWithBlockSize(kMaxControlPayload - 7)}, true));
    EXPECT_EQ(out.size(), kHeaderSize + 65536U);
}

TEST(V2FrameEncoder, RejectsHeaderBlockOneByteAbove64KiB) {
    std::string out = "keep";
    EXPECT_EQ(appendTrailers(out, 1, headersWithBlockSize(kMaxControlPayload + 1)).error(),
              tooLarge());
    EXPECT_EQ(
        appendResponse(out, 1, {200, headersWithBlockSize(kMaxControlPayload - 1)}, true).error(),
        tooLarge());
    EXPECT_EQ(
        appendRequest(out, 1, {"GET", "/", headersWithBlockSize(kMaxControlPayload - 6)}, true)
            .error(),
        tooLarge());
    EXPECT_EQ(out, "keep");
}

TEST(V2FrameEncoder, RejectsHeadersThatCannotBeDecoded) {
    std::string out;
    for (const HeaderList& headers : std::vector<HeaderList>{
             {{"Content-Type", "text/plain"}},
             {{"", "x"}},
             {{"bad name", "x"}},
             {{"x", "a\r\nb"}},
             {{"x", "a\nb"}},
             {{"x", "a\0b"s}},
         }) {
        EXPECT_EQ(appendTrailers(out, 1, headers).error(), invalid());
        EXPECT_EQ(appendResponse(out, 1, {200, headers}, false).error(), invalid());
        EXPECT_EQ(appendRequest(out, 1, {"GET", "/", headers}, false).error(), invalid());
    }
    EXPECT_TRUE(out.empty());
}

TEST(V2FrameEncoder, RejectsStreamIdsTheTypeForbids) {
    std::string out;
    EXPECT_EQ(appendRequest(out, 2, kRequestHead, true).error(), invalid());
    EXPECT_EQ(appendRequest(out, 0, kRequestHead, true).error(), invalid());
    EXPECT_EQ(appendResponse(out, 0, kResponseHead, true).error(), invalid());
    EXPECT_EQ(appendData(out, 0, "x", true).error(), invalid());
    EXPECT_EQ(appendTrailers(out, 0, {}).error(), invalid());
    EXPECT_TRUE(out.empty());
    EXPECT_TRUE(appendResponse(out, 2, kResponseHead, true));  // any non-zero stream
}

TEST(V2FrameEncoder, RejectsStatusOutside100To999) {
    std::string out;
    EXPECT_EQ(appendResponse(out, 1, {99, {}}, true).error(), invalid());
    EXPECT_EQ(appendResponse(out, 1, {1000, {}}, true).error(), invalid());
    EXPECT_TRUE(out.empty());
    EXPECT_TRUE(appendResponse(out, 1, {100, {}}, true));
    EXPECT_TRUE(appendResponse(out, 1, {999, {}}, true));
}

TEST(V2FrameEncoder, RejectsInvalidMethodAndTarget) {
    std::string out;
    EXPECT_EQ(appendRequest(out, 1, {"", "/", {}}, true).error(), invalid());
    EXPECT_EQ(appendRequest(out, 1, {"GE T", "/", {}}, true).error(), invalid());
    EXPECT_EQ(appendRequest(out, 1, {std::string(256, 'M'), "/", {}}, true).error(), invalid());
    EXPECT_EQ(appendRequest(out, 1, {"GET", "", {}}, true).error(), invalid());
    EXPECT_EQ(appendRequest(out, 1, {"GET", "/a b", {}}, true).error(), invalid());
    EXPECT_EQ(appendRequest(out, 1, {"GET", "/a\r\n", {}}, true).error(), invalid());
    EXPECT_TRUE(out.empty());
    EXPECT_TRUE(appendRequest(out, 1, {std::string(255, 'M'), "/", {}}, true));
    EXPECT_TRUE(appendRequest(out, 1, {"PROPFIND", "/a?b=%20", {}}, true));
}

// --- Header decoding --------------------------------------------------------------------------

TEST(V2FrameHeader, DecodesEveryDocumentedHeader) {
    struct Case {
        const std::string* frame;
        FrameType type;
        std::uint8_t flags;
        std::uint32_t stream;
    };
    for (const Case& c :
         {Case{&kRequest, FrameType::Request, kFlagEndStream, 1},
          Case{&kResponse, FrameType::Response, 0, 1},
          Case{&kData, FrameType::Data, kFlagEndStream, 1},
          Case{&kTrailers, FrameType::Trailers, kFlagEndStream, 1},
          Case{&kConnectionWindowUpdate, FrameType::WindowUpdate, 0, 0},
          Case{&kReset, FrameType::Reset, 0, 3}, Case{&kPing, FrameType::Ping, 0, 0},
          Case{&kPong, FrameType::Ping, kFlagAck, 0}, Case{&kGoaway, FrameType::Goaway, 0, 0}}) {
        auto header = decodeHeader(*c.frame);
        ASSERT_TRUE(header) << header.error().message();
        EXPECT_EQ(header->length, c.frame->size() - kHeaderSize);
        EXPECT_EQ(header->type, c.type);
        EXPECT_EQ(header->flags, c.flags);
        EXPECT_EQ(header->stream, c.stream);
    }
}

TEST(V2FrameHeader, ReportsEndStreamAndAck) {
    EXPECT_TRUE(decodeHeader(kData)->endStream());
    EXPECT_FALSE(decodeHeader(kResponse)->endStream());
    EXPECT_TRUE(decodeHeader(kPong)->ack());
    EXPECT_FALSE(decodeHeader(kPing)->ack());
    // TRAILERS ends the direction even without the flag.
    auto bare = decodeHeader(rawHeader(2, 0x04, 0, 1));
    ASSERT_TRUE(bare);
    EXPECT_TRUE(bare->endStream());
}

TEST(V2FrameHeader, ReportsFewerThanTwelveBytesAsTruncated) {
    EXPECT_EQ(decodeHeader(kData.substr(0, 11)).error(), makeError(Errc::TruncatedFrame));
}

TEST(V2FrameHeader, AcceptsDataPayloadOfExactlyTheLimit) {
    auto header = decodeHeader(rawHeader(kMaxDataPayload, 0x03, 0, 1));
    ASSERT_TRUE(header) << header.error().message();
    EXPECT_EQ(header->length, 262144U);
}

TEST(V2FrameHeader, RejectsDataPayloadAboveLimitFromHeaderAlone) {
    EXPECT_EQ(decodeHeader(rawHeader(kMaxDataPayload + 1, 0x03, 0, 1)).error(), tooLarge());
    EXPECT_EQ(decodeHeader(rawHeader(0xffffffffU, 0x03, 0, 1)).error(), tooLarge());
}

TEST(V2FrameHeader, AppliesTheControlLimitToEveryOtherType) {
    for (const std::uint8_t type : {0x01, 0x02, 0x04}) {
        EXPECT_TRUE(decodeHeader(rawHeader(kMaxControlPayload, type, 0, 1)))
            << "type " << int{type};
        EXPECT_EQ(decodeHeader(rawHeader(kMaxControlPayload + 1, type, 0, 1)).error(), tooLarge())
            << "type " << int{type};
    }
    // Fixed-size types: far above the limit is still "too large", not a length mismatch.
    for (const std::uint8_t type : {0x05, 0x06, 0x07, 0x08}) {
        const std::uint32_t stream = type == 0x06 ? 1 : 0;
        EXPECT_EQ(decodeHeader(rawHeader(kMaxControlPayload + 1, type, 0, stream)).error(),
                  tooLarge())
            << "type " << int{type};
    }
}

TEST(V2FrameHeader, RejectsFixedSizeFramesOfTheWrongLength) {
    EXPECT_EQ(decodeHeader(rawHeader(3, 0x05, 0, 0)).error(), violation());
    EXPECT_EQ(decodeHeader(rawHeader(5, 0x05, 0, 0)).error(), violation());
    EXPECT_EQ(decodeHeader(rawHeader(8, 0x06, 0, 1)).error(), violation());
    EXPECT_EQ(decodeHeader(rawHeader(0, 0x07, 0, 0)).error(), violation());
    EXPECT_EQ(decodeHeader(rawHeader(7, 0x08, 0, 0)).error(), violation());
}

TEST(V2FrameHeader, BoundsTheGoawayReason) {
    EXPECT_TRUE(decodeHeader(rawHeader(9, 0x08, 0, 0)));
    EXPECT_TRUE(decodeHeader(rawHeader(8 + 1024, 0x08, 0, 0)));
    EXPECT_EQ(decodeHeader(rawHeader(8 + 1025, 0x08, 0, 0)).error(), violation());
}

TEST(V2FrameEncoder, EncodesGoawayWithAReasonAsDocumented) {
    std::string out;
    appendGoaway(out, GoawayCode::Superseded, 0, "ab");
    EXPECT_EQ(out, hex("00 00 00 0a 08 00 00 00 00 00 00 00 00 00 00 02 00 00 00 00 61 62"));
    auto goaway = decodeGoaway(payloadOf(out));
    ASSERT_TRUE(goaway);
    EXPECT_EQ(goaway->code, GoawayCode::Superseded);
    EXPECT_EQ(goaway->reason, "ab");
}

TEST(V2FrameHeader, RejectsNonZeroReservedField) {
    EXPECT_EQ(decodeHeader(rawHeader(5, 0x03, 0, 1, 0x0001)).error(), violation());
    EXPECT_EQ(decodeHeader(rawHeader(5, 0x03, 0, 1, 0x8000)).error(), violation());
    EXPECT_TRUE(decodeHeader(rawHeader(5, 0x03, 0, 1, 0x0000)));
}

TEST(V2FrameHeader, RejectsUnknownTypes) {
    for (const std::uint8_t type : {0x00, 0x09, 0x7f, 0xff}) {
        EXPECT_EQ(decodeHeader(rawHeader(0, type, 0, 1)).error(), violation())
            << "type " << int{type};
    }
}

TEST(V2FrameHeader, RejectsFlagBitsTheTypeDoesNotDefine) {
    EXPECT_EQ(decodeHeader(rawHeader(0, 0x03, kFlagAck, 1)).error(), violation());
    EXPECT_EQ(decodeHeader(rawHeader(0, 0x03, 0x80, 1)).error(), violation());
    EXPECT_EQ(decodeHeader(rawHeader(8, 0x07, kFlagEndStream, 0)).error(), violation());
    EXPECT_EQ(decodeHeader(rawHeader(4, 0x05, kFlagEndStream, 0)).error(), violation());
    EXPECT_EQ(decodeHeader(rawHeader(4, 0x06, kFlagEndStream, 1)).error(), violation());
    EXPECT_EQ(decodeHeader(rawHeader(8, 0x08, kFlagAck, 0)).error(), violation());
}

TEST(V2FrameHeader, RejectsStreamIdsTheTypeForbids) {
    EXPECT_EQ(decodeHeader(rawHeader(0, 0x01, 0, 2)).error(), violation());  // even request
    EXPECT_EQ(decodeHeader(rawHeader(0, 0x01, 0, 0)).error(), violation());
    EXPECT_EQ(decodeHeader(rawHeader(2, 0x02, 0, 0)).error(), violation());
    EXPECT_EQ(decodeHeader(rawHeader(0, 0x03, 0, 0)).error(), violation());
    EXPECT_EQ(decodeHeader(rawHeader(2, 0x04, 0, 0)).error(), violation());
    EXPECT_EQ(decodeHeader(rawHeader(4, 0x06, 0, 0)).error(), violation());
    EXPECT_EQ(decodeHeader(rawHeader(8, 0x07, 0, 1)).error(), violation());
    EXPECT_EQ(decodeHeader(rawHeader(8, 0x08, 0, 1)).error(), violation());
    EXPECT_TRUE(decodeHeader(rawHeader(4, 0x05, 0, 0)));
    EXPECT_TRUE(decodeHeader(rawHeader(4, 0x05, 0, 2)));
    EXPECT_TRUE(decodeHeader(rawHeader(0, 0x01, 0, 0xffffffffU)));
}

// --- Payload decoding -------------------------------------------------------------------------

TEST(V2PayloadDecoder, DecodesTheDocumentedPayloads) {
    auto request = decodeRequest(payloadOf(kRequest));
    ASSERT_TRUE(request) << request.error().message();
    EXPECT_EQ(request->method, "GET");
    EXPECT_EQ(request->target, "/");
    EXPECT_EQ(request->headers, kRequestHead.headers);

    auto response = decodeResponse(payloadOf(kResponse));
    ASSERT_TRUE(response) << response.error().message();
    EXPECT_EQ(response->status, 200);
    EXPECT_EQ(response->headers, kResponseHead.headers);

    EXPECT_EQ(decodeHeaderBlock(payloadOf(kTrailers)).value(), (HeaderList{{"x-checksum", "abc"}}));
    EXPECT_EQ(decodeWindowUpdate(payloadOf(kConnectionWindowUpdate)).value(), 65536U);
    EXPECT_EQ(decodeReset(payloadOf(kReset)).value(), ResetCode::Timeout);
    EXPECT_EQ(decodePing(payloadOf(kPong)).value(), 0x0102030405060708ULL);
    auto goaway = decodeGoaway(payloadOf(kGoaway));
    ASSERT_TRUE(goaway);
    EXPECT_EQ(goaway->code, GoawayCode::Shutdown);
    EXPECT_EQ(goaway->retryAfterMs, 5000U);
}

// The fields read in place, copied out for comparison.
HeaderList listOf(HeaderBlockView fields) {
    HeaderList list;
    for (const auto& [name, value] : fields) {
        list.emplace_back(name, value);
    }
    return list;
}

// The relay keeps a RESPONSE payload whole and reads its fields in place: it must accept
// exactly what decodeResponse accepts, and read the same fields.
void expectSameAsDecodeResponse(const std::string& payload) {
    const auto copied = decodeResponse(payload);
    const auto kept = decodeReceivedResponse(payload);
    ASSERT_EQ(static_cast<bool>(copied), static_cast<bool>(kept)) << payload.size() << " bytes";
    if (!copied) {
        return;
    }
    EXPECT_EQ(kept->status, copied->status);
    EXPECT_EQ(listOf(kept->headers()), copied->headers);
    EXPECT_EQ(contentLength(kept->headers()), contentLength(copied->headers));
}

TEST(V2PayloadDecoder, ReceivedResponseAcceptsAndReadsWhatDecodeResponseDoes) {
    const std::string payload = payloadOf(kResponse);
    for (std::size_t cut = 0; cut <= payload.size(); ++cut) {
        expectSameAsDecodeResponse(payload.substr(0, cut));  // every truncation
    }
    expectSameAsDecodeResponse(payload + "x");
    const std::string block = u16(3) + u16(1) + "a" + u32(0) + u16(14) + "content-length" + u32(2) +
                              "42" + u16(5) + "x-big" + u32(300) + std::string(300, 'v');
    expectSameAsDecodeResponse(u16(204) + block);
    expectSameAsDecodeResponse(u16(204) + u16(1) + u16(1) + "A" + u32(0));  // uppercase
    expectSameAsDecodeResponse(u16(204) + u16(1) + u16(1) + "a" + u32(1) + "\n");
    const auto kept = decodeReceivedResponse(u16(204) + block);
    ASSERT_TRUE(kept);
    EXPECT_EQ(kept->header("content-length"), "42");
    EXPECT_EQ(kept->header("x-big"), std::string(300, 'v'));
    EXPECT_EQ(kept->header("absent"), "");
    EXPECT_EQ(kept->headers().size(), 3U);
}

// The agent keeps a REQUEST payload whole and reads its parts in place: it must accept exactly
// what decodeRequest accepts, and read the same method, target and fields.
void expectSameAsDecodeRequest(const std::string& payload) {
    const auto copied = decodeRequest(payload);
    const auto kept = decodeReceivedRequest(payload);
    ASSERT_EQ(static_cast<bool>(copied), static_cast<bool>(kept)) << payload.size() << " bytes";
    if (!copied) {
        return;
    }
    EXPECT_EQ(kept->method(), copied->method);
    EXPECT_EQ(kept->target(), copied->target);
    EXPECT_EQ(listOf(kept->headers()), copied->headers);
}

TEST(V2PayloadDecoder, ReceivedRequestAcceptsAndReadsWhatDecodeRequestDoes) {
    const std::string payload = payloadOf(kRequest);
    for (std::size_t cut = 0; cut <= payload.size(); ++cut) {
        expectSameAsDecodeRequest(payload.substr(0, cut));  // every truncation
    }
    expectSameAsDecodeRequest(payload + "x");
    const std::string block = u16(2) + u16(4) + "host" + u32(3) + "a.b" + u16(5) + "x-big" +
                              u32(300) + std::string(300, 'v');
    expectSameAsDecodeRequest("\x08PROPFIND"s + u16(6) + "/a?b=c" + block);
    expectSameAsDecodeRequest("\x03GET"s + u16(1) + "/" + u16(0));  // no fields, short payload
    expectSameAsDecodeRequest("\x03GET"s + u16(1) + "/" + u16(1) + u16(1) + "A" + u32(0));
    expectSameAsDecodeRequest("\x03GET"s + u16(1) + "/" + u16(1) + u16(1) + "a" + u32(1) + "\r");
    expectSameAsDecodeRequest("\x03G T"s + u16(1) + "/" + u16(0));
    // Moved, a short payload (held inside the string itself) still reads right.
    auto kept = decodeReceivedRequest("\x03GET"s + u16(1) + "/" + u16(0));
    ASSERT_TRUE(kept);
    const ReceivedRequest moved = std::move(*kept);
    EXPECT_EQ(moved.method(), "GET");
    EXPECT_EQ(moved.target(), "/");
    EXPECT_EQ(moved.headers().size(), 0U);
}

TEST(V2PayloadDecoder, AcceptsAnEmptyHeaderBlock) {
    auto block = decodeHeaderBlock(hex("00 00"));
    ASSERT_TRUE(block);
    EXPECT_TRUE(block->empty());
}

TEST(V2PayloadDecoder, RejectsCountAboveTheHeadersPresent) {
    // Count says 5, one header follows.
    const std::string block = u16(5) + u16(1) + "a" + u32(1) + "b";
    EXPECT_EQ(decodeHeaderBlock(block).error(), violation());
    EXPECT_TRUE(decodeHeaderBlock(u16(1) + block.substr(2)));  // the same entry, counted right
}

TEST(V2PayloadDecoder, RejectsHugeCountWithoutReservingForIt) {
    EXPECT_EQ(decodeHeaderBlock(u16(0xffff)).error(), violation());
}

TEST(V2PayloadDecoder, RejectsNameLengthPastTheEnd) {
    EXPECT_EQ(decodeHeaderBlock(u16(1) + u16(4) + "abc").error(), violation());
    EXPECT_EQ(decodeHeaderBlock(u16(1) + u16(0xffff) + "abc" + u32(0)).error(), violation());
    EXPECT_EQ(decodeHeaderBlock(u16(1) + "\x00"s).error(), violation());  // half a length
}

TEST(V2PayloadDecoder, RejectsValueLengthPastTheEnd) {
    EXPECT_EQ(decodeHeaderBlock(u16(1) + u16(1) + "a" + u32(0xffffffffU) + "xyz").error(),
              violation());
    EXPECT_EQ(decodeHeaderBlock(u16(1) + u16(1) + "a" + u32(4) + "xyz").error(), violation());
    EXPECT_EQ(decodeHeaderBlock(u16(1) + u16(1) + "a" + u32(3) + "xyz").value(),
              (HeaderList{{"a", "xyz"}}));
}

TEST(V2PayloadDecoder, RejectsBytesLeftAfterTheBlock) {
    EXPECT_EQ(decodeHeaderBlock(hex("00 00 00")).error(), violation());
    EXPECT_EQ(decodeResponse(payloadOf(kResponse) + "x").error(), violation());
    EXPECT_EQ(decodeRequest(payloadOf(kRequest) + "x").error(), violation());
}

TEST(V2PayloadDecoder, RejectsUppercaseAndNonTokenHeaderNames) {
    const auto block = [](std::string_view name) {
        return u16(1) + u16(static_cast<std::uint32_t>(name.size())) + std::string(name) + u32(1) +
               "v";
    };
    EXPECT_TRUE(decodeHeaderBlock(block("x-custom_header.1~")));
    for (const std::string_view name :
         {"Host", "X-FOO", "", "a b", "a:b", "a\x01", "caf\xc3\xa9", "(x)"}) {
        EXPECT_EQ(decodeHeaderBlock(block(name)).error(), violation()) << name;
    }
}

TEST(V2PayloadDecoder, RejectsCrLfAndNulInValues) {
    const auto block = [](std::string_view value) {
        return u16(1) + u16(1) + "a" + u32(static_cast<std::uint32_t>(value.size())) +
               std::string(value);
    };
    EXPECT_EQ(decodeHeaderBlock(block("a\rb")).error(), violation());
    EXPECT_EQ(decodeHeaderBlock(block("a\nb")).error(), violation());
    EXPECT_EQ(decodeHeaderBlock(block("a\0b"s)).error(), violation());
    // Tabs and obs-text are not the codec's business.
    EXPECT_EQ(decodeHeaderBlock(block("a\tb\xff")).value(), (HeaderList{{"a", "a\tb\xff"}}));
}

TEST(V2PayloadDecoder, RejectsMalformedRequestHeads) {
    const std::string emptyBlock = u16(0);
    EXPECT_TRUE(decodeRequest("\x03GET"s + u16(1) + "/" + emptyBlock));
    EXPECT_EQ(decodeRequest("\x00"s + u16(1) + "/" + emptyBlock).error(), violation());
    EXPECT_EQ(decodeRequest("\x09GET"s + u16(1) + "/" + emptyBlock).error(), violation());
    EXPECT_EQ(decodeRequest("\x03G T"s + u16(1) + "/" + emptyBlock).error(), violation());
    EXPECT_EQ(decodeRequest("\x03GET"s + u16(0) + emptyBlock).error(), violation());
    EXPECT_EQ(decodeRequest("\x03GET"s + u16(3) + "/ x" + emptyBlock).error(), violation());
    EXPECT_EQ(decodeRequest("\x03GET"s + u16(0xffff) + "/" + emptyBlock).error(), violation());
    EXPECT_EQ(decodeRequest("\x03GET"s + u16(1) + "/").error(), violation());  // no block
    EXPECT_EQ(decodeRequest("").error(), violation());
}

TEST(V2PayloadDecoder, RejectsStatusOutside100To999) {
    const std::string emptyBlock = u16(0);
    EXPECT_EQ(decodeResponse(u16(99) + emptyBlock).error(), violation());
    EXPECT_EQ(decodeResponse(u16(1000) + emptyBlock).error(), violation());
    EXPECT_EQ(decodeResponse(u16(0) + emptyBlock).error(), violation());
    EXPECT_EQ(decodeResponse(u16(100) + emptyBlock).value().status, 100);
    EXPECT_EQ(decodeResponse(u16(999) + emptyBlock).value().status, 999);
    EXPECT_EQ(decodeResponse("\x00"s).error(), violation());
}

TEST(V2PayloadDecoder, RejectsZeroAndOversizeWindowIncrements) {
    EXPECT_EQ(decodeWindowUpdate(u32(0)).error(), violation());
    EXPECT_EQ(decodeWindowUpdate(u32(0x80000000U)).error(), violation());
    EXPECT_EQ(decodeWindowUpdate(u32(0xffffffffU)).error(), violation());
    EXPECT_EQ(decodeWindowUpdate(u32(1)).value(), 1U);
    EXPECT_EQ(decodeWindowUpdate(u32(0x7fffffffU)).value(), kMaxWindow);
    EXPECT_EQ(decodeWindowUpdate(u32(1) + "x").error(), violation());
}

TEST(V2PayloadDecoder, PassesUnknownResetAndGoawayCodesThrough) {
    EXPECT_EQ(static_cast<std::uint32_t>(decodeReset(u32(77)).value()), 77U);
    EXPECT_EQ(static_cast<std::uint32_t>(decodeGoaway(u32(9) + u32(0)).value().code), 9U);
    EXPECT_EQ(decodeReset("\x00\x00\x00"s).error(), violation());
    EXPECT_EQ(decodeGoaway(u32(0)).error(), violation());
    EXPECT_EQ(decodePing(u32(0)).error(), violation());
}

// --- Incremental decoder ----------------------------------------------------------------------

/// Unwraps next() when the test expects a complete frame.
Frame nextFrame(FrameDecoder& decoder) {
    auto frame = decoder.next();
    EXPECT_TRUE(frame.has_value()) << frame.error().message();
    if (!frame || !*frame) {
        ADD_FAILURE() << "no complete frame";
        return {};
    }
    return std::move(**frame);
}

TEST(V2FrameDecoder, DecodesConcatenatedFramesFedOneByteAtATime) {
    const std::string stream = kRequest + kData + kPing + kResponse + kTrailers + kGoaway;
    const std::vector<const std::string*> expected{&kRequest,  &kData,     &kPing,
                                                   &kResponse, &kTrailers, &kGoaway};
    FrameDecoder decoder;
    std::size_t decoded = 0;
    for (const char c : stream) {
        decoder.append(std::string_view(&c, 1));
        auto frame = decoder.next();
        ASSERT_TRUE(frame) << frame.error().message();
        if (*frame) {
            ASSERT_LT(decoded, expected.size());
            const std::string& want = *expected[decoded];
            EXPECT_EQ((*frame)->payload, payloadOf(want)) << "frame " << decoded;
            EXPECT_EQ((*frame)->header.length, want.size() - kHeaderSize);
            ++decoded;
            EXPECT_FALSE(decoder.next().value().has_value());
        }
    }
    EXPECT_EQ(decoded, expected.size());
    EXPECT_EQ(decoder.buffered(), 0U);
}

TEST(V2FrameDecoder, RejectsDataPayloadAboveLimitFromHeaderAlone) {
    FrameDecoder decoder;
    decoder.append(rawHeader(kMaxDataPayload + 1, 0x03, 0, 1));  // no payload byte sent
    EXPECT_EQ(decoder.next().error(), tooLarge());
    EXPECT_EQ(decoder.wanted(), 1U);  // never asks the transport for the claimed length
}

TEST(V2FrameDecoder, RejectsControlPayloadAboveLimitFromHeaderAlone) {
    FrameDecoder decoder;
    decoder.append(rawHeader(kMaxControlPayload + 1, 0x02, 0, 1));
    EXPECT_EQ(decoder.next().error(), tooLarge());
}

TEST(V2FrameDecoder, WaitsForAPayloadExactlyAtTheLimit) {
    FrameDecoder decoder;
    decoder.append(rawHeader(kMaxDataPayload, 0x03, 0, 1));
    auto frame = decoder.next();
    ASSERT_TRUE(frame);
    EXPECT_FALSE(frame->has_value());
    EXPECT_EQ(decoder.wanted(), kMaxDataPayload);
    decoder.append(std::string(kMaxDataPayload, 'z'));
    EXPECT_EQ(nextFrame(decoder).payload.size(), kMaxDataPayload);
}

TEST(V2FrameDecoder, StaysFailedAfterAnError) {
    FrameDecoder decoder;
    decoder.append(rawHeader(0, 0x09, 0, 1) + kPing);
    EXPECT_EQ(decoder.next().error(), violation());
    EXPECT_EQ(decoder.next().error(), violation());  // the valid PING behind it is not returned
    EXPECT_EQ(decoder.wanted(), 1U);
}

TEST(V2FrameDecoder, WantedCountsHeaderThenPayloadBytes) {
    FrameDecoder decoder;
    EXPECT_EQ(decoder.wanted(), 12U);
    decoder.append(kData.substr(0, 5));
    EXPECT_EQ(decoder.wanted(), 7U);
    decoder.append(kData.substr(5, 7));
    EXPECT_EQ(decoder.wanted(), 5U);
    decoder.append(kData.substr(12, 2));
    EXPECT_EQ(decoder.wanted(), 3U);
    decoder.append(kData.substr(14));
    EXPECT_EQ(decoder.wanted(), 1U);  // complete: at least one byte keeps a reader going
    EXPECT_EQ(nextFrame(decoder).payload, "hello");
    EXPECT_EQ(decoder.wanted(), 12U);
}

TEST(V2FrameDecoder, BufferedReportsATruncatedFrame) {
    FrameDecoder decoder;
    decoder.append(kResponse.substr(0, 20));
    auto frame = decoder.next();
    ASSERT_TRUE(frame);
    EXPECT_FALSE(frame->has_value());
    EXPECT_EQ(decoder.buffered(), 20U);
}

TEST(V2FrameDecoder, ReadsALargePayloadStraightIntoItsFrame) {
    const std::string payload = std::string(100000, 'a') + "end";
    std::string frame;
    ASSERT_TRUE(appendData(frame, 7, payload, true));
    FrameDecoder decoder;
    decoder.append(std::string_view(frame).substr(0, 5000));
    EXPECT_TRUE(decoder.directRoom(200000).empty());  // not large enough for that caller
    auto room = decoder.directRoom(16 * 1024);
    ASSERT_EQ(room.size(), frame.size() - 5000);
    EXPECT_EQ(decoder.buffered(), 5000U);
    std::copy(frame.begin() + 5000, frame.end() - 10, room.begin());
    decoder.commitDirect(room.size() - 10);
    EXPECT_FALSE(decoder.next().value().has_value());
    EXPECT_EQ(decoder.buffered(), frame.size() - 10);  // a close now is a truncated frame
    room = decoder.directRoom(16 * 1024);
    ASSERT_EQ(room.size(), 10U);
    std::copy(frame.end() - 10, frame.end(), room.begin());
    decoder.commitDirect(10);
    const Frame decoded = nextFrame(decoder);
    EXPECT_EQ(decoded.header.stream, 7U);
    EXPECT_TRUE(decoded.header.endStream());
    EXPECT_EQ(decoded.payload, payload);
    EXPECT_EQ(decoder.buffered(), 0U);
    decoder.append(kPing);  // back to ordinary buffering
    EXPECT_TRUE(decoder.directRoom(1).empty());
    EXPECT_EQ(nextFrame(decoder).payload, payloadOf(kPing));
}

TEST(V2FrameDecoder, NeverOffersRoomForALengthItRejects) {
    FrameDecoder decoder;
    decoder.append(rawHeader(kMaxDataPayload + 1, 0x03, 0, 1));
    EXPECT_TRUE(decoder.directRoom(1).empty());
    EXPECT_EQ(decoder.next().error(), tooLarge());
}

// --- Randomized round trip --------------------------------------------------------------------

class Generator {
public:
    explicit Generator(std::uint32_t seed) : rng_(seed) {}

    std::uint32_t below(std::uint32_t n) {
        return std::uniform_int_distribution<std::uint32_t>(0, n - 1)(rng_);
    }

    std::string bytes(std::size_t size) {
        std::string out(size, '\0');
        for (char& c : out) {
            c = static_cast<char>(below(256));
        }
        return out;
    }

    std::string from(std::string_view alphabet, std::size_t size) {
        std::string out(size, '\0');
        for (char& c : out) {
            c = alphabet[below(static_cast<std::uint32_t>(alphabet.size()))];
        }
        return out;
    }

    HeaderList headers() {
        HeaderList out(below(6));
        for (auto& [name, value] : out) {
            name = from("abcdefghijklmnopqrstuvwxyz0123456789-_.!#$%&'*+^`|~", 1 + below(20));
            value = from("abcXYZ 019\t\x7f\x80\xff;=,\"/", below(60));
        }
        return out;
    }

    std::uint32_t stream() { return 1 + 2 * below(1000000); }

private:
    std::mt19937 rng_;
};

struct Expected {
    FrameType type;
    std::uint8_t flags;
    std::uint32_t stream;
    RequestHead request;
    ResponseHead response;
    HeaderList trailers;
    std::string data;
    std::uint64_t scalar = 0;  ///< increment, reset code, ping opaque, goaway code
    std::uint32_t retryAfterMs = 0;
};

Expected randomFrame(Generator& gen, std::string& out) {
    Expected e{};
    e.type = static_cast<FrameType>(1 + gen.below(8));
    e.stream = gen.stream();
    const bool end = gen.below(2) == 1;
    e.flags = end ? kFlagEndStream : 0;
    switch (e.type) {
        case FrameType::Request:
            e.request = {gen.from("GETPOSTDELTAHFIN", 1 + gen.below(8)),
                         "/" + gen.from("abc/?=&%20-._~", gen.below(40)), gen.headers()};
            EXPECT_TRUE(appendRequest(out, e.stream, e.request, end));
            break;
        case FrameType::Response:
            e.response = {100 + static_cast<int>(gen.below(900)), gen.headers()};
            EXPECT_TRUE(appendResponse(out, e.stream, e.response, end));
            break;
        case FrameType::Data:
            e.data = gen.bytes(gen.below(5) == 0 ? gen.below(kMaxDataPayload + 1) : gen.below(64));
            EXPECT_TRUE(appendData(out, e.stream, e.data, end));
            break;
        case FrameType::Trailers:
            e.flags = kFlagEndStream;
            e.trailers = gen.headers();
            EXPECT_TRUE(appendTrailers(out, e.stream, e.trailers));
            break;
        case FrameType::WindowUpdate:
            e.flags = 0;
            e.stream = gen.below(2) == 0 ? 0 : e.stream;
            e.scalar = 1 + gen.below(kMaxWindow);
            appendWindowUpdate(out, e.stream, static_cast<std::uint32_t>(e.scalar));
            break;
        case FrameType::Reset:
            e.flags = 0;
            e.scalar = gen.below(6);
            appendReset(out, e.stream, static_cast<ResetCode>(e.scalar));
            break;
        case FrameType::Ping:
            e.flags = end ? kFlagAck : 0;
            e.stream = 0;
            e.scalar = (std::uint64_t{gen.below(0xffffffffU)} << 32) | gen.below(0xffffffffU);
            appendPing(out, e.scalar, end);
            break;
        case FrameType::Goaway:
            e.flags = 0;
            e.stream = 0;
            e.scalar = gen.below(4);
            e.retryAfterMs = gen.below(0xffffffffU);
            appendGoaway(out, static_cast<GoawayCode>(e.scalar), e.retryAfterMs);
            break;
    }
    return e;
}

void expectDecodesTo(const Frame& frame, const Expected& e, int index) {
    SCOPED_TRACE("frame " + std::to_string(index));
    ASSERT_EQ(frame.header.type, e.type);
    EXPECT_EQ(frame.header.flags, e.flags);
    EXPECT_EQ(frame.header.stream, e.stream);
    EXPECT_EQ(frame.header.length, frame.payload.size());
    switch (e.type) {
        case FrameType::Request: {
            auto head = decodeRequest(frame.payload);
            ASSERT_TRUE(head) << head.error().message();
            EXPECT_EQ(head->method, e.request.method);
            EXPECT_EQ(head->target, e.request.target);
            EXPECT_EQ(head->headers, e.request.headers);
            break;
        }
        case FrameType::Response: {
            auto head = decodeResponse(frame.payload);
            ASSERT_TRUE(head) << head.error().message();
            EXPECT_EQ(head->status, e.response.status);
            EXPECT_EQ(head->headers, e.response.headers);
            break;
        }
        case FrameType::Data: EXPECT_EQ(frame.payload, e.data); break;
        case FrameType::Trailers:
            EXPECT_EQ(decodeHeaderBlock(frame.payload).value(), e.trailers);
            break;
        case FrameType::WindowUpdate:
            EXPECT_EQ(decodeWindowUpdate(frame.payload).value(), e.scalar);
            break;
        case FrameType::Reset:
            EXPECT_EQ(static_cast<std::uint64_t>(decodeReset(frame.payload).value()), e.scalar);
            break;
        case FrameType::Ping: EXPECT_EQ(decodePing(frame.payload).value(), e.scalar); break;
        case FrameType::Goaway: {
            auto goaway = decodeGoaway(frame.payload).value();
            EXPECT_EQ(static_cast<std::uint64_t>(goaway.code), e.scalar);
            EXPECT_EQ(goaway.retryAfterMs, e.retryAfterMs);
            break;
        }
    }
}

TEST(V2FrameDecoder, RoundTripsRandomFramesDeliveredInRandomChunks) {
    Generator gen(20240611);
    std::string wire;
    std::vector<Expected> expected;
    expected.reserve(400);
    for (int i = 0; i < 400; ++i) {
        expected.push_back(randomFrame(gen, wire));
    }
    FrameDecoder decoder;
    int decoded = 0;
    for (std::size_t at = 0; at < wire.size();) {
        const std::size_t chunk = gen.below(4) == 0 ? 1 + gen.below(8) : 1 + gen.below(70000);
        decoder.append(std::string_view(wire).substr(at, chunk));
        at += chunk;
        for (;;) {
            auto frame = decoder.next();
            ASSERT_TRUE(frame) << frame.error().message() << " after " << decoded << " frames";
            if (!*frame) {
                break;
            }
            ASSERT_LT(static_cast<std::size_t>(decoded), expected.size());
            expectDecodesTo(**frame, expected[static_cast<std::size_t>(decoded)], decoded);
            ++decoded;
        }
    }
    EXPECT_EQ(decoded, 400);
    EXPECT_EQ(decoder.buffered(), 0U);
}

// --- Negotiation ------------------------------------------------------------------------------

TEST(V2Negotiation, RegisterAnnouncesV2AsDocumented) {
    EXPECT_EQ(kFeatureV2, "v2");
    const v1::Register reg{
        "moncommunaute", "t0k3n", {"header_list", std::string(kFeatureV2)}, "nexus-relay/0.2.0"};
    EXPECT_EQ(
        v1::encode(reg),
        R"({"type":"register","slug":"moncommunaute","token":"t0k3n","features":["header_list","v2"],"agent":"nexus-relay/0.2.0"})");
    const v1::Registered ok{true, std::nullopt, {"header_list", std::string(kFeatureV2)}};
    EXPECT_EQ(v1::encode(ok),
              R"({"type":"registered","ok":true,"error":null,"features":["header_list","v2"]})");
}

TEST(ContentLength, ReadsOneWellFormedValue) {
    EXPECT_EQ(contentLength({{"content-type", "text/plain"}, {"content-length", "1234"}}), 1234U);
    EXPECT_EQ(contentLength({{"content-length", "0"}}), 0U);
    EXPECT_EQ(contentLength({{"content-length", "18446744073709551615"}}), 18446744073709551615ULL);
}

TEST(ContentLength, AcceptsRepeatsOfTheSameValue) {
    EXPECT_EQ(contentLength({{"content-length", "5"}, {"content-length", "5"}}), 5U);
}

TEST(ContentLength, TrustsNoLengthWhenValuesConflictOrAreMalformed) {
    EXPECT_EQ(contentLength({{"content-length", "5"}, {"content-length", "6"}}), std::nullopt);
    EXPECT_EQ(contentLength({{"content-length", "6"}, {"content-length", "x"}}), std::nullopt);
    EXPECT_EQ(contentLength({{"content-length", ""}}), std::nullopt);
    EXPECT_EQ(contentLength({{"content-length", "+5"}}), std::nullopt);
    EXPECT_EQ(contentLength({{"content-length", "5 "}}), std::nullopt);
    EXPECT_EQ(contentLength({{"content-length", "18446744073709551616"}}), std::nullopt);
    EXPECT_EQ(contentLength(HeaderList{}), std::nullopt);
}

}  // namespace
}  // namespace nexus::protocol::v2
