// SPDX-License-Identifier: AGPL-3.0-or-later
// dial(): the connection to the relay through each door.
#include "client/dial.hpp"

#include "net/connect.hpp"
#include "net/tls.hpp"
#include "net/websocket.hpp"

#include <fmt/format.h>

namespace nexus::client {

std::string doorOf(const AgentConfig& config) {
    if (config.webSocket) {
        return config.webSocket->secure ? "wss" : "ws";
    }
    return config.tls ? "tls" : "tcp";
}

boost::asio::awaitable<Result<Dialed>> dial(const AgentConfig& config, std::string& failure) {
    auto socket = co_await net::connectAny(config.server, config.connectTimeout);
    if (!socket) {
        failure = fmt::format("Connection failed: {}", socket.error().message());
        co_return socket.error();
    }
    Dialed dialed{nullptr, doorOf(config), false};
    Result<std::unique_ptr<net::Transport>> transport = nullptr;
    std::string_view step;
    if (config.webSocket) {
        step = "WebSocket handshake";
        dialed.encrypted = config.webSocket->secure;
        transport =
            co_await net::webSocketConnect(std::move(*socket), *config.webSocket, config.tls,
                                           config.serverName, config.connectTimeout);
    } else if (config.tls) {
        step = "TLS handshake";
        dialed.encrypted = true;
        transport = co_await net::tlsConnect(std::move(*socket), config.tls, config.serverName,
                                             config.connectTimeout);
    } else {
        transport = net::makeTcpTransport(std::move(*socket));
    }
    if (!transport) {
        failure = fmt::format("{} with {} failed: {}", step, config.serverText,
                              net::describeTlsError(transport.error()));
        co_return transport.error();
    }
    dialed.transport = std::move(*transport);
    co_return dialed;
}

}  // namespace nexus::client
