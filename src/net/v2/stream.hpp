// SPDX-License-Identifier: AGPL-3.0-or-later
// One stream of a v2 session: a request/response exchange (or, after a 101, a byte pipe)
// with its own flow-control windows. Streams live in a V2Mux, which owns the connection.
#pragma once

#include "net/signal.hpp"
#include "protocol/v2_frames.hpp"

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>

namespace nexus::net {

namespace asio = boost::asio;
namespace v2 = protocol::v2;

class V2Mux;

/// One request/response exchange (or, after a 101, a raw byte pipe) on the tunnel.
class V2Stream {
public:
    V2Stream(V2Mux& mux, std::uint32_t id);

    std::uint32_t id() const { return id_; }

    /// The peer's response head (relay side); nullopt after the timeout or a reset.
    asio::awaitable<std::optional<v2::ReceivedResponse>> responseHead(
        std::chrono::steady_clock::duration timeout);

    /// The next body chunk from the peer; an empty optional at the end of the body (or on a
    /// reset / timeout: check reset()). The window of the chunks handed out before is granted
    /// back now: the caller comes back for more once it has written them.
    asio::awaitable<std::optional<std::string>> read(std::chrono::steady_clock::duration idle);

    /// A body chunk that has already arrived, without waiting; nullopt if none is here. Its
    /// window comes back with the next read(), like that of the chunk read() gave.
    std::optional<std::string> tryRead();

    /// The peer's trailer fields (after its body ended with a TRAILERS frame).
    const v2::HeaderList& trailers() const { return trailers_; }

    /// Sends body bytes, split into frames and paced by the flow-control windows; with
    /// `last`, the final frame also ends our direction. False if the stream or the connection
    /// went away or no window opened within `idle`.
    asio::awaitable<bool> write(std::string_view bytes, std::chrono::steady_clock::duration idle,
                                bool last = false);

    /// Waits for send window and reserves up to `most` bytes of it (and of the connection's)
    /// for a DATA frame the caller fills in place (v2::sealData): a socket can then read
    /// straight into the frame. 0 if the stream or the connection went away or no window
    /// opened within `idle`.
    asio::awaitable<std::size_t> reserveWindow(std::size_t most,
                                               std::chrono::steady_clock::duration idle);

    /// Sends such a frame (its payload within the reservation); the unused part of the
    /// reservation goes back to the windows. With `last`, the frame ends our direction.
    bool sendReserved(std::string frame, std::size_t reserved, bool last);

    /// Ends our direction (DATA with END_STREAM).
    void finish();

    /// Ends our direction with trailer fields (TRAILERS); plain finish() if there are none.
    void finish(const v2::HeaderList& trailers);

    /// Abandons the stream in both directions.
    void reset(v2::ResetCode code);

    bool wasReset() const { return reset_; }
    /// The code of the peer's RESET, if the peer reset the stream.
    std::optional<v2::ResetCode> peerResetCode() const { return peerResetCode_; }
    bool finished() const { return sentEnd_; }
    bool peerEnded() const { return peerEnded_ && inbound_.empty(); }
    /// The peer's direction ended and its reader got every byte of it, even if a reset
    /// followed (a reset after the peer's END discards nothing until we reset too).
    bool deliveredWhole() const { return peerEnded() && !lostInbound_; }
    bool hasInbound() const { return !inbound_.empty(); }

private:
    friend class V2Mux;
    void deliverHead(v2::ReceivedResponse head);
    bool deliverData(std::string payload, bool end);  // false: window overrun
    bool grantSend(std::int64_t bytes);               // false: window above kMaxWindow
    void peerReset(std::optional<v2::ResetCode> code = std::nullopt);
    void discardInbound();  // unread bytes go back to the connection window
    std::string take();     // the first inbound chunk; it counts as held until settle()
    void settle();          // the consumer is done with what it took: grant its window back
    asio::awaitable<bool> waitForWindow(std::chrono::steady_clock::duration idle);
    void giveBack(std::int64_t unused);
    bool send(std::string frame, bool large);
    void ended();  // our direction is done: forget the stream if the peer's is too

    V2Mux& mux_;
    std::uint32_t id_;
    // Two signals, one per direction: a Signal's wait() re-arms its timer, which cancels any
    // other waiter, so a reader and a writer sharing one would wake each other forever.
    // One reader (responseHead / read) and one writer (write) may wait at the same time.
    Signal readSignal_;   // head, data, end, reset
    Signal writeSignal_;  // window, reset
    std::optional<v2::ReceivedResponse> head_;
    std::deque<std::string> inbound_;
    // When the reader last took a chunk while more waited, or when the first of the waiting
    // chunks arrived: how long it has been stalled, for V2Mux::resetStalledReaders.
    std::chrono::steady_clock::time_point lastProgress_;
    v2::HeaderList trailers_;
    std::int64_t receiveWindow_;     // bytes the peer may still send us
    std::int64_t sendWindow_;        // bytes we may still send
    std::int64_t held_ = 0;          // taken by the consumer, still being written by it
    std::int64_t pendingGrant_ = 0;  // consumed, not yet granted back to the peer
    std::int64_t windowTarget_ = v2::kInitialStreamWindow;  // grows while the reader keeps up
    std::uint64_t bulkTicket_ = 0;  // our last bulk frame's number: later frames stay behind it
    bool peerEnded_ = false;
    bool sentEnd_ = false;
    bool reset_ = false;
    bool lostInbound_ = false;  ///< a reset threw away bytes that had arrived unread
    std::optional<v2::ResetCode> peerResetCode_;
};

}  // namespace nexus::net
