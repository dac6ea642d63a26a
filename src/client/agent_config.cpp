// SPDX-License-Identifier: AGPL-3.0-or-later
// What a reload of the agent's configuration may change, and what waits for a restart.
#include "client/agent_config.hpp"

namespace nexus::client {

std::vector<std::string_view> startOnlyChanges(const AgentConfig& running,
                                               const AgentConfig& next) {
    std::vector<std::string_view> changed;
    auto check = [&changed](bool differs, std::string_view option) {
        if (differs) {
            changed.push_back(option);
        }
    };
    check(running.serverText != next.serverText, "--server");
    check(running.slug != next.slug, "--slug");
    check(running.token != next.token, "--token-file");
    check(running.serverName != next.serverName, "--server-name");
    check(running.offerV2 != next.offerV2, "--protocol");
    return changed;
}

bool applyLiveSettings(AgentConfig& running, const AgentConfig& next) {
    const bool moved = running.localHost != next.localHost || running.localPort != next.localPort;
    running.localHost = next.localHost;
    running.localPort = next.localPort;
    running.hostHeader = next.hostHeader;
    running.connectTimeout = next.connectTimeout;
    running.registerTimeout = next.registerTimeout;
    running.heartbeatTimeout = next.heartbeatTimeout;
    running.localTimeout = next.localTimeout;
    running.v2Limits = next.v2Limits;
    return moved;
}

}  // namespace nexus::client
