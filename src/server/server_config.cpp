// SPDX-License-Identifier: AGPL-3.0-or-later
// What a reload of the relay's configuration may change, and what waits for a restart.
#include "server/server_config.hpp"

namespace nexus::server {

std::vector<std::string_view> startOnlyChanges(const ServerConfig& running,
                                               const ServerConfig& next) {
    std::vector<std::string_view> changed;
    auto check = [&changed](bool differs, std::string_view option) {
        if (differs) {
            changed.push_back(option);
        }
    };
    check(running.tcpBind != next.tcpBind, "--tcp-bind");
    check(running.tcpPort != next.tcpPort, "--tcp-port");
    check(running.httpBind != next.httpBind, "--http-bind");
    check(running.httpPort != next.httpPort, "--http-port");
    check(running.wsPort != next.wsPort, "--ws-port");
    check(running.statusBind != next.statusBind || running.statusPort != next.statusPort,
          "--status-listen");
    check(running.metricsPerSlug != next.metricsPerSlug, "--metrics-per-slug");
    check(running.tlsCertificate != next.tlsCertificate, "--tls-cert");
    check(running.tlsKey != next.tlsKey, "--tls-key");
    check(running.offerV2 != next.offerV2, "--protocol");
    return changed;
}

void applyLiveSettings(ServerConfig& running, const ServerConfig& next) {
    running.domain = next.domain;
    running.directoryApi = next.directoryApi;
    running.mainSlug = next.mainSlug;
    running.mainRedirect = next.mainRedirect;
    running.tlsReloadInterval = next.tlsReloadInterval;
    running.trustedProxies = next.trustedProxies;
    running.registerTimeout = next.registerTimeout;
    running.pingInterval = next.pingInterval;
    running.heartbeatTimeout = next.heartbeatTimeout;
    running.responseTimeout = next.responseTimeout;
    running.responseHeadTimeout = next.responseHeadTimeout;
    running.streamIdleTimeout = next.streamIdleTimeout;
    running.upgradeIdleTimeout = next.upgradeIdleTimeout;
    running.revocationInterval = next.revocationInterval;
    running.maxUnauthenticated = next.maxUnauthenticated;
    running.maxUnauthenticatedPerIp = next.maxUnauthenticatedPerIp;
    running.maxInFlightPerTunnel = next.maxInFlightPerTunnel;
    running.maxPendingV1PerTunnel = next.maxPendingV1PerTunnel;
    running.maxQueuedBytesPerTunnel = next.maxQueuedBytesPerTunnel;
    running.drainTimeout = next.drainTimeout;
    running.agentWait = next.agentWait;
    running.maxAgentWaitsPerSlug = next.maxAgentWaitsPerSlug;
    running.maxAgentWaits = next.maxAgentWaits;
}

}  // namespace nexus::server
