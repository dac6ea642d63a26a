// SPDX-License-Identifier: AGPL-3.0-or-later
// The incremental v2 frame decoder: bytes as the transport delivers them in, whole frames
// out, each header checked before any of its payload is waited for.
#pragma once

#include "protocol/v2_frames.hpp"

#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace nexus::protocol::v2 {

/// Incremental decoder: append whatever the transport delivered, then pop complete frames.
/// The header is checked (decodeHeader) as soon as its 12 bytes are in, before any payload is
/// waited for. Payloads are returned raw; decode them with the functions above by type.
/// After an error every next() returns that error: close the connection (after GOAWAY).
class FrameDecoder {
public:
    void append(std::string_view bytes);

    /// The next complete frame, nullopt if more bytes are needed, or an error.
    Result<std::optional<Frame>> next();

    /// Bytes received but not yet returned; non-zero at EOF means a truncated frame.
    std::size_t buffered() const {
        return buffer_.size() - offset_ + (direct_ ? kHeaderSize + directFilled_ : 0);
    }

    /// How many more bytes would complete the frame being received (at least 1).
    std::size_t wanted() const;

    /// When the frame being received has a payload of at least `minimum` bytes still mostly to
    /// come: room to read the rest of that payload straight into (bulk data then skips two
    /// copies). Empty otherwise. Bytes read into it are reported with commitDirect().
    std::span<char> directRoom(std::size_t minimum);
    void commitDirect(std::size_t n) { directFilled_ += n; }

private:
    std::string buffer_;
    std::size_t offset_ = 0;
    std::optional<FrameHeader> direct_;  ///< header of the frame read straight into payload_
    std::string payload_;
    std::size_t directFilled_ = 0;
};

}  // namespace nexus::protocol::v2
