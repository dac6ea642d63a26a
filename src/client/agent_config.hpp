// SPDX-License-Identifier: AGPL-3.0-or-later
// Everything the agent is configured with.
#pragma once

#include "net/connect.hpp"
#include "net/tls.hpp"
#include "net/websocket.hpp"

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace nexus::client {

/// Timeouts of a v2 exchange with the local app: the operator's --response-head-timeout,
/// --stream-idle-timeout and --upgrade-idle-timeout (tests shorten them further).
struct V2Limits {
    /// The local app must send its status line and headers within this, else 504.
    std::chrono::steady_clock::duration headTimeout = std::chrono::seconds(60);
    /// A body that moves is never cut; any one wait (local read or write, tunnel read or
    /// window) longer than this is.
    std::chrono::steady_clock::duration idleTimeout = std::chrono::seconds(120);
    /// An upgraded (WebSocket) stream may stay quiet longer (applications ping well within
    /// it); both directions silent this long close it. The relay has its own, an hour too.
    std::chrono::steady_clock::duration pipeIdleTimeout = std::chrono::hours(1);
};

struct AgentConfig {
    net::HostPort server{"relay.nexusnode.app", 7443};
    std::string serverText = "relay.nexusnode.app:7443";  ///< as given, for logs
    std::string slug;
    std::string token;
    std::string localHost = "127.0.0.1";
    std::uint16_t localPort = 80;
    /// Host header sent to the local app; by default the visitor's own Host passes through.
    std::optional<std::string> hostHeader;

    /// TLS to the relay with verification; null only with --insecure-plaintext, for relays
    /// that speak the deployed plaintext protocol.
    std::shared_ptr<net::ssl::context> tls;
    std::string serverName;  ///< name checked in the relay's certificate (default: its host)
    /// Set when --server is a ws:// or wss:// URL: the WebSocket door instead of TCP.
    std::optional<net::WebSocketUrl> webSocket;

    std::chrono::seconds connectTimeout{8};     ///< per resolved address
    std::chrono::seconds registerTimeout{10};   ///< waiting for `registered`
    std::chrono::seconds heartbeatTimeout{90};  ///< silence after which the relay is dead
    /// The local app must answer within this (below the deployed relay's 15 s wait).
    std::chrono::seconds localTimeout{12};
    V2Limits v2Limits;
    /// --protocol auto: offer v2 in `register` and use it when the relay agrees; false
    /// (--protocol v1) never offers it.
    bool offerV2 = true;
    /// v2 streams (open WebSockets included) at a time; the relay's default is the same.
    std::size_t maxInFlight = 4096;
    /// v1 requests at a time: each holds its whole body in memory.
    std::size_t maxInFlightV1 = 256;
    /// Half the streams in flight: below the usual concurrency, connections would be opened
    /// and closed for every request.
    std::size_t maxIdleLocalConnections = 128;
};

/// The options of `next` that differ from `running` but are read at start only (the relay,
/// the slug and token, TLS, the protocol), as their command-line names: "--server".
std::vector<std::string_view> startOnlyChanges(const AgentConfig& running, const AgentConfig& next);

/// Copies into `running` what can change while the agent runs (a reload): the local address
/// and Host header, the timeouts. Returns whether the local address changed.
bool applyLiveSettings(AgentConfig& running, const AgentConfig& next);

}  // namespace nexus::client
