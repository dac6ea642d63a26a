// SPDX-License-Identifier: AGPL-3.0-or-later
// The `server` subcommand's options (server_options.hpp).
#include "cli/server_options.hpp"

#include "net/connect.hpp"
#include "server/forwarding_headers.hpp"

namespace nexus {

void ServerOptions::attach(CLI::App& app) {
    auto& c = config;
    app.add_option("--tcp-port", c.tcpPort, "Control port the agents dial")
        ->capture_default_str()
        ->check(portNumber(1));
    app.add_option("--tcp-bind", c.tcpBind, "Address of the control port ([::] is dual-stack)")
        ->capture_default_str()
        ->envname("RELAY_TCP_BIND");
    app.add_option("--http-port", c.httpPort, "Port of the HTTP front that Caddy proxies to")
        ->capture_default_str()
        ->check(portNumber(1));
    app.add_option("--http-bind", c.httpBind, "Address of the HTTP front (keep it loopback)")
        ->capture_default_str();
    app.add_option("--ws-port", c.wsPort,
                   "WebSocket door on loopback, for a TLS proxy on 443 (0: off)")
        ->capture_default_str()
        ->check(portNumber(0));
    app.add_option("--domain", c.domain, "Visitors reach SLUG.DOMAIN")->capture_default_str();
    app.add_option("--main-slug", c.mainSlug, "The relay's own site: never tunnelled")
        ->capture_default_str()
        ->envname("RELAY_MAIN_SLUG");
    app.add_option("--main-redirect", c.mainRedirect,
                   "Where the main slug and unknown hosts are redirected")
        ->capture_default_str();
    app.add_flag("--directory-api", c.directoryApi,
                 "Serve the directory API (register, ping, delete, list) at "
                 "http://DOMAIN/api/directory on the HTTP front");
    directory.attach(app);
    app.add_option("--trusted-proxy", trustedProxies,
                   "Address or range whose X-Forwarded-* headers are believed (repeatable; "
                   "default: loopback)")
        ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
    app.add_option("--tls-cert", c.tlsCertificate,
                   "PEM certificate chain for TLS on the control port");
    app.add_option("--tls-key", c.tlsKey, "PEM private key of --tls-cert");
    app.add_option("--protocol", protocol,
                   "auto: offer protocol v2 to agents that ask; v1: the deployed protocol only")
        ->capture_default_str()
        ->check(CLI::IsMember({"auto", "v1"}));
    app.add_option("--register-timeout", registerTimeout, "Seconds an agent has to register")
        ->capture_default_str()
        ->check(seconds(1, 600));
    app.add_option("--ping-interval", pingInterval, "Seconds between pings to each agent")
        ->capture_default_str()
        ->check(seconds(1, 3600));
    app.add_option("--heartbeat-timeout", heartbeatTimeout,
                   "Seconds of silence after which an agent is dead")
        ->capture_default_str()
        ->check(seconds(2, 3600));
    app.add_option("--response-timeout", responseTimeout,
                   "Seconds a visitor waits for the agent's response")
        ->capture_default_str()
        ->check(seconds(1, 3600));
    app.add_option("--drain-timeout", drainTimeout,
                   "Seconds requests in flight may take to finish after SIGTERM (0: exit at once)")
        ->capture_default_str()
        ->check(seconds(0, 3600));
    app.add_option("--agent-wait", agentWait,
                   "Seconds a visitor's request waits for its slug's agent to reconnect (0: off)")
        ->capture_default_str()
        ->check(seconds(0, 60));
    app.add_option("--status-listen", statusListen,
                   "Address of the status listener (/healthz, /status, /metrics), or off")
        ->capture_default_str();
    app.add_option("--metrics-per-slug", metricsPerSlug,
                   "Per-slug request series in /metrics (off for a relay with many slugs)")
        ->capture_default_str()
        ->check(CLI::IsMember({"on", "off"}));
    streams.attach(app, "the agent");
    addLogLevelOption(app, logLevel);
    addBusOption(app, bus);
}

std::string ServerOptions::checkTrustedProxies() {
    if (trustedProxies.empty()) {
        return {};
    }
    config.trustedProxies.clear();
    for (const auto& text : trustedProxies) {
        auto range = server::parseAddressRange(text);
        if (!range) {
            return "--trusted-proxy: not an address or range: '" + text + "'";
        }
        config.trustedProxies.push_back(*range);
    }
    return {};
}

std::string ServerOptions::checkStatusListen() {
    if (statusListen == "off") {
        config.statusPort = 0;
        return {};
    }
    auto where = net::parseHostPort(statusListen);
    ErrorCode notAnAddress;
    if (where) {
        boost::asio::ip::make_address(where->host, notAnAddress);
    }
    if (!where || notAnAddress) {
        return "--status-listen: expected ADDRESS:PORT (an IP address, e.g. 127.0.0.1:7071) or "
               "off, not '" +
               statusListen + "'";
    }
    config.statusBind = where->host;
    config.statusPort = where->port;
    return {};
}

server::ServerConfig ServerOptions::finish() {
    config.offerV2 = protocol == "auto";
    config.metricsPerSlug = metricsPerSlug == "on";
    config.registerTimeout = std::chrono::seconds(registerTimeout);
    config.pingInterval = std::chrono::seconds(pingInterval);
    config.heartbeatTimeout = std::chrono::seconds(heartbeatTimeout);
    config.responseTimeout = std::chrono::seconds(responseTimeout);
    config.drainTimeout = std::chrono::seconds(drainTimeout);
    config.agentWait = std::chrono::seconds(agentWait);
    config.responseHeadTimeout = std::chrono::seconds(streams.responseHead);
    config.streamIdleTimeout = std::chrono::seconds(streams.streamIdle);
    config.upgradeIdleTimeout = std::chrono::seconds(streams.upgradeIdle);
    return config;
}

}  // namespace nexus
