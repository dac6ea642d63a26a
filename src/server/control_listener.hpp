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

    /// Accepts until the acceptor is closed.
    boost::asio::awaitable<void> run(boost::asio::ip::tcp::acceptor& acceptor);

    /// Registers and then serves one agent connection, whatever its door.
    boost::asio::awaitable<void> handshake(std::unique_ptr<net::Transport> transport);

private:
    class PreAuthSlot;

    ServerContext& context_;
    std::size_t unauthenticated_ = 0;
    std::map<boost::asio::ip::address, std::size_t> unauthenticatedByIp_;
};

}  // namespace nexus::server
