// SPDX-License-Identifier: AGPL-3.0-or-later
// The agents' door: accepts connections, bounds what an unregistered peer may cost (4 KiB,
// one 10 s deadline from accept, the caps of PreAuthCaps), authenticates, and hands the
// session to a tunnel.
#pragma once

#include "net/frame_connection.hpp"
#include "net/transport.hpp"
#include "protocol/v1_messages.hpp"
#include "server/pre_auth_caps.hpp"
#include "server/server_context.hpp"

#include <boost/asio/ip/tcp.hpp>

namespace nexus::server {

class ControlListener {
public:
    explicit ControlListener(ServerContext& context)
        : context_(context),
          caps_({context.config.maxUnauthenticated, context.config.maxUnauthenticatedPerIp}) {}

    /// Accepts until the acceptor is closed. `webSocketOnly`: the loopback door behind a proxy.
    boost::asio::awaitable<void> run(boost::asio::ip::tcp::acceptor& acceptor,
                                     bool webSocketOnly = false);

private:
    /// What a peer sent before the deadline: its connection and register frame, or why not.
    struct Arrival {
        std::shared_ptr<net::FrameConnection> connection;
        protocol::v1::Register hello;
        boost::asio::ip::address ip;   ///< keys the failure limits (see admitWebSocket)
        std::string failure;           ///< set when the peer is to be dropped (already closed)
        bool throughTlsProxy = false;  ///< came in by the WebSocket door behind the TLS proxy
    };

    /// Caps, then everything the peer must do within one deadline from accept, then
    /// authentication and the session.
    boost::asio::awaitable<void> admit(boost::asio::ip::tcp::socket socket, bool webSocketOnly);

    /// Door detection (TLS / plain v1 / WebSocket), the transport's handshake and the
    /// register frame. Cancelled (and everything it opened closed) at the deadline.
    boost::asio::awaitable<Arrival> arrive(boost::asio::ip::tcp::socket socket, bool webSocketOnly,
                                           boost::asio::ip::address ip);

    /// Accepts a WebSocket upgrade; the proxy's X-Forwarded-For (trusted proxies only) stands
    /// for the client address in the failure limits.
    boost::asio::awaitable<Arrival> arriveWebSocket(boost::asio::ip::tcp::socket socket,
                                                    boost::asio::ip::address ip);

    /// Reads the register frame on a transport, whatever its door.
    boost::asio::awaitable<Arrival> readRegister(std::unique_ptr<net::Transport> transport,
                                                 boost::asio::ip::address ip);

    /// Authenticates the register frame and then serves the agent's session.
    boost::asio::awaitable<void> handshake(Arrival arrival, PreAuthCaps::Slot& slot);

    /// A registered agent's session: takes the slug over (or, for an agent that asked for no
    /// takeover, refuses while another session holds it), runs the tunnel, tears it down.
    boost::asio::awaitable<void> serve(Arrival arrival, std::int64_t instance);

    ServerContext& context_;
    PreAuthCaps caps_;
};

}  // namespace nexus::server
