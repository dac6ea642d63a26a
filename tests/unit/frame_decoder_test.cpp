// SPDX-License-Identifier: AGPL-3.0-or-later
// Tests for FrameDecoder and encodeFrame: the deployed 4-byte big-endian length prefix.
#include "protocol/frame.hpp"
#include "protocol/v1_messages.hpp"

#include <gtest/gtest.h>

#include <string>
#include <string_view>

namespace nexus::protocol {
namespace {

using namespace std::string_literals;

// original-relay.md §2.3, byte for byte.
const std::string kFramedPing = "\x00\x00\x00\x0f"s + R"({"type":"ping"})";
const std::string kFramedHeartbeat = "\x00\x00\x00\x14"s + R"({"type":"heartbeat"})";

std::string prefix(std::uint32_t size) {
    return {static_cast<char>(size >> 24), static_cast<char>((size >> 16) & 0xff),
            static_cast<char>((size >> 8) & 0xff), static_cast<char>(size & 0xff)};
}

// Unwraps next() when the test expects a complete frame.
std::string nextPayload(FrameDecoder& decoder) {
    auto frame = decoder.next();
    EXPECT_TRUE(frame.has_value()) << frame.error().message();
    if (!frame || !*frame) {
        ADD_FAILURE() << "no complete frame";
        return {};
    }
    return **frame;
}

TEST(FrameEncoder, ProducesTheDeployedBytesForPingAndHeartbeat) {
    EXPECT_EQ(encodeFrame(R"({"type":"ping"})").value(), kFramedPing);
    EXPECT_EQ(encodeFrame(R"({"type":"heartbeat"})").value(), kFramedHeartbeat);
}

TEST(FrameEncoder, AllowsExactlySixteenMebibytes) {
    const std::string payload(kMaxFrameSize, 'x');
    auto framed = encodeFrame(payload);
    ASSERT_TRUE(framed.has_value());
    EXPECT_EQ(framed->size(), kFramePrefixSize + kMaxFrameSize);
    EXPECT_EQ(framed->substr(0, 4), "\x01\x00\x00\x00"s);
}

TEST(FrameEncoder, RejectsOneByteAboveSixteenMebibytes) {
    // The deployed reader would tear the tunnel down, so the writer must refuse instead.
    const std::string payload(kMaxFrameSize + 1, 'x');
    auto framed = encodeFrame(payload);
    ASSERT_FALSE(framed.has_value());
    EXPECT_EQ(framed.error(), makeError(Errc::FrameTooLarge));
}

TEST(FrameEncoder, HonoursASmallerExplicitLimit) {
    EXPECT_TRUE(encodeFrame(std::string(10, 'a'), 10).has_value());
    EXPECT_EQ(encodeFrame(std::string(11, 'a'), 10).error(), makeError(Errc::FrameTooLarge));
}

TEST(FrameDecoder, DecodesTheDeployedPingBytes) {
    FrameDecoder decoder;
    decoder.append(kFramedPing);
    EXPECT_EQ(nextPayload(decoder), R"({"type":"ping"})");
    EXPECT_EQ(decoder.buffered(), 0U);
}

TEST(FrameDecoder, AssemblesAFrameFedOneByteAtATime) {
    FrameDecoder decoder;
    for (std::size_t i = 0; i + 1 < kFramedHeartbeat.size(); ++i) {
        decoder.append(std::string_view(&kFramedHeartbeat[i], 1));
        auto frame = decoder.next();
        ASSERT_TRUE(frame.has_value());
        EXPECT_FALSE(frame->has_value()) << "frame complete after only " << i + 1 << " bytes";
    }
    decoder.append(std::string_view(&kFramedHeartbeat.back(), 1));
    EXPECT_EQ(nextPayload(decoder), R"({"type":"heartbeat"})");
}

TEST(FrameDecoder, SplitsSeveralFramesDeliveredInOneAppend) {
    FrameDecoder decoder;
    decoder.append(kFramedPing + kFramedHeartbeat + kFramedPing.substr(0, 6));
    EXPECT_EQ(nextPayload(decoder), R"({"type":"ping"})");
    EXPECT_EQ(nextPayload(decoder), R"({"type":"heartbeat"})");
    auto partial = decoder.next();
    ASSERT_TRUE(partial.has_value());
    EXPECT_FALSE(partial->has_value());
    EXPECT_EQ(decoder.buffered(), 6U);
    decoder.append(kFramedPing.substr(6));
    EXPECT_EQ(nextPayload(decoder), R"({"type":"ping"})");
}

TEST(FrameDecoder, AcceptsAPrefixOfExactlySixteenMebibytes) {
    FrameDecoder decoder(kMaxFrameSize);
    decoder.append(prefix(kMaxFrameSize));
    auto frame = decoder.next();
    ASSERT_TRUE(frame.has_value());
    EXPECT_FALSE(frame->has_value());  // waiting for the payload, not failing
    EXPECT_EQ(decoder.wanted(), kMaxFrameSize);
}

TEST(FrameDecoder, RejectsLengthAboveLimitFromThePrefixAlone) {
    // No payload byte has arrived: the check must not wait for 16 MiB to be buffered.
    FrameDecoder decoder(kMaxFrameSize);
    decoder.append(prefix(kMaxFrameSize + 1));
    auto frame = decoder.next();
    ASSERT_FALSE(frame.has_value());
    EXPECT_EQ(frame.error(), makeError(Errc::FrameTooLarge));
}

TEST(FrameDecoder, DefaultsToTheFourKibibytePreAuthLimit) {
    FrameDecoder decoder;
    EXPECT_EQ(decoder.limit(), kMaxPreAuthFrameSize);
    EXPECT_EQ(kMaxPreAuthFrameSize, 4096U);

    FrameDecoder atLimit;
    atLimit.append(prefix(4096) + std::string(4096, 'x'));
    EXPECT_EQ(nextPayload(atLimit).size(), 4096U);

    FrameDecoder aboveLimit;
    aboveLimit.append(prefix(4097));
    EXPECT_EQ(aboveLimit.next().error(), makeError(Errc::FrameTooLarge));
}

TEST(FrameDecoder, RaisedLimitAppliesToTheNextPrefix) {
    FrameDecoder decoder;
    decoder.setLimit(kMaxFrameSize);
    decoder.append(prefix(5000));
    auto frame = decoder.next();
    ASSERT_TRUE(frame.has_value());
    EXPECT_FALSE(frame->has_value());
}

TEST(FrameDecoder, ZeroLengthFrameIsAnEmptyPayloadThatFailsAsJson) {
    FrameDecoder decoder;
    decoder.append(prefix(0));
    auto frame = decoder.next();
    ASSERT_TRUE(frame.has_value());
    ASSERT_TRUE(frame->has_value());
    EXPECT_EQ(**frame, "");
    // The deployed peer treats a 0-length frame as a JSON error; so does the message layer.
    EXPECT_EQ(v1::decodeClientMessage(**frame).error(), makeError(Errc::MalformedJson));
    EXPECT_EQ(v1::decodeServerMessage(**frame).error(), makeError(Errc::MalformedJson));
}

TEST(FrameDecoder, WantedCountsPrefixThenPayloadBytes) {
    FrameDecoder decoder;
    EXPECT_EQ(decoder.wanted(), 4U);
    decoder.append(kFramedPing.substr(0, 3));
    EXPECT_EQ(decoder.wanted(), 1U);
    decoder.append(kFramedPing.substr(3, 1));
    EXPECT_EQ(decoder.wanted(), 15U);
    decoder.append(kFramedPing.substr(4, 10));
    EXPECT_EQ(decoder.wanted(), 5U);
    decoder.append(kFramedPing.substr(14));
    // A complete frame is buffered: asking for at least one byte keeps a reader making progress.
    EXPECT_EQ(decoder.wanted(), 1U);
    EXPECT_EQ(nextPayload(decoder), R"({"type":"ping"})");
    EXPECT_EQ(decoder.wanted(), 4U);
}

TEST(FrameDecoder, BufferedReportsATruncatedFrame) {
    FrameDecoder decoder;
    decoder.append(kFramedPing.substr(0, 8));
    auto frame = decoder.next();
    ASSERT_TRUE(frame.has_value());
    EXPECT_FALSE(frame->has_value());
    EXPECT_EQ(decoder.buffered(), 8U);  // non-zero at EOF: the peer cut a frame short
}

TEST(FrameDecoder, KeepsDecodingAcrossManyFramesWithoutLosingBytes) {
    // Exercises the buffer compaction in append(): frames straddle every append boundary.
    const auto payload = [](int i) {
        return std::string(static_cast<std::size_t>(i % 37), static_cast<char>('a' + i % 26));
    };
    std::string stream;
    for (int i = 0; i < 200; ++i) {
        stream += encodeFrame(payload(i)).value();
    }
    FrameDecoder decoder;
    int decoded = 0;
    for (std::size_t at = 0; at < stream.size(); at += 13) {
        decoder.append(std::string_view(stream).substr(at, 13));
        for (;;) {
            auto frame = decoder.next();
            ASSERT_TRUE(frame.has_value());
            if (!*frame) {
                break;
            }
            EXPECT_EQ(**frame, payload(decoded));
            ++decoded;
        }
    }
    EXPECT_EQ(decoded, 200);
    EXPECT_EQ(decoder.buffered(), 0U);
}

}  // namespace
}  // namespace nexus::protocol
