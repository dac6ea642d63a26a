// SPDX-License-Identifier: AGPL-3.0-or-later
// The subcommands behind the command line: each returns the process exit code.
#pragma once

#include "client/agent_config.hpp"
#include "directory/directory.hpp"
#include "server/server_config.hpp"

#include <optional>
#include <string>

namespace nexus {

/// Where the directory lives: an SQLite file (the default) or a PostgreSQL URL.
struct DirectoryLocation {
    std::string sqlitePath;
    std::string postgresUrl;
};

Result<std::unique_ptr<directory::Directory>> openDirectory(const DirectoryLocation& where);
/// For messages: never the PostgreSQL URL, which usually carries a password.
std::string describeDirectory(const DirectoryLocation& where);

int runServer(const server::ServerConfig& config, const DirectoryLocation& directory);
int runClient(const client::AgentConfig& config);

int directoryAdd(const DirectoryLocation& directory, const std::string& slug,
                 const std::string& url);
int directoryList(const DirectoryLocation& directory);
int directoryRevoke(const DirectoryLocation& directory, const std::string& slug);

}  // namespace nexus
