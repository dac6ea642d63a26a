// SPDX-License-Identifier: AGPL-3.0-or-later
// The `client` subcommand's options (client_options.hpp).
#include "cli/client_options.hpp"

#include "cli/config_sources.hpp"
#include "directory/directory.hpp"
#include "net/tls.hpp"
#include "net/websocket.hpp"

namespace nexus {

void ClientOptions::attach(CLI::App& app) {
    app.add_option("--server", server,
                   "Relay control address, host:port, or the WebSocket door's URL: "
                   "wss://HOST[:PORT]/PATH (ws:// only with --insecure-plaintext)")
        ->capture_default_str();
    app.add_option("--slug", config.slug, "Your slug: the instance is SLUG.nexusnode.app")
        ->required();
    app.add_option("--token", token,
                   "Directory token (visible to other users in ps: prefer --token-file)");
    app.add_option("--token-file", tokenFile, "File holding the token (mode 0600)");
    app.add_option("--local-port", config.localPort, "Port of the local web server")
        ->capture_default_str()
        ->check(portNumber(1));
    app.add_option("--local-host", config.localHost, "Address of the local web server")
        ->capture_default_str();
    app.add_option("--host-header", hostHeader,
                   "Host header sent to the local server (default: the visitor's)");
    app.add_option("--ca-file", caFile,
                   "PEM CA certificates to verify the relay with (default: the system's)");
    app.add_option("--server-name", serverName,
                   "Name to verify in the relay's certificate (default: the --server host)");
    app.add_flag("--insecure-plaintext", insecurePlaintext,
                 "Speak the deployed plaintext protocol: token and traffic unencrypted");
    app.add_option("--heartbeat-timeout", heartbeatTimeout,
                   "Seconds of silence after which the relay is considered dead")
        ->capture_default_str()
        ->check(seconds(2, 3600));
    app.add_option("--register-timeout", registerTimeout,
                   "Seconds to wait for the relay to accept the registration")
        ->capture_default_str()
        ->check(seconds(1, 600));
    app.add_option("--protocol", protocol,
                   "auto: offer protocol v2 (streaming, multiplexed) and use it when the "
                   "relay agrees; v1: never offer it")
        ->capture_default_str()
        ->check(CLI::IsMember({"auto", "v1"}));
    app.add_option("--status-listen", statusListen,
                   "ADDRESS:PORT of the status pages (/healthz, /status, /metrics), or off")
        ->capture_default_str();
    streams.attach(app, "the local app");
    addLogLevelOption(app, logLevel);
    addBusOption(app, bus);
}

std::string ClientOptions::finish() {
    if (server.starts_with("ws://") || server.starts_with("wss://")) {
        auto url = net::parseWebSocketUrl(server);
        if (!url) {
            return "--server: invalid WebSocket URL '" + server +
                   "', for example wss://tunnel.nexusnode.app/tunnel";
        }
        if (!url->secure && !insecurePlaintext) {
            return "--server " + server +
                   " is unencrypted: use wss://, or pass "
                   "--insecure-plaintext to send the token in clear";
        }
        config.webSocket = *url;
        config.server = url->endpoint;
    } else if (server.find("://") != std::string::npos) {
        return "unsupported scheme in --server '" + server + "': use host:port, ws:// or wss://";
    } else {
        auto target = net::parseHostPort(server);
        if (!target) {
            return "--server needs a port, for example relay.nexusnode.app:7443";
        }
        config.server = *target;
    }
    config.serverText = server;
    if (statusListen != "off") {
        const auto where = net::parseHostPort(statusListen);
        ErrorCode notAnAddress;
        if (where) {
            boost::asio::ip::make_address(where->host, notAnAddress);
        }
        if (!where || notAnAddress) {
            return "--status-listen: '" + statusListen +
                   "' is not ADDRESS:PORT (an IP address, for example 127.0.0.1:7070) or off";
        }
    }
    if (!directory::isValidSlug(config.slug)) {
        return "--slug: " + makeError(Errc::InvalidSlug).message();
    }
    if (!hostHeader.empty()) {
        config.hostHeader = hostHeader;
    }
    config.heartbeatTimeout = std::chrono::seconds(heartbeatTimeout);
    config.registerTimeout = std::chrono::seconds(registerTimeout);
    config.offerV2 = protocol != "v1";
    config.v2Limits = {.headTimeout = std::chrono::seconds(streams.responseHead),
                       .idleTimeout = std::chrono::seconds(streams.streamIdle),
                       .pipeIdleTimeout = std::chrono::seconds(streams.upgradeIdle)};
    config.serverName = serverName.empty() ? config.server.host : serverName;
    const bool secureWebSocket = config.webSocket && config.webSocket->secure;
    if (!insecurePlaintext || secureWebSocket) {
        auto tls = net::makeClientTlsContext(caFile);
        if (!tls) {
            return "cannot load CA certificates" +
                   (caFile.empty() ? std::string() : " from " + caFile) + ": " +
                   tls.error().message();
        }
        config.tls = std::move(*tls);
    } else if (!secureWebSocket && (!caFile.empty() || !serverName.empty())) {
        return "--ca-file and --server-name need TLS: drop --insecure-plaintext";
    }
    return resolveToken(token, tokenFile, config.token);
}

}  // namespace nexus
