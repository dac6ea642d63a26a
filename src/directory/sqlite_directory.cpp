// SPDX-License-Identifier: AGPL-3.0-or-later
// The embedded SQLite directory: the deployed column names, one file shared between processes.
#include "directory/directory.hpp"
#include "directory/guarded.hpp"
#include "directory/token_digest.hpp"

#include <sqlite3.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <memory>
#include <string>
#include <vector>

namespace nexus::directory {
namespace {

struct DbCloser {
    void operator()(sqlite3* db) const noexcept { sqlite3_close_v2(db); }
};
struct StmtFinalizer {
    void operator()(sqlite3_stmt* stmt) const noexcept { sqlite3_finalize(stmt); }
};
using DbHandle = std::unique_ptr<sqlite3, DbCloser>;
using StmtHandle = std::unique_ptr<sqlite3_stmt, StmtFinalizer>;

// The deployed PostgreSQL columns we use (migrations 014 and 116), in SQLite types, so rows
// can move between the backends and operators can read either with the same queries.
constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS directory_instances (
    id INTEGER PRIMARY KEY,
    slug TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    url TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending'
        CHECK (status IN ('pending', 'active', 'inactive', 'banned')),
    token TEXT NOT NULL UNIQUE,
    registered_at TEXT DEFAULT CURRENT_TIMESTAMP,
    relay_transport TEXT CHECK (relay_transport IS NULL OR relay_transport IN ('tcp7443', 'wss')),
    relay_transport_at TEXT
))sql";

// The registration API's columns (migration 014), added in place to files made before it:
// ALTER TABLE ADD COLUMN keeps every row and costs no copy.
constexpr std::pair<const char*, const char*> kProfileColumns[] = {
    {"description", "TEXT"},
    {"language", "TEXT DEFAULT 'fr'"},
    {"country", "TEXT"},
    {"theme", "TEXT"},
    {"members", "INTEGER DEFAULT 0"},
    {"online", "INTEGER DEFAULT 0"},
    {"version", "TEXT"},
    {"last_seen", "TEXT"},
};

// Timestamps as the API shows them; SQLite keeps CURRENT_TIMESTAMP's UTC text.
#define NEXUS_ISO(column) "strftime('%Y-%m-%dT%H:%M:%SZ', " column ")"

ErrorCode systemError() {
    return {errno, boost::system::system_category()};
}

// Creates the missing directories above `path` with mode 0750: the file holds credentials.
Result<void> makeParentDirectories(const std::string& path) {
    for (std::size_t slash = path.find('/', 1); slash != std::string::npos;
         slash = path.find('/', slash + 1)) {
        const std::string dir = path.substr(0, slash);
        if (::mkdir(dir.c_str(), 0750) != 0 && errno != EEXIST) {
            return systemError();
        }
    }
    return {};
}

// Creates the file with mode 0600 before SQLite does (SQLite would use 0644); SQLite then
// gives its -wal and -shm files the same mode as the database file.
Result<void> createPrivateFile(const std::string& path) {
    const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) {
        return systemError();
    }
    ::close(fd);
    return {};
}

// One use of a cached statement. Resetting it on scope exit also ends SQLite's implicit read
// transaction, so the next use sees what another process (`directory revoke`) committed.
class Query {
public:
    explicit Query(const StmtHandle& stmt) : stmt_(stmt.get()) {}
    ~Query() {
        sqlite3_reset(stmt_);
        sqlite3_clear_bindings(stmt_);
    }
    Query(const Query&) = delete;
    Query& operator=(const Query&) = delete;

    Query& bind(std::string_view text) {
        keep(sqlite3_bind_text(stmt_, next_++, text.data(), static_cast<int>(text.size()),
                               SQLITE_TRANSIENT));
        return *this;
    }
    /// Empty text as NULL: the optional columns of a profile.
    Query& bindOptional(std::string_view text) {
        if (text.empty()) {
            keep(sqlite3_bind_null(stmt_, next_++));
            return *this;
        }
        return bind(text);
    }
    Query& bind(std::optional<std::int64_t> number) {
        keep(number ? sqlite3_bind_int64(stmt_, next_++, *number)
                    : sqlite3_bind_null(stmt_, next_++));
        return *this;
    }
    int step() { return bindRc_ != SQLITE_OK ? bindRc_ : sqlite3_step(stmt_); }
    std::int64_t integer(int column) const { return sqlite3_column_int64(stmt_, column); }
    std::string text(int column) const {
        const auto* data = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, column));
        return data ? std::string(data,
                                  static_cast<std::size_t>(sqlite3_column_bytes(stmt_, column)))
                    : std::string();
    }

