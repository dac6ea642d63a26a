// SPDX-License-Identifier: AGPL-3.0-or-later
// A body of known length read from a socket straight into DATA frames: no copy through an
// HTTP parser's buffer and then a frame. The relay sends uploads this way, the agent downloads.
#pragma once

#include "net/timed_stream.hpp"
#include "net/v2/mux.hpp"

#include <chrono>
#include <cstdint>

namespace nexus::net {

/// How sendFromSocket ended.
enum class DirectSendEnd {
    Complete,      ///< every byte sent; the last frame ended our direction of the stream
    NoWindow,      ///< the stream was reset, or no window opened within the idle timeout
    StreamClosed,  ///< the stream or the tunnel went away while a frame was being sent
    ReadFailed,    ///< the socket failed or closed before the length was reached: `error`
};

/// Reads `remaining` bytes from `socket` into DATA frames of `stream`, each read at most one
/// frame and never more than the window allows, so the socket is never read past the body.
asio::awaitable<DirectSendEnd> sendFromSocket(V2Stream& stream, TimedStream& socket,
                                              std::uint64_t remaining,
                                              std::chrono::steady_clock::duration idle,
                                              ErrorCode& error);

}  // namespace nexus::net
