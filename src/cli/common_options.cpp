// SPDX-License-Identifier: AGPL-3.0-or-later
// The directory and stream-timeout option groups (common_options.hpp).
#include "cli/common_options.hpp"

#include "daemon/stderr_logger.hpp"

#include <fmt/format.h>

#include <charconv>
#include <cstdlib>
#include <map>

namespace nexus {
namespace {
constexpr const char* kDefaultStateDir = "/var/lib/nexus-relay";

// CLI::Range says "Value http not in range 1 to 65535" for a word: this one tells a word
// ("not a port number") from a number out of range.
CLI::Validator wholeNumber(int minimum, int maximum, const std::string& noun) {
    auto check = [=](std::string& text) -> std::string {
        int value = 0;
        const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
        if (text.empty() || ec == std::errc::invalid_argument || end != text.data() + text.size()) {
            return fmt::format("{} is not {}", text, noun);
        }
        if (ec == std::errc::result_out_of_range || value < minimum || value > maximum) {
            return fmt::format("{} is not in range {} to {}", text, minimum, maximum);
        }
        return {};
    };
    return CLI::Validator(check, fmt::format("{}-{}", minimum, maximum));
}
}  // namespace

CLI::Validator portNumber(int minimum) {
    return wholeNumber(minimum, 65535, "a port number");
}

CLI::Validator seconds(int minimum, int maximum) {
    return wholeNumber(minimum, maximum, "a number of seconds");
}

void addLogLevelOption(CLI::App& app, LogLevel& level) {
    static const std::map<std::string, LogLevel> kLevels{{"debug", LogLevel::Debug},
                                                         {"info", LogLevel::Info},
                                                         {"warning", LogLevel::Warning},
                                                         {"error", LogLevel::Error}};
    level = logLevelFromEnvironment();
    auto known = [](std::string& text) -> std::string {
        return kLevels.contains(text) ? std::string()
                                      : text + " is not a log level (debug, info, warning, error)";
    };
    app.add_option_function<std::string>(
           "--log-level", [&level](const std::string& text) { level = kLevels.at(text); },
           "Least important lines logged: debug, info, warning (no line per request) or error "
           "(default: info, or NEXUS_LOG_LEVEL)")
        ->check(CLI::Validator(known, "LEVEL"));
}

void addBusOption(CLI::App& app, dbus::BusKind& bus) {
    auto known = [](std::string& text) -> std::string {
        return dbus::parseBusKind(text) ? std::string()
                                        : text + " is not a bus (system, session, off)";
    };
    app.add_option_function<std::string>(
           "--bus", [&bus](const std::string& text) { bus = *dbus::parseBusKind(text); },
           "D-Bus bus for nexusctl: system (default), session (a daemon run by hand) or off")
        ->check(CLI::Validator(known, "system|session|off"));
}

std::string defaultDatabasePath() {
    const char* state = std::getenv("STATE_DIRECTORY");  // set by systemd's StateDirectory=
    return std::string(state != nullptr && *state != '\0' ? state : kDefaultStateDir) +
           "/directory.sqlite";
}

void DirectoryOptions::attach(CLI::App& app) {
    app.add_option("--database", database,
                   "SQLite directory file (the default; `directory init` or a first `directory "
                   "add` creates it)")
        ->default_str(defaultDatabasePath());
    app.add_option("--database-url", databaseUrl,
                   "PostgreSQL directory instead, e.g. postgres://user@host/db")
        ->envname("DATABASE_URL");
}

Result<directory::Location> DirectoryOptions::location() const {
    if (!database.empty() && !databaseUrl.empty()) {
        return makeError(Errc::InvalidArgument);
    }
    return directory::Location{database.empty() ? defaultDatabasePath() : database, databaseUrl};
}

void StreamTimeoutOptions::attach(CLI::App& app, const std::string& answerer) {
    app.add_option("--response-head-timeout", responseHead,
                   "Protocol v2: seconds " + answerer +
                       " has to send a response's status and headers (504 after)")
        ->capture_default_str()
        ->check(seconds(1, 3600));
    app.add_option("--stream-idle-timeout", streamIdle,
                   "Protocol v2: seconds a request or response body may stall before the "
                   "stream is cut; a moving body never is")
        ->capture_default_str()
        ->check(seconds(1, 86400));
    app.add_option("--upgrade-idle-timeout", upgradeIdle,
                   "Protocol v2: seconds an open WebSocket may carry nothing in either "
                   "direction before it is closed")
        ->capture_default_str()
        ->check(seconds(1, 86400));
}

}  // namespace nexus
