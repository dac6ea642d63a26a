// SPDX-License-Identifier: AGPL-3.0-or-later
// The v2 session core shared by the relay and the agent: streams on one FrameConnection,
// per-stream and per-connection flow-control windows, heartbeats. Bodies never queue without
// bound: a sender waits for window, a receiver grants window only as it consumes.
#pragma once

#include "net/frame_connection.hpp"
#include "net/signal.hpp"
#include "protocol/v2_frames.hpp"

#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <unordered_map>

namespace nexus::net {

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

class V2Mux : public std::enable_shared_from_this<V2Mux> {
public:
    /// Called for each REQUEST frame (agent side); the mux has already created the stream.
    using OnRequest = std::function<void(std::shared_ptr<V2Stream>, v2::ReceivedRequest, bool)>;

    V2Mux(asio::any_io_executor executor, std::shared_ptr<FrameConnection> connection);

    /// Called with the number of streams and unread bytes after stalled readers were reset
    /// to give the tunnel its connection window back (see V2Mux::resetStalledReaders).
    using OnStalledReset = std::function<void(std::size_t streams, std::int64_t bytes)>;

    /// Unread bytes all streams together may hold before the connection window stops coming
    /// back at once (see V2Mux::buffered): 64 stalled streams' worth of stream window.
    static constexpr std::int64_t kBufferBudget = 16 * 1024 * 1024;
    /// Over the budget, a stream whose reader took nothing for this long is reset.
    static constexpr std::chrono::seconds kStallLimit{10};

    void onRequest(OnRequest handler) { onRequest_ = std::move(handler); }
    void onStalledReset(OnStalledReset handler) { onStalledReset_ = std::move(handler); }

    /// Relay side: opens a stream with a REQUEST frame. nullptr if the connection is gone.
    std::shared_ptr<V2Stream> openStream(const v2::RequestHead& head, bool endStream);

    /// Agent side: answers a stream's request.
    bool sendResponse(V2Stream& stream, const v2::ResponseHead& head, bool endStream);
    /// The same with the RESPONSE frame already encoded (v2::ResponseFrameBuilder); its
    /// END_STREAM flag must match `endStream`.
    bool sendResponseFrame(V2Stream& stream, std::string frame, bool endStream);

    /// Reads and dispatches frames, pings every 10 s; returns why the session ended.
    asio::awaitable<ErrorCode> run();

    void close(ErrorCode reason);
    bool isOpen() const { return connection_->isOpen(); }
    /// The peer's GOAWAY, if it sent one: no new stream opens; the session closes once the
    /// open streams are done (or when the peer closes).
    const std::optional<v2::Goaway>& peerGoaway() const { return peerGoaway_; }
    std::size_t streamCount() const { return streams_.size(); }
    const asio::any_io_executor& executor() const { return executor_; }

private:
    friend class V2Stream;
    /// Queues control frames; nothing to send (an empty string) is not a failure.
    bool sendFrame(std::string frame) {
        return frame.empty() || connection_->sendRaw(std::move(frame));
    }
    void wakeWriters();  // the connection window grew: every waiting writer may go on
    void buffered(std::int64_t bytes, std::string& frames);  // DATA went into a stream buffer
    void consumed(std::int64_t bytes, std::string& frames);  // a reader took it (or dropped it)
    void credit(std::int64_t bytes, std::string& frames);
    void release(std::uint32_t id);
    void closeIfDrained();
    ErrorCode dispatch(v2::Frame frame);
    asio::awaitable<void> pingLoop();
    void watchPressure();  // over the buffer budget: start the stalled-reader watch
    asio::awaitable<void> pressureLoop();
    void resetStalledReaders(std::chrono::steady_clock::time_point stalledBefore);

    asio::any_io_executor executor_;
    std::shared_ptr<FrameConnection> connection_;
    using Streams = std::unordered_map<std::uint32_t, std::shared_ptr<V2Stream>>;
    void forget(Streams::iterator stream);  // erases, returning its grown window to the pool
    Streams streams_;
    std::int64_t connectionSendWindow_ = v2::kInitialConnectionWindow;
    std::int64_t connectionReceiveWindow_ = v2::kInitialConnectionWindow;
    std::int64_t connectionPendingGrant_ = 0;  ///< credited, not yet granted back
    std::int64_t buffered_ = 0;      ///< DATA bytes in stream buffers, not yet taken by a reader
    std::int64_t owed_ = 0;          ///< of those, bytes not credited back yet (over the budget)
    std::int64_t grownWindows_ = 0;  ///< stream windows grown beyond their initial size
    std::uint32_t nextStreamId_ = 1;
    std::uint32_t lastPeerStreamId_ = 0;
    OnRequest onRequest_;
    OnStalledReset onStalledReset_;
    asio::steady_timer pingTimer_;
    asio::steady_timer pressureTimer_;
    bool pressureWatched_ = false;
    ErrorCode closeReason_;
    std::optional<v2::Goaway> peerGoaway_;
};

}  // namespace nexus::net
