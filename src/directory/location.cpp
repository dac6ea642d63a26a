// SPDX-License-Identifier: AGPL-3.0-or-later
// Opening the directory where the configuration says, and saying why it could not be opened.
#include "directory/location.hpp"

#include <fmt/format.h>

#include <cerrno>

namespace nexus::directory {

Result<std::unique_ptr<Directory>> open(const Location& where, Creation creation) {
    if (!where.postgresUrl.empty()) {
        return openPostgres(where.postgresUrl);
    }
    return openSqlite(where.sqlitePath, creation);
}

std::string explainOpenFailure(const Location& where, const ErrorCode& error) {
    std::string text =
        fmt::format("cannot open the directory ({}): {}", describe(where), error.message());
    if (where.postgresUrl.empty() && error == std::errc::no_such_file_or_directory) {
        text += fmt::format(
            " (create it with `nexus-relay directory init --database {}`, or "
            "check --database)",
            where.sqlitePath);
    }
    if (!where.postgresUrl.empty() &&
        error == ErrorCode(ELIBACC, boost::system::system_category())) {
        text += " (libpq.so.5, loaded for a PostgreSQL directory: install libpq5)";
    }
    return text;
}

std::string describe(const Location& where) {
    return where.postgresUrl.empty() ? "SQLite " + where.sqlitePath : std::string("PostgreSQL");
}

}  // namespace nexus::directory
