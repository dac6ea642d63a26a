// SPDX-License-Identifier: AGPL-3.0-or-later
// FrameConnection: reading through FrameDecoder, one queued writer, the idle watchdog.
#include "net/frame_connection.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <array>

namespace nexus::net {

FrameConnection::FrameConnection(asio::any_io_executor executor,
                                 std::unique_ptr<Transport> transport, std::uint32_t readLimit)
    : transport_(std::move(transport)),
      decoder_(readLimit),
      wake_(executor, std::chrono::steady_clock::time_point::max()),
      watchdog_(executor, std::chrono::steady_clock::time_point::max()),
      lastRead_(std::chrono::steady_clock::now()),
      coalesce_(transport_->door() != "ws") {}

template <typename Decoder, typename Out>
asio::awaitable<Result<Out>> FrameConnection::readFrom(Decoder& decoder) {
    // Small reads for small frames; large frames are read in chunks of at most 64 KiB.
    std::array<char, 64 * 1024> chunk{};
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
        ErrorCode ec;
        const std::size_t want = std::min(chunk.size(), decoder.wanted());
        const std::size_t n = co_await transport_->readSome(asio::buffer(chunk.data(), want), ec);
        if (n > 0) {
            // Any byte is a sign of life, even inside a large frame on a slow link.
            lastRead_ = std::chrono::steady_clock::now();
            decoder.append(std::string_view(chunk.data(), n));
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

bool FrameConnection::sendRaw(std::string frame) {
    if (!open_ || closing_) {
        return false;
    }
    queuedBytes_ += frame.size();
    queue_.push_back(std::move(frame));
    wake_.cancel_one();
    return true;
}

bool FrameConnection::send(std::string_view payload) {
    auto framed = protocol::encodeFrame(payload);
    return framed && sendRaw(std::move(*framed));
}

asio::awaitable<void> FrameConnection::runWriter() {
    while (open_) {
        if (queue_.empty()) {
            if (closing_) {
                close();
                break;
            }
            co_await wake_.async_wait(asio::as_tuple(asio::use_awaitable));
            continue;
        }
        std::string frame = std::move(queue_.front());
        queue_.pop_front();
        queuedBytes_ -= frame.size();
        // Small frames queued together go out in one write (one TCP segment where they fit):
        // a v2 response is a head, data and window updates that would otherwise each wait.
        // Never on the WebSocket door, where one write is one message and so one frame.
        while (coalesce_ && !queue_.empty() && frame.size() + queue_.front().size() <= 64 * 1024) {
            queuedBytes_ -= queue_.front().size();
            frame += queue_.front();
            queue_.pop_front();
        }
        ErrorCode ec;
        co_await transport_->writeAll(asio::buffer(frame), ec);  // one write per frame
        if (ec) {
            close();
        }
    }
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
    queuedBytes_ = 0;
    wake_.cancel();
    watchdog_.cancel();
}

void startPumps(const std::shared_ptr<FrameConnection>& connection,
                const asio::any_io_executor& executor) {
    asio::co_spawn(
        executor, [connection] { return connection->runWriter(); }, asio::detached);
    asio::co_spawn(
        executor, [connection] { return connection->runIdleWatchdog(); }, asio::detached);
}

asio::awaitable<std::optional<tcp::socket>> acceptWithPause(tcp::acceptor& acceptor,
                                                            ErrorCode& error) {
    auto [ec, socket] = co_await acceptor.async_accept(asio::as_tuple(asio::use_awaitable));
    if (ec == asio::error::operation_aborted || !acceptor.is_open()) {
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
