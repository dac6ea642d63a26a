// SPDX-License-Identifier: AGPL-3.0-or-later
// One dial to the relay, whatever the door: TCP, then TLS (the default), nothing more
// (--insecure-plaintext), or a WebSocket upgrade (ws:// and wss:// addresses).
#pragma once

#include "client/agent_config.hpp"
#include "net/transport.hpp"

#include <memory>
#include <string>

namespace nexus::client {

struct Dialed {
    std::unique_ptr<net::Transport> transport;
    std::string door;  ///< "tcp", "tls", "ws", "wss"
    bool encrypted = false;
};

/// The door `config` names: "tcp", "tls", "ws" or "wss".
std::string doorOf(const AgentConfig& config);

/// Connects and completes the door's handshake within the configured deadlines. On failure
/// the error says which step failed and why, in words for the operator:
/// "Connection failed: …", "TLS handshake with HOST:PORT failed: …" (what answered when it
/// was not a relay, see net::describeTlsError), "WebSocket handshake with … failed: …".
boost::asio::awaitable<Result<Dialed>> dial(const AgentConfig& config, std::string& failure);

}  // namespace nexus::client
