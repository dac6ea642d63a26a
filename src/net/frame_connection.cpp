// SPDX-License-Identifier: AGPL-3.0-or-later
// FrameConnection: reading through FrameDecoder, one queued writer, the idle watchdog.
#include "net/frame_connection.hpp"

#include "net/spawn.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <array>
#include <span>

namespace nexus::net {

namespace {
constexpr std::size_t kReadChunk = 64 * 1024;
// Frames below this size are copied together into one buffer of the write (a TLS record, a
// segment); larger ones are handed to the gathered write as they are.
constexpr std::size_t kSmallFrame = 8 * 1024;
constexpr std::size_t kMaxBatchBytes = 512 * 1024;
constexpr std::size_t kMaxBatchFrames = 64;
// Bulk bytes per write: after each such piece, the frames queued meanwhile go first. A write
// in progress cannot be overtaken, so on a slow path (a small unsent-queue limit, see
// SendQueueLimiter) the piece shrinks to the limit: one frame at 100 Mbit/s.
constexpr std::size_t kMaxBulkPerWrite = 128 * 1024;
constexpr std::size_t kDirectMinimum = 16 * 1024;

template <typename Decoder>
void commitDirect(Decoder& decoder, std::size_t n) {
    if constexpr (requires { decoder.commitDirect(n); }) {
        decoder.commitDirect(n);
    }
}
}  // namespace

FrameConnection::FrameConnection(asio::any_io_executor executor,
                                 std::unique_ptr<Transport> transport, std::uint32_t readLimit)
    : transport_(std::move(transport)),
      decoder_(readLimit),
      readChunk_(std::make_unique_for_overwrite<char[]>(kReadChunk)),
      wake_(executor, std::chrono::steady_clock::time_point::max()),
      watchdog_(executor, std::chrono::steady_clock::time_point::max()),
      lastRead_(std::chrono::steady_clock::now()),
      coalesce_(transport_->door() != "ws") {}

template <typename Decoder, typename Out>
asio::awaitable<Result<Out>> FrameConnection::readFrom(Decoder& decoder) {
    for (;;) {
        auto frame = decoder.next();
        if (!frame) {
            co_return frame.error();
        }
        if (*frame) {
            lastRead_ = std::chrono::steady_clock::now();
            co_return std::move(**frame);
        }
        if (!open_) {
            co_return timedOut_ ? makeError(Errc::Timeout) : ErrorCode(asio::error::eof);
        }
        // Whatever is there, up to a chunk: many small frames arrive in one system call. The
        // decoder checks each length before it buffers the frame's payload.
        // Bulk data goes straight into the payload of its frame (v2 DATA), the rest through
        // the read chunk.
        std::span<char> direct;
        if constexpr (requires { decoder.directRoom(kDirectMinimum); }) {
            direct = decoder.directRoom(kDirectMinimum);
        }
        ErrorCode ec;
        const auto target = direct.empty() ? asio::buffer(readChunk_.get(), kReadChunk)
                                           : asio::buffer(direct.data(), direct.size());
        const std::size_t n = co_await transport_->readSome(target, ec);
        if (n > 0) {
            if (bytesIn_ != nullptr) {
                *bytesIn_ += n;
            }
            // Any byte is a sign of life, even inside a large frame on a slow link.
            lastRead_ = std::chrono::steady_clock::now();
            if (direct.empty()) {
                decoder.append(std::string_view(readChunk_.get(), n));
            } else {
                commitDirect(decoder, n);
            }
            continue;
        }
        if (timedOut_) {
            co_return makeError(Errc::Timeout);
        }
        if (ec == asio::error::eof && decoder.buffered() > 0) {
            co_return makeError(Errc::TruncatedFrame);
        }
        co_return ec ? ec : ErrorCode(asio::error::eof);
    }
}

asio::awaitable<Result<std::string>> FrameConnection::read() {
    return readFrom<protocol::FrameDecoder, std::string>(decoder_);
}

asio::awaitable<Result<protocol::v2::Frame>> FrameConnection::readV2() {
    return readFrom<protocol::v2::FrameDecoder, protocol::v2::Frame>(v2Decoder_);
}

void FrameConnection::useV2Framing() {
    v2Decoder_.append(decoder_.takeRemaining());
}

bool FrameConnection::sendRaw(std::string frame, bool bulk) {
    if (!open_ || closing_) {
        return false;
    }
    queuedBytes_ += frame.size();
    if (bulk) {
        bulk_.push_back(std::move(frame));
        ++bulkQueued_;
    } else {
        queue_.push_back(std::move(frame));
    }
    wake_.cancel_one();
    return true;
}

// The next frame to write: the oldest control or small frame, else the oldest bulk frame
// while this write has room for bulk; empty when nothing may go in this write.
std::string FrameConnection::takeFrame(std::size_t& bulkBytes) {
    std::string frame;
    if (!queue_.empty()) {
        frame = std::move(queue_.front());
        queue_.pop_front();
    } else if (!bulk_.empty() && bulkBytes < bulkPerWrite()) {
        frame = std::move(bulk_.front());
        bulk_.pop_front();
        ++bulkTaken_;
        bulkBytes += frame.size();
    }
    queuedBytes_ -= frame.size();
    return frame;
}

std::size_t FrameConnection::bulkPerWrite() const {
    const std::size_t limit = sendQueue_.limit();
    return limit == 0 ? kMaxBulkPerWrite : std::min(limit, kMaxBulkPerWrite);
}

bool FrameConnection::send(std::string_view payload) {
    auto framed = protocol::encodeFrame(payload);
    return framed && sendRaw(std::move(*framed));
}

asio::awaitable<void> FrameConnection::runWriter() {
    while (open_) {
        if (!hasQueued()) {
            if (closing_) {
                close();
                break;
            }
            co_await wake_.async_wait(asio::as_tuple(asio::use_awaitable));
            continue;
        }
        ErrorCode ec;
        std::size_t bulkBytes = 0;
        std::size_t bytes = 0;
        if (!coalesce_) {
            // The WebSocket door: one write is one message, so one frame.
            const std::string frame = takeFrame(bulkBytes);
            bytes = frame.size();
            co_await transport_->writeAll(asio::buffer(frame), ec);
        } else {
            bulkBytes = takeBatch(bytes);
            co_await transport_->writeGather(gathered_, ec);
        }
        if (ec) {
            close();
            continue;
        }
        if (bytesOut_ != nullptr) {
            *bytesOut_ += bytes;
        }
        if (bulkBytes > 0) {
            sendQueue_.wrote(transport_->nativeHandle(), bulkBytes);
        }
    }
}

// Everything queued (within bounds) goes out in one gathered write: a v2 response is a head,
// data and window updates that would otherwise each cost a system call and a TCP segment.
std::size_t FrameConnection::takeBatch(std::size_t& bytes) {
    batch_.clear();
    bytes = 0;
    std::size_t bulkBytes = 0;
    while (batch_.size() < kMaxBatchFrames && bytes < kMaxBatchBytes) {
        std::string frame = takeFrame(bulkBytes);
        if (frame.empty()) {
            break;
        }
        bytes += frame.size();
        if (!batch_.empty() && frame.size() < kSmallFrame && batch_.back().size() < kReadChunk) {
            batch_.back() += frame;
        } else {
            batch_.push_back(std::move(frame));
        }
    }
    gathered_.clear();
    for (const auto& frame : batch_) {
        gathered_.emplace_back(asio::buffer(frame));
    }
    return bulkBytes;
}

void FrameConnection::setIdleTimeout(std::chrono::steady_clock::duration idle) {
    idle_ = idle;
    lastRead_ = std::chrono::steady_clock::now();
    watchdog_.cancel();  // the watchdog recomputes its deadline
}

void FrameConnection::closeAfterWrites() {
    closing_ = true;
    wake_.cancel_one();
}

asio::awaitable<void> FrameConnection::runIdleWatchdog() {
    while (open_) {
        const auto deadline = lastRead_ + idle_;
        if (std::chrono::steady_clock::now() >= deadline) {
            timedOut_ = true;
            close();
            break;
        }
        watchdog_.expires_at(deadline);
        co_await watchdog_.async_wait(asio::as_tuple(asio::use_awaitable));
    }
}

void FrameConnection::close() {
    if (!open_) {
        return;
    }
    open_ = false;
    transport_->close();
    queue_.clear();
    bulk_.clear();
    queuedBytes_ = 0;
    wake_.cancel();
    watchdog_.cancel();
}

void startPumps(const std::shared_ptr<FrameConnection>& connection,
                const asio::any_io_executor& executor) {
    asio::co_spawn(
        executor, [connection] { return connection->runWriter(); },
        reportFailures("a tunnel's writer"));
    asio::co_spawn(
        executor, [connection] { return connection->runIdleWatchdog(); },
        reportFailures("a tunnel's idle watchdog"));
}

asio::awaitable<std::optional<tcp::socket>> acceptWithPause(tcp::acceptor& acceptor,
                                                            ErrorCode& error) {
    auto [ec, socket] = co_await acceptor.async_accept(asio::as_tuple(asio::use_awaitable));
    // A connection accepted just before the acceptor closed is still returned: dropped, the
    // peer would see its connection closed unanswered (a draining relay serves it).
    if (ec == asio::error::operation_aborted || (ec && !acceptor.is_open())) {
        co_return std::nullopt;
    }
    error = ec;
    if (ec) {
        asio::steady_timer pause(acceptor.get_executor(), std::chrono::milliseconds(200));
        co_await pause.async_wait(asio::as_tuple(asio::use_awaitable));
    }
    co_return std::move(socket);
}

}  // namespace nexus::net
