// SPDX-License-Identifier: AGPL-3.0-or-later
// The agents' door: accepts connections, bounds what an unregistered peer may cost (4 KiB,
// 10 s, a connection cap per address), authenticates, and hands the session to a tunnel.
#pragma once

#include "net/transport.hpp"
#include "server/server_context.hpp"

#include <boost/asio/ip/tcp.hpp>

#include <map>

namespace nexus::server {

class ControlListener {
public:
    explicit ControlListener(ServerContext& context) : context_(context) {}

    /// Accepts until the acceptor is closed. `webSocketOnly`: the loopback door behind a proxy.
    boost::asio::awaitable<void> run(boost::asio::ip::tcp::acceptor& acceptor,
                                     bool webSocketOnly = false);

private:
    class PreAuthSlot;

    /// Caps, door detection (TLS / plain v1) and the TLS handshake of a new connection.
    boost::asio::awaitable<void> admit(boost::asio::ip::tcp::socket socket, bool webSocketOnly);

    /// Accepts a WebSocket upgrade, then registers; the proxy's X-Forwarded-For (loopback
    /// peers only) stands for the client address in the failure limits.
    boost::asio::awaitable<void> admitWebSocket(boost::asio::ip::tcp::socket socket,
                                                boost::asio::ip::address ip, PreAuthSlot& slot);

    /// Registers and then serves one agent connection, whatever its door. `ip` keys the
    /// failure limits.
    boost::asio::awaitable<void> handshake(std::unique_ptr<net::Transport> transport,
                                           boost::asio::ip::address ip, PreAuthSlot& slot);

    ServerContext& context_;
    std::size_t unauthenticated_ = 0;
    std::map<boost::asio::ip::address, std::size_t> unauthenticatedByIp_;
};

}  // namespace nexus::server
