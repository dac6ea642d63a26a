// SPDX-License-Identifier: AGPL-3.0-or-later
// The local app's response, back to the relay: the head read in one pass into a RESPONSE
// frame, then the body as the head frames it, in pieces of one DATA frame at most, so nothing
// is buffered whole. A 101 turns the stream into a byte pipe (net/v2/byte_pipe).
#include "client/v2_exchange_impl.hpp"
#include "client/v2_local_http.hpp"
#include "net/v2/byte_pipe.hpp"
#include "net/v2/direct_send.hpp"

#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/http/read.hpp>

#include <algorithm>
#include <limits>

namespace nexus::client::detail {

namespace {
// One DATA frame, as large as net::sendFromSocket's: a stream that stalls holds it (and the
// 64 KiB read buffer) for as long as it is open, and a tunnel may have thousands of streams.
constexpr std::size_t kChunkSize = 64 * 1024;
// Beast's parser decodes the chunked coding (sizes, extensions, trailers), but only after a
// head: it is given this one, which says no more than what the app's head said already.
constexpr std::string_view kChunkedHead = "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n";
}  // namespace

// Reads until buffer_ holds a whole response head: its size, or nullopt with failure_ set (and
// invalidHead_ for a head larger than allowed).
asio::awaitable<std::optional<std::size_t>> V2Exchange::readHead() {
    for (;;) {
        const std::string_view bytes(static_cast<const char*>(buffer_.data().data()),
                                     buffer_.size());
        const auto size = responseHeadSize(bytes);
        if (size && *size <= kMaxResponseHead) {
            co_return size;
        }
        if (size || bytes.size() >= kMaxResponseHead) {
            failure_ = makeError(Errc::ProtocolViolation);
            invalidHead_ = true;
            co_return std::nullopt;
        }
        // All the room the buffer has: a small body usually arrives with its head.
        const std::size_t room = std::max<std::size_t>(buffer_.capacity() - buffer_.size(), 512);
        auto [ec, n] = co_await local_->async_read_some(buffer_.prepare(room), kTuple);
        buffer_.commit(n);
        gotSome_ = gotSome_ || n > 0;
        if (ec) {
            failure_ = ec;
            co_return std::nullopt;
        }
    }
}

asio::awaitable<bool> V2Exchange::download() {
    buffer_.reserve(16 * 1024);
    gotSome_ = false;
    invalidHead_ = false;
    // One deadline for the final head, interim responses included: an app that sends 1xx
    // after 1xx does not get more time with each.
    local_->expires_after(c_.limits.headTimeout);
    // A response to HEAD has no body, whatever its head announces.
    const bool headRequest = head_.method() == "HEAD";
    std::string frame;
    std::size_t headSize = 0;
    int status = 0;
    Result<LocalBodyFraming> framing = makeError(Errc::ProtocolViolation);
    std::uint64_t length = 0;
    bool webSocketAccepted = false;
    for (int interim = 0;; ++interim) {
        const auto size = co_await readHead();
        if (!size && invalidHead_) {
            co_return co_await refuse("Invalid response from the local server");
        }
        if (!size) {
            co_return co_await failBeforeHead();
        }
        headSize = *size;
        ResponseHeadReader reader(
            std::string_view(static_cast<const char*>(buffer_.data().data()), headSize));
        if (!reader.statusLine()) {
            failure_ = reader.error();
            co_return co_await refuse("Invalid response from the local server");
        }
        status = reader.status();
        if (isInterim(status)) {
            // 100 Continue, 103 Early Hints…: read whole, checked like any head, and dropped,
            // never taken for the answer; a bounded number of them.
            while (reader.nextField()) {
            }
            if (reader.error() || interim == kMaxInterimResponses) {
                failure_ = makeError(Errc::ProtocolViolation);
                co_return co_await refuse("Invalid response from the local server");
            }
            buffer_.consume(headSize);
            continue;
        }
        // A field takes 2 bytes more in the frame than on the wire (6 of lengths against ": "
        // and CRLF) and at least 4 on the wire: one allocation holds the frame.
        frame.reserve(v2::kHeaderSize + 4 + headSize + headSize / 2);
        framing = appendResponseFrame(frame, stream_->id(), reader, headRequest);
        length = reader.contentLength();
        keepAlive_ = reader.keepAlive(headRequest);
        webSocketAccepted = reader.switchesToWebSocket();
        break;
    }
    buffer_.consume(headSize);
    if (!framing) {
        failure_ = framing.error();
        co_return co_await refuse(framing.error() == makeError(Errc::FrameTooLarge)
                                      ? "Response headers too large for this tunnel"
                                      : "Invalid response from the local server");
    }
    const bool switching = status == 101;
    if (switching && !(webSocket_ && webSocketAccepted)) {
        failure_ = makeError(Errc::ProtocolViolation);
        co_return co_await refuse("Invalid upgrade response");
    }
    if (stream_->wasReset()) {
        abandon(v2::ResetCode::Cancel);  // the relay gave up waiting
        co_return false;
    }
    const bool wholeInHead = !switching && *framing == LocalBodyFraming::None;
    if (!mux_->sendResponseFrame(*stream_, std::move(frame), wholeInHead)) {
        failure_ = mux_->isOpen() ? makeError(Errc::FrameTooLarge) : ErrorCode(asio::error::eof);
        co_return co_await refuse("Response headers too large for this tunnel");
    }
    headSent_ = true;
    status_ = status;
    report(RequestEvent::Phase::Head);
    if (switching) {
        upgraded_ = true;
        c_.board.webSocketOpened();
        struct Closed {
            AgentStatusBoard& board;
            ~Closed() { board.webSocketClosed(); }
        } closed{c_.board};
        co_return co_await pipe();
    }
    bool forwarded = true;
    switch (*framing) {
        case LocalBodyFraming::None: break;
        case LocalBodyFraming::Length: forwarded = co_await forwardLength(length); break;
        case LocalBodyFraming::UntilClose:
            forwarded = co_await forwardBuffered(false);
            if (forwarded) {
                forwarded = co_await forwardFromSocket(std::numeric_limits<std::uint64_t>::max());
            }
            break;
        case LocalBodyFraming::Chunked: forwarded = co_await forwardChunked(); break;
    }
    downloadClean_ = forwarded;
    co_return forwarded;
}

// Upgraded stream: the tunnel and the app's connection joined both ways, starting with what
// the app sent right after its 101.
asio::awaitable<bool> V2Exchange::pipe() {
    auto early = beast::buffers_to_string(buffer_.data());
    buffer_.consume(buffer_.size());
    const auto outcome =
        co_await net::pipeUpgraded(*local_, *stream_, std::move(early), c_.limits.pipeIdleTimeout,
                                   v2::ResetCode::LocalUnreachable);
    if (!failure_) {
        // What the log says: the app's own error, or the idle timeout, not the abort after it.
        failure_ = outcome.socketError ? outcome.socketError
                   : outcome.idle      ? makeError(Errc::Timeout)
                                       : ErrorCode();
    }
    if (!outcome.clean) {
        abandon(v2::ResetCode::LocalUnreachable);
    }
    co_return outcome.clean;
}

// The agent's 502 in place of a response it cannot forward; the connection is not reused.
asio::awaitable<bool> V2Exchange::refuse(std::string_view text) {
    co_await answer(502, text);
    // No reset after a whole answer: the relay drops what it has not read yet of a stream
    // that is reset, and the visitor would get nothing (an upgrade's stream stays open on the
    // relay's side until it has the response). wrapUp() resets if the answer did not finish,
    // else waits for the relay's end.
    if (local_) {
        local_->close();
    }
    co_return false;
}

// A body of known length: what came with the head, then the rest straight from the socket.
// Bytes beyond the length stay in buffer_, which keeps the connection out of the pool.
asio::awaitable<bool> V2Exchange::forwardLength(std::uint64_t length) {
    const auto buffered = static_cast<std::size_t>(std::min<std::uint64_t>(buffer_.size(), length));
    if (buffered > 0 && !co_await forwardBuffered(buffered == length, buffered)) {
        co_return false;
    }
    if (buffered == length) {
        co_return true;
    }
    co_return co_await forwardFromSocket(length - buffered);
}

// The first `count` buffered body bytes (all of them by default) as one DATA frame.
asio::awaitable<bool> V2Exchange::forwardBuffered(bool last, std::size_t count) {
    count = std::min(count, buffer_.size());
    if (count == 0) {
        co_return true;
    }
    const std::string_view bytes(static_cast<const char*>(buffer_.data().data()), count);
    if (!co_await stream_->write(bytes, c_.limits.idleTimeout, last)) {
        abandonStalledSend();
        co_return false;
    }
    buffer_.consume(count);
    co_return true;
}

// `remaining` body bytes read from the app's socket straight into DATA frames; the maximum
// stands for "until the app closes the connection", which then ends the body.
asio::awaitable<bool> V2Exchange::forwardFromSocket(std::uint64_t remaining) {
    const bool untilClose = remaining == std::numeric_limits<std::uint64_t>::max();
    // The body buffers are no longer needed, and a download that stalls should not keep them.
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
            if (untilClose && readError == asio::error::eof) {
                stream_->finish();
                co_return true;
            }
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

// A chunked body, decoded piece by piece as the app sends it, then the end with its trailers.
asio::awaitable<bool> V2Exchange::forwardChunked() {
    parser_.emplace();
    parser_->body_limit(boost::none);
    ErrorCode primed;
    parser_->put(asio::buffer(kChunkedHead), primed);
    if (primed || !parser_->is_header_done()) {
        failure_ = primed ? primed : makeError(Errc::ProtocolViolation);
        abandon(v2::ResetCode::LocalUnreachable);
        co_return false;
    }
    for (;;) {
        ErrorCode readError;
        const std::size_t got = co_await readChunk(readError);
        if (got > 0 && !co_await stream_->write(std::string_view(chunk_.get(), got),
                                                c_.limits.idleTimeout, false)) {
            abandonStalledSend();
            co_return false;
        }
        if (readError && readError != http::error::need_buffer) {
            failure_ = readError;
            abandon(v2::ResetCode::LocalUnreachable);
            co_return false;
        }
        if (parser_->is_done()) {
            break;
        }
    }
    stream_->finish(trailerFields(parser_->get().base(), 1));  // after the primed head's field
    co_return true;
}

// The next decoded piece of a chunked body into chunk_: one DATA frame at most. What is
// buffered already is decoded first, without a system call.
asio::awaitable<std::size_t> V2Exchange::readChunk(ErrorCode& ec) {
    if (!chunk_) {
        buffer_.reserve(64 * 1024);  // without room, a large body would cross in small frames
        chunk_ = std::make_unique_for_overwrite<char[]>(kChunkSize);
    }
    auto& body = parser_->get().body();
    body.data = chunk_.get();
    body.size = kChunkSize;
    local_->expires_after(c_.limits.idleTimeout);
    auto [error, n] = co_await http::async_read_some(*local_, buffer_, *parser_, kTuple);
    ec = error;
    co_return kChunkSize - parser_->get().body().size;
}

}  // namespace nexus::client::detail
