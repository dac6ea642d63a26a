// SPDX-License-Identifier: AGPL-3.0-or-later
// Command-line parsing with CLI11. Accepts every flag and environment variable of the deployed
// binary so existing units and installers keep working; a config file can hold any flag.
#include "cli.hpp"

#include "commands.hpp"
#include "config_sources.hpp"
#include "directory/directory.hpp"
#include "nexus_config.hpp"

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <cstdlib>
#include <cstring>

namespace nexus {
namespace {

constexpr const char* kDefaultStateDir = "/var/lib/nexus-relay";

std::string defaultDatabasePath() {
    const char* state = std::getenv("STATE_DIRECTORY");  // set by systemd's StateDirectory=
    return std::string(state != nullptr && *state != '\0' ? state : kDefaultStateDir) +
           "/directory.sqlite";
}

// Other local users can read a process's arguments: overwrite the token once it is parsed.
bool scrubTokenArgument(int argc, char** argv) {
    bool found = false;
    for (int i = 1; i < argc; ++i) {
        char* value = nullptr;
        if (std::strcmp(argv[i], "--token") == 0 && i + 1 < argc) {
            value = argv[i + 1];
        } else if (std::strncmp(argv[i], "--token=", 8) == 0) {
            value = argv[i] + 8;
        }
        if (value != nullptr) {
            std::memset(value, 'x', std::strlen(value));
            found = true;
        }
    }
    return found;
}

struct DirectoryOptions {
    std::string database;
    std::string databaseUrl;

    void attach(CLI::App& app) {
        app.add_option("--database", database,
                       "SQLite directory file (the default; created if missing)")
            ->default_str(defaultDatabasePath());
        app.add_option("--database-url", databaseUrl,
                       "PostgreSQL directory instead, e.g. postgres://user@host/db")
            ->envname("DATABASE_URL");
    }

    Result<DirectoryLocation> location() const {
        if (!database.empty() && !databaseUrl.empty()) {
            return makeError(Errc::InvalidArgument);
        }
        return DirectoryLocation{database.empty() ? defaultDatabasePath() : database, databaseUrl};
    }
};

// Protocol v2's timeouts, which the relay and the agent each apply on their own side.
struct StreamTimeoutOptions {
    int responseHead = 60, streamIdle = 120, upgradeIdle = 3600;

    // `answerer`: who must send the response head.
    void attach(CLI::App& app, const std::string& answerer) {
        app.add_option("--response-head-timeout", responseHead,
                       "Protocol v2: seconds " + answerer +
                           " has to send a response's status and headers (504 after)")
            ->capture_default_str()
            ->check(CLI::Range(1, 3600));
        app.add_option("--stream-idle-timeout", streamIdle,
                       "Protocol v2: seconds a request or response body may stall before the "
                       "stream is cut; a moving body never is")
            ->capture_default_str()
            ->check(CLI::Range(1, 86400));
        app.add_option("--upgrade-idle-timeout", upgradeIdle,
                       "Protocol v2: seconds an open WebSocket may carry nothing in either "
                       "direction before it is closed")
            ->capture_default_str()
            ->check(CLI::Range(1, 86400));
    }
};

struct ServerOptions {
    server::ServerConfig config;
    DirectoryOptions directory;
    int registerTimeout = 10, pingInterval = 30, heartbeatTimeout = 90, responseTimeout = 15;
    StreamTimeoutOptions streams;
    std::vector<std::string> trustedProxies;
    std::string protocol = "auto";

    void attach(CLI::App& app) {
        auto& c = config;
        app.add_option("--tcp-port", c.tcpPort, "Control port the agents dial")
            ->capture_default_str()
            ->check(CLI::Range(1, 65535));
        app.add_option("--tcp-bind", c.tcpBind, "Address of the control port ([::] is dual-stack)")
            ->capture_default_str()
            ->envname("RELAY_TCP_BIND");
        app.add_option("--http-port", c.httpPort, "Port of the HTTP front that Caddy proxies to")
            ->capture_default_str()
            ->check(CLI::Range(1, 65535));
        app.add_option("--http-bind", c.httpBind, "Address of the HTTP front (keep it loopback)")
            ->capture_default_str();
        app.add_option("--ws-port", c.wsPort,
                       "WebSocket door on loopback, for a TLS proxy on 443 (0: off)")
            ->capture_default_str()
            ->check(CLI::Range(0, 65535));
        app.add_option("--domain", c.domain, "Visitors reach SLUG.DOMAIN")->capture_default_str();
        app.add_option("--main-slug", c.mainSlug, "The relay's own site: never tunnelled")
            ->capture_default_str()
            ->envname("RELAY_MAIN_SLUG");
        app.add_option("--main-redirect", c.mainRedirect,
                       "Where the main slug and unknown hosts are redirected")
            ->capture_default_str();
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
            ->check(CLI::Range(1, 600));
        app.add_option("--ping-interval", pingInterval, "Seconds between pings to each agent")
            ->capture_default_str()
            ->check(CLI::Range(1, 3600));
        app.add_option("--heartbeat-timeout", heartbeatTimeout,
                       "Seconds of silence after which an agent is dead")
            ->capture_default_str()
            ->check(CLI::Range(2, 3600));
        app.add_option("--response-timeout", responseTimeout,
                       "Seconds a visitor waits for the agent's response")
            ->capture_default_str()
            ->check(CLI::Range(1, 3600));
        streams.attach(app, "the agent");
    }

