// SPDX-License-Identifier: AGPL-3.0-or-later
// The embedded SQLite directory: the deployed column names, one file shared between processes.
#include "directory/directory.hpp"
#include "directory/guarded.hpp"
#include "directory/token_digest.hpp"

#include <sqlite3.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <memory>
#include <string>

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
             "INSERT INTO directory_instances (slug, name, url, status, token) "
             "VALUES (?1, ?1, ?2, 'active', ?3)"},
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
        return guarded([&]() -> Result<NewInstance> {
            if (!isValidSlug(slug)) {
                return makeError(Errc::InvalidSlug);
            }
            NewInstance created{Instance{0, std::string(slug), std::string(url), "active", true},
                                newToken()};
            Query query(add_);
            const int rc = query.bind(slug).bind(url).bind(tokenDigest(created.token)).step();
            if (rc == SQLITE_CONSTRAINT_UNIQUE || rc == SQLITE_CONSTRAINT_PRIMARYKEY) {
                return makeError(Errc::SlugExists);
            }
            if (rc != SQLITE_DONE) {
                return unavailable();
            }
            created.instance.id = sqlite3_last_insert_rowid(db_.get());
            return created;
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
};

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
        sqlite3_exec(db.get(), kSchema, nullptr, nullptr, nullptr) != SQLITE_OK) {
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
