// SPDX-License-Identifier: AGPL-3.0-or-later
// The `client` subcommand's options: the relay's address and how to trust it, the token, the
// local app, turned into an AgentConfig.
#pragma once

#include "cli/common_options.hpp"
#include "client/agent_config.hpp"

#include <CLI/CLI.hpp>

#include <string>

namespace nexus {

struct ClientOptions {
    client::AgentConfig config;
    std::string server = "relay.nexusnode.app:7443";
    std::string token, tokenFile, hostHeader, caFile, serverName;
    std::string protocol = "auto";
    /// The agent's status pages; loopback, so only this machine's users see them.
    std::string statusListen = "127.0.0.1:7070";
    bool insecurePlaintext = false;
    int heartbeatTimeout = 90, registerTimeout = 10;
    StreamTimeoutOptions streams;
    LogLevel logLevel = LogLevel::Info;
    dbus::BusKind bus = dbus::BusKind::System;

    void attach(CLI::App& app);
    /// Checks and fills `config`: one line saying what is wrong, or empty.
    std::string finish();
};

}  // namespace nexus
