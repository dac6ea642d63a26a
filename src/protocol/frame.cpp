// SPDX-License-Identifier: AGPL-3.0-or-later
// FrameDecoder and encodeFrame: the 4-byte big-endian length prefix.
#include "protocol/frame.hpp"

namespace nexus::protocol {

Result<std::string> encodeFrame(std::string_view payload, std::uint32_t limit) {
    // The deployed reader tears the whole tunnel down on an oversize frame: check before sending.
    if (payload.size() > limit) {
        return makeError(Errc::FrameTooLarge);
    }
    const auto size = static_cast<std::uint32_t>(payload.size());
    std::string out;
    out.reserve(kFramePrefixSize + payload.size());
    out.push_back(static_cast<char>((size >> 24) & 0xff));
    out.push_back(static_cast<char>((size >> 16) & 0xff));
    out.push_back(static_cast<char>((size >> 8) & 0xff));
    out.push_back(static_cast<char>(size & 0xff));
    out.append(payload);
    return out;
}

void FrameDecoder::append(std::string_view bytes) {
    // Drop what was already returned before growing, so the buffer stays near one frame.
    if (offset_ > 0 && offset_ >= buffer_.size() / 2) {
        buffer_.erase(0, offset_);
        offset_ = 0;
    }
    buffer_.append(bytes);
}

namespace {
std::uint32_t readPrefix(const std::string& buffer, std::size_t at) {
    const auto byte = [&](std::size_t i) {
        return static_cast<std::uint32_t>(static_cast<unsigned char>(buffer[at + i]));
    };
    return (byte(0) << 24) | (byte(1) << 16) | (byte(2) << 8) | byte(3);
}
}  // namespace

Result<std::optional<std::string>> FrameDecoder::next() {
    if (buffered() < kFramePrefixSize) {
        return std::optional<std::string>{};
    }
    const std::uint32_t size = readPrefix(buffer_, offset_);
    if (size > limit_) {
        return makeError(Errc::FrameTooLarge);
    }
    if (buffered() - kFramePrefixSize < size) {
        return std::optional<std::string>{};
    }
    std::string payload = buffer_.substr(offset_ + kFramePrefixSize, size);
    offset_ += kFramePrefixSize + size;
    if (offset_ == buffer_.size()) {
        buffer_.clear();
        offset_ = 0;
    }
    return std::optional<std::string>{std::move(payload)};
}

std::string FrameDecoder::takeRemaining() {
    std::string rest = buffer_.substr(offset_);
    buffer_.clear();
    offset_ = 0;
    return rest;
}

std::size_t FrameDecoder::wanted() const {
    if (buffered() < kFramePrefixSize) {
        return kFramePrefixSize - buffered();
    }
    const std::uint32_t size = readPrefix(buffer_, offset_);
    const std::size_t have = buffered() - kFramePrefixSize;
    return size > have ? size - have : 1;
}

}  // namespace nexus::protocol
