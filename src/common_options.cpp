// SPDX-License-Identifier: AGPL-3.0-or-later
// The directory and stream-timeout option groups (common_options.hpp).
#include "common_options.hpp"

#include <cstdlib>

namespace nexus {
namespace {
constexpr const char* kDefaultStateDir = "/var/lib/nexus-relay";
}  // namespace

std::string defaultDatabasePath() {
    const char* state = std::getenv("STATE_DIRECTORY");  // set by systemd's StateDirectory=
    return std::string(state != nullptr && *state != '\0' ? state : kDefaultStateDir) +
           "/directory.sqlite";
}

void DirectoryOptions::attach(CLI::App& app) {
    app.add_option("--database", database,
                   "SQLite directory file (the default; created if missing)")
        ->default_str(defaultDatabasePath());
    app.add_option("--database-url", databaseUrl,
                   "PostgreSQL directory instead, e.g. postgres://user@host/db")
        ->envname("DATABASE_URL");
}

Result<DirectoryLocation> DirectoryOptions::location() const {
    if (!database.empty() && !databaseUrl.empty()) {
        return makeError(Errc::InvalidArgument);
    }
    return DirectoryLocation{database.empty() ? defaultDatabasePath() : database, databaseUrl};
}

void StreamTimeoutOptions::attach(CLI::App& app, const std::string& answerer) {
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

}  // namespace nexus
