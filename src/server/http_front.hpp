// SPDX-License-Identifier: AGPL-3.0-or-later
// The visitors' side (behind Caddy on loopback): picks the tunnel by Host, or answers with the
// deployed fallbacks: 302 to the main site, 302 to the directory URL, offline page, 404.
#pragma once

#include "server/directory_api.hpp"
#include "server/forwarding_headers.hpp"
#include "server/server_context.hpp"

#include "net/signal.hpp"

#include <boost/asio/ip/tcp.hpp>

#include <unordered_set>

namespace nexus::server {

class HttpFront {
public:
    explicit HttpFront(ServerContext& context)
        : context_(context), directoryApi_(context), changed_(context.executor) {}

    /// Accepts visitor connections until the acceptor is closed.
    boost::asio::awaitable<void> run(boost::asio::ip::tcp::acceptor& acceptor);

    /// Starts draining (the acceptor is closed by the caller): idle kept-alive connections
    /// close now, a request in flight is answered with Connection: close, requests waiting
    /// for an agent end unanswered. A connection accepted but not yet used still has its
    /// first request served: a client retries a request on a reused connection closed
    /// before any byte of response, not on a new one.
    void drain();
    /// Closes every connection that has no request in flight (the unused ones too).
    void closeIdle();
    enum class Quiet { NoUnused, NoBusy };
    /// Waits until no connection is unused (NoUnused) or none has a request in flight
    /// (NoBusy), or until `deadline`; the number of connections still so.
    boost::asio::awaitable<std::size_t> quiet(Quiet what,
                                              std::chrono::steady_clock::time_point deadline);

private:
    /// A visitor connection as the drain sees it.
    struct Visit {
        net::TimedStream& stream;
        bool busy = false;     ///< a request is in flight
        bool used = false;     ///< a request was answered on it
        bool dropped = false;  ///< closed by the drain while idle
    };
    /// Keeps a Visit listed in visits_ for its scope.
    class Enrolment {
    public:
        Enrolment(HttpFront& front, Visit& visit) : front_(front), visit_(visit) {
            front_.visits_.insert(&visit_);
        }
        ~Enrolment() {
            front_.visits_.erase(&visit_);
            front_.changed();
        }
        Enrolment(const Enrolment&) = delete;
        Enrolment& operator=(const Enrolment&) = delete;

    private:
        HttpFront& front_;
        Visit& visit_;
    };
    boost::asio::awaitable<void> serveConnection(boost::asio::ip::tcp::socket socket);
    /// Forwards the request through `tunnel`; whether the connection may be reused.
    static boost::asio::awaitable<bool> serveThrough(HttpExchange& exchange, Tunnel& tunnel);
    /// Answers one request; `slug` and `tunnel` say who answered, for its event.
    boost::asio::awaitable<bool> route(HttpExchange& exchange, std::string& slug,
                                       std::shared_ptr<Tunnel>& tunnel);
    /// No tunnel for `slug`: waits for its agent if it may come back (tunnel_registry.hpp),
    /// else (or if it does not) the fallback answer.
    boost::asio::awaitable<bool> awaitAgent(HttpExchange& exchange, const std::string& slug,
                                            std::shared_ptr<Tunnel>& tunnel);
    boost::asio::awaitable<bool> fallback(HttpExchange& exchange, const std::string& slug,
                                          const Result<std::optional<std::string>>& url);
    void changed() {
        if (draining_) {
            changed_.notify();
        }
    }
    /// Starts the request's record: method, path without the query, start time.
    static void begin(RequestRecord& record, const http::request_header<net::Fields>& request);
    /// Counts the request on its tunnel and tells the observers.
    void end(const RequestRecord& record, std::string_view slug, Tunnel* tunnel,
             const Visitor& visitor);

    ServerContext& context_;
    DirectoryApi directoryApi_;
    std::unordered_set<Visit*> visits_;
    bool draining_ = false;
    bool accepting_ = false;    ///< run() still waits on its acceptor
    std::size_t starting_ = 0;  ///< accepted, serveConnection not started yet
    net::Signal changed_;       ///< a visit changed while draining
};

}  // namespace nexus::server
