// SPDX-License-Identifier: AGPL-3.0-or-later
// The bytes of a v2 exchange: request head and body to the local app, its response head and
// body back to the relay (read in pieces of one DATA frame, so nothing is buffered whole), and
// the two halves of an upgraded (WebSocket) pipe.
#include "client/v2_exchange_impl.hpp"
#include "client/v2_local_http.hpp"
#include "net/http_headers.hpp"

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>

#include <vector>

namespace nexus::client::detail {

using namespace asio::experimental::awaitable_operators;

namespace {
constexpr std::size_t kChunkSize = 256 * 1024;  // one full DATA frame
constexpr std::size_t kPipeChunkSize = 64 * 1024;
}  // namespace

// The request line and headers; the body (if any) follows through the same serializer.
asio::awaitable<bool> V2Exchange::sendHead() {
    serializer_.emplace(request_);
    local_->expires_after(c_.limits.idleTimeout);
    ErrorCode ec;
    if (hasBody_) {
        auto [error, n] = co_await http::async_write_header(*local_, *serializer_, kTuple);
        ec = error;
    } else {
        auto [error, n] = co_await http::async_write(*local_, *serializer_, kTuple);
        ec = error;
    }
    headWriteFailed_ = static_cast<bool>(ec);
    co_return !ec;
}

asio::awaitable<bool> V2Exchange::upload() {
    if (!co_await sendHead()) {
        co_return false;  // download() sees the broken connection and answers 502
    }
    const auto declared = contentLength(head_.headers);
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
        request_.body().data = chunk->data();
        request_.body().size = chunk->size();
        request_.body().more = true;
        local_->expires_after(c_.limits.idleTimeout);
        auto [ec, n] = co_await http::async_write(*local_, *serializer_, kTuple);
        if (ec && ec != http::error::need_buffer) {
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
    request_.body().data = nullptr;
    request_.body().size = 0;
    request_.body().more = false;
    local_->expires_after(c_.limits.idleTimeout);
    auto [ec, n] = co_await http::async_write(*local_, *serializer_, kTuple);
    uploadClean_ = !ec;
    co_return uploadClean_;
}

asio::awaitable<bool> V2Exchange::download() {
    // Beast reads at most the buffer's free capacity (at least 512 bytes) per system call:
    // without room, a large body would cross in 512-byte DATA frames.
    buffer_.reserve(64 * 1024);
    for (;;) {
        parser_.emplace();
        parser_->header_limit(64 * 1024);
        parser_->body_limit(boost::none);
        parser_->skip(head_.method == "HEAD");  // a HEAD response announces a body it never sends
        local_->expires_after(c_.limits.headTimeout);
        auto [ec, n] = co_await http::async_read_header(*local_, buffer_, *parser_, kTuple);
        if (ec) {
            failure_ = ec;
            co_return co_await failBeforeHead();
        }
        const int status = static_cast<int>(parser_->get().result_int());
        if (status >= 200 || status == 101) {
            break;
        }
        if (status < 100) {
            failure_ = makeError(Errc::ProtocolViolation);
            co_return co_await failBeforeHead();
        }
        // An interim response (100 Continue, 103 Early Hints) is not forwarded.
    }
    const auto& response = parser_->get();
    const v2::ResponseHead head = makeResponseHead(response.base());
    const bool switching = head.status == 101;
    if (switching &&
        !(webSocket_ && net::listsToken(response[http::field::upgrade], "websocket"))) {
        failure_ = makeError(Errc::ProtocolViolation);
        co_await answer(502, "Invalid upgrade response");
        abandon(v2::ResetCode::Cancel);
        co_return false;
    }
    const bool noBody = !switching && parser_->is_done();
    if (stream_->wasReset()) {
        abandon(v2::ResetCode::Cancel);  // the relay gave up waiting
        co_return false;
    }
    if (!mux_->sendResponse(*stream_, head, noBody)) {
        failure_ = mux_->isOpen() ? makeError(Errc::FrameTooLarge) : ErrorCode(asio::error::eof);
        co_await answer(502, "Response headers too large for this tunnel");
        abandon(v2::ResetCode::Cancel);
        co_return false;
    }
    headSent_ = true;
    status_ = head.status;
    logHead();
    if (switching) {
        upgraded_ = true;
        auto up = pipeUp();
        auto down = pipeDown();
        auto both = std::move(up) && std::move(down);
        const auto [wentUp, wentDown] = co_await std::move(both);
        const bool clean = wentUp && wentDown;
        co_return clean;
    }
    std::vector<char> chunk(noBody ? 0 : kChunkSize);
    while (!parser_->is_done()) {
        auto& body = parser_->get().body();
        body.data = chunk.data();
        body.size = chunk.size();
        local_->expires_after(c_.limits.idleTimeout);
        auto [ec, n] = co_await http::async_read_some(*local_, buffer_, *parser_, kTuple);
        const std::size_t got = chunk.size() - parser_->get().body().size;
        if (got > 0 &&
            !co_await stream_->write(std::string_view(chunk.data(), got), c_.limits.idleTimeout)) {
            failure_ = stream_->wasReset() ? ErrorCode(asio::error::operation_aborted)
                                           : makeError(Errc::Timeout);
            abandon(v2::ResetCode::Timeout);
            co_return false;
        }
        if (ec && ec != http::error::need_buffer) {
            failure_ = ec;
            abandon(v2::ResetCode::LocalUnreachable);
            co_return false;
        }
    }
    stream_->finish();
    downloadClean_ = true;
    keepAlive_ = parser_->keep_alive() && !parser_->need_eof();
    co_return true;
}

// Upgraded stream, tunnel to app. Ends with a half-close, like the relay's side.
asio::awaitable<bool> V2Exchange::pipeUp() {
    for (;;) {
        auto chunk = co_await stream_->read(c_.limits.pipeIdleTimeout);
        if (!chunk) {
            if (stream_->peerEnded() && !stream_->wasReset()) {
                ErrorCode ignored;
                local_->socket().shutdown(asio::ip::tcp::socket::shutdown_send, ignored);
                co_return true;
            }
            abandon(v2::ResetCode::Timeout);
            co_return false;
        }
        local_->expires_after(c_.limits.pipeIdleTimeout);
        auto [ec, n] = co_await asio::async_write(*local_, asio::buffer(*chunk), kTuple);
        if (ec) {
            failure_ = ec;
            abandon(v2::ResetCode::LocalUnreachable);
            co_return false;
        }
    }
}

// Upgraded stream, app to tunnel, starting with what the app sent right after its 101.
asio::awaitable<bool> V2Exchange::pipeDown() {
    if (buffer_.size() > 0) {
        const std::string early = beast::buffers_to_string(buffer_.data());
        buffer_.consume(buffer_.size());
        if (!co_await stream_->write(early, c_.limits.pipeIdleTimeout)) {
            abandon(v2::ResetCode::Timeout);
            co_return false;
        }
    }
    std::vector<char> chunk(kPipeChunkSize);
    for (;;) {
        local_->expires_after(c_.limits.pipeIdleTimeout);
        auto [ec, n] = co_await local_->async_read_some(asio::buffer(chunk), kTuple);
        if (n > 0 && !co_await stream_->write(std::string_view(chunk.data(), n),
                                              c_.limits.pipeIdleTimeout)) {
            abandon(v2::ResetCode::Timeout);
            co_return false;
        }
        if (ec == asio::error::eof) {
            stream_->finish();
            co_return true;
        }
        if (ec) {
            failure_ = ec;
            abandon(v2::ResetCode::LocalUnreachable);
            co_return false;
        }
    }
}

}  // namespace nexus::client::detail
