// SPDX-License-Identifier: AGPL-3.0-or-later
// The subcommands behind the command line: each returns the process exit code.
#pragma once

#include "client/agent_config.hpp"
#include "common/log.hpp"
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

/// `creation` applies to SQLite only: a PostgreSQL directory is never created here.
Result<std::unique_ptr<directory::Directory>> openDirectory(const DirectoryLocation& where,
                                                            directory::Creation creation);
/// "cannot open the directory (SQLite PATH): REASON", with how to create a missing file.
std::string explainOpenFailure(const DirectoryLocation& where, const ErrorCode& error);
/// For messages: never the PostgreSQL URL, which usually carries a password.
std::string describeDirectory(const DirectoryLocation& where);

int runServer(const server::ServerConfig& config, const DirectoryLocation& directory,
              LogLevel logLevel);
/// `statusListen`: ADDRESS:PORT of the status pages (/healthz, /status, /metrics), or "off".
int runClient(const client::AgentConfig& config, const std::string& statusListen,
              LogLevel logLevel);

/// Creates an empty SQLite directory (its parent must exist); other commands refuse a
/// missing file, so a typo in a path is an error instead of a new, empty directory.
int directoryInit(const DirectoryLocation& directory);
int directoryAdd(const DirectoryLocation& directory, const std::string& slug,
                 const std::string& url);
int directoryList(const DirectoryLocation& directory);
int directoryRevoke(const DirectoryLocation& directory, const std::string& slug);

}  // namespace nexus
