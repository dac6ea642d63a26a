// SPDX-License-Identifier: AGPL-3.0-or-later
// The PostgreSQL directory on the deployed `directory_instances` table, resilient to outages.
#include "nexus_config.hpp"

#include "directory/directory.hpp"
#include "directory/guarded.hpp"

#if NEXUS_HAVE_POSTGRESQL

#include "directory/postgres_connection.hpp"
#include "directory/token_digest.hpp"

#include <charconv>
#include <cstring>

namespace nexus::directory {
namespace {

std::string value(const PGresult* result, int row, int column) {
    return {libpq().getvalue(result, row, column),
            static_cast<std::size_t>(libpq().getlength(result, row, column))};
}

std::int64_t integer(const PGresult* result, int row, int column) {
    std::int64_t number = 0;
    const char* text = libpq().getvalue(result, row, column);
    std::from_chars(text, text + libpq().getlength(result, row, column), number);
    return number;
}

std::int64_t affectedRows(const PGresult* result) {
    const char* text = libpq().cmdTuples(const_cast<PGresult*>(result));
    std::int64_t count = 0;
    std::from_chars(text, text + std::strlen(text), count);
    return count;
}

// registered_at as the API shows it: ISO 8601 in UTC, whatever the session's time zone.
#define NEXUS_PG_ISO_REGISTERED_AT \
    "to_char(registered_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"

class PostgresDirectory final : public Directory {
public:
    explicit PostgresDirectory(PgConnection connection) : db_(std::move(connection)) {}

    Result<std::int64_t> authenticate(std::string_view slug, std::string_view token) override {
        return guarded([&]() -> Result<std::int64_t> {
            if (!isValidSlug(slug)) {  // cannot exist; spares the database a round trip
                return verifyToken(token, std::nullopt);
            }
            // The token is compared here, in constant time, not by the database's `=`.
            auto rows = db_.exec(
                "SELECT id, token FROM directory_instances WHERE slug = $1 AND status = 'active'",
                {std::string(slug)});
            if (!rows) {
                return rows.error();
            }
            if (libpq().ntuples(rows->get()) == 0) {
                return verifyToken(token, std::nullopt);
            }
            return verifyToken(token,
                               StoredToken{integer(rows->get(), 0, 0), value(rows->get(), 0, 1)});
        });
    }

    Result<std::optional<std::string>> fallbackUrl(std::string_view slug) override {
        return guarded([&]() -> Result<std::optional<std::string>> {
            if (!isValidSlug(slug)) {
                return std::nullopt;
            }
            auto rows = db_.exec(
                "SELECT url FROM directory_instances WHERE slug = $1 AND status = 'active'",
                {std::string(slug)});
            if (!rows) {
                return rows.error();
            }
            if (libpq().ntuples(rows->get()) == 0) {
                return std::nullopt;
            }
            return value(rows->get(), 0, 0);
        });
    }

    Result<std::vector<std::int64_t>> activeIds(const std::vector<std::int64_t>& ids) override {
        return guarded([&]() -> Result<std::vector<std::int64_t>> {
            std::vector<std::int64_t> active;
            if (ids.empty()) {
                return active;
            }
            std::string array = "{";
            for (const std::int64_t id : ids) {
                array += std::to_string(id) + ',';
            }
            array.back() = '}';
            // bigint[] rather than the column's int: an out-of-range id is simply not found.
            auto rows = db_.exec(
                "SELECT id FROM directory_instances "
                "WHERE status = 'active' AND id = ANY($1::bigint[])",
                {array});
            if (!rows) {
                return rows.error();
            }
            for (int row = 0; row < libpq().ntuples(rows->get()); ++row) {
                active.push_back(integer(rows->get(), row, 0));
            }
            return active;
        });
    }

    Result<NewInstance> add(std::string_view slug, std::string_view url) override {
        return registerInstance(slug, url, Profile{.name = std::string(slug), .language = "fr"});
    }

