// SPDX-License-Identifier: AGPL-3.0-or-later
// The bytes of a v2 exchange that go to the local app: the request head and body, and the two
// halves of an upgraded (WebSocket) pipe. The response comes back in v2_download.cpp.
#include "client/v2_exchange_impl.hpp"
#include "net/http_headers.hpp"

#include <boost/asio/write.hpp>
#include <boost/beast/core/buffers_to_string.hpp>

#include <array>
#include <tuple>

namespace nexus::client::detail {

namespace {
// Small: an open WebSocket keeps it for its whole life, and there may be thousands.
constexpr std::size_t kPipeChunkSize = 16 * 1024;
}  // namespace

// The request line and headers, written whole; the body (if any) follows in upload().
asio::awaitable<bool> V2Exchange::sendHead() {
    local_->expires_after(c_.limits.idleTimeout);
    auto [ec, n] = co_await asio::async_write(*local_, asio::buffer(request_.head), kTuple);
    headWriteFailed_ = static_cast<bool>(ec);
    co_return !ec;
}

asio::awaitable<bool> V2Exchange::upload() {
    if (!co_await sendHead()) {
        co_return false;  // download() sees the broken connection and answers 502
    }
    const auto declared = v2::contentLength(head_.headers());
    std::uint64_t sent = 0;
    for (;;) {
        auto chunk = co_await stream_->read(c_.limits.idleTimeout);
        if (!chunk) {
            break;
        }
        sent += chunk->size();
        if (declared && sent > *declared) {
            break;  // more than announced
        }
        if (chunk->empty()) {
            continue;  // an empty chunk would end a chunked body
        }
        local_->expires_after(c_.limits.idleTimeout);
        ErrorCode ec;
        if (request_.chunked) {
            const std::string sizeLine = net::chunkSizeLine(chunk->size());
            const std::array<asio::const_buffer, 3> pieces{
                asio::buffer(sizeLine), asio::buffer(*chunk), asio::buffer("\r\n", 2)};
            std::tie(ec, std::ignore) = co_await asio::async_write(*local_, pieces, kTuple);
        } else {
            std::tie(ec, std::ignore) =
                co_await asio::async_write(*local_, asio::buffer(*chunk), kTuple);
        }
        if (ec) {
            co_return false;  // the app stopped reading; its response may still come
        }
    }
    if (stream_->wasReset() || !stream_->peerEnded()) {
        abandon(v2::ResetCode::Timeout);  // the relay gave up, or the body stalled
        co_return false;
    }
    if (declared && sent != *declared) {
        abandon(v2::ResetCode::ProtocolError);  // the local framing would be wrong
        co_return false;
    }
    ErrorCode ec;
    if (request_.chunked) {
        local_->expires_after(c_.limits.idleTimeout);
        std::tie(ec, std::ignore) =
            co_await asio::async_write(*local_, asio::buffer("0\r\n\r\n", 5), kTuple);
    }
    uploadClean_ = !ec;
    co_return uploadClean_;
}

// Upgraded stream, tunnel to app. Ends with a half-close, like the relay's side. This half
// keeps the pipe's idle clock: it gives up once neither direction has moved for the timeout.
asio::awaitable<bool> V2Exchange::pipeUp(net::PipeActivity& activity) {
    for (;;) {
        auto chunk = co_await net::readWhileInUse(*stream_, activity);
        if (!chunk) {
            if (stream_->peerEnded() && !stream_->wasReset()) {
                ErrorCode ignored;
                local_->socket().shutdown(asio::ip::tcp::socket::shutdown_send, ignored);
                co_return true;
            }
            if (!stream_->wasReset() && !failure_) {
                failure_ = makeError(Errc::Timeout);  // what the log says, not pipeDown's abort
            }
            abandon(v2::ResetCode::Timeout);
            co_return false;
        }
        local_->expires_after(c_.limits.pipeIdleTimeout);
        auto [ec, n] = co_await asio::async_write(*local_, asio::buffer(*chunk), kTuple);
        if (ec) {
            failure_ = failure_ ? failure_ : ec;
            abandon(v2::ResetCode::LocalUnreachable);
            co_return false;
        }
    }
}

// Upgraded stream, app to tunnel, starting with what the app sent right after its 101. Its
// reads have no deadline of their own (a silent app is fine while the visitor talks): pipeUp
// closes the local connection once the whole pipe is idle, which ends the read here.
asio::awaitable<bool> V2Exchange::pipeDown(net::PipeActivity& activity) {
    if (buffer_.size() > 0) {
        const std::string early = beast::buffers_to_string(buffer_.data());
        buffer_.consume(buffer_.size());
        if (!co_await stream_->write(early, c_.limits.pipeIdleTimeout)) {
            abandon(v2::ResetCode::Timeout);
            co_return false;
        }
    }
    const auto chunk = std::make_unique_for_overwrite<char[]>(kPipeChunkSize);
    for (;;) {
        local_->expires_never();  // set just before the read: pipeUp's writes set their own
        auto [ec, n] =
            co_await local_->async_read_some(asio::buffer(chunk.get(), kPipeChunkSize), kTuple);
        if (n > 0) {
            activity.moved();
            if (!co_await stream_->write(std::string_view(chunk.get(), n),
                                         c_.limits.pipeIdleTimeout)) {
                abandon(v2::ResetCode::Timeout);
                co_return false;
            }
        }
        if (ec == asio::error::eof) {
            stream_->finish();
            co_return true;
        }
        if (ec) {
            failure_ = failure_ ? failure_ : ec;
            abandon(v2::ResetCode::LocalUnreachable);
            co_return false;
        }
    }
}

}  // namespace nexus::client::detail
