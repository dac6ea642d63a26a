// SPDX-License-Identifier: AGPL-3.0-or-later
// `nexus-relay server` and `nexus-relay client`: each wires its objects, runs the loop until a
// signal stops it, and returns the process exit code.
#pragma once

#include "client/agent_config.hpp"
#include "common/log.hpp"
#include "directory/location.hpp"
#include "server/server_config.hpp"

#include <string>

namespace nexus {

int runServer(const server::ServerConfig& config, const directory::Location& directory,
              LogLevel logLevel);
/// `statusListen`: ADDRESS:PORT of the status pages (/healthz, /status, /metrics), or "off".
int runClient(const client::AgentConfig& config, const std::string& statusListen,
              LogLevel logLevel);

}  // namespace nexus
