// SPDX-License-Identifier: AGPL-3.0-or-later
// The directory: which slugs exist, their tokens, their fallback URLs. One interface, two
// backends (SQLite embedded default, PostgreSQL with the deployed `directory_instances` schema).
#pragma once

#include "common/error.hpp"

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace nexus::directory {

struct Instance {
    std::int64_t id = 0;
    std::string slug;
    std::string url;
    std::string status;        ///< pending, active, inactive or banned (the deployed CHECK list)
    bool tokenHashed = false;  ///< false for legacy rows that still hold the plaintext token
    std::string registeredAt;  ///< ISO 8601 UTC ("2026-08-20T12:34:56Z"); empty if not read
};

/// What an instance says about itself through the registration API (the deployed columns).
/// Empty strings are stored as NULL.
struct Profile {
    std::string name;
    std::string description;
    std::string language;
    std::string country;
    std::string theme;
    std::string version;
};

/// An instance as the public listing shows it: never its token.
struct Listing {
    Instance instance;
    Profile profile;
    std::int64_t members = 0;
    std::int64_t online = 0;
    std::string lastSeen;  ///< ISO 8601 UTC; empty if it never pinged
};

/// What a ping may update besides the time it was seen; unset fields keep their values.
struct Heartbeat {
    std::optional<std::int64_t> members;
    std::optional<std::int64_t> online;
    std::string version;
};

/// The instance a ping's token belongs to.
struct Pinged {
    std::string slug;
    std::string status;
};

struct NewInstance {
    Instance instance;
    std::string token;  ///< shown to the operator once; only its digest is stored
};

/// Blocking calls: the server runs them on a worker thread, never on its event loop.
/// A backend object is used from one thread at a time.
class Directory {
public:
    virtual ~Directory() = default;

    /// The id of the active instance `slug` if `token` matches. An unknown slug, an inactive
    /// one and a wrong token all give Errc::AuthFailed, after the same constant-time work.
    virtual Result<std::int64_t> authenticate(std::string_view slug, std::string_view token) = 0;

    /// The URL of an active slug, for the redirect when its tunnel is down; nullopt if none.
    virtual Result<std::optional<std::string>> fallbackUrl(std::string_view slug) = 0;

    /// Of the given instance ids, those still active (used to drop revoked tunnels).
    virtual Result<std::vector<std::int64_t>> activeIds(const std::vector<std::int64_t>& ids) = 0;

    /// Creates an active slug with a new 256-bit token. Errc::SlugExists if taken.
    virtual Result<NewInstance> add(std::string_view slug, std::string_view url) = 0;

    virtual Result<std::vector<Instance>> list() = 0;

    /// The registration API's insert: an active slug with its profile and a new 256-bit
    /// token (only its digest is stored). Errc::SlugExists if taken.
    virtual Result<NewInstance> registerInstance(std::string_view slug, std::string_view url,
                                                 const Profile& profile) = 0;

    /// Marks the instance whose token this is as seen now, with the heartbeat's counters.
    /// Errc::AuthFailed when no row has this token. The row is found by the token's digest
    /// (or a legacy plaintext value) and the match confirmed in constant time.
    virtual Result<Pinged> ping(std::string_view token, const Heartbeat& heartbeat) = 0;

    /// Deletes the slug's row if `token` is its token (a banned row stays: deleting it would
    /// free the slug for the same owner). Errc::AuthFailed otherwise, after the same work
    /// as authenticate().
    virtual Result<void> unregister(std::string_view slug, std::string_view token) = 0;

    /// Active instances seen within `window` (a ping) or whose slug is in `live` (a tunnel
    /// on this relay now), in slug order, at most `limit`.
    virtual Result<std::vector<Listing>> listSeen(std::chrono::seconds window,
                                                  const std::vector<std::string>& live,
                                                  std::size_t limit) = 0;

    /// How many rows the directory holds, whatever their status.
    virtual Result<std::int64_t> count() = 0;

    /// Marks the slug inactive; Errc::SlugNotFound if there is no such slug.
    virtual Result<void> revoke(std::string_view slug) = 0;

    /// Telemetry of the deployed schema: transport is "tcp7443" or "wss". Failures are harmless.
    virtual Result<void> recordTransport(std::string_view slug, std::string_view transport) = 0;

    /// Whether the backend answers now (the relay checks at start, to warn early).
    virtual Result<void> probe() { return {}; }

    /// Why the last call failed with DirectoryUnavailable, in the backend's own words
    /// (libpq's message: "connection to server ... failed: Connection refused"); one line,
    /// never the password. Empty when the backend has nothing to add.
    virtual std::string failureReason() const { return {}; }
};

/// What opening an SQLite directory may create. A relay or `directory list` given a mistyped
/// path must fail rather than serve a new, empty directory that rejects every agent.
enum class Creation {
    Never,           ///< the file must exist: ENOENT otherwise
    File,            ///< creates the file (mode 0600) in an existing folder
    FileAndFolders,  ///< also creates the missing folders above it (mode 0750)
};

/// Opens an SQLite directory file, creating its schema in an empty one.
Result<std::unique_ptr<Directory>> openSqlite(const std::string& path, Creation creation);

/// A PostgreSQL directory on an existing `directory_instances` table. Connects lazily and
/// reconnects by itself, so a database outage never prevents start-up or recovery.
Result<std::unique_ptr<Directory>> openPostgres(const std::string& conninfo);

/// Slugs as the deployed registration API accepts them, plus single-label DNS names:
/// 1-63 characters of [a-z0-9-], not starting or ending with a hyphen.
bool isValidSlug(std::string_view slug);

}  // namespace nexus::directory