private:
    void keep(int rc) {
        if (bindRc_ == SQLITE_OK) {
            bindRc_ = rc;
        }
    }
    sqlite3_stmt* stmt_;
    int next_ = 1;
    int bindRc_ = SQLITE_OK;
};

class SqliteDirectory final : public Directory {
public:
    explicit SqliteDirectory(DbHandle db) : db_(std::move(db)) {}

    Result<void> prepare() {
        const std::pair<StmtHandle*, const char*> statements[] = {
            {&auth_,
             "SELECT id, token FROM directory_instances WHERE slug = ?1 AND status = 'active'"},
            {&fallback_,
             "SELECT url FROM directory_instances WHERE slug = ?1 AND status = 'active'"},
            // SQLite has no array parameters: the ids travel as one JSON array.
            {&active_,
             "SELECT id FROM directory_instances WHERE status = 'active' "
             "AND id IN (SELECT value FROM json_each(?1))"},
            {&add_,
             "INSERT INTO directory_instances (slug, url, token, name, description, language, "
             "country, theme, version, status) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, "
             "'active') RETURNING id, " NEXUS_ISO("registered_at")},
            {&byToken_,
             "SELECT id, token, slug, status FROM directory_instances "
             "WHERE token = ?1 OR token = ?2"},
            {&ping_,
             "UPDATE directory_instances SET last_seen = CURRENT_TIMESTAMP, "
             "members = COALESCE(?2, members), online = COALESCE(?3, online), "
             "version = COALESCE(?4, version) WHERE id = ?1"},
            {&owner_,
             "SELECT id, token FROM directory_instances WHERE slug = ?1 AND status <> 'banned'"},
            {&delete_, "DELETE FROM directory_instances WHERE id = ?1"},
            {&seen_,
             "SELECT id, slug, url, status, " NEXUS_ISO(
                 "registered_at") ", name, description, "
                                  "language, country, theme, version, COALESCE(members, 0), "
                                  "COALESCE(online, 0), " NEXUS_ISO(
                                      "last_seen") " FROM directory_instances WHERE status = "
                                                   "'active' AND "
                                                   "(last_seen >= datetime('now', ?1) OR slug IN "
                                                   "(SELECT value FROM json_each(?2))) "
                                                   "ORDER BY slug LIMIT ?3"},
            {&count_, "SELECT COUNT(*) FROM directory_instances"},
            {&list_, "SELECT id, slug, url, status, token FROM directory_instances ORDER BY slug"},
            // A ban set by the admin hub must not be downgraded to a plain revocation.
            {&revoke_,
             "UPDATE directory_instances SET status = "
             "CASE WHEN status = 'banned' THEN status ELSE 'inactive' END WHERE slug = ?1"},
            {&transport_,
             "UPDATE directory_instances SET relay_transport = ?2, "
             "relay_transport_at = CURRENT_TIMESTAMP WHERE slug = ?1"},
        };
        for (const auto& [handle, sql] : statements) {
            sqlite3_stmt* raw = nullptr;
            const int rc =
                sqlite3_prepare_v3(db_.get(), sql, -1, SQLITE_PREPARE_PERSISTENT, &raw, nullptr);
            handle->reset(raw);
            if (rc != SQLITE_OK) {
                return unavailable();
            }
        }
        return {};
    }

    Result<std::int64_t> authenticate(std::string_view slug, std::string_view token) override {
        return guarded([&]() -> Result<std::int64_t> {
            if (!isValidSlug(slug)) {  // cannot exist; spares the database a lookup
                return verifyToken(token, std::nullopt);
            }
            Query query(auth_);
            const int rc = query.bind(slug).step();
            if (rc == SQLITE_ROW) {
                return verifyToken(token, StoredToken{query.integer(0), query.text(1)});
            }
            return rc == SQLITE_DONE ? verifyToken(token, std::nullopt) : unavailable();
        });
    }

    Result<std::optional<std::string>> fallbackUrl(std::string_view slug) override {
        return guarded([&]() -> Result<std::optional<std::string>> {
            if (!isValidSlug(slug)) {
                return std::nullopt;
            }
            Query query(fallback_);
            const int rc = query.bind(slug).step();
            if (rc == SQLITE_ROW) {
                return query.text(0);
            }
            return rc == SQLITE_DONE ? Result<std::optional<std::string>>(std::nullopt)
                                     : unavailable();
        });
    }

