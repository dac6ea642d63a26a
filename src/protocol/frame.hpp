// SPDX-License-Identifier: AGPL-3.0-or-later
// Length-prefixed framing shared by v1 (and the v2 handshake): 4-byte big-endian length, then
// the payload. Pure: bytes in, frames out, no I/O, so it can be fuzzed directly.
#pragma once

#include "common/error.hpp"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace nexus::protocol {

/// The deployed protocol's hard maximum payload (exactly 16 MiB is still allowed).
inline constexpr std::uint32_t kMaxFrameSize = 16U * 1024U * 1024U;
/// What a peer may send before it has registered: a `register` frame is a few hundred bytes.
inline constexpr std::uint32_t kMaxPreAuthFrameSize = 4U * 1024U;
inline constexpr std::size_t kFramePrefixSize = 4;

/// Prefix + payload in one buffer (so it goes out in one write), or FrameTooLarge.
Result<std::string> encodeFrame(std::string_view payload, std::uint32_t limit = kMaxFrameSize);

/// Incremental decoder: append whatever the transport delivered, then pop complete frames.
/// The limit is checked on the prefix, before any payload is buffered.
class FrameDecoder {
public:
    explicit FrameDecoder(std::uint32_t limit = kMaxPreAuthFrameSize) : limit_(limit) {}

    void setLimit(std::uint32_t limit) { limit_ = limit; }
    std::uint32_t limit() const { return limit_; }

    void append(std::string_view bytes);

    /// The next complete payload, nullopt if more bytes are needed, or an error (the
    /// connection must then be closed: there is no resynchronising a length-prefixed stream).
    Result<std::optional<std::string>> next();

    /// Bytes received but not yet returned; non-zero at EOF means a truncated frame.
    std::size_t buffered() const { return buffer_.size() - offset_; }

    /// The bytes received but not yet returned, as they came (to name a peer that answered
    /// with something other than frames).
    std::string_view pending() const { return std::string_view(buffer_).substr(offset_); }

    /// How many more bytes would complete the frame being received (at least 1).
    std::size_t wanted() const;

    /// Hands over the bytes not yet returned (when the connection switches to v2 framing).
    std::string takeRemaining();

private:
    std::string buffer_;
    std::size_t offset_ = 0;
    std::uint32_t limit_;
};

}  // namespace nexus::protocol