    Result<NewInstance> registerInstance(std::string_view slug, std::string_view url,
                                         const Profile& profile) override {
        return guarded([&]() -> Result<NewInstance> {
            if (!isValidSlug(slug)) {
                return makeError(Errc::InvalidSlug);
            }
            NewInstance created{Instance{0, std::string(slug), std::string(url), "active", true},
                                newToken()};
            // Empty optional fields become NULL, as the deployed API leaves them.
            auto rows = db_.exec(
                "INSERT INTO directory_instances (slug, url, token, name, description, language, "
                "country, theme, version, status) VALUES ($1, $2, $3, $4, NULLIF($5, ''), "
                "NULLIF($6, ''), NULLIF($7, ''), NULLIF($8, ''), NULLIF($9, ''), 'active') "
                "RETURNING id, " NEXUS_PG_ISO_REGISTERED_AT,
                {created.instance.slug, created.instance.url, tokenDigest(created.token),
                 profile.name, profile.description, profile.language, profile.country,
                 profile.theme, profile.version});
            if (!rows) {
                return rows.error();
            }
            created.instance.id = integer(rows->get(), 0, 0);
            created.instance.registeredAt = value(rows->get(), 0, 1);
            return created;
        });
    }

    Result<Pinged> ping(std::string_view token, const Heartbeat& heartbeat) override {
        return guarded([&]() -> Result<Pinged> {
            // Found by digest (or a legacy plaintext value), then confirmed in constant time.
            auto rows = db_.exec(
                "SELECT id, token, slug, status FROM directory_instances "
                "WHERE token = $1 OR token = $2",
                {tokenDigest(token), std::string(token)});
            if (!rows) {
                return rows.error();
            }
            if (libpq().ntuples(rows->get()) == 0) {
                return makeError(Errc::AuthFailed);
            }
            const auto id = verifyToken(
                token, StoredToken{integer(rows->get(), 0, 0), value(rows->get(), 0, 1)});
            if (!id) {
                return id.error();
            }
            auto optional = [](const std::optional<std::int64_t>& n) {
                return n ? std::to_string(*n) : std::string();
            };
            auto updated = db_.exec(
                "UPDATE directory_instances SET last_seen = NOW(), "
                "members = COALESCE(NULLIF($2, '')::int, members), "
                "online = COALESCE(NULLIF($3, '')::int, online), "
                "version = COALESCE(NULLIF($4, ''), version) WHERE id = $1",
                {std::to_string(*id), optional(heartbeat.members), optional(heartbeat.online),
                 heartbeat.version});
            if (!updated) {
                return updated.error();
            }
            return Pinged{value(rows->get(), 0, 2), value(rows->get(), 0, 3)};
        });
    }

    Result<void> unregister(std::string_view slug, std::string_view token) override {
        return guarded([&]() -> Result<void> {
            std::optional<StoredToken> row;
            if (isValidSlug(slug)) {
                auto rows = db_.exec(
                    "SELECT id, token FROM directory_instances "
                    "WHERE slug = $1 AND status <> 'banned'",
                    {std::string(slug)});
                if (!rows) {
                    return rows.error();
                }
                if (libpq().ntuples(rows->get()) > 0) {
                    row = StoredToken{integer(rows->get(), 0, 0), value(rows->get(), 0, 1)};
                }
            }
            const auto id = verifyToken(token, row);
            if (!id) {
                return id.error();
            }
            auto deleted =
                db_.exec("DELETE FROM directory_instances WHERE id = $1", {std::to_string(*id)});
            if (!deleted) {
                return deleted.error();
            }
            return {};
        });
    }

    Result<std::vector<Listing>> listSeen(std::chrono::seconds window,
                                          const std::vector<std::string>& live,
                                          std::size_t limit) override {
        return guarded([&]() -> Result<std::vector<Listing>> {
            std::string slugs = "{";
            for (const auto& slug : live) {
                if (isValidSlug(slug)) {  // nothing in a valid slug needs array quoting
                    slugs += slug + ',';
                }
            }
            if (slugs.size() > 1) {
                slugs.pop_back();
            }
            slugs += '}';
            auto rows = db_.exec(
                "SELECT id, slug, url, status, " NEXUS_PG_ISO_REGISTERED_AT
                ", name, "
                "COALESCE(description, ''), COALESCE(language, ''), COALESCE(country, ''), "
                "COALESCE(theme, ''), COALESCE(version, ''), COALESCE(members, 0), "
                "COALESCE(online, 0), COALESCE(to_char(last_seen AT TIME ZONE 'UTC', "
                "'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), '') FROM directory_instances "
                "WHERE status = 'active' AND (last_seen >= NOW() - make_interval(secs => $1) "
                "OR slug = ANY($2::text[])) ORDER BY slug LIMIT $3",
                {std::to_string(window.count()), slugs, std::to_string(limit)});
            if (!rows) {
                return rows.error();
            }
            const PGresult* result = rows->get();
            std::vector<Listing> listed;
            for (int row = 0; row < libpq().ntuples(result); ++row) {
                auto text = [&](int column) { return value(result, row, column); };
                listed.push_back(Listing{
                    Instance{integer(result, row, 0), text(1), text(2), text(3), true, text(4)},
                    Profile{text(5), text(6), text(7), text(8), text(9), text(10)},
                    integer(result, row, 11), integer(result, row, 12), text(13)});
            }
            return listed;
        });
    }

