// SPDX-License-Identifier: AGPL-3.0-or-later
// `nexus-relay directory init|add|list|revoke`: each returns the process exit code.
#pragma once

#include "directory/location.hpp"

#include <string>

namespace nexus {

/// Creates an empty SQLite directory (its parent must exist); other commands refuse a
/// missing file, so a typo in a path is an error instead of a new, empty directory.
int directoryInit(const directory::Location& where);
int directoryAdd(const directory::Location& where, const std::string& slug, const std::string& url);
int directoryList(const directory::Location& where);
int directoryRevoke(const directory::Location& where, const std::string& slug);

}  // namespace nexus