    Result<std::vector<std::int64_t>> activeIds(const std::vector<std::int64_t>& ids) override {
        return guarded([&]() -> Result<std::vector<std::int64_t>> {
            std::vector<std::int64_t> active;
            if (ids.empty()) {
                return active;
            }
            std::string json = "[";
            for (const std::int64_t id : ids) {
                json += std::to_string(id) + ',';
            }
            json.back() = ']';
            Query query(active_);
            query.bind(json);
            int rc = SQLITE_OK;
            while ((rc = query.step()) == SQLITE_ROW) {
                active.push_back(query.integer(0));
            }
            return rc == SQLITE_DONE ? Result<std::vector<std::int64_t>>(std::move(active))
                                     : unavailable();
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
            Query query(add_);
            query.bind(slug).bind(url).bind(tokenDigest(created.token)).bind(profile.name);
            for (const auto* field : {&profile.description, &profile.language, &profile.country,
                                      &profile.theme, &profile.version}) {
                query.bindOptional(*field);
            }
            const int rc = query.step();
            if (rc == SQLITE_CONSTRAINT_UNIQUE || rc == SQLITE_CONSTRAINT_PRIMARYKEY) {
                return makeError(Errc::SlugExists);
            }
            if (rc != SQLITE_ROW) {
                return unavailable();
            }
            created.instance.id = query.integer(0);
            created.instance.registeredAt = query.text(1);
            return created;
        });
    }

    Result<Pinged> ping(std::string_view token, const Heartbeat& heartbeat) override {
        return guarded([&]() -> Result<Pinged> {
            Query found(byToken_);
            int rc = found.bind(tokenDigest(token)).bind(token).step();
            if (rc == SQLITE_DONE) {
                return makeError(Errc::AuthFailed);
            }
            if (rc != SQLITE_ROW) {
                return unavailable();
            }
            const auto id = verifyToken(token, StoredToken{found.integer(0), found.text(1)});
            if (!id) {
                return id.error();
            }
            Pinged pinged{found.text(2), found.text(3)};
            Query update(ping_);
            update.bind(std::optional<std::int64_t>(*id)).bind(heartbeat.members);
            rc = update.bind(heartbeat.online).bindOptional(heartbeat.version).step();
            return rc == SQLITE_DONE ? Result<Pinged>(std::move(pinged)) : unavailable();
        });
    }

    Result<void> unregister(std::string_view slug, std::string_view token) override {
        return guarded([&]() -> Result<void> {
            std::optional<StoredToken> row;
            if (isValidSlug(slug)) {
                Query query(owner_);
                const int rc = query.bind(slug).step();
                if (rc == SQLITE_ROW) {
                    row = StoredToken{query.integer(0), query.text(1)};
                } else if (rc != SQLITE_DONE) {
                    return unavailable();
                }
            }
            const auto id = verifyToken(token, row);
            if (!id) {
                return id.error();
            }
            Query query(delete_);
            return query.bind(std::optional<std::int64_t>(*id)).step() == SQLITE_DONE
                       ? Result<void>()
                       : unavailable();
        });
    }

    Result<std::vector<Listing>> listSeen(std::chrono::seconds window,
                                          const std::vector<std::string>& live,
                                          std::size_t limit) override {
        return guarded([&]() -> Result<std::vector<Listing>> {
            std::string slugs = "[";
            for (const auto& slug : live) {
                if (isValidSlug(slug)) {  // nothing in a valid slug needs JSON escaping
                    slugs += '"' + slug + "\",";
                }
            }
            if (slugs.size() > 1) {
                slugs.pop_back();
            }
            slugs += ']';
            Query query(seen_);
            query.bind("-" + std::to_string(window.count()) + " seconds").bind(slugs);
            query.bind(std::optional<std::int64_t>(static_cast<std::int64_t>(limit)));
            std::vector<Listing> listed;
            int rc = SQLITE_OK;
            while ((rc = query.step()) == SQLITE_ROW) {
                listed.push_back(Listing{Instance{query.integer(0), query.text(1), query.text(2),
                                                  query.text(3), true, query.text(4)},
                                         Profile{query.text(5), query.text(6), query.text(7),
                                                 query.text(8), query.text(9), query.text(10)},
                                         query.integer(11), query.integer(12), query.text(13)});
            }
            return rc == SQLITE_DONE ? Result<std::vector<Listing>>(std::move(listed))
                                     : unavailable();
        });
    }

    Result<std::int64_t> count() override {
        return guarded([&]() -> Result<std::int64_t> {
            Query query(count_);
            return query.step() == SQLITE_ROW ? Result<std::int64_t>(query.integer(0))
                                              : unavailable();
        });
    }

    Result<std::vector<Instance>> list() override {
        return guarded([&]() -> Result<std::vector<Instance>> {
            std::vector<Instance> instances;
            Query query(list_);
            int rc = SQLITE_OK;
            while ((rc = query.step()) == SQLITE_ROW) {
                instances.push_back(Instance{query.integer(0), query.text(1), query.text(2),
                                             query.text(3), isHashedToken(query.text(4))});
            }
            return rc == SQLITE_DONE ? Result<std::vector<Instance>>(std::move(instances))
                                     : unavailable();
        });
    }

