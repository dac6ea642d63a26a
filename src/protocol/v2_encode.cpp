// SPDX-License-Identifier: AGPL-3.0-or-later
// v2 encoders: each appends one whole frame (12-byte header + payload) to the caller's buffer.
#include "protocol/v2_frames.hpp"

#include "common/ascii.hpp"

#include <algorithm>
#include <cassert>

namespace nexus::protocol::v2 {
namespace {

void putU8(std::string& out, std::uint32_t v) {
    out.push_back(static_cast<char>(v & 0xffU));
}

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

void putHeader(std::string& out, std::size_t length, FrameType type, std::uint8_t flags,
               std::uint32_t stream) {
    const auto n = static_cast<std::uint32_t>(length);
    const char bytes[kHeaderSize] = {static_cast<char>((n >> 24) & 0xffU),
                                     static_cast<char>((n >> 16) & 0xffU),
                                     static_cast<char>((n >> 8) & 0xffU),
                                     static_cast<char>(n & 0xffU),
                                     static_cast<char>(type),
                                     static_cast<char>(flags),
                                     0,
                                     0,  // reserved
                                     static_cast<char>((stream >> 24) & 0xffU),
                                     static_cast<char>((stream >> 16) & 0xffU),
                                     static_cast<char>((stream >> 8) & 0xffU),
                                     static_cast<char>(stream & 0xffU)};
    out.append(bytes, sizeof bytes);
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
Result<std::uint64_t> headerBlockSize(const HeaderList& headers, std::size_t more = 0) {
    if (headers.size() + more > 0xffffU) {
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

void putHeaderBlock(std::string& out, const HeaderList& headers, std::size_t more = 0) {
    putU16(out, static_cast<std::uint32_t>(headers.size() + more));
    for (const auto& [name, value] : headers) {
        putField(out, name, value);
    }
}

/// A header block after `fixed` bytes, as the whole payload of a control frame.
Result<void> appendHeadersFrame(std::string& out, FrameType type, std::uint8_t flags,
                                std::uint32_t stream, std::uint64_t fixed,
                                const HeaderList& headers, std::size_t more = 0) {
    auto block = headerBlockSize(headers, more);
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
    if (stream % 2 == 0 || !isValidMethod(head.method) || !isValidTarget(head.target)) {
        return makeError(Errc::InvalidArgument);
    }
    const bool own = !head.ownName.empty();
    const std::uint64_t fixed = 1 + head.method.size() + 2 + head.target.size() +
                                (own ? 2 + head.ownName.size() + 4 + head.ownValue.size() : 0);
    auto started = appendHeadersFrame(out, FrameType::Request, endFlag(endStream), stream, fixed,
                                      head.headers, own ? 1 : 0);
    if (!started) {
        return started;
    }
    putU8(out, static_cast<std::uint32_t>(head.method.size()));
    out.append(head.method);
    putU16(out, static_cast<std::uint32_t>(head.target.size()));
    out.append(head.target);
    putHeaderBlock(out, head.headers, own ? 1 : 0);
    if (own) {
        putField(out, head.ownName, head.ownValue);
    }
    return {};
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
ResponseFrameBuilder::ResponseFrameBuilder(std::string& out, std::uint32_t stream, int status)
    : out_(out), start_(out.size()), stream_(stream), status_(status) {
    reserveFor(out_, kHeaderSize + 4 + 512);
    out_.append(kHeaderSize, '\0');
    putU16(out_, static_cast<std::uint32_t>(status) & 0xffffU);
    putU16(out_, 0);
}

bool ResponseFrameBuilder::put(std::string_view name, std::string_view value, bool lowercase) {
    if (name.empty() || name.size() > 0xffffU || value.size() > 0xffffffffU ||
        !isValidHeaderValue(value)) {
        return false;
    }
    const std::size_t mark = out_.size();
    putU16(out_, static_cast<std::uint32_t>(name.size()));
    const std::size_t nameAt = out_.size();
    out_.append(name);
    if (lowercase) {
        std::transform(out_.begin() + static_cast<std::ptrdiff_t>(nameAt), out_.end(),
                       out_.begin() + static_cast<std::ptrdiff_t>(nameAt),
                       [](char c) { return asciiLower(c); });
    }
    if (!isValidHeaderName(std::string_view(out_).substr(nameAt))) {
        out_.resize(mark);
        return false;
    }
    putU32(out_, static_cast<std::uint32_t>(value.size()));
    out_.append(value);
    ++fields_;
    return true;
}

Result<void> ResponseFrameBuilder::finish(bool endStream) {
    const std::size_t length = out_.size() - start_ - kHeaderSize;
    if (stream_ == 0 || status_ < 100 || status_ > 999) {
        cancel();
        return makeError(Errc::InvalidArgument);
    }
    if (length > kMaxControlPayload || fields_ > 0xffffU) {
        cancel();
        return makeError(Errc::FrameTooLarge);
    }
    std::string header;  // 12 bytes: within the small-string buffer, no allocation
    putHeader(header, length, FrameType::Response, endFlag(endStream), stream_);
    std::copy(header.begin(), header.end(), out_.begin() + static_cast<std::ptrdiff_t>(start_));
    out_[start_ + kHeaderSize + 2] = static_cast<char>((fields_ >> 8) & 0xffU);
    out_[start_ + kHeaderSize + 3] = static_cast<char>(fields_ & 0xffU);
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
