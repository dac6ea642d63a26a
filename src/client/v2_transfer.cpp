// SPDX-License-Identifier: AGPL-3.0-or-later
// The bytes of a v2 exchange: request head and body to the local app, its response head and
// body back to the relay (read in pieces of one DATA frame, so nothing is buffered whole), and
// the two halves of an upgraded (WebSocket) pipe.
#include "client/v2_exchange_impl.hpp"
#include "client/v2_local_http.hpp"
#include "net/http_headers.hpp"
#include "net/v2_direct_send.hpp"

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/http/read.hpp>

#include <algorithm>
#include <array>
#include <iterator>
#include <tuple>
#include <vector>

namespace nexus::client::detail {

using namespace asio::experimental::awaitable_operators;

namespace {
// One DATA frame, as large as net::sendFromSocket's: a stream that stalls holds it (and the
// 64 KiB read buffer) for as long as it is open, and a tunnel may have thousands of streams.
constexpr std::size_t kChunkSize = 64 * 1024;
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
    const auto declared = v2::contentLength(head_.headers);
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

asio::awaitable<bool> V2Exchange::download() {
    // Beast reads at most the buffer's free capacity (at least 512 bytes) per system call:
    // room for a head and a small body here, more once a body turns out large (readBody).
    buffer_.reserve(16 * 1024);
    for (;;) {
        arena_.emplace(parser_);
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
    const int status = static_cast<int>(response.result_int());
    keepAlive_ = parser_->keep_alive() && !parser_->need_eof();
    const bool switching = status == 101;
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
    headerFields_ = static_cast<std::size_t>(std::distance(response.begin(), response.end()));
    // The app often sends the body (or its start) with the head: what is already buffered is
    // parsed without a system call, so the head, the data and the end leave in one write.
    std::size_t got = 0;
    ErrorCode readError;
    const bool prefetch = !switching && !noBody && buffer_.size() > 0;
    if (prefetch) {
        got = co_await readBody(readError);
    }
    const bool wholeInHead =
        !switching && (noBody || (parser_->is_done() && got == 0 && !parser_->chunked()));
    std::string frame;
    if (!appendResponseFrame(frame, stream_->id(), response.base(), headerFields_, wholeInHead) ||
        !mux_->sendResponseFrame(*stream_, std::move(frame), wholeInHead)) {
        failure_ = mux_->isOpen() ? makeError(Errc::FrameTooLarge) : ErrorCode(asio::error::eof);
        co_await answer(502, "Response headers too large for this tunnel");
        abandon(v2::ResetCode::Cancel);
        co_return false;
    }
    headSent_ = true;
    status_ = status;
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
    if (!wholeInHead && !co_await forwardBody(prefetch, got, readError)) {
        co_return false;
    }
    downloadClean_ = true;
    co_return true;
}

// The response body, piece by piece as the app sends it, then the end (with the trailers of a
// chunked body). The first piece may have been read with the head.
asio::awaitable<bool> V2Exchange::forwardBody(bool prefetched, std::size_t got,
                                              ErrorCode readError) {
    if (!prefetched) {
        got = co_await readBody(readError);
    }
    for (;;) {
        const bool done = parser_->is_done();
        const bool last = done && !parser_->chunked();  // a chunked end may carry trailers
        if (got > 0 && !co_await stream_->write(std::string_view(chunk_.get(), got),
                                                c_.limits.idleTimeout, last)) {
            abandonStalledSend();
            co_return false;
        }
        if (readError && readError != http::error::need_buffer) {
            failure_ = readError;
            abandon(v2::ResetCode::LocalUnreachable);
            co_return false;
        }
        if (done) {
            break;
        }
        if (!parser_->chunked() && parser_->content_length() && buffer_.size() == 0) {
            co_return co_await forwardRest(*parser_->content_length_remaining());
        }
        got = co_await readBody(readError);
    }
    if (!stream_->finished()) {
        stream_->finish(trailerFields(parser_->get().base(), headerFields_));
    }
    co_return true;
}

// The rest of a body of known length (nothing left in the parser's buffer), read from the app's
// socket straight into DATA frames.
asio::awaitable<bool> V2Exchange::forwardRest(std::uint64_t remaining) {
    // The rest goes socket to frame: the body buffers are no longer needed, and a download
    // that stalls should not keep them.
    chunk_.reset();
    buffer_.shrink_to_fit();
    ErrorCode readError;
    switch (co_await net::sendFromSocket(*stream_, *local_, remaining, c_.limits.idleTimeout,
                                         readError)) {
        case net::DirectSendEnd::Complete: co_return true;
        case net::DirectSendEnd::NoWindow: abandonStalledSend(); break;
        case net::DirectSendEnd::StreamClosed:
            failure_ = asio::error::operation_aborted;
            abandon(v2::ResetCode::Cancel);
            break;
        case net::DirectSendEnd::ReadFailed:
            failure_ = readError;  // eof included: the app closed before its announced length
            abandon(v2::ResetCode::LocalUnreachable);
            break;
    }
    co_return false;
}

// Sending body bytes to the relay failed: it reset the stream, or no window opened in time.
void V2Exchange::abandonStalledSend() {
    failure_ =
        stream_->wasReset() ? ErrorCode(asio::error::operation_aborted) : makeError(Errc::Timeout);
    abandon(v2::ResetCode::Timeout);
}

// The next piece of the response body into chunk_: one DATA frame at most, and no more than
// a small body needs.
asio::awaitable<std::size_t> V2Exchange::readBody(ErrorCode& ec) {
    if (!chunk_) {
        const auto length = parser_->content_length();
        if (!length || *length > 16 * 1024) {
            buffer_.reserve(64 * 1024);  // without room, a large body would cross in small frames
        }
        chunkSize_ =
            length ? static_cast<std::size_t>(std::clamp<std::uint64_t>(*length, 1, kChunkSize))
                   : kChunkSize;
        chunk_ = std::make_unique_for_overwrite<char[]>(chunkSize_);
    }
    const std::size_t capacity = chunkSize_;
    auto& body = parser_->get().body();
    body.data = chunk_.get();
    body.size = capacity;
    local_->expires_after(c_.limits.idleTimeout);
    auto [error, n] = co_await http::async_read_some(*local_, buffer_, *parser_, kTuple);
    ec = error;
    co_return capacity - parser_->get().body().size;
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
    const auto chunk = std::make_unique_for_overwrite<char[]>(kPipeChunkSize);
    for (;;) {
        local_->expires_after(c_.limits.pipeIdleTimeout);
        auto [ec, n] =
            co_await local_->async_read_some(asio::buffer(chunk.get(), kPipeChunkSize), kTuple);
        if (n > 0 &&
            !co_await stream_->write(std::string_view(chunk.get(), n), c_.limits.pipeIdleTimeout)) {
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