    // One line saying what is wrong, or empty.
    std::string checkTrustedProxies() {
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

    server::ServerConfig finish() {
        config.offerV2 = protocol == "auto";
        config.registerTimeout = std::chrono::seconds(registerTimeout);
        config.pingInterval = std::chrono::seconds(pingInterval);
        config.heartbeatTimeout = std::chrono::seconds(heartbeatTimeout);
        config.responseTimeout = std::chrono::seconds(responseTimeout);
        config.responseHeadTimeout = std::chrono::seconds(streams.responseHead);
        config.streamIdleTimeout = std::chrono::seconds(streams.streamIdle);
        config.upgradeIdleTimeout = std::chrono::seconds(streams.upgradeIdle);
        return config;
    }
};

struct ClientOptions {
    client::AgentConfig config;
    std::string server = "relay.nexusnode.app:7443";
    std::string token, tokenFile, hostHeader, caFile, serverName;
    std::string protocol = "auto";
    bool insecurePlaintext = false;
    int heartbeatTimeout = 90, registerTimeout = 10;
    StreamTimeoutOptions streams;

    void attach(CLI::App& app) {
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
            ->check(CLI::Range(1, 65535));
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
            ->check(CLI::Range(2, 3600));
        app.add_option("--register-timeout", registerTimeout,
                       "Seconds to wait for the relay to accept the registration")
            ->capture_default_str()
            ->check(CLI::Range(1, 600));
        app.add_option("--protocol", protocol,
                       "auto: offer protocol v2 (streaming, multiplexed) and use it when the "
                       "relay agrees; v1: never offer it")
            ->capture_default_str()
            ->check(CLI::IsMember({"auto", "v1"}));
        streams.attach(app, "the local app");
    }

    // One line saying what is wrong, or empty.
    std::string finish() {
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
            return "unsupported scheme in --server '" + server +
                   "': use host:port, ws:// or wss://";
        } else {
            auto target = net::parseHostPort(server);
            if (!target) {
                return "--server needs a port, for example relay.nexusnode.app:7443";
            }
            config.server = *target;
        }
        config.serverText = server;
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
};

int usageError(const std::string& message) {
    fmt::print(stderr, "nexus-relay: error: {}\n", message);
    return 2;
}

}  // namespace

int runCommandLine(int argc, char** argv) {
    std::vector<std::string> args;
    if (auto problem = expandConfigFile(argc, argv, args); !problem.empty()) {
        return usageError(problem);
    }
    CLI::App app{"Nexus Relay: reach a home-hosted Nexus at SLUG.nexusnode.app, no open port",
                 "nexus-relay"};
    app.set_version_flag("--version,-V", std::string("nexus-relay ") + NEXUS_VERSION);
    app.option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
    app.require_subcommand(1);

    ServerOptions serverOptions;
    auto* serverCmd = app.add_subcommand("server", "Run the relay server (on the VPS)");
    serverOptions.attach(*serverCmd);

    ClientOptions clientOptions;
    auto* clientCmd = app.add_subcommand("client", "Run the agent (next to your Nexus instance)");
    clientOptions.attach(*clientCmd);

    DirectoryOptions dirOptions;
    std::string slug, url, domain = "nexusnode.app";
    auto* dirCmd = app.add_subcommand("directory", "Manage slugs and tokens (operators)");
    dirCmd->require_subcommand(1);
    dirCmd->fallthrough();
    dirOptions.attach(*dirCmd);
    dirCmd->add_option("--domain", domain, "Domain for default URLs")->capture_default_str();
    auto* addCmd = dirCmd->add_subcommand("add", "Add a slug and print its new token once");
    addCmd->add_option("slug", slug, "The slug (one DNS label)")->required();
    addCmd->add_option("--url", url, "Redirect target while the tunnel is down");
    auto* listCmd = dirCmd->add_subcommand("list", "List slugs");
    auto* revokeCmd = dirCmd->add_subcommand("revoke", "Revoke a slug; its live tunnel is dropped");
    revokeCmd->add_option("slug", slug, "The slug")->required();
    for (auto* cmd : {serverCmd, clientCmd, dirCmd, addCmd, listCmd, revokeCmd}) {
        cmd->add_option("--config", "Read flags from FILE (one 'name = value' per line)");
    }

    try {
        std::vector<char*> pointers;
        pointers.reserve(args.size());
        for (auto& arg : args) {
            pointers.push_back(arg.data());
        }
        app.parse(static_cast<int>(pointers.size()), pointers.data());
    } catch (const CLI::ParseError& e) {
        if (e.get_exit_code() == 0) {
            return app.exit(e);  // --help, --version
        }
        return usageError(e.what());
    }
    if (scrubTokenArgument(argc, argv)) {
        fmt::print(stderr,
                   "nexus-relay: warning: a token on the command line is visible to other "
                   "users (ps); use --token-file or NEXUS_RELAY_TOKEN instead\n");
    }

    if (serverCmd->parsed()) {
        auto where = serverOptions.directory.location();
        if (!where) {
            return usageError("use either --database or --database-url, not both");
        }
        if (auto problem = serverOptions.checkTrustedProxies(); !problem.empty()) {
            return usageError(problem);
        }
        return runServer(serverOptions.finish(), *where);
    }
    if (clientCmd->parsed()) {
        if (auto problem = clientOptions.finish(); !problem.empty()) {
            return usageError(problem);
        }
        return runClient(clientOptions.config);
    }
    auto where = dirOptions.location();
    if (!where) {
        return usageError("use either --database or --database-url, not both");
    }
    if (addCmd->parsed()) {
        return directoryAdd(*where, slug, url.empty() ? "https://" + slug + "." + domain : url);
    }
    if (listCmd->parsed()) {
        return directoryList(*where);
    }
    return directoryRevoke(*where, slug);
}

}  // namespace nexus
