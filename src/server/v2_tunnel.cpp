// SPDX-License-Identifier: AGPL-3.0-or-later
// V2Tunnel: the visitor side of a v2 stream — request head and body up, response down,
// re-framed by the relay itself (the raw pipe after a 101 is in v2_tunnel_pipe.cpp).
#include "server/v2_tunnel.hpp"

#include "net/http_headers.hpp"
#include "net/v2/direct_send.hpp"
#include "server/forwarding_headers.hpp"
#include "server/host_route.hpp"
#include "server/http_reply.hpp"
#include "server/request_reader.hpp"
#include "server/response_framing.hpp"
#include "server/response_writer.hpp"
#include "server/v2_request_frame.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/error.hpp>

#include <fmt/format.h>

#include <iterator>

namespace nexus::server {

namespace asio = boost::asio;
namespace v2 = protocol::v2;
using namespace boost::asio::experimental::awaitable_operators;
using asio::ip::tcp;

V2Tunnel::V2Tunnel(ServerContext& context, std::shared_ptr<net::FrameConnection> connection,
                   TunnelInfo info)
    : Tunnel(std::move(info)),
      context_(context),
      mux_(std::make_shared<net::V2Mux>(context.executor, std::move(connection))) {
    mux_->onStalledReset(
        [&log = context.log, slug = this->info().slug](std::size_t streams, std::int64_t bytes) {
            log.warning(fmt::format("Reset {} responses of {} whose visitors read nothing for {} s "
                                    "({} KiB unread): the tunnel's {} MiB buffer was full",
                                    streams, slug, net::V2Mux::kStallLimit.count(), bytes / 1024,
                                    net::V2Mux::kBufferBudget >> 20),
                        {{"NEXUS_SLUG", slug}});
        });
}

void V2Tunnel::close(ErrorCode reason) {
    mux_->close(reason);
}

void V2Tunnel::supersede(const std::string& reason) {
    mux_->closeWithGoaway(v2::GoawayCode::Superseded, reason, makeError(Errc::Superseded),
                          kSupersededLinger);
}

void V2Tunnel::goAway(std::chrono::milliseconds retryAfter) {
    mux_->goAway(v2::GoawayCode::Shutdown, static_cast<std::uint32_t>(retryAfter.count()),
                 "The relay is restarting");
}

asio::awaitable<ErrorCode> V2Tunnel::run() {
    return mux_->run();
}

namespace {

bool isWebSocketUpgrade(const net::Fields& fields) {
    return net::listsToken(fields[http::field::upgrade], "websocket") &&
           net::listsToken(fields[http::field::connection], "upgrade");
}

// The relay's own answer when a stream ends before its RESPONSE (docs/protocol.md §4.6).
Answer failureBeforeHead(const net::V2Stream& stream, bool tunnelOpen) {
    if (!tunnelOpen) {
        return Answer::Unavailable;
    }
    const auto code = stream.peerResetCode();
    if (!code || *code == v2::ResetCode::Timeout) {
        return Answer::NoResponseInTime;  // no answer, or the agent's timeout
    }
    if (*code == v2::ResetCode::Refused) {
        return Answer::Unavailable;  // not processed: the visitor may retry
    }
    return Answer::LocalUnreachable;
}

}  // namespace

asio::awaitable<bool> V2Tunnel::serve(HttpExchange& exchange) {
    const auto self = shared_from_this();
    const auto& request = exchange.parser.get();
    const bool head = request.method() == http::verb::head;
    const bool keepAlive = request.keep_alive();
    const bool upgrade = isWebSocketUpgrade(request);
    const bool hasBody = exchange.parser.chunked() || (exchange.parser.content_length() &&
                                                       *exchange.parser.content_length() > 0);
    if (mux_->streamCount() >= context_.config.maxInFlightPerTunnel) {
        co_return co_await answer(exchange, Answer::Unavailable, exchange.keepAliveWithoutBody(),
                                  info().slug);
    }
    ErrorCode refused;
    const bool endStream = !hasBody && !upgrade;
    auto stream = mux_->openStreamWith(
        [&](std::string& frame, std::uint32_t id) {
            return appendForwardedRequest(frame, id, request.method_string(), request.target(),
                                          request, upgrade, endStream, exchange.visitor,
                                          context_.requestIds, exchange.record.id);
        },
        endStream, &refused);
    if (!stream && refused) {
        // The front took the head, but it cannot cross as one REQUEST frame (the fields take
        // more room there, and the forwarding fields add some): refused here, not by the agent.
        const bool tooLarge = refused == makeError(Errc::FrameTooLarge);
        co_return co_await answer(exchange, tooLarge ? Answer::HeadersTooLarge : Answer::BadRequest,
                                  false);
    }
    if (!stream) {
        co_return co_await answer(exchange, Answer::Unavailable, exchange.keepAliveWithoutBody(),
                                  info().slug);
    }
    // The tunnel is there: let the visitor send the body now.
    if (exchange.expectsContinue() && !co_await writeContinue(exchange.stream)) {
        stream->reset(v2::ResetCode::Cancel);
        co_return false;
    }
    std::string key = upgrade ? std::string(request["Sec-WebSocket-Key"]) : std::string();
    UploadState uploadState{.done = !hasBody};
    if (!hasBody) {
        const bool kept = co_await download(exchange, stream, head, keepAlive, uploadState, key);
        co_return kept;
    }
    auto [uploaded, kept] =
        co_await (upload(exchange, stream, uploadState) &&
                  download(exchange, stream, head, keepAlive, uploadState, key));
    const bool reusable = uploaded && kept;
    co_return reusable;
}

asio::awaitable<bool> V2Tunnel::upload(HttpExchange& exchange,
                                       const std::shared_ptr<net::V2Stream>& stream,
                                       UploadState& state) {
    if (!exchange.parser.chunked() && exchange.parser.content_length()) {
        const auto end =
            co_await uploadKnownLength(exchange, *stream, *exchange.parser.content_length());
        const bool ok = end == net::DirectSendEnd::Complete;
        if (ok) {
            exchange.record.bytesIn += *exchange.parser.content_length();
        }
        state.done = true;
        state.malformed = end == net::DirectSendEnd::ReadFailed;
        // After the agent's reset the stream's answer may still be on its way to the visitor:
        // resetting again would throw it away.
        if (!ok && !stream->wasReset()) {
            stream->reset(v2::ResetCode::Cancel);
        }
        co_return ok;
    }
    net::RequestParser<http::buffer_body> parser{std::move(exchange.parser)};
    parser.body_limit(boost::none);  // streamed, never buffered: no size limit needed
    // A read takes at most the buffer's free capacity (at least 512 bytes) per system call.
    exchange.buffer.reserve(64 * 1024);
    const std::size_t size = 64 * 1024;
    const auto buffer = std::make_unique_for_overwrite<char[]>(size);
    bool ok = true;
    while (!parser.is_done() && !stream->wasReset()) {
        parser.get().body().data = buffer.get();
        parser.get().body().size = size;
        exchange.stream.expires_after(context_.config.streamIdleTimeout);
        const ErrorCode ec = co_await readRequestBody(exchange.stream, exchange.buffer, parser);
        if (ec && ec != http::error::need_buffer) {
            ok = false;
            state.malformed = true;
            break;
        }
        const std::size_t got = size - parser.get().body().size;
        exchange.record.bytesIn += got;
        if (got > 0 && !co_await stream->write(std::string_view(buffer.get(), got),
                                               context_.config.streamIdleTimeout)) {
            ok = false;
            break;
        }
    }
    state.done = true;
    if (stream->wasReset()) {
        co_return false;  // the agent's reset: the answer may still be on its way (see above)
    }
    if (ok) {
        stream->finish();
    } else {
        stream->reset(v2::ResetCode::Cancel);
    }
    co_return ok;
}

// A body of known length: the bytes that came with the head go first, the rest is read from
// the visitor's socket straight into DATA frames, never past the body (a pipelined request
// after it stays in the buffer for the front).
asio::awaitable<net::DirectSendEnd> V2Tunnel::uploadKnownLength(HttpExchange& exchange,
                                                                net::V2Stream& stream,
                                                                std::uint64_t length) {
    const auto early =
        static_cast<std::size_t>(std::min<std::uint64_t>(length, exchange.buffer.size()));
    if (early > 0) {
        const std::string_view bytes(static_cast<const char*>(exchange.buffer.data().data()),
                                     early);
        if (!co_await stream.write(bytes, context_.config.streamIdleTimeout, early == length)) {
            co_return net::DirectSendEnd::StreamClosed;
        }
        exchange.buffer.consume(early);
    }
    if (early == length) {
        co_return net::DirectSendEnd::Complete;
    }
    ErrorCode readError;
    co_return co_await net::sendFromSocket(stream, exchange.stream, length - early,
                                           context_.config.streamIdleTimeout, readError);
}

asio::awaitable<bool> V2Tunnel::download(HttpExchange& exchange,
                                         const std::shared_ptr<net::V2Stream>& stream, bool head,
                                         bool keepAlive, const UploadState& upload,
                                         const std::string& webSocketKey) {
    auto response = co_await stream->responseHead(context_.config.responseHeadTimeout);
    if (!response && upload.malformed) {
        // The upload reset the stream: the request was the visitor's fault, not the tunnel's.
        co_return co_await answer(exchange, Answer::BadRequest, false);
    }
    if (!response) {
        const Answer failure = failureBeforeHead(*stream, mux_->isOpen());
        stream->reset(v2::ResetCode::Timeout);
        co_return co_await answer(exchange, failure, keepAlive && upload.done, info().slug);
    }
    if (response->status == 101) {
        co_return co_await pipe(exchange, stream, *response, webSocketKey);
    }
    if (response->status < 200) {
        // Only a final response (or a 101, checked above) may cross (docs/protocol.md §4.6):
        // written as final, an interim one would leave the visitor waiting for the real one.
        stream->reset(v2::ResetCode::ProtocolError);
        co_return co_await answer(exchange, Answer::InvalidAgentResponse, false);
    }
    const auto framing = chooseFraming(*response, head, keepAlive && exchange.relayKeepsAlive(),
                                       exchange.parser.get().version());
    exchange.record.answered(static_cast<unsigned>(response->status));
    ResponseWriter writer{exchange, *stream, framing, context_.config.streamIdleTimeout};
    writer.prepend(responseHeadText(*response, framing));
    // The head goes out at once unless body bytes are already here to go with it: a stream of
    // events must show its head before its first event.
    if (framing.body != BodyFraming::None && !stream->hasInbound() && !stream->peerEnded() &&
        !co_await writer.flush()) {
        stream->reset(v2::ResetCode::Cancel);
        co_return false;
    }
    const bool complete = co_await writer.copyBody();
    if (!complete) {
        stream->reset(v2::ResetCode::Cancel);
        // A reset, never a FIN: a body delimited by the close would otherwise look complete,
        // and a client that does not check a length or the last chunk would keep the part.
        exchange.stream.abort();
        co_return false;
    }
    stream->finish();
    if (!upload.done) {
        stream->reset(v2::ResetCode::Cancel);  // answered early: stop taking the body
    }
    co_return framing.keepAlive&& upload.done;
}

}  // namespace nexus::server
