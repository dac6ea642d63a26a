// SPDX-License-Identifier: AGPL-3.0-or-later
// What setup decides for the agent, and /etc/nexus-relay/client.conf written from it: the
// agent's own "name = value" settings (systemd/examples/client.conf), never the token.
#pragma once

#include <string>

namespace nexus::ctl {

struct AgentSettings {
    std::string server;  ///< host:port of the control port, or wss://HOST/tunnel
    std::string slug;
    std::string localHost = "127.0.0.1";
    unsigned localPort = 80;
    std::string caFile;  ///< a private CA for the relay's certificate; empty: the system's
};

/// The directory's slug rule (lowercase letters, digits, inner hyphens, 3 to 63 characters).
bool validSlug(const std::string& slug);

/// The client.conf for `settings`, or an empty string and `error` when a value cannot be
/// written as one setting (a newline or a quote in it).
std::string renderClientConf(const AgentSettings& settings, std::string& error);

}  // namespace nexus::ctl
