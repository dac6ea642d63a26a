// SPDX-License-Identifier: AGPL-3.0-or-later
// `nexus-relay server` and `nexus-relay client`: each wires its objects, runs the loop until a
// signal stops it, and returns the process exit code.
#pragma once

#include "client/agent_config.hpp"
#include "common/log.hpp"
#include "dbus/bus_kind.hpp"
#include "directory/location.hpp"
#include "server/server_config.hpp"

#include <string>

namespace nexus {

/// `bus`: where the daemon's D-Bus object goes (app.nexusnode.Relay1.Server / .Client).
int runServer(const server::ServerConfig& config, const directory::Location& directory,
              dbus::BusKind bus, LogLevel logLevel);
/// `statusListen`: ADDRESS:PORT of the status pages (/healthz, /status, /metrics), or "off".
int runClient(const client::AgentConfig& config, const std::string& statusListen, dbus::BusKind bus,
              LogLevel logLevel);

}  // namespace nexus
