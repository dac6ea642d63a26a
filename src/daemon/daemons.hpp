// SPDX-License-Identifier: AGPL-3.0-or-later
// `nexus-relay server` and `nexus-relay client`: each wires its objects, runs the loop until a
// signal stops it, and returns the process exit code.
#pragma once

#include "client/agent_config.hpp"
#include "common/log.hpp"
#include "daemon/slug_store.hpp"
#include "dbus/bus_kind.hpp"
#include "directory/location.hpp"
#include "server/server_config.hpp"

#include <functional>
#include <string>
#include <variant>

namespace nexus {

struct ServerSettings {
    server::ServerConfig config;
    directory::Location directory;
    LogLevel logLevel = LogLevel::Info;
    /// Where the relay's D-Bus object goes (app.nexusnode.Relay1.Server).
    dbus::BusKind bus = dbus::BusKind::System;
};

struct ClientSettings {
    client::AgentConfig config;
    /// ADDRESS:PORT of the status pages (/healthz, /status, /metrics), or "off".
    std::string statusListen;
    LogLevel logLevel = LogLevel::Info;
    /// Where the agent's D-Bus object goes (app.nexusnode.Relay1.Client).
    dbus::BusKind bus = dbus::BusKind::System;
    /// Where the slug and token came from: where SetSlug stores new ones.
    AgentSources sources;
};

/// Reads the command line and its configuration file again (SIGHUP, `systemctl reload`): the
/// new settings, or what is wrong with them in one line.
template <typename Settings>
using Reread = std::function<std::variant<Settings, std::string>()>;

int runServer(ServerSettings settings, Reread<ServerSettings> reread);
int runClient(ClientSettings settings, const Reread<ClientSettings>& reread);

}  // namespace nexus
