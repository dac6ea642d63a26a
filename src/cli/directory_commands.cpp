// SPDX-License-Identifier: AGPL-3.0-or-later
// `nexus-relay directory init|add|list|revoke`: operator commands on the token store.
#include "cli/directory_commands.hpp"
#include "directory/directory.hpp"

#include <fmt/format.h>

#include <cstdio>

namespace nexus {

namespace {

std::unique_ptr<directory::Directory> openOrReport(
    const directory::Location& where, directory::Creation creation = directory::Creation::Never) {
    auto opened = directory::open(where, creation);
    if (!opened) {
        fmt::print(stderr, "nexus-relay: {}\n",
                   directory::explainOpenFailure(where, opened.error()));
        return nullptr;
    }
    return std::move(*opened);
}

}  // namespace

int directoryAdd(const directory::Location& where, const std::string& slug,
                 const std::string& url) {
    if (!directory::isValidSlug(slug)) {
        fmt::print(stderr, "nexus-relay: error: {}: '{}'\n", makeError(Errc::InvalidSlug).message(),
                   slug);
        return 2;
    }
    if (!url.starts_with("https://") && !url.starts_with("http://")) {
        fmt::print(stderr, "nexus-relay: error: {}: '{}'\n", makeError(Errc::InvalidUrl).message(),
                   url);
        return 2;
    }
    // The first slug creates the file, in a folder that must exist: a mistyped folder is an
    // error, not a new directory tree.
    auto dir = openOrReport(where, directory::Creation::File);
    if (!dir) {
        return 1;
    }
    auto added = dir->add(slug, url);
    if (!added) {
        fmt::print(stderr, "nexus-relay: cannot add slug \"{}\": {}\n", slug,
                   added.error().message());
        return 1;
    }
    fmt::print(stderr,
               "Added slug \"{}\" ({}). Its token follows; it is shown only this once, and only "
               "its SHA-256 digest is stored.\n",
               slug, url);
    fmt::print("{}\n", added->token);
    return 0;
}

int directoryInit(const directory::Location& where) {
    if (!where.postgresUrl.empty()) {
        fmt::print(stderr,
                   "nexus-relay: error: directory init creates SQLite files; a "
                   "PostgreSQL directory uses the existing directory_instances table\n");
        return 2;
    }
    if (!openOrReport(where, directory::Creation::FileAndFolders)) {
        return 1;
    }
    fmt::print(stderr, "Directory ready: {}\n", where.sqlitePath);
    return 0;
}

int directoryList(const directory::Location& where) {
    auto dir = openOrReport(where);
    if (!dir) {
        return 1;
    }
    auto instances = dir->list();
    if (!instances) {
        fmt::print(stderr, "nexus-relay: cannot list the directory: {}\n",
                   instances.error().message());
        return 1;
    }
    fmt::print("{:<24} {:<9} {:<7} {}\n", "SLUG", "STATUS", "TOKEN", "URL");
    for (const auto& instance : *instances) {
        fmt::print("{:<24} {:<9} {:<7} {}\n", instance.slug, instance.status,
                   instance.tokenHashed ? "hashed" : "legacy", instance.url);
    }
    return 0;
}

int directoryRevoke(const directory::Location& where, const std::string& slug) {
    auto dir = openOrReport(where);
    if (!dir) {
        return 1;
    }
    if (auto revoked = dir->revoke(slug); !revoked) {
        fmt::print(stderr, "nexus-relay: cannot revoke slug \"{}\": {}\n", slug,
                   revoked.error().message());
        return 1;
    }
    fmt::print(stderr, "Revoked slug \"{}\"; a running relay drops its tunnel within 5 s.\n", slug);
    return 0;
}

}  // namespace nexus
