// SPDX-License-Identifier: AGPL-3.0-or-later
// libFuzzer entry point for the v2 codec: arbitrary bytes through FrameDecoder in chunks, every
// payload through its decoder, and every accepted frame re-encoded, which must give back the
// exact bytes (the v2 encoding has one form per frame, so decode and encode are inverse).
//
// Build (clang): clang++ -std=c++20 -g -O1 -fsanitize=fuzzer,address,undefined -Isrc
//   tests/fuzz/v2_decoder_fuzz.cpp src/protocol/v2_decode.cpp src/protocol/v2_fields.cpp
//   src/protocol/v2_frame_decoder.cpp src/protocol/v2_encode.cpp src/common/error.cpp
//   -o v2_decoder_fuzz
#include "protocol/v2_frame_decoder.hpp"
#include "protocol/v2_frames.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <string>
#include <string_view>

namespace {

using namespace nexus::protocol::v2;

void check(bool condition) {
    if (!condition) {
        std::abort();
    }
}

/// Decodes the payload by type and checks that encoding it again reproduces the frame.
void roundTrip(const Frame& frame) {
    const FrameHeader& h = frame.header;
    check(h.length == frame.payload.size());
    const bool end = (h.flags & kFlagEndStream) != 0;
    std::string out;
    switch (h.type) {
        case FrameType::Request: {
            auto head = decodeRequest(frame.payload);
            // The agent's in-place reading accepts the same payloads and reads the same parts.
            auto kept = decodeReceivedRequest(frame.payload);
            check(static_cast<bool>(head) == static_cast<bool>(kept));
            if (!head) {
                return;
            }
            check(kept->method() == head->method && kept->target() == head->target);
            std::size_t i = 0;
            for (const auto& [name, value] : kept->headers()) {
                check(i < head->headers.size() && head->headers[i].first == name &&
                      head->headers[i].second == value);
                ++i;
            }
            check(i == head->headers.size());
            check(appendRequest(out, h.stream, *head, end).has_value());
            break;
        }
        case FrameType::Response: {
            auto head = decodeResponse(frame.payload);
            // The relay's in-place reading accepts the same payloads and reads the same fields.
            auto kept = decodeReceivedResponse(frame.payload);
            check(static_cast<bool>(head) == static_cast<bool>(kept));
            if (!head) {
                return;
            }
            std::size_t i = 0;
            for (const auto& [name, value] : kept->headers()) {
                check(i < head->headers.size() && head->headers[i].first == name &&
                      head->headers[i].second == value);
                ++i;
            }
            check(i == head->headers.size() && kept->status == head->status);
            check(appendResponse(out, h.stream, *head, end).has_value());
            break;
        }
        case FrameType::Data:
            check(appendData(out, h.stream, frame.payload, end).has_value());
            break;
        case FrameType::Trailers: {
            auto trailers = decodeHeaderBlock(frame.payload);
            if (!trailers) {
                return;
            }
            check(appendTrailers(out, h.stream, *trailers).has_value());
            // The encoder always sets END_STREAM; a peer may leave it implied.
            out[5] = static_cast<char>(h.flags);
            break;
        }
        case FrameType::WindowUpdate: {
            auto increment = decodeWindowUpdate(frame.payload);
            if (!increment) {
                return;
            }
            appendWindowUpdate(out, h.stream, *increment);
            break;
        }
        case FrameType::Reset:
            appendReset(out, h.stream, decodeReset(frame.payload).value());
            break;
        case FrameType::Ping: appendPing(out, decodePing(frame.payload).value(), h.ack()); break;
        case FrameType::Goaway: {
            const Goaway goaway = decodeGoaway(frame.payload).value();
            appendGoaway(out, goaway.code, goaway.retryAfterMs, goaway.reason);
            break;
        }
    }
    check(out.size() == kHeaderSize + frame.payload.size());
    check(std::string_view(out).substr(kHeaderSize) == frame.payload);
    auto again = decodeHeader(out);
    check(again.has_value() && again->type == h.type && again->flags == h.flags &&
          again->stream == h.stream && again->length == h.length);
}

}  // namespace

// NOLINTNEXTLINE(readability-identifier-naming): the name libFuzzer looks for.
extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) {
        return 0;
    }
    // The first byte's low bits pick the chunk size, so splits inside headers and payloads get
    // explored.
    const std::size_t chunk = 1 + (data[0] & 0x7f);
    const std::string_view input(reinterpret_cast<const char*>(data + 1), size - 1);

    // The header decoder alone must agree with what FrameDecoder makes of the first frame.
    const auto firstHeader = decodeHeader(input);
    bool first = true;

    // The second bit reads large payloads the way FrameConnection does: straight into the
    // frame (directRoom) instead of through append().
    const bool direct = (data[0] & 0x80) != 0;
    FrameDecoder decoder;
    for (std::size_t at = 0; at < input.size();) {
        auto room = direct ? decoder.directRoom(1024) : std::span<char>();
        const std::string_view piece = input.substr(at, room.empty() ? chunk : room.size());
        if (room.empty()) {
            decoder.append(piece);
        } else {
            std::copy(piece.begin(), piece.end(), room.begin());
            decoder.commitDirect(piece.size());
        }
        at += piece.size();
        for (;;) {
            auto frame = decoder.next();
            if (!frame) {
                check(!first || (!firstHeader && firstHeader.error() == frame.error()));
                check(decoder.next().error() == frame.error());  // errors are sticky
                return 0;
            }
            if (!*frame) {
                check(decoder.wanted() >= 1);
                break;
            }
            if (first) {
                check(firstHeader && firstHeader->type == (*frame)->header.type &&
                      firstHeader->length == (*frame)->header.length);
                first = false;
            }
            roundTrip(**frame);
        }
    }
    check(decoder.buffered() <= input.size());
    return 0;
}
