// SPDX-License-Identifier: AGPL-3.0-or-later
// ResponseWriter: gathered writes of head, chunks and end to the visitor.
#include "server/response_writer.hpp"

#include "net/http_headers.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

namespace nexus::server {

namespace asio = boost::asio;

namespace {
// One write carries at most this much body: enough to amortise the system call, small enough
// that the window granted back as the bytes leave keeps the instance sending.
constexpr std::size_t kMaxWriteBytes = 128 * 1024;
constexpr std::string_view kCrlf = "\r\n";
}  // namespace

asio::awaitable<bool> ResponseWriter::flush() {
    buffers_.clear();
    if (!pending_.empty()) {
        buffers_.emplace_back(asio::buffer(pending_));
    }
    co_return co_await write();
}

asio::awaitable<bool> ResponseWriter::write() {
    if (buffers_.empty()) {
        co_return true;
    }
    exchange_.stream.expires_after(idle_);
    auto [ec, n] =
        co_await asio::async_write(exchange_.stream, buffers_, asio::as_tuple(asio::use_awaitable));
    pending_.clear();
    buffers_.clear();
    co_return !ec;
}

asio::awaitable<bool> ResponseWriter::copyBody() {
    const bool chunked = framing_.body == BodyFraming::Chunked;
    if (framing_.body == BodyFraming::None) {
        co_return co_await flush();
    }
    std::uint64_t sent = 0;
    for (;;) {
        auto chunk = co_await stream_.read(idle_);
        pieces_.clear();
        std::size_t bytes = 0;
        if (chunk) {
            bytes = chunk->size();
            pieces_.push_back(std::move(*chunk));
            while (bytes < kMaxWriteBytes) {
                auto more = stream_.tryRead();
                if (!more) {
                    break;
                }
                bytes += more->size();
                pieces_.push_back(std::move(*more));
            }
        }
        sent += bytes;
        if (framing_.length && sent > *framing_.length) {
            co_return false;  // more than announced: never let it reach the shared connection
        }
        const bool ended = stream_.deliveredWhole();
        if (!chunk && !ended) {
            co_return false;  // reset, idle timeout or tunnel gone: the body is cut
        }
        if (ended && framing_.length && sent != *framing_.length) {
            co_return false;  // less than announced
        }
        buffers_.clear();
        if (!pending_.empty()) {
            buffers_.emplace_back(asio::buffer(pending_));
        }
        if (bytes > 0) {
            if (chunked) {
                sizeLine_ = net::chunkSizeLine(bytes);
                buffers_.emplace_back(asio::buffer(sizeLine_));
            }
            for (const auto& piece : pieces_) {
                buffers_.emplace_back(asio::buffer(piece));
            }
            if (chunked) {
                buffers_.emplace_back(asio::buffer(kCrlf));
            }
        }
        if (ended && chunked) {
            end_ = lastChunk(stream_.trailers());
            buffers_.emplace_back(asio::buffer(end_));
        }
        if (!co_await write()) {
            co_return false;
        }
        exchange_.record.bytesOut += bytes;
        if (ended) {
            co_return true;
        }
    }
}

}  // namespace nexus::server