    Result<std::int64_t> count() override {
        return guarded([&]() -> Result<std::int64_t> {
            auto rows = db_.exec("SELECT COUNT(*) FROM directory_instances", {});
            if (!rows) {
                return rows.error();
            }
            return integer(rows->get(), 0, 0);
        });
    }

    Result<std::vector<Instance>> list() override {
        return guarded([&]() -> Result<std::vector<Instance>> {
            auto rows = db_.exec(
                "SELECT id, slug, url, status, token FROM directory_instances ORDER BY slug", {});
            if (!rows) {
                return rows.error();
            }
            const PGresult* result = rows->get();
            const int rowCount = libpq().ntuples(result);
            std::vector<Instance> instances;
            instances.reserve(static_cast<std::size_t>(rowCount));
            for (int row = 0; row < rowCount; ++row) {
                instances.push_back(Instance{integer(result, row, 0), value(result, row, 1),
                                             value(result, row, 2), value(result, row, 3),
                                             isHashedToken(value(result, row, 4))});
            }
            return instances;
        });
    }

    Result<void> revoke(std::string_view slug) override {
        // A ban set by the admin hub must not be downgraded to a plain revocation.
        return update(
            "UPDATE directory_instances "
            "SET status = CASE WHEN status = 'banned' THEN status ELSE 'inactive' END "
            "WHERE slug = $1",
            slug, std::nullopt);
    }

    Result<void> recordTransport(std::string_view slug, std::string_view transport) override {
        // An unknown transport violates the migration 116 CHECK: Errc::InvalidArgument.
        return update(
            "UPDATE directory_instances SET relay_transport = $2, relay_transport_at = NOW() "
            "WHERE slug = $1",
            slug, transport);
    }

    Result<void> probe() override {
        return guarded([&]() -> Result<void> {
            auto rows = db_.exec("SELECT 1 FROM directory_instances LIMIT 1", {});
            if (!rows) {
                return rows.error();
            }
            return {};
        });
    }

    std::string failureReason() const override { return db_.lastError(); }

private:
    Result<void> update(const char* sql, std::string_view slug,
                        std::optional<std::string_view> value) {
        return guarded([&]() -> Result<void> {
            std::vector<std::string> params{std::string(slug)};
            if (value) {
                params.emplace_back(*value);
            }
            auto rows = db_.exec(sql, params);
            if (!rows) {
                return rows.error();
            }
            if (affectedRows(rows->get()) == 0) {
                return makeError(Errc::SlugNotFound);
            }
            return {};
        });
    }

    PgConnection db_;
};

}  // namespace

Result<std::unique_ptr<Directory>> openPostgres(const std::string& conninfo) {
    return guarded([&]() -> Result<std::unique_ptr<Directory>> {
        auto connection = PgConnection::create(conninfo);
        if (!connection) {
            return connection.error();
        }
        // No connection yet: it is made by the first query, so start-up never waits for
        // (or fails on) a database that is down right now.
        return std::unique_ptr<Directory>(
            std::make_unique<PostgresDirectory>(std::move(*connection)));
    });
}

}  // namespace nexus::directory

#else  // !NEXUS_HAVE_POSTGRESQL

namespace nexus::directory {

// This build has no libpq (e.g. a minimal arm64 build): configuration naming PostgreSQL fails.
Result<std::unique_ptr<Directory>> openPostgres(const std::string& /*conninfo*/) {
    return makeError(Errc::DirectoryUnavailable);
}

}  // namespace nexus::directory

#endif
