// SPDX-License-Identifier: AGPL-3.0-or-later
// A registered agent session as the HTTP front sees it, whatever the protocol version: it is
// handed a visitor's request (header parsed, body unread) and writes the response itself, so
// a streaming protocol can stream and v1 can buffer.
#pragma once

#include "common/error.hpp"
#include "net/head_arena.hpp"
#include "net/http_headers.hpp"
#include "net/timed_stream.hpp"
#include "server/forwarding_headers.hpp"
#include "server/request_record.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/parser.hpp>

#include <array>
#include <chrono>
#include <cstdint>
#include <string>

namespace nexus::server {

namespace beast = boost::beast;
namespace http = beast::http;

/// One visitor request in flight on the HTTP front.
struct HttpExchange {
    net::TimedStream& stream;
    beast::flat_buffer& buffer;
    net::RequestParser<http::empty_body>& parser;  ///< header done, body not yet read
    std::string remote;                            ///< the front's TCP peer (Caddy)
    const Visitor& visitor;  ///< the peer's address and whether it is a trusted proxy
    RequestRecord& record;   ///< what the tunnel answered, for the request's event
    /// The front's draining flag: set, a response still to be written says Connection: close.
    const bool* draining = nullptr;

    /// Whether the response may keep the connection open as far as the relay goes (the
    /// request's own wish is the caller's to add): not once the relay drains.
    bool relayKeepsAlive() const { return draining == nullptr || !*draining; }

    /// Whether the connection may be reused after answering without reading the body: an
    /// unread body would otherwise be parsed as the next request.
    bool keepAliveWithoutBody() const {
        const bool bodyPending =
            parser.chunked() || (parser.content_length() && *parser.content_length() > 0);
        return parser.get().keep_alive() && !bodyPending;
    }

    /// The visitor holds its body back until told to send it (`Expect: 100-continue`, a
    /// case-insensitive token, RFC 9110 §10.1.1). The relay answers it itself: the
    /// expectation is never forwarded.
    bool expectsContinue() const {
        const bool bodyPending =
            parser.chunked() || (parser.content_length() && *parser.content_length() > 0);
        return bodyPending && net::listsToken(parser.get()[http::field::expect], "100-continue");
    }
};

struct TunnelInfo {
    std::string slug;
    std::int64_t instanceId = 0;
    std::string peer;      ///< agent address, "1.2.3.4:5678"
    std::string door;      ///< "tcp", "tls", "ws"
    std::string protocol;  ///< "v1", "v2"
    std::uint64_t sessionId = 0;
    std::chrono::system_clock::time_point since;
    /// The agent's address without port, X-Forwarded-For's behind the WebSocket proxy.
    std::string address;
    /// TLS to the relay itself, or WebSocket through the TLS proxy's door.
    bool encrypted = false;
};

/// What a tunnel has carried, counted by the front as each request ends: plain increments on
/// the event loop thread, read by the status page.
struct TunnelCounters {
    /// Requests by status class: [0] no response went out, [1] 1xx (an upgrade) ... [5] 5xx.
    std::array<std::uint64_t, 6> byClass{};
    std::uint64_t bytesIn = 0;   ///< request bodies (and WebSocket bytes) from visitors
    std::uint64_t bytesOut = 0;  ///< response bodies (and WebSocket bytes) to visitors
    std::uint64_t activeStreams = 0;

    std::uint64_t requests() const {
        std::uint64_t total = 0;
        for (const auto n : byClass) {
            total += n;
        }
        return total;
    }
};

/// How long a superseded session may take to receive why before it is closed anyway.
inline constexpr std::chrono::seconds kSupersededLinger{2};

class Tunnel {
public:
    explicit Tunnel(TunnelInfo info) : info_(std::move(info)) {}
    virtual ~Tunnel() = default;
    Tunnel(const Tunnel&) = delete;
    Tunnel& operator=(const Tunnel&) = delete;

    const TunnelInfo& info() const { return info_; }
    TunnelCounters& counters() { return counters_; }
    const TunnelCounters& counters() const { return counters_; }

    /// Serves the agent's session until it ends; returns why it ended.
    virtual boost::asio::awaitable<ErrorCode> run() = 0;

    /// How long the session may stay silent before it is declared dead.
    virtual std::chrono::seconds idleTimeout() const = 0;

    /// Forwards the visitor's request and writes the response to the visitor.
    /// Returns whether the visitor connection may be reused.
    virtual boost::asio::awaitable<bool> serve(HttpExchange& exchange) = 0;

    /// Ends the session (superseded, revoked, shutting down); in-flight requests fail.
    virtual void close(ErrorCode reason) = 0;

    /// Ends the session because another agent registered the slug, telling the agent so
    /// first (`reason` is a sentence for its log): v1 a failed `registered`, v2 GOAWAY code 2.
    /// In-flight requests fail; the close follows within a few seconds even if the agent
    /// reads nothing.
    virtual void supersede(const std::string& reason) = 0;

    /// The relay is draining (SIGTERM): asks the agent to reconnect after `retryAfter`, while
    /// the requests in flight finish; no new request goes to it. v2 sends GOAWAY code 0; v1
    /// has no way to say it, so a v1 tunnel is simply closed at the end of the drain.
    virtual void goAway(std::chrono::milliseconds retryAfter) { (void)retryAfter; }

private:
    TunnelInfo info_;
    TunnelCounters counters_;
};

}  // namespace nexus::server