    Result<void> revoke(std::string_view slug) override {
        return guarded([&]() -> Result<void> { return update(revoke_, slug, std::nullopt); });
    }

    Result<void> recordTransport(std::string_view slug, std::string_view transport) override {
        return guarded([&]() -> Result<void> { return update(transport_, slug, transport); });
    }

private:
    Result<void> update(const StmtHandle& stmt, std::string_view slug,
                        std::optional<std::string_view> value) {
        Query query(stmt);
        query.bind(slug);
        if (value) {
            query.bind(*value);
        }
        const int rc = query.step();
        if (rc == SQLITE_CONSTRAINT_CHECK) {  // e.g. a transport the schema does not know
            return makeError(Errc::InvalidArgument);
        }
        if (rc != SQLITE_DONE) {
            return unavailable();
        }
        return sqlite3_changes(db_.get()) == 0 ? Result<void>(makeError(Errc::SlugNotFound))
                                               : Result<void>();
    }

    DbHandle db_;  // declared first so it is destroyed last, after every statement
    StmtHandle auth_, fallback_, active_, add_, list_, revoke_, transport_;
    StmtHandle byToken_, ping_, owner_, delete_, seen_, count_;
};

// Adds the columns of kProfileColumns that the file lacks (made by an older version).
bool addProfileColumns(sqlite3* db) {
    std::vector<std::string> present;
    {
        sqlite3_stmt* raw = nullptr;
        if (sqlite3_prepare_v2(db, "SELECT name FROM pragma_table_info('directory_instances')", -1,
                               &raw, nullptr) != SQLITE_OK) {
            return false;
        }
        const StmtHandle columns(raw);
        while (sqlite3_step(raw) == SQLITE_ROW) {
            present.emplace_back(reinterpret_cast<const char*>(sqlite3_column_text(raw, 0)));
        }
    }
    for (const auto& [name, type] : kProfileColumns) {
        if (std::find(present.begin(), present.end(), name) != present.end()) {
            continue;
        }
        const std::string sql =
            std::string("ALTER TABLE directory_instances ADD COLUMN ") + name + ' ' + type;
        // Another process may have added it meanwhile: a duplicate column is no failure.
        if (sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr) != SQLITE_OK &&
            std::string_view(sqlite3_errmsg(db)).find("duplicate column") ==
                std::string_view::npos) {
            return false;
        }
    }
    return true;
}

Result<std::unique_ptr<Directory>> openSqliteImpl(const std::string& path, Creation creation) {
    if (path != ":memory:") {
        if (creation == Creation::FileAndFolders) {
            if (auto made = makeParentDirectories(path); !made) {
                return made.error();
            }
        }
        if (creation != Creation::Never) {
            if (auto created = createPrivateFile(path); !created) {
                return created.error();
            }
        } else if (struct stat info{}; ::stat(path.c_str(), &info) != 0) {
            return systemError();
        }
    }
    const int create = creation == Creation::Never ? 0 : SQLITE_OPEN_CREATE;
    sqlite3* raw = nullptr;
    const int rc = sqlite3_open_v2(path.c_str(), &raw,
                                   SQLITE_OPEN_READWRITE | create | SQLITE_OPEN_NOMUTEX, nullptr);
    DbHandle db(raw);  // even a failed open allocates a handle that must be closed
    if (rc != SQLITE_OK) {
        return unavailable();
    }
    sqlite3_extended_result_codes(db.get(), 1);
    // WAL lets `directory revoke` write while the server reads; the busy timeout covers the
    // brief moments when two writers or a checkpoint meet.
    sqlite3_busy_timeout(db.get(), 5000);
    if (sqlite3_exec(db.get(), "PRAGMA journal_mode = WAL", nullptr, nullptr, nullptr) !=
            SQLITE_OK ||
        sqlite3_exec(db.get(), kSchema, nullptr, nullptr, nullptr) != SQLITE_OK ||
        !addProfileColumns(db.get())) {
        return unavailable();
    }
    auto directory = std::make_unique<SqliteDirectory>(std::move(db));
    if (auto prepared = directory->prepare(); !prepared) {
        return prepared.error();
    }
    return std::unique_ptr<Directory>(std::move(directory));
}

}  // namespace

Result<std::unique_ptr<Directory>> openSqlite(const std::string& path, Creation creation) {
    return guarded([&] { return openSqliteImpl(path, creation); });
}

}  // namespace nexus::directory
