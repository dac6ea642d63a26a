// SPDX-License-Identifier: AGPL-3.0-or-later
// The v2 session core shared by the relay and the agent: streams on one FrameConnection,
// per-stream and per-connection flow-control windows, heartbeats. Bodies never queue without
// bound: a sender waits for window, a receiver grants window only as it consumes.
#pragma once

#include "net/frame_connection.hpp"
#include "net/v2/stream.hpp"
#include "protocol/v2_frames.hpp"

#include <boost/asio/steady_timer.hpp>

#include <functional>
#include <memory>
#include <optional>
#include <unordered_map>

namespace nexus::net {

/// The session: dispatches the peer's frames to streams, holds the connection's windows.
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

    /// Relay side: opens a stream with a REQUEST frame. nullptr if the connection is gone, or
    /// if the head cannot be a REQUEST frame: then `refused` (if given) says why, e.g.
    /// Errc::FrameTooLarge.
    std::shared_ptr<V2Stream> openStream(const v2::RequestHead& head, bool endStream,
                                         ErrorCode* refused = nullptr);
    /// The same with the REQUEST frame written by `encode(frame, streamId)` (a
    /// v2::RequestFrameBuilder over the caller's own fields, with no HeaderList in between); the
    /// error it returns is the refusal. Its END_STREAM flag must match `endStream`.
    template <typename Encode>
    std::shared_ptr<V2Stream> openStreamWith(Encode&& encode, bool endStream,
                                             ErrorCode* refused = nullptr) {
        if (!canOpenStream()) {
            return nullptr;
        }
        std::string frame;
        if (auto encoded = encode(frame, nextStreamId_); !encoded) {
            if (refused != nullptr) {
                *refused = encoded.error();
            }
            return nullptr;
        }
        return openedStream(std::move(frame), endStream);
    }

    /// Agent side: answers a stream's request.
    bool sendResponse(V2Stream& stream, const v2::ResponseHead& head, bool endStream);
    /// The same with the RESPONSE frame already encoded (v2::ResponseFrameBuilder); its
    /// END_STREAM flag must match `endStream`.
    bool sendResponseFrame(V2Stream& stream, std::string frame, bool endStream);

    /// Reads and dispatches frames, pings every 10 s; returns why the session ended.
    asio::awaitable<ErrorCode> run();

    void close(ErrorCode reason);
    /// Sends GOAWAY with `code` and `reason`, fails the open streams, and closes once the
    /// GOAWAY is written, or after `linger` (a peer that reads nothing cannot hold it open).
    void closeWithGoaway(v2::GoawayCode code, std::string_view reason, ErrorCode why,
                         std::chrono::steady_clock::duration linger);
    /// Sends GOAWAY with `code` and `retryAfterMs` and drains: no new stream opens, the open
    /// ones finish, then the connection closes (docs/protocol.md §4.8).
    void goAway(v2::GoawayCode code, std::uint32_t retryAfterMs, std::string_view reason);
    bool isOpen() const { return connection_->isOpen(); }
    /// The peer's GOAWAY, if it sent one: no new stream opens; the session closes once the
    /// open streams are done (or when the peer closes).
    const std::optional<v2::Goaway>& peerGoaway() const { return peerGoaway_; }
    std::size_t streamCount() const { return streams_.size(); }
    const asio::any_io_executor& executor() const { return executor_; }

private:
    friend class V2Stream;
    bool canOpenStream() const;
    /// Registers the stream the REQUEST frame `frame` opens (the next id) and sends the frame.
    std::shared_ptr<V2Stream> openedStream(std::string frame, bool endStream);
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
    bool goingAway_ = false;  ///< we sent GOAWAY: no new stream, close once drained
};

}  // namespace nexus::net
