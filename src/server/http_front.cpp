// SPDX-License-Identifier: AGPL-3.0-or-later
// HttpFront: keep-alive connection loop and routing.
#include "server/http_front.hpp"

#include "net/frame_connection.hpp"
#include "net/http_headers.hpp"
#include "net/transport.hpp"
#include "server/forwarding_headers.hpp"
#include "server/host_route.hpp"
#include "server/http_reply.hpp"
#include "server/request_framing.hpp"
#include "server/request_reader.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/http/error.hpp>

#include <fmt/format.h>

#include <array>
#include <optional>

namespace nexus::server {

namespace asio = boost::asio;
using asio::ip::tcp;

asio::awaitable<void> HttpFront::run(tcp::acceptor& acceptor) {
    for (;;) {
        ErrorCode error;
        auto socket = co_await net::acceptWithPause(acceptor, error);
        if (!socket) {
            co_return;
        }
        if (error) {
            // Out of descriptors must not take every tunnel down: keep accepting.
            context_.log.error(fmt::format("Accept error on the HTTP front: {}", error.message()));
            continue;
        }
        asio::co_spawn(context_.executor, serveConnection(std::move(*socket)), asio::detached);
    }
}

asio::awaitable<void> HttpFront::serveConnection(tcp::socket socket) {
    ErrorCode ec;
    const auto endpoint = socket.remote_endpoint(ec);
    const std::string remote = ec ? "unknown" : net::formatEndpoint(endpoint);
    const Visitor visitor = describeVisitor(endpoint.address(), context_.config.trustedProxies);
    socket.set_option(tcp::no_delay(true), ec);
    net::TimedStream stream(std::move(socket));
    // Bounded: no parser state can make it grow further (request_framing.hpp).
    beast::flat_buffer buffer(kMaxRequestHead);
    buffer.reserve(8 * 1024);  // a request head in one read, not in 512-byte pieces
    net::HeadArena arena;      // declared before the parser: it outlives the fields inside
    std::optional<net::RequestParser<http::empty_body>> parsed;
    for (;;) {
        auto& parser = arena.emplace(parsed);
        configureRequestParser(parser);
        stream.expires_after(std::chrono::seconds(60));  // idle keep-alive and slow headers
        const ErrorCode readError = co_await readRequestHead(stream, buffer, parser);
        if (readError) {
            if (readError == http::error::header_limit) {
                co_await writeText(stream, 431, "Request Header Fields Too Large", false);
            } else if (readError != http::error::end_of_stream &&
                       readError != beast::error::timeout &&
                       readError != asio::error::connection_reset) {
                co_await writeText(stream, 400, "Bad Request", false);
            }
            break;
        }
        const auto framing =
            checkRequestFraming(parser.get(), parser.get().version(), parser.chunked());
        if (framing.status != 0) {
            const std::string_view text = framing.status == 501 ? "Not Implemented" : "Bad Request";
            co_await writeText(stream, framing.status, text, false);
            break;
        }
        if (framing.close) {
            parser.get().keep_alive(false);
        }
        applyForwardingPolicy(parser.get(), visitor);
        HttpExchange exchange{stream, buffer, parser, remote};
        if (!co_await route(exchange)) {
            break;
        }
    }
    // Lingering close: after an early answer (413) the visitor may still be uploading;
    // closing with unread bytes would send a reset that can destroy the answer in flight.
    stream.socket().shutdown(tcp::socket::shutdown_send, ec);
    std::array<char, 16 * 1024> sink{};
    std::size_t drained = 0;
    stream.expires_after(std::chrono::seconds(2));
    while (drained < 16U * 1024U * 1024U) {
        auto [drainError, n] = co_await stream.async_read_some(asio::buffer(sink),
                                                               asio::as_tuple(asio::use_awaitable));
        if (drainError) {
            break;
        }
        drained += n;
    }
}

asio::awaitable<bool> HttpFront::route(HttpExchange& exchange) {
    const auto& request = exchange.parser.get();
    const bool head = request.method() == http::verb::head;
    const bool keepAlive = exchange.keepAliveWithoutBody();
    if (request.count(http::field::host) != 1 || !request.target().starts_with('/')) {
        co_return co_await writeText(exchange.stream, 400, "Bad Request", false);
    }
    const auto slug = slugFromHost(request[http::field::host], context_.config.domain);
    if (!slug || *slug == context_.config.mainSlug) {
        const Reply redirect{.status = 302,
                             .location = context_.config.mainRedirect,
                             .keepAlive = keepAlive,
                             .headOnly = head};
        co_await writeReply(exchange.stream, redirect);
        co_return keepAlive;
    }
    if (auto tunnel = context_.registry.find(*slug)) {
        co_return co_await tunnel->serve(exchange);
    }
    co_return co_await fallback(exchange, *slug);
}

asio::awaitable<bool> HttpFront::fallback(HttpExchange& exchange, const std::string& slug) {
    const auto& request = exchange.parser.get();
    const bool head = request.method() == http::verb::head;
    const bool keepAlive = exchange.keepAliveWithoutBody();
    auto lookup = [slug](directory::Directory& d) { return d.fallbackUrl(slug); };
    auto url = co_await context_.directory.run(std::move(lookup), std::chrono::seconds(3));
    Reply reply{.status = 404, .body = "Not Found", .keepAlive = keepAlive, .headOnly = head};
    if (url && *url) {
        std::string target = **url;
        if (!net::isSafeFieldValue(target)) {
            // A URL that cannot be a header value is not followed.
        } else if (pointsIntoDomain(target, context_.config.domain)) {
            // The directory URL of a relay-hosted instance is the relay itself: redirecting
            // there while its tunnel is down would loop forever.
            reply = Reply{.status = 503,
                          .body = offlinePage(slug),
                          .contentType = "text/html; charset=utf-8",
                          .keepAlive = keepAlive,
                          .headOnly = head};
        } else {
            while (!target.empty() && target.back() == '/') {
                target.pop_back();
            }
            reply = Reply{.status = 302,
                          .location = target + std::string(request.target()),
                          .keepAlive = keepAlive,
                          .headOnly = head};
        }
    }
    co_await writeReply(exchange.stream, reply);
    co_return keepAlive;
}

}  // namespace nexus::server
