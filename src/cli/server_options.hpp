// SPDX-License-Identifier: AGPL-3.0-or-later
// The `server` subcommand's options: flags and environment variables of the deployed relay
// plus the v2 ones, turned into a ServerConfig.
#pragma once

#include "cli/common_options.hpp"
#include "server/server_config.hpp"

#include <CLI/CLI.hpp>

#include <string>
#include <vector>

namespace nexus {

struct ServerOptions {
    server::ServerConfig config;
    DirectoryOptions directory;
    int registerTimeout = 10, pingInterval = 30, heartbeatTimeout = 90, responseTimeout = 15;
    int drainTimeout = 10, agentWait = 5;
    StreamTimeoutOptions streams;
    LogLevel logLevel = LogLevel::Info;
    dbus::BusKind bus = dbus::BusKind::System;
    std::vector<std::string> trustedProxies;
    std::string protocol = "auto";
    std::string statusListen = "127.0.0.1:7071";
    std::string metricsPerSlug = "on";

    void attach(CLI::App& app);
    /// One line saying what is wrong with --trusted-proxy, or empty.
    std::string checkTrustedProxies();
    /// One line saying what is wrong with --status-listen, or empty.
    std::string checkStatusListen();
    server::ServerConfig finish();
};

}  // namespace nexus
