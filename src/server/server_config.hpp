// SPDX-License-Identifier: AGPL-3.0-or-later
// Everything the relay server is configured with; filled by the command line or config file.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "server/forwarding_headers.hpp"

namespace nexus::server {

struct ServerConfig {
    std::string tcpBind = "[::]";
    std::uint16_t tcpPort = 7443;
    std::string httpBind = "127.0.0.1";
    /// The WebSocket door for a TLS proxy on 443 (plain ws, loopback only); 0 disables it.
    std::uint16_t wsPort = 7002;
    std::string wsBind = "127.0.0.1";
    std::uint16_t httpPort = 7001;
    /// The status listener (/healthz, /status, /metrics), bound and served by the daemon
    /// layer beside the relay; port 0 turns it off. Loopback: it is for the operator's tools.
    std::string statusBind = "127.0.0.1";
    std::uint16_t statusPort = 7071;
    /// /metrics: request counts per slug as well as in total (bounded, see the README).
    bool metricsPerSlug = true;
    std::string domain = "nexusnode.app";
    /// Serve the directory API (register, ping, delete, list) at http://DOMAIN/api/directory
    /// on the HTTP front; off by default.
    bool directoryApi = false;
    std::string mainSlug = "nexusnode";
    std::string mainRedirect = "https://nexusnode.app";
    /// PEM files for TLS on the control port; without them the port serves plain v1 only.
    std::string tlsCertificate;
    std::string tlsKey;
    /// How often the two files are checked for a renewal (then loaded for new connections).
    std::chrono::seconds tlsReloadInterval{5};
    /// Front peers whose X-Forwarded-* headers are believed (Caddy); loopback by default.
    std::vector<AddressRange> trustedProxies = loopbackRanges();

    // The deployed protocol's timings: the agent must register within 10 s of the accept (one
    // deadline for the door, the handshake and the register frame), the relay pings
    // every 30 s, and 90 s without a frame means the session is dead.
    std::chrono::seconds registerTimeout{10};
    std::chrono::seconds pingInterval{30};
    std::chrono::seconds heartbeatTimeout{90};
    /// How long a visitor waits for the agent's answer (the deployed relay's 15 s).
    std::chrono::seconds responseTimeout{15};
    /// Protocol v2: how long the agent has to produce a response head. Streams have no total
    /// limit; the agent's own head timeout (60 s by default) still applies when this is longer.
    std::chrono::seconds responseHeadTimeout{60};
    /// Protocol v2: a moving stream is never cut; one whose body stalls this long in either
    /// direction is (the agent cuts at its own, 120 s by default). Open WebSockets are bound by
    /// upgradeIdleTimeout instead.
    std::chrono::seconds streamIdleTimeout{120};
    /// Protocol v2: an open WebSocket may be quiet for long (applications ping well within
    /// this); nothing either way for this long closes it.
    std::chrono::seconds upgradeIdleTimeout{3600};
    /// How often live tunnels are checked against the directory (revocation within 5 s).
    std::chrono::seconds revocationInterval{2};

    /// SIGTERM: how long requests in flight may take to finish before the relay exits anyway
    /// (RelayServer::drain).
    std::chrono::seconds drainTimeout{10};
    /// How long a visitor's request waits for its slug's agent to come back (a relay restart,
    /// a reconnecting agent) before the usual answer for a slug with no tunnel; 0: no wait.
    std::chrono::seconds agentWait{5};
    /// Requests waiting so for one slug, and in total; beyond, the usual answer at once.
    std::size_t maxAgentWaitsPerSlug = 64;
    std::size_t maxAgentWaits = 1024;

    /// Offer protocol v2 (streams, flow control) to agents that ask for it.
    bool offerV2 = true;

    /// Connections not yet registered, in total; at this many the largest caller's oldest is
    /// evicted for a newcomer (PreAuthCaps, docs/security.md).
    std::size_t maxUnauthenticated = 512;
    std::size_t maxUnauthenticatedPerIp = 16;  ///< ... from one IPv4 address or IPv6 /64
    /// v2 streams (open WebSockets included) on one agent at a time; their buffers are bound
    /// by the connection window, not by their number.
    std::size_t maxInFlightPerTunnel = 4096;
    /// v1 requests waiting on one agent: each may hold a whole body in memory.
    std::size_t maxPendingV1PerTunnel = 256;
    std::size_t maxQueuedBytesPerTunnel = 64U << 20U;  ///< frames waiting to be written
};

/// The options of `next` that differ from `running` but are read at start only (listen
/// addresses, TLS files, the status pages), as their command-line names: "--http-port".
std::vector<std::string_view> startOnlyChanges(const ServerConfig& running,
                                               const ServerConfig& next);

/// Copies into `running` what can change while the relay runs (a reload): timeouts, trusted
/// proxies, the domain and main slug, limits. New connections and requests see the new values;
/// tunnels and requests already under way keep the ones they started with.
void applyLiveSettings(ServerConfig& running, const ServerConfig& next);

}  // namespace nexus::server
