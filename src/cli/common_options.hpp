// SPDX-License-Identifier: AGPL-3.0-or-later
// Option groups that more than one subcommand attaches: where the directory lives, and the
// v2 stream timeouts that the relay and the agent each apply on their own side.
#pragma once

#include "common/error.hpp"
#include "common/log.hpp"
#include "dbus/bus_kind.hpp"
#include "directory/location.hpp"

#include <CLI/CLI.hpp>

#include <string>

namespace nexus {

/// A port number from `minimum` to 65535 ("--local-port: http is not a port number").
CLI::Validator portNumber(int minimum);
/// A whole number of seconds from `minimum` to `maximum`.
CLI::Validator seconds(int minimum, int maximum);

/// --log-level debug|info|warning|error, from NEXUS_LOG_LEVEL when not given.
void addLogLevelOption(CLI::App& app, LogLevel& level);

/// --bus system|session|off: where the daemon's D-Bus object goes (nexusctl's way in).
void addBusOption(CLI::App& app, dbus::BusKind& bus);

/// The directory's file, from systemd's StateDirectory= when it is set.
std::string defaultDatabasePath();

struct DirectoryOptions {
    std::string database;
    std::string databaseUrl;

    void attach(CLI::App& app);
    /// InvalidArgument when both --database and --database-url are given.
    Result<directory::Location> location() const;
};

// Protocol v2's timeouts, which the relay and the agent each apply on their own side.
struct StreamTimeoutOptions {
    int responseHead = 60, streamIdle = 120, upgradeIdle = 3600;

    /// `answerer`: who must send the response head.
    void attach(CLI::App& app, const std::string& answerer);
};

}  // namespace nexus
