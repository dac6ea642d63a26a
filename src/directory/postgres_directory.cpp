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
        return guarded([&]() -> Result<NewInstance> {
            if (!isValidSlug(slug)) {
                return makeError(Errc::InvalidSlug);
            }
            NewInstance created{Instance{0, std::string(slug), std::string(url), "active", true},
                                newToken()};
            // `name` is NOT NULL in the deployed schema and has no meaning for the relay.
            auto rows = db_.exec(
                "INSERT INTO directory_instances (slug, name, url, status, token) "
                "VALUES ($1, $1, $2, 'active', $3) RETURNING id",
                {created.instance.slug, created.instance.url, tokenDigest(created.token)});
            if (!rows) {
                return rows.error();
            }
            created.instance.id = integer(rows->get(), 0, 0);
            return created;
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
