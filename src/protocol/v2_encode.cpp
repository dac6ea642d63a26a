// SPDX-License-Identifier: AGPL-3.0-or-later
// v2 encoders: each appends one whole frame (12-byte header + payload) to the caller's buffer.
#include "protocol/v2_frames.hpp"

#include "common/ascii.hpp"

#include <algorithm>
#include <cassert>
#include <cstring>

namespace nexus::protocol::v2 {
namespace {

// Numbers are appended whole, not a byte at a time: every field of every head goes through
// these, and each push_back checks the capacity again.
void putU16(std::string& out, std::uint32_t v) {
    const char bytes[2] = {static_cast<char>((v >> 8) & 0xffU), static_cast<char>(v & 0xffU)};
    out.append(bytes, sizeof bytes);
}

void putU32(std::string& out, std::uint32_t v) {
    const char bytes[4] = {static_cast<char>((v >> 24) & 0xffU),
                           static_cast<char>((v >> 16) & 0xffU),
                           static_cast<char>((v >> 8) & 0xffU), static_cast<char>(v & 0xffU)};
    out.append(bytes, sizeof bytes);
}

// Writers into room already made in the frame: the head builders make room for a whole field
// at once and fill it in place, where an append per piece would check the capacity each time.
char* writeU16(char* at, std::uint32_t v) {
    at[0] = static_cast<char>((v >> 8) & 0xffU);
    at[1] = static_cast<char>(v & 0xffU);
    return at + 2;
}

char* writeU32(char* at, std::uint32_t v) {
    at[0] = static_cast<char>((v >> 24) & 0xffU);
    at[1] = static_cast<char>((v >> 16) & 0xffU);
    at[2] = static_cast<char>((v >> 8) & 0xffU);
    at[3] = static_cast<char>(v & 0xffU);
    return at + 4;
}

char* writeBytes(char* at, std::string_view bytes) {
    std::memcpy(at, bytes.data(), bytes.size());
    return at + bytes.size();
}

void writeHeader(char* at, std::size_t length, FrameType type, std::uint8_t flags,
                 std::uint32_t stream) {
    at = writeU32(at, static_cast<std::uint32_t>(length));
    at[0] = static_cast<char>(type);
    at[1] = static_cast<char>(flags);
    at[2] = 0;
    at[3] = 0;  // reserved
    writeU32(at + 4, stream);
}

void putHeader(std::string& out, std::size_t length, FrameType type, std::uint8_t flags,
               std::uint32_t stream) {
    char bytes[kHeaderSize];
    writeHeader(bytes, length, type, flags, stream);
    out.append(bytes, sizeof bytes);
}

/// `n` more bytes at the end of `out`, to be written in place: returns where they start.
char* grow(std::string& out, std::size_t n) {
    const std::size_t at = out.size();
    out.append(n, '\0');
    return out.data() + at;
}

/// Room for `n` more bytes, growing geometrically so that appending many frames to one buffer
/// stays linear.
void reserveFor(std::string& out, std::uint64_t n) {
    const std::size_t need = out.size() + static_cast<std::size_t>(n);
    if (need > out.capacity()) {
        out.reserve(std::max(need, 2 * out.capacity()));
    }
}

std::uint8_t endFlag(bool endStream) {
    return endStream ? kFlagEndStream : 0;
}

/// Size of the encoded header block (u16 count, then u16 name length + name, u32 value length
/// + value per header), or an error for a header that cannot be encoded. 64-bit arithmetic:
/// the caller compares the result with the payload limit.
Result<std::uint64_t> headerBlockSize(const HeaderList& headers) {
    if (headers.size() > 0xffffU) {
        return makeError(Errc::FrameTooLarge);
    }
    std::uint64_t size = 2;
    for (const auto& [name, value] : headers) {
        if (!isValidHeaderName(name) || !isValidHeaderValue(value)) {
            return makeError(Errc::InvalidArgument);
        }
        size += 2 + std::uint64_t{name.size()} + 4 + std::uint64_t{value.size()};
    }
    return size;
}

void putField(std::string& out, std::string_view name, std::string_view value) {
    putU16(out, static_cast<std::uint32_t>(name.size()));
    out.append(name);
    putU32(out, static_cast<std::uint32_t>(value.size()));
    out.append(value);
}

void putHeaderBlock(std::string& out, const HeaderList& headers) {
    putU16(out, static_cast<std::uint32_t>(headers.size()));
    for (const auto& [name, value] : headers) {
        putField(out, name, value);
    }
}

/// A header block after `fixed` bytes, as the whole payload of a control frame.
Result<void> appendHeadersFrame(std::string& out, FrameType type, std::uint8_t flags,
                                std::uint32_t stream, std::uint64_t fixed,
                                const HeaderList& headers) {
    auto block = headerBlockSize(headers);
    if (!block) {
        return block.error();
    }
    const std::uint64_t length = fixed + *block;
    if (length > kMaxControlPayload) {
        return makeError(Errc::FrameTooLarge);
    }
    reserveFor(out, kHeaderSize + length);
    putHeader(out, length, type, flags, stream);
    return {};
}

}  // namespace

Result<void> appendRequest(std::string& out, std::uint32_t stream, const RequestHead& head,
                           bool endStream) {
    std::size_t size = kHeaderSize + 1 + head.method.size() + 2 + head.target.size() + 2;
    for (const auto& [name, value] : head.headers) {
        size += 6 + name.size() + value.size();
    }
    const bool own = !head.ownName.empty();
    if (own) {
        size += 6 + head.ownName.size() + head.ownValue.size();
    }
    RequestFrameBuilder frame(out, stream, head.method, head.target,
                              std::min<std::size_t>(size, kHeaderSize + kMaxControlPayload));
    for (const auto& [name, value] : head.headers) {
        if (!frame.add(name, value)) {
            frame.cancel();
            return makeError(Errc::InvalidArgument);
        }
    }
    if (own) {
        frame.addOwn(head.ownName, head.ownValue);
    }
    return frame.finish(endStream);
}

Result<void> appendResponse(std::string& out, std::uint32_t stream, const ResponseHead& head,
                            bool endStream) {
    ResponseFrameBuilder frame(out, stream, head.status);
    for (const auto& [name, value] : head.headers) {
        if (!frame.add(name, value)) {
            frame.cancel();
            return makeError(Errc::InvalidArgument);
        }
    }
    return frame.finish(endStream);
}

// The frame header and the field count are written once the fields are known: room for them
// now, filled in by finish().
HeadFrameBuilder::HeadFrameBuilder(std::string& out, FrameType type, std::uint32_t stream,
                                   std::size_t reserve)
    : out_(out), start_(out.size()), type_(type), stream_(stream) {
    reserveFor(out_, std::max(reserve, kHeaderSize + 4));
}

ResponseFrameBuilder::ResponseFrameBuilder(std::string& out, std::uint32_t stream, int status)
    : HeadFrameBuilder(out, FrameType::Response, stream, kHeaderSize + 4 + 512) {
    valid_ = stream != 0 && status >= 100 && status <= 999;
    char* at = grow(out, kHeaderSize + 2 + 2);
    writeU16(at + kHeaderSize, static_cast<std::uint32_t>(status) & 0xffffU);
    countAt_ = out.size() - 2;
}

RequestFrameBuilder::RequestFrameBuilder(std::string& out, std::uint32_t stream,
                                         std::string_view method, std::string_view target,
                                         std::size_t reserve)
    : HeadFrameBuilder(out, FrameType::Request, stream, reserve) {
    valid_ = stream % 2 == 1 && isValidMethod(method) && isValidTarget(target);
    if (!valid_) {  // lengths that may not fit their fields: nothing is sent anyway
        method = target = {};
    }
    char* at = grow(out, kHeaderSize + 1 + method.size() + 2 + target.size() + 2);
    at += kHeaderSize;
    *at++ = static_cast<char>(method.size());
    at = writeBytes(at, method);
    at = writeU16(at, static_cast<std::uint32_t>(target.size()));
    writeBytes(at, target);
    countAt_ = out.size() - 2;
}

bool HeadFrameBuilder::put(std::string_view name, std::string_view value, bool lowercase) {
    if (name.empty() || name.size() > 0xffffU || value.size() > 0xffffffffU ||
        !isValidHeaderValue(value)) {
        return false;
    }
    const std::size_t mark = out_.size();
    char* at = writeU16(grow(out_, 2 + name.size() + 4 + value.size()),
                        static_cast<std::uint32_t>(name.size()));
    // The name is lowercased and checked on the way in (isValidHeaderName's rule), one table
    // look-up per byte.
    for (const char c : name) {
        const char lower = lowercase ? loweredTokenChar(c) : (isLowerTokenChar(c) ? c : '\0');
        if (lower == '\0') {
            out_.resize(mark);
            return false;
        }
        *at++ = lower;
    }
    writeBytes(writeU32(at, static_cast<std::uint32_t>(value.size())), value);
    ++fields_;
    return true;
}

void HeadFrameBuilder::addOwn(std::string_view name, std::string_view value) {
    char* at = grow(out_, 2 + name.size() + 4 + value.size());
    at = writeBytes(writeU16(at, static_cast<std::uint32_t>(name.size())), name);
    writeBytes(writeU32(at, static_cast<std::uint32_t>(value.size())), value);
    ++fields_;
}

Result<void> HeadFrameBuilder::finish(bool endStream) {
    const std::size_t length = out_.size() - start_ - kHeaderSize;
    if (!valid_) {
        cancel();
        return makeError(Errc::InvalidArgument);
    }
    if (length > kMaxControlPayload || fields_ > 0xffffU) {
        cancel();
        return makeError(Errc::FrameTooLarge);
    }
    writeHeader(out_.data() + start_, length, type_, endFlag(endStream), stream_);
    writeU16(out_.data() + countAt_, static_cast<std::uint32_t>(fields_));
    return {};
}

Result<void> appendData(std::string& out, std::uint32_t stream, std::string_view bytes,
                        bool endStream) {
    if (stream == 0) {
        return makeError(Errc::InvalidArgument);
    }
    if (bytes.size() > kMaxDataPayload) {
        return makeError(Errc::FrameTooLarge);
    }
    reserveFor(out, kHeaderSize + bytes.size());
    putHeader(out, bytes.size(), FrameType::Data, endFlag(endStream), stream);
    out.append(bytes);
    return {};
}

Result<void> sealData(std::string& frame, std::uint32_t stream, bool endStream) {
    if (stream == 0 || frame.size() < kHeaderSize) {
        return makeError(Errc::InvalidArgument);
    }
    const std::size_t length = frame.size() - kHeaderSize;
    if (length > kMaxDataPayload) {
        return makeError(Errc::FrameTooLarge);
    }
    std::string header;
    putHeader(header, length, FrameType::Data, endFlag(endStream), stream);
    frame.replace(0, kHeaderSize, header);
    return {};
}

Result<void> appendTrailers(std::string& out, std::uint32_t stream, const HeaderList& trailers) {
    if (stream == 0) {
        return makeError(Errc::InvalidArgument);
    }
    auto started =
        appendHeadersFrame(out, FrameType::Trailers, kFlagEndStream, stream, 0, trailers);
    if (!started) {
        return started;
    }
    putHeaderBlock(out, trailers);
    return {};
}

void appendWindowUpdate(std::string& out, std::uint32_t stream, std::uint32_t increment) {
    assert(increment >= 1 && increment <= kMaxWindow);
    reserveFor(out, kHeaderSize + 4);
    putHeader(out, 4, FrameType::WindowUpdate, 0, stream);
    putU32(out, increment);
}

void appendReset(std::string& out, std::uint32_t stream, ResetCode code) {
    assert(stream != 0);
    reserveFor(out, kHeaderSize + 4);
    putHeader(out, 4, FrameType::Reset, 0, stream);
    putU32(out, static_cast<std::uint32_t>(code));
}

void appendPing(std::string& out, std::uint64_t opaque, bool ack) {
    reserveFor(out, kHeaderSize + 8);
    putHeader(out, 8, FrameType::Ping, ack ? kFlagAck : 0, 0);
    putU32(out, static_cast<std::uint32_t>(opaque >> 32));
    putU32(out, static_cast<std::uint32_t>(opaque & 0xffffffffU));
}

void appendGoaway(std::string& out, GoawayCode code, std::uint32_t retryAfterMs,
                  std::string_view reason) {
    reason = reason.substr(0, kMaxGoawayReason);
    const auto length = static_cast<std::uint32_t>(8 + reason.size());
    reserveFor(out, kHeaderSize + length);
    putHeader(out, length, FrameType::Goaway, 0, 0);
    putU32(out, static_cast<std::uint32_t>(code));
    putU32(out, retryAfterMs);
    out += reason;
}

}  // namespace nexus::protocol::v2
