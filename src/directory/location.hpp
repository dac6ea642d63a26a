// SPDX-License-Identifier: AGPL-3.0-or-later
// Where the directory lives, as the command line and the configuration name it, and opening
// it there: the relay and the `directory` commands open it the same way.
#pragma once

#include "common/error.hpp"
#include "directory/directory.hpp"

#include <memory>
#include <string>

namespace nexus::directory {

/// An SQLite file (the default) or a PostgreSQL URL.
struct Location {
    std::string sqlitePath;
    std::string postgresUrl;
};

/// `creation` applies to SQLite only: a PostgreSQL directory is never created here.
Result<std::unique_ptr<Directory>> open(const Location& where, Creation creation);

/// "cannot open the directory (SQLite PATH): REASON", with how to create a missing file.
std::string explainOpenFailure(const Location& where, const ErrorCode& error);

/// For messages: never the PostgreSQL URL, which usually carries a password.
std::string describe(const Location& where);

}  // namespace nexus::directory
