// SPDX-License-Identifier: AGPL-3.0-or-later
// V1Tunnel: the agent session loop and the visitor side of a v1 request.
#include "server/v1_tunnel.hpp"

#include "common/crypto.hpp"
#include "net/http_headers.hpp"
#include "net/spawn.hpp"
#include "server/forwarding_headers.hpp"
#include "server/host_route.hpp"
#include "server/http_reply.hpp"
#include "server/request_reader.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

#include <fmt/format.h>

namespace nexus::server {

namespace asio = boost::asio;
namespace v1 = protocol::v1;

V1Tunnel::V1Tunnel(ServerContext& context, std::shared_ptr<net::FrameConnection> connection,
                   TunnelInfo info, bool headerList)
    : Tunnel(std::move(info)),
      context_(context),
      connection_(std::move(connection)),
      headerList_(headerList),
      pingTimer_(context.executor) {}

void V1Tunnel::close(ErrorCode reason) {
    if (!closeReason_) {
        closeReason_ = reason;
    }
    connection_->close();
    pingTimer_.cancel();
}

void V1Tunnel::supersede(const std::string& reason) {
    if (!closeReason_) {
        closeReason_ = makeError(Errc::Superseded);
    }
    // What a v1 agent logs; ours recognises it and stops competing for the slug.
    connection_->send(v1::encode(v1::Registered{false, reason, {}}));
    connection_->closeAfterWrites();
    connection_->setIdleTimeout(kSupersededLinger);
    pingTimer_.cancel();
}

asio::awaitable<ErrorCode> V1Tunnel::run() {
    asio::co_spawn(
        context_.executor, [self = shared_from_this()] { return self->pingLoop(); },
        net::reportFailures("the v1 ping loop"));
    for (;;) {
        auto frame = co_await connection_->read();
        if (!frame) {
            close(frame.error());
            break;
        }
        auto message = v1::decodeClientMessage(*frame);
        if (!message) {
            close(message.error());  // no resynchronising after a bad frame
            break;
        }
        dispatch(std::move(*message));
    }
    // Wake every visitor still waiting: their agent is gone.
    for (auto& [id, pending] : pending_) {
        pending->abandon();
    }
    pending_.clear();
    co_return closeReason_;
}

void V1Tunnel::dispatch(v1::ClientMessage message) {
    if (auto* response = std::get_if<v1::Response>(&message)) {
        // An unknown id is a response to a request that already timed out: ignore it.
        if (const auto it = pending_.find(response->id); it != pending_.end()) {
            it->second->complete(std::move(*response));
            pending_.erase(it);
        }
    }
    // heartbeat: the read itself re-armed the idle deadline; a repeated register is ignored.
}

asio::awaitable<void> V1Tunnel::pingLoop() {
    while (connection_->isOpen()) {
        pingTimer_.expires_after(context_.config.pingInterval);
        co_await pingTimer_.async_wait(asio::as_tuple(asio::use_awaitable));
        if (connection_->isOpen()) {
            connection_->send(v1::encode(v1::Ping{}));
        }
    }
}

asio::awaitable<bool> V1Tunnel::serve(HttpExchange& exchange) {
    const auto self = shared_from_this();  // the session may end while we wait
    const bool head = exchange.parser.get().method() == http::verb::head;
    const std::string& slug = info().slug;
    const bool earlyKeepAlive = exchange.keepAliveWithoutBody();
    if (!connection_->isOpen() || pending_.size() >= context_.config.maxPendingV1PerTunnel ||
        connection_->queuedBytes() >= context_.config.maxQueuedBytesPerTunnel) {
        co_return co_await answer(exchange, Answer::Unavailable, earlyKeepAlive, slug);
    }
    // v1 carries a body in one frame: refuse what cannot fit before reading it.
    if (exchange.parser.content_length() && *exchange.parser.content_length() > kMaxBody) {
        co_return co_await answer(exchange, Answer::BodyTooLarge, false);
    }
    // The body fits and the agent is there: a visitor waiting for 100 Continue sends it now
    // rather than after its own timeout (or never).
    if (exchange.expectsContinue() && !co_await writeContinue(exchange.stream)) {
        co_return false;
    }
    net::RequestParser<http::string_body> parser{std::move(exchange.parser)};
    parser.body_limit(kMaxBody);
    exchange.stream.expires_after(std::chrono::seconds(60));
    const ErrorCode ec = co_await readRequestBody(exchange.stream, exchange.buffer, parser);
    if (ec == http::error::body_limit) {
        co_return co_await answer(exchange, Answer::BodyTooLarge, false);
    }
    if (ec) {
        // Bad chunk framing, a body cut short: nothing went to the agent yet.
        co_return co_await answer(exchange, Answer::BadRequest, false);
    }
    auto& request = parser.get();
    const bool keepAlive = request.keep_alive();
    exchange.record.bytesIn += request.body().size();

    auto fields = forwardedRequestFields(request, false, exchange.visitor, context_.requestIds,
                                         exchange.record.id);
    fields.emplace_back(kRequestIdField, exchange.record.id);
    v1::Request message{crypto::uuidV4(),
                        std::string(request.method_string()),
                        std::string(request.target()),
                        std::move(fields),
                        std::move(request.body()),
                        false};
    const std::string json = v1::encode(message);
    if (json.size() > protocol::kMaxFrameSize) {
        co_return co_await answer(exchange, Answer::BodyTooLarge, false);
    }
    auto pending = std::make_shared<PendingResponse>(context_.executor);
    pending_.emplace(message.id, pending);
    if (!connection_->send(json)) {
        pending_.erase(message.id);
        co_return co_await answer(exchange, Answer::Unavailable, keepAlive, slug);
    }
    auto response = co_await pending->wait(context_.config.responseTimeout);
    pending_.erase(message.id);  // a late response finds nothing and is dropped
    if (!response) {
        const bool gone = !connection_->isOpen();
        co_return co_await answer(exchange, gone ? Answer::Unavailable : Answer::NoResponseInTime,
                                  keepAlive, slug);
    }
    co_return co_await replyFromAgent(exchange, *response, head, keepAlive);
}

asio::awaitable<bool> V1Tunnel::replyFromAgent(HttpExchange& exchange, const v1::Response& response,
                                               bool head, bool keepAlive) {
    keepAlive = keepAlive && exchange.relayKeepsAlive();  // a drain began while it waited
    if (response.status < 100 || response.status > 999) {
        co_return co_await answer(exchange, Answer::ResponseBuildError, keepAlive);
    }
    if (response.status < 200) {
        // v1 answers with one final response; an interim 1xx (or a 101: v1 cannot carry an
        // upgrade) written as final would leave the visitor waiting for the real one.
        co_return co_await answer(exchange, Answer::InvalidAgentResponse, false);
    }
    http::response<http::string_body> res{static_cast<http::status>(response.status), 11};
    std::optional<std::string> contentLength;
    for (const auto& [name, value] : response.headers) {
        // Re-frame ourselves and never pass a name or value that could split the response:
        // the front connection is shared by every tenant behind Caddy.
        if (!net::isPassableField(name, value)) {
            continue;
        }
        if (name == "content-length") {
            contentLength = value;
            continue;
        }
        res.insert(name, value);
    }
    res.keep_alive(keepAlive);
    const auto status = static_cast<unsigned>(response.status);
    if (net::responseHasNoBody(status, head)) {
        if (head && contentLength) {
            res.set(http::field::content_length, *contentLength);
        }
    } else {
        res.body() = response.body;
        res.prepare_payload();
    }
    exchange.record.answered(status);
    exchange.stream.expires_after(std::chrono::seconds(60));
    auto [ec, n] =
        co_await http::async_write(exchange.stream, res, asio::as_tuple(asio::use_awaitable));
    if (!ec) {
        exchange.record.bytesOut += res.body().size();
    }
    const bool reusable = !ec && keepAlive;
    co_return reusable;
}

}  // namespace nexus::server
