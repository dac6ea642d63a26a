// SPDX-License-Identifier: AGPL-3.0-or-later
// v2 decoders: the 12-byte header with its limits and each payload type (the incremental
// FrameDecoder is in v2_frame_decoder.cpp). Every length read from the wire is compared with
// what remains before use.
#include "protocol/v2_frames.hpp"

#include <algorithm>

namespace nexus::protocol::v2 {
namespace {

ErrorCode violation() {
    return makeError(Errc::ProtocolViolation);
}

/// Reads big-endian fields off a payload; every read checks the bytes remaining first.
class Reader {
public:
    explicit Reader(std::string_view bytes) : bytes_(bytes) {}

    std::size_t remaining() const { return bytes_.size() - at_; }

    bool u8(std::uint32_t& v) { return number(1, v); }
    bool u16(std::uint32_t& v) { return number(2, v); }
    bool u32(std::uint32_t& v) { return number(4, v); }

    /// `n` comes off the wire: compared in 64 bits, never added to a position first.
    bool bytes(std::uint64_t n, std::string_view& v) {
        if (n > remaining()) {
            return false;
        }
        v = bytes_.substr(at_, static_cast<std::size_t>(n));
        at_ += static_cast<std::size_t>(n);
        return true;
    }

private:
    bool number(std::size_t width, std::uint32_t& v) {
        if (width > remaining()) {
            return false;
        }
        v = readBigEndian(bytes_.data() + at_, width);
        at_ += width;
        return true;
    }

