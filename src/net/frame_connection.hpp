// SPDX-License-Identifier: AGPL-3.0-or-later
// A length-prefixed frame stream over any Transport: one reader, one writer coroutine fed by a
// queue (so frames from concurrent requests never interleave), and an inactivity deadline.
#pragma once

#include "net/send_queue.hpp"
#include "net/transport.hpp"
#include "protocol/frame.hpp"
#include "protocol/v2_frame_decoder.hpp"
#include "protocol/v2_frames.hpp"

#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace nexus::net {

class FrameConnection {
public:
    FrameConnection(asio::any_io_executor executor, std::unique_ptr<Transport> transport,
                    std::uint32_t readLimit);

    /// The next payload. asio::error::eof for a close at a frame boundary, TruncatedFrame for
    /// one inside a frame, FrameTooLarge above the read limit, Timeout after the idle deadline.
    asio::awaitable<Result<std::string>> read();

    /// Frames and queues one payload; false if too large for the protocol or already closed.
    bool send(std::string_view payload);

    /// Queues bytes that are already framed (v2); false if closed. Bulk frames (large DATA)
    /// wait behind the others: the writer sends every queued control or small frame before
    /// the next piece of bulk, so a small response never queues behind a download. Frames of
    /// one kind keep their order; a caller that needs a frame to stay behind its own bulk
    /// frames sends it as bulk too (see bulkQueued / bulkTaken).
    bool sendRaw(std::string frame, bool bulk = false);

    /// Bulk frames queued, and taken by the writer, since the start (both only grow).
    std::uint64_t bulkQueued() const { return bulkQueued_; }
    std::uint64_t bulkTaken() const { return bulkTaken_; }

    /// From now on frames are v2 (after the `registered` frame that negotiated it).
    void useV2Framing();

    /// The next v2 frame; errors as read().
    asio::awaitable<Result<protocol::v2::Frame>> readV2();

    /// Drains the queue until close() or a write error; run it once per connection.
    asio::awaitable<void> runWriter();

    /// Closes the connection when nothing was received for the idle timeout; re-armed by
    /// every byte read. Runs until close().
    asio::awaitable<void> runIdleWatchdog();
    void setIdleTimeout(std::chrono::steady_clock::duration idle);

    void close();
    /// Sends what is queued, then closes (e.g. after a final `registered{ok:false}`).
    void closeAfterWrites();
    bool isOpen() const { return open_; }
    bool timedOut() const { return timedOut_; }

    /// From now on, adds the bytes each read and write moves to these counters (which must
    /// outlive the connection's reads and writes): one addition per system call.
    void countBytes(std::uint64_t* in, std::uint64_t* out) {
        bytesIn_ = in;
        bytesOut_ = out;
    }

    void setReadLimit(std::uint32_t limit) { decoder_.setLimit(limit); }
    /// v1 bytes received and not yet returned as a frame (after a failed read, what the peer
    /// sent instead of a frame).
    std::string_view unreadBytes() const { return decoder_.pending(); }
    std::size_t queuedBytes() const { return queuedBytes_; }
    Transport& transport() { return *transport_; }

private:
    template <typename Decoder, typename Out>
    asio::awaitable<Result<Out>> readFrom(Decoder& decoder);
    std::size_t takeBatch(std::size_t& bytes);  ///< returns the bulk bytes taken
    bool hasQueued() const { return !queue_.empty() || !bulk_.empty(); }
    std::string takeFrame(std::size_t& bulkBytes);
    std::size_t bulkPerWrite() const;

    std::unique_ptr<Transport> transport_;
    protocol::FrameDecoder decoder_;
    protocol::v2::FrameDecoder v2Decoder_;
    std::unique_ptr<char[]> readChunk_;  ///< one per connection: no buffer per read
    std::deque<std::string> queue_;      ///< control and small frames: written first
    std::deque<std::string> bulk_;       ///< large DATA frames
    std::uint64_t bulkQueued_ = 0;
    std::uint64_t bulkTaken_ = 0;
    std::vector<std::string> batch_;            ///< frames of the write in progress
    std::vector<asio::const_buffer> gathered_;  ///< batch_ as one gathered write
    std::size_t queuedBytes_ = 0;
    std::uint64_t* bytesIn_ = nullptr;
    std::uint64_t* bytesOut_ = nullptr;
    SendQueueLimiter sendQueue_;  ///< from the first bulk frame on
    asio::steady_timer wake_;
    asio::steady_timer watchdog_;
    std::chrono::steady_clock::time_point lastRead_;
    std::chrono::steady_clock::duration idle_ = std::chrono::seconds(10);
    bool open_ = true;
    bool closing_ = false;
    bool coalesce_ = true;  ///< false on the WebSocket door: one message per frame
    bool timedOut_ = false;
};

/// Starts the writer and the idle watchdog of a shared connection on its executor.
void startPumps(const std::shared_ptr<FrameConnection>& connection,
                const asio::any_io_executor& executor);

/// The next accepted socket; nullopt once the acceptor is closed. A failure such as EMFILE
/// is reported in `error` after a short pause, so accept loops neither spin nor exit.
asio::awaitable<std::optional<tcp::socket>> acceptWithPause(tcp::acceptor& acceptor,
                                                            ErrorCode& error);

}  // namespace nexus::net
