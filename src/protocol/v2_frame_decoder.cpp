// SPDX-License-Identifier: AGPL-3.0-or-later
// FrameDecoder: buffering, the direct path that lets bulk payloads be read in place, and
// how much the transport should be asked for next.
#include "protocol/v2_frame_decoder.hpp"

#include <algorithm>

namespace nexus::protocol::v2 {

void FrameDecoder::append(std::string_view bytes) {
    // Drop what was already returned before growing, so the buffer stays near one frame.
    if (offset_ > 0 && offset_ >= buffer_.size() / 2) {
        buffer_.erase(0, offset_);
        offset_ = 0;
    }
    buffer_.append(bytes);
}

std::span<char> FrameDecoder::directRoom(std::size_t minimum) {
    if (!direct_) {
        const std::string_view pending = std::string_view(buffer_).substr(offset_);
        if (pending.size() < kHeaderSize) {
            return {};
        }
        auto header = decodeHeader(pending);
        if (!header || header->length < minimum || pending.size() - kHeaderSize >= header->length) {
            return {};  // a bad header is next()'s to report; a small or complete frame is not
        }
        // The length was checked against the type's limit by decodeHeader.
        const std::string_view early = pending.substr(kHeaderSize);
        payload_.resize(header->length);
        std::copy(early.begin(), early.end(), payload_.begin());
        directFilled_ = early.size();
        direct_ = *header;
        buffer_.clear();
        offset_ = 0;
    }
    return {payload_.data() + directFilled_, payload_.size() - directFilled_};
}

Result<std::optional<Frame>> FrameDecoder::next() {
    if (direct_) {
        if (directFilled_ < payload_.size()) {
            return std::optional<Frame>{};
        }
        Frame frame{*direct_, std::move(payload_)};
        direct_.reset();
        payload_.clear();
        directFilled_ = 0;
        return std::optional<Frame>{std::move(frame)};
    }
    if (buffered() < kHeaderSize) {
        return std::optional<Frame>{};
    }
    const std::string_view pending = std::string_view(buffer_).substr(offset_);
    auto header = decodeHeader(pending);
    if (!header) {
        return header.error();  // the bad header stays first: every later call fails the same way
    }
    if (pending.size() - kHeaderSize < header->length) {
        return std::optional<Frame>{};
    }
    Frame frame{*header, std::string(pending.substr(kHeaderSize, header->length))};
    offset_ += kHeaderSize + header->length;
    if (offset_ == buffer_.size()) {
        buffer_.clear();
        offset_ = 0;
    }
    return std::optional<Frame>{std::move(frame)};
}

std::size_t FrameDecoder::wanted() const {
    if (direct_) {
        return payload_.size() - directFilled_;
    }
    if (buffered() < kHeaderSize) {
        return kHeaderSize - buffered();
    }
    // A header next() refuses: never ask the transport for the length it claims.
    const auto header = decodeHeader(std::string_view(buffer_).substr(offset_));
    if (!header) {
        return 1;
    }
    const std::size_t have = buffered() - kHeaderSize;
    return header->length > have ? header->length - have : 1;
}

}  // namespace nexus::protocol::v2
