// SPDX-License-Identifier: AGPL-3.0-or-later
// The byte pipe of an upgraded (WebSocket) connection: a socket and a v2 stream joined both
// ways until both directions close or the pipe idles. The relay runs it between the visitor
// and the tunnel, the agent between the tunnel and the local app.
#pragma once

#include "common/error.hpp"
#include "net/timed_stream.hpp"
#include "net/v2/stream.hpp"
#include "protocol/v2_frames.hpp"

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstdint>
#include <string>

namespace nexus::net {

/// How an upgraded pipe ended, for the side that owns it to count and report.
struct PipeOutcome {
    bool clean = false;            ///< both directions ended with a close
    bool idle = false;             ///< nothing moved either way for the whole idle timeout
    ErrorCode socketError;         ///< the socket's own failure (read or write), if any
    std::uint64_t fromSocket = 0;  ///< bytes read from the socket into the stream
    std::uint64_t toSocket = 0;    ///< bytes written from the stream to the socket
};

/// Joins `socket` and `stream` both ways, starting with `early`: bytes the socket's side sent
/// right after its head, already read into a parser's buffer. Each half ends its direction
/// with a half-close, so a WebSocket's closing handshake still completes.
///
/// The pipe is idle only when neither direction has moved for `idle`: a feed that only one
/// side sends is in use all the same, and cutting it would break the promise that a moving
/// stream is never cut. An idle pipe, or a peer's reset, resets the stream with Timeout and
/// shuts the socket; a socket failure resets it with `onSocketError` (the code says whose end
/// broke). A socket that reads nothing for `idle` while the stream has bytes for it fails.
boost::asio::awaitable<PipeOutcome> pipeUpgraded(TimedStream& socket, V2Stream& stream,
                                                 std::string early,
                                                 std::chrono::steady_clock::duration idle,
                                                 protocol::v2::ResetCode onSocketError);

}  // namespace nexus::net
