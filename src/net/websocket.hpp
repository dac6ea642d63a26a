// SPDX-License-Identifier: AGPL-3.0-or-later
// The WebSocket door, for networks that only let 443 out: the same byte stream as the TCP
// door, carried in binary WebSocket messages (one protocol frame per message when we send;
// any split or packing accepted when we receive, text messages included), as deployed.
#pragma once

#include "net/connect.hpp"
#include "net/tls.hpp"
#include "net/transport.hpp"

#include <chrono>
#include <string>

namespace nexus::net {

/// A parsed ws:// or wss:// relay address.
struct WebSocketUrl {
    bool secure = false;
    HostPort endpoint;   ///< port defaults to 443 (wss) or 80 (ws)
    std::string target;  ///< path and query, "/" if empty
};

/// Parses "wss://host[:port]/path"; nullopt-like error for anything else.
Result<WebSocketUrl> parseWebSocketUrl(std::string_view text);

/// Client: WebSocket handshake on a connected socket (TLS first when `tls` is set).
asio::awaitable<Result<std::unique_ptr<Transport>>> webSocketConnect(
    tcp::socket socket, const WebSocketUrl& url, std::shared_ptr<ssl::context> tls,
    std::string serverName, std::chrono::steady_clock::duration timeout);

/// Server: accepts the upgrade on a plain socket (TLS ends at the proxy in front).
/// `forwardedFor` receives the first X-Forwarded-For address, if any: the caller believes it
/// only from a trusted proxy.
asio::awaitable<Result<std::unique_ptr<Transport>>> webSocketAccept(
    tcp::socket socket, std::chrono::steady_clock::duration timeout, std::string& forwardedFor);

}  // namespace nexus::net