    std::string_view bytes_;
    std::size_t at_ = 0;
};

/// Reads a header block's count and checks every field, handing each to `onField`.
template <typename OnField>
bool readFields(Reader& in, std::uint32_t& count, OnField onField) {
    if (!in.u16(count)) {
        return false;
    }
    for (std::uint32_t i = 0; i < count; ++i) {
        std::uint32_t nameLength = 0;
        std::uint32_t valueLength = 0;
        std::string_view name;
        std::string_view value;
        if (!in.u16(nameLength) || !in.bytes(nameLength, name) || !isValidHeaderName(name) ||
            !in.u32(valueLength) || !in.bytes(valueLength, value) || !isValidHeaderValue(value)) {
            return false;
        }
        onField(name, value);
    }
    return true;
}

Result<HeaderList> readHeaderBlock(Reader& in) {
    HeaderList headers;
    std::uint32_t count = 0;
    const bool ok = readFields(in, count, [&](std::string_view name, std::string_view value) {
        if (headers.empty()) {
            // Each header takes at least 7 bytes (a 1-byte name): never reserve more than fits.
            headers.reserve(std::min<std::size_t>(count, in.remaining() / 7 + 1));
        }
        headers.emplace_back(name, value);
    });
    if (!ok) {
        return violation();
    }
    return headers;
}

/// The fixed payload size of a type, or 0 when it varies.
std::uint32_t fixedLength(FrameType type) {
    switch (type) {
        case FrameType::WindowUpdate:
        case FrameType::Reset: return 4;
        case FrameType::Ping: return 8;
        default: return 0;
    }
}

std::uint8_t allowedFlags(FrameType type) {
    switch (type) {
        case FrameType::Request:
        case FrameType::Response:
        case FrameType::Data:
        case FrameType::Trailers: return kFlagEndStream;
        case FrameType::Ping: return kFlagAck;
        default: return 0;
    }
}

bool streamAllowed(FrameType type, std::uint32_t stream) {
    switch (type) {
        case FrameType::Request: return stream % 2 == 1;
        case FrameType::Response:
        case FrameType::Data:
        case FrameType::Trailers:
        case FrameType::Reset: return stream != 0;
        case FrameType::Ping:
        case FrameType::Goaway: return stream == 0;
        case FrameType::WindowUpdate: return true;
    }
    return false;
}

std::uint32_t readU32(std::string_view bytes, std::size_t at) {
    return readBigEndian(bytes.data() + at, 4);
}

}  // namespace

std::string_view ReceivedResponse::header(std::string_view name) const {
    for (const auto& [n, v] : headers()) {
        if (n == name) {
            return v;
        }
    }
    return {};
}

Result<FrameHeader> decodeHeader(std::string_view bytes) {
    if (bytes.size() < kHeaderSize) {
        return makeError(Errc::TruncatedFrame);
    }
    const std::uint32_t length = readU32(bytes, 0);
    const auto rawType = static_cast<unsigned char>(bytes[4]);
    const auto flags = static_cast<std::uint8_t>(bytes[5]);
    if (rawType < 0x01 || rawType > 0x08 || bytes[6] != 0 || bytes[7] != 0) {
        return violation();
    }
    const auto type = static_cast<FrameType>(rawType);
    const std::uint32_t limit = type == FrameType::Data ? kMaxDataPayload : kMaxControlPayload;
    if (length > limit) {
        return makeError(Errc::FrameTooLarge);
    }
    const std::uint32_t stream = readU32(bytes, 8);
    const std::uint32_t fixed = fixedLength(type);
    const bool goawaySized =
        type != FrameType::Goaway || (length >= 8 && length <= 8 + kMaxGoawayReason);
    if ((flags & ~allowedFlags(type)) != 0 || !streamAllowed(type, stream) ||
        (fixed != 0 && length != fixed) || !goawaySized) {
        return violation();
    }
    return FrameHeader{length, type, flags, stream};
}

Result<RequestHead> decodeRequest(std::string_view payload) {
    Reader in(payload);
    std::uint32_t methodLength = 0;
    std::uint32_t targetLength = 0;
    std::string_view method;
    std::string_view target;
    if (!in.u8(methodLength) || !in.bytes(methodLength, method) || !isValidMethod(method) ||
        !in.u16(targetLength) || !in.bytes(targetLength, target) || !isValidTarget(target)) {
        return violation();
    }
    auto headers = readHeaderBlock(in);
    if (!headers || in.remaining() != 0) {
        return violation();
    }
    return RequestHead{std::string(method), std::string(target), std::move(*headers)};
}

Result<ReceivedRequest> decodeReceivedRequest(std::string payload) {
    Reader in(payload);
    std::uint32_t methodLength = 0;
    std::uint32_t targetLength = 0;
    std::uint32_t count = 0;
    std::string_view method;
    std::string_view target;
    if (!in.u8(methodLength) || !in.bytes(methodLength, method) || !isValidMethod(method) ||
        !in.u16(targetLength) || !in.bytes(targetLength, target) || !isValidTarget(target) ||
        !readFields(in, count, [](std::string_view, std::string_view) {}) || in.remaining() != 0) {
        return violation();
    }
    return ReceivedRequest{std::move(payload), targetLength, count};
}

Result<ResponseHead> decodeResponse(std::string_view payload) {
    Reader in(payload);
    std::uint32_t status = 0;
    if (!in.u16(status) || status < 100 || status > 999) {
        return violation();
    }
    auto headers = readHeaderBlock(in);
    if (!headers || in.remaining() != 0) {
        return violation();
    }
    return ResponseHead{static_cast<int>(status), std::move(*headers)};
}

Result<ReceivedResponse> decodeReceivedResponse(std::string payload) {
    Reader in(payload);
    std::uint32_t status = 0;
    std::uint32_t count = 0;
    if (!in.u16(status) || status < 100 || status > 999 ||
        !readFields(in, count, [](std::string_view, std::string_view) {}) || in.remaining() != 0) {
        return violation();
    }
    return ReceivedResponse{static_cast<int>(status), std::move(payload), count};
}

Result<HeaderList> decodeHeaderBlock(std::string_view payload) {
    Reader in(payload);
    auto headers = readHeaderBlock(in);
    if (!headers || in.remaining() != 0) {
        return violation();
    }
    return headers;
}

Result<std::uint32_t> decodeWindowUpdate(std::string_view payload) {
    if (payload.size() != 4) {
        return violation();
    }
    const std::uint32_t increment = readU32(payload, 0);
    if (increment == 0 || increment > kMaxWindow) {
        return violation();
    }
    return increment;
}

Result<ResetCode> decodeReset(std::string_view payload) {
    if (payload.size() != 4) {
        return violation();
    }
    return static_cast<ResetCode>(readU32(payload, 0));
}

Result<std::uint64_t> decodePing(std::string_view payload) {
    if (payload.size() != 8) {
        return violation();
    }
    return (std::uint64_t{readU32(payload, 0)} << 32) | readU32(payload, 4);
}

Result<Goaway> decodeGoaway(std::string_view payload) {
    if (payload.size() < 8 || payload.size() > 8 + kMaxGoawayReason) {
        return violation();
    }
    return Goaway{static_cast<GoawayCode>(readU32(payload, 0)), readU32(payload, 4),
                  std::string(payload.substr(8))};
}

}  // namespace nexus::protocol::v2
