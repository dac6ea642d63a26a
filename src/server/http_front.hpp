// SPDX-License-Identifier: AGPL-3.0-or-later
// The visitors' side (behind Caddy on loopback): picks the tunnel by Host, or answers with the
// deployed fallbacks: 302 to the main site, 302 to the directory URL, offline page, 404.
#pragma once

#include "server/forwarding_headers.hpp"
#include "server/server_context.hpp"

#include <boost/asio/ip/tcp.hpp>

namespace nexus::server {

class HttpFront {
public:
    explicit HttpFront(ServerContext& context) : context_(context) {}

    /// Accepts visitor connections until the acceptor is closed.
    boost::asio::awaitable<void> run(boost::asio::ip::tcp::acceptor& acceptor);

private:
    boost::asio::awaitable<void> serveConnection(boost::asio::ip::tcp::socket socket);
    /// Answers one request; `slug` and `tunnel` say who answered, for its event.
    boost::asio::awaitable<bool> route(HttpExchange& exchange, std::string& slug,
                                       std::shared_ptr<Tunnel>& tunnel);
    boost::asio::awaitable<bool> fallback(HttpExchange& exchange, const std::string& slug);
    /// Starts the request's record: method, path without the query, start time.
    static void begin(RequestRecord& record, const http::request_header<net::Fields>& request);
    /// Counts the request on its tunnel and tells the observers.
    void end(const RequestRecord& record, std::string_view slug, Tunnel* tunnel,
             const Visitor& visitor);

    ServerContext& context_;
};

}  // namespace nexus::server
