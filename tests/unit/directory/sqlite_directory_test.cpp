// SPDX-License-Identifier: AGPL-3.0-or-later
// Tests for the embedded SQLite directory, including rows written by other tools and processes.
#include "directory/directory.hpp"
#include "directory/token_digest.hpp"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>

namespace nexus::directory {
namespace {

// A second, raw handle on the file: what an operator's sqlite3 shell or an import would do.
class RawDb {
public:
    explicit RawDb(const std::string& path) { sqlite3_open(path.c_str(), &db_); }
    ~RawDb() { sqlite3_close(db_); }
    RawDb(const RawDb&) = delete;
    RawDb& operator=(const RawDb&) = delete;

    void exec(const std::string& sql) {
        char* error = nullptr;
        const int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &error);
        EXPECT_EQ(rc, SQLITE_OK) << (error != nullptr ? error : "") << " in " << sql;
        sqlite3_free(error);
    }
    std::string text(const std::string& sql) {
        sqlite3_stmt* stmt = nullptr;
        EXPECT_EQ(sqlite3_prepare_v2(db_, sql.c_str(), -1, &stmt, nullptr), SQLITE_OK) << sql;
        std::string value = "<no row>";
        if (sqlite3_step(stmt) == SQLITE_ROW && sqlite3_column_text(stmt, 0) != nullptr) {
            value = reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0));
        }
        sqlite3_finalize(stmt);
        return value;
    }

private:
    sqlite3* db_ = nullptr;
};

class SqliteDirectoryTest : public ::testing::Test {
protected:
    void SetUp() override {
        std::string pattern =
            (std::filesystem::temp_directory_path() / "nexus-dir-XXXXXX").string();
        ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
        root_ = pattern;
        path_ = root_ + "/state/directory/directory.db";  // parents do not exist yet
        auto opened = openSqlite(path_, Creation::FileAndFolders);
        ASSERT_TRUE(opened.has_value()) << opened.error().message();
        dir_ = std::move(*opened);
    }
    void TearDown() override {
        dir_.reset();
        std::filesystem::remove_all(root_);
    }

    NewInstance add(const std::string& slug, const std::string& url = "https://example.org") {
        auto created = dir_->add(slug, url);
        EXPECT_TRUE(created.has_value()) << slug;
        return created.has_value() ? *created : NewInstance{};
    }
    // A row as the deployed registration API wrote it: the plaintext token.
    void insertLegacy(const std::string& slug, const std::string& token,
                      const std::string& status) {
        RawDb(path_).exec(
            "INSERT INTO directory_instances (slug, name, url, status, token) VALUES ('" + slug +
            "', 'Legacy', 'https://" + slug + ".example', '" + status + "', '" + token + "')");
    }

    std::string root_;
    std::string path_;
    std::unique_ptr<Directory> dir_;
};

TEST_F(SqliteDirectoryTest, AddedSlugGetsA64HexTokenThatAuthenticates) {
    const NewInstance created = add("alice");
    EXPECT_EQ(created.token.size(), 64U);
    EXPECT_EQ(created.token.find_first_not_of("0123456789abcdef"), std::string::npos);
    EXPECT_EQ(created.instance.status, "active");
    EXPECT_TRUE(created.instance.tokenHashed);

    const auto id = dir_->authenticate("alice", created.token);
    ASSERT_TRUE(id.has_value()) << id.error().message();
    EXPECT_EQ(*id, created.instance.id);
}

TEST_F(SqliteDirectoryTest, StoresTheTokenDigestNotTheToken) {
    const NewInstance created = add("alice");
    const std::string stored =
        RawDb(path_).text("SELECT token FROM directory_instances WHERE slug = 'alice'");
    EXPECT_EQ(stored, tokenDigest(created.token));
    EXPECT_EQ(stored.find(created.token), std::string::npos);
    EXPECT_EQ(RawDb(path_).text("SELECT name FROM directory_instances WHERE slug = 'alice'"),
              "alice");
}

TEST_F(SqliteDirectoryTest, WrongTokenAndUnknownSlugGiveTheSameAuthFailure) {
    const NewInstance created = add("alice");
    EXPECT_EQ(dir_->authenticate("alice", newToken()).error(), makeError(Errc::AuthFailed));
    EXPECT_EQ(dir_->authenticate("bob", created.token).error(), makeError(Errc::AuthFailed));
    EXPECT_EQ(dir_->authenticate("Not A Slug!", created.token).error(),
              makeError(Errc::AuthFailed));
}

TEST_F(SqliteDirectoryTest, LegacyPlaintextRowAuthenticates) {
    const std::string token = newToken();
    insertLegacy("legacy", token, "active");
    EXPECT_TRUE(dir_->authenticate("legacy", token).has_value());
    EXPECT_EQ(dir_->authenticate("legacy", newToken()).error(), makeError(Errc::AuthFailed));
}

TEST_F(SqliteDirectoryTest, PendingInactiveAndBannedRowsDoNotAuthenticate) {
    for (const std::string status : {"pending", "inactive", "banned"}) {
        const std::string token = newToken();
        insertLegacy(status, token, status);
        EXPECT_EQ(dir_->authenticate(status, token).error(), makeError(Errc::AuthFailed)) << status;
    }
}

TEST_F(SqliteDirectoryTest, StoredDigestPresentedAsTokenIsRejected) {
    add("alice");
    const std::string stored =
        RawDb(path_).text("SELECT token FROM directory_instances WHERE slug = 'alice'");
    EXPECT_EQ(dir_->authenticate("alice", stored).error(), makeError(Errc::AuthFailed));
}

TEST_F(SqliteDirectoryTest, TakenSlugCannotBeAddedAgain) {
    add("alice");
    insertLegacy("legacy", newToken(), "active");
    EXPECT_EQ(dir_->add("alice", "https://other.example").error(), makeError(Errc::SlugExists));
    EXPECT_EQ(dir_->add("legacy", "https://other.example").error(), makeError(Errc::SlugExists));
}

TEST_F(SqliteDirectoryTest, InvalidSlugCannotBeAdded) {
    EXPECT_EQ(dir_->add("Alice", "https://example.org").error(), makeError(Errc::InvalidSlug));
    EXPECT_EQ(dir_->add("", "https://example.org").error(), makeError(Errc::InvalidSlug));
}

TEST_F(SqliteDirectoryTest, RevokedSlugNoLongerAuthenticatesNorCountsAsActive) {
    const NewInstance alice = add("alice");
    const NewInstance bob = add("bob");
    ASSERT_TRUE(dir_->revoke("alice").has_value());

    EXPECT_EQ(dir_->authenticate("alice", alice.token).error(), makeError(Errc::AuthFailed));
    const auto active = dir_->activeIds({alice.instance.id, bob.instance.id, 999});
    ASSERT_TRUE(active.has_value());
    EXPECT_EQ(*active, std::vector<std::int64_t>{bob.instance.id});
}

TEST_F(SqliteDirectoryTest, ActiveIdsOfNothingIsNothing) {
    const auto active = dir_->activeIds({});
    ASSERT_TRUE(active.has_value());
    EXPECT_TRUE(active->empty());
}

TEST_F(SqliteDirectoryTest, RevokingAnUnknownSlugReportsNotFound) {
    EXPECT_EQ(dir_->revoke("ghost").error(), makeError(Errc::SlugNotFound));
}

TEST_F(SqliteDirectoryTest, RevokeDoesNotTurnABanIntoAPlainRevocation) {
    insertLegacy("spammer", newToken(), "banned");
    EXPECT_TRUE(dir_->revoke("spammer").has_value());
    EXPECT_EQ(RawDb(path_).text("SELECT status FROM directory_instances WHERE slug = 'spammer'"),
              "banned");
}

TEST_F(SqliteDirectoryTest, ListShowsDigestAndLegacyRowsInSlugOrder) {
    add("zed", "https://zed.example");
    insertLegacy("legacy", newToken(), "pending");
    const auto all = dir_->list();
    ASSERT_TRUE(all.has_value());
    ASSERT_EQ(all->size(), 2U);
    EXPECT_EQ((*all)[0].slug, "legacy");
    EXPECT_EQ((*all)[0].status, "pending");
    EXPECT_FALSE((*all)[0].tokenHashed);
    EXPECT_EQ((*all)[1].slug, "zed");
    EXPECT_EQ((*all)[1].url, "https://zed.example");
    EXPECT_EQ((*all)[1].status, "active");
    EXPECT_TRUE((*all)[1].tokenHashed);
}

TEST_F(SqliteDirectoryTest, FallbackUrlOnlyForActiveSlugs) {
    add("alice", "https://alice.example/home");
    add("bob", "https://bob.example");
    ASSERT_TRUE(dir_->revoke("bob").has_value());

    const auto alice = dir_->fallbackUrl("alice");
    ASSERT_TRUE(alice.has_value());
    EXPECT_EQ(*alice, std::optional<std::string>("https://alice.example/home"));
    EXPECT_EQ(*dir_->fallbackUrl("bob"), std::nullopt);
    EXPECT_EQ(*dir_->fallbackUrl("nobody"), std::nullopt);
    EXPECT_EQ(*dir_->fallbackUrl("NOT VALID"), std::nullopt);
}

TEST_F(SqliteDirectoryTest, SecondHandleSeesARevokeMadeThroughTheFirst) {
    // Like the server (this object) and a `directory revoke` command in another process.
    const NewInstance alice = add("alice");
    auto other = openSqlite(path_, Creation::Never);
    ASSERT_TRUE(other.has_value());
    ASSERT_TRUE(dir_->authenticate("alice", alice.token).has_value());
    ASSERT_TRUE((*other)->authenticate("alice", alice.token).has_value());

    ASSERT_TRUE(dir_->revoke("alice").has_value());
    EXPECT_EQ((*other)->authenticate("alice", alice.token).error(), makeError(Errc::AuthFailed));
    EXPECT_TRUE((*other)->activeIds({alice.instance.id})->empty());

    const NewInstance bob = add("bob");
    EXPECT_TRUE((*other)->authenticate("bob", bob.token).has_value());
}

TEST_F(SqliteDirectoryTest, RevokeFromAnotherProcessTakesEffectAtOnce) {
    const NewInstance alice = add("alice");
    ASSERT_TRUE(dir_->authenticate("alice", alice.token).has_value());
    const pid_t child = ::fork();
    ASSERT_NE(child, -1);
    if (child == 0) {  // the `directory revoke` command
        auto other = openSqlite(path_, Creation::Never);
        ::_exit(other.has_value() && (*other)->revoke("alice").has_value() ? 0 : 1);
    }
    int status = 0;
    ASSERT_EQ(::waitpid(child, &status, 0), child);
    ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    EXPECT_EQ(dir_->authenticate("alice", alice.token).error(), makeError(Errc::AuthFailed));
}

TEST_F(SqliteDirectoryTest, TwoHandlesCanWriteAtTheSameTime) {
    // Each handle is used by one thread, as the interface requires; the busy timeout absorbs
    // the moments when both want the write lock.
    auto run = [this](const std::string& prefix, bool* ok) {
        auto handle = openSqlite(path_, Creation::Never);
        *ok = handle.has_value();
        for (int i = 0; *ok && i < 40; ++i) {
            auto created = (*handle)->add(prefix + std::to_string(i), "https://example.org");
            *ok = created.has_value() &&
                  (*handle)->authenticate(created->instance.slug, created->token).has_value();
        }
    };
    bool okA = false;
    bool okB = false;
    std::thread a(run, "a", &okA);
    std::thread b(run, "b", &okB);
    a.join();
    b.join();
    EXPECT_TRUE(okA);
    EXPECT_TRUE(okB);
    EXPECT_EQ(dir_->list()->size(), 80U);
}

TEST_F(SqliteDirectoryTest, RowsSurviveReopening) {
    const NewInstance alice = add("alice");
    dir_.reset();
    auto reopened = openSqlite(path_, Creation::Never);
    ASSERT_TRUE(reopened.has_value());
    EXPECT_EQ(*(*reopened)->authenticate("alice", alice.token), alice.instance.id);
}

TEST_F(SqliteDirectoryTest, RecordTransportFillsTheTelemetryColumns) {
    add("alice");
    ASSERT_TRUE(dir_->recordTransport("alice", "wss").has_value());
    RawDb raw(path_);
    EXPECT_EQ(raw.text("SELECT relay_transport FROM directory_instances WHERE slug = 'alice'"),
              "wss");
    EXPECT_NE(raw.text("SELECT relay_transport_at FROM directory_instances WHERE slug = 'alice'"),
              "<no row>");
    EXPECT_EQ(dir_->recordTransport("alice", "carrier-pigeon").error(),
              makeError(Errc::InvalidArgument));
    EXPECT_EQ(dir_->recordTransport("ghost", "tcp7443").error(), makeError(Errc::SlugNotFound));
}

TEST_F(SqliteDirectoryTest, RegisteredInstanceKeepsItsProfileAndIsActiveAtOnce) {
    const Profile profile{"My forum", "About us", "en", "BE", "dark", "1.2.3"};
    auto created = dir_->registerInstance("forum", "https://forum.example.org", profile);
    ASSERT_TRUE(created.has_value()) << created.error().message();
    EXPECT_EQ(created->instance.status, "active");
    EXPECT_EQ(created->instance.registeredAt.size(), 20U) << created->instance.registeredAt;
    EXPECT_TRUE(dir_->authenticate("forum", created->token).has_value());
    EXPECT_EQ(RawDb(path_).text("SELECT name || '|' || description || '|' || country FROM "
                                "directory_instances WHERE slug = 'forum'"),
              "My forum|About us|BE");
    EXPECT_EQ(dir_->registerInstance("forum", "https://x.example", profile).error(),
              makeError(Errc::SlugExists));
    EXPECT_EQ(*dir_->count(), 1);
}

TEST_F(SqliteDirectoryTest, PingFindsTheRowByTokenAndMarksItSeen) {
    const NewInstance created = add("alice");
    auto pinged = dir_->ping(created.token, Heartbeat{12, std::nullopt, "2.0"});
    ASSERT_TRUE(pinged.has_value()) << pinged.error().message();
    EXPECT_EQ(pinged->slug, "alice");
    EXPECT_EQ(pinged->status, "active");
    EXPECT_EQ(RawDb(path_).text("SELECT members || '|' || online || '|' || version || '|' || "
                                "(last_seen IS NOT NULL) FROM directory_instances"),
              "12|0|2.0|1");
    EXPECT_EQ(dir_->ping(std::string(64, 'f'), {}).error(), makeError(Errc::AuthFailed));
    // The stored digest is not a token.
    EXPECT_EQ(dir_->ping(tokenDigest(created.token), {}).error(), makeError(Errc::AuthFailed));
}

TEST_F(SqliteDirectoryTest, PingAcceptsALegacyPlaintextRow) {
    insertLegacy("old", std::string(64, 'c'), "active");
    EXPECT_EQ(dir_->ping(std::string(64, 'c'), {})->slug, "old");
}

TEST_F(SqliteDirectoryTest, UnregisterNeedsTheTokenAndSparesBannedRows) {
    const NewInstance created = add("alice");
    EXPECT_EQ(dir_->unregister("alice", std::string(64, 'f')).error(), makeError(Errc::AuthFailed));
    EXPECT_EQ(dir_->unregister("nobody", created.token).error(), makeError(Errc::AuthFailed));
    EXPECT_TRUE(dir_->unregister("alice", created.token).has_value());
    EXPECT_EQ(*dir_->count(), 0);

    insertLegacy("banned", std::string(64, 'b'), "banned");
    EXPECT_EQ(dir_->unregister("banned", std::string(64, 'b')).error(),
              makeError(Errc::AuthFailed));
}

TEST_F(SqliteDirectoryTest, ListSeenShowsActiveInstancesPingedRecentlyOrLive) {
    const NewInstance pinged = add("pinged");
    add("live");
    add("silent");
    const NewInstance revoked = add("revoked");
    RawDb(path_).exec(
        "UPDATE directory_instances SET last_seen = datetime('now', '-20 minutes') "
        "WHERE slug = 'silent'");
    ASSERT_TRUE(dir_->ping(pinged.token, {}).has_value());
    ASSERT_TRUE(dir_->ping(revoked.token, {}).has_value());
    ASSERT_TRUE(dir_->revoke("revoked").has_value());
    auto listed = dir_->listSeen(std::chrono::minutes(15), {"live", "nosuch"}, 10);
    ASSERT_TRUE(listed.has_value());
    ASSERT_EQ(listed->size(), 2U);
    EXPECT_EQ((*listed)[0].instance.slug, "live");
    EXPECT_EQ((*listed)[0].lastSeen, "");
    EXPECT_EQ((*listed)[1].instance.slug, "pinged");
    EXPECT_EQ((*listed)[1].lastSeen.size(), 20U);
    EXPECT_EQ(dir_->listSeen(std::chrono::minutes(15), {"live"}, 1)->size(), 1U);
}

TEST_F(SqliteDirectoryTest, AFileFromBeforeTheRegistrationApiGainsItsColumns) {
    dir_.reset();
    const std::string old = root_ + "/old.db";
    RawDb(old).exec(
        "CREATE TABLE directory_instances (id INTEGER PRIMARY KEY, slug TEXT NOT NULL UNIQUE, "
        "name TEXT NOT NULL, url TEXT NOT NULL, status TEXT NOT NULL DEFAULT 'pending', token "
        "TEXT NOT NULL UNIQUE, registered_at TEXT DEFAULT CURRENT_TIMESTAMP, relay_transport "
        "TEXT, relay_transport_at TEXT); INSERT INTO directory_instances (slug, name, url, "
        "status, token) VALUES ('kept', 'kept', 'https://kept.example', 'active', 'x')");
    auto opened = openSqlite(old, Creation::Never);
    ASSERT_TRUE(opened.has_value()) << opened.error().message();
    const NewInstance created = *(*opened)->add("fresh", "https://fresh.example");
    EXPECT_EQ((*opened)->ping(created.token, Heartbeat{3, 1, ""})->slug, "fresh");
    EXPECT_EQ(RawDb(old).text("SELECT group_concat(slug || ':' || members || ':' || language) "
                              "FROM directory_instances"),
              "kept:0:fr,fresh:3:fr");
}

TEST_F(SqliteDirectoryTest, CreatesAPrivateFileInAPrivateDirectory) {
    struct stat file {};
    struct stat parent {};
    ASSERT_EQ(::stat(path_.c_str(), &file), 0);
    ASSERT_EQ(::stat(std::filesystem::path(path_).parent_path().c_str(), &parent), 0);
    EXPECT_EQ(file.st_mode & 0777, 0600U);
    EXPECT_EQ(parent.st_mode & 0027, 0U);  // 0750, or tighter under a stricter umask
}

TEST_F(SqliteDirectoryTest, UsesWriteAheadLoggingSoOtherProcessesCanWrite) {
    EXPECT_EQ(RawDb(path_).text("PRAGMA journal_mode"), "wal");
}

TEST_F(SqliteDirectoryTest, OpeningAPathThatCannotBeCreatedFails) {
    RawDb(path_).exec("SELECT 1");
    const std::string blocked = path_ + "/inside-a-file.db";  // a regular file as a parent
    EXPECT_FALSE(openSqlite(blocked, Creation::FileAndFolders).has_value());
}

TEST_F(SqliteDirectoryTest, AMissingFileIsAnErrorUnlessCreationIsAsked) {
    const std::string typo = root_ + "/state/directory/typo.db";
    auto opened = openSqlite(typo, Creation::Never);
    ASSERT_FALSE(opened.has_value());
    EXPECT_EQ(opened.error(), std::errc::no_such_file_or_directory);
    struct stat info {};
    EXPECT_NE(::stat(typo.c_str(), &info), 0) << "nothing may be created";
    EXPECT_TRUE(openSqlite(typo, Creation::File).has_value());
}

TEST_F(SqliteDirectoryTest, CreatingTheFileDoesNotCreateMissingFolders) {
    const std::string typo = root_ + "/typo/directory.db";
    auto opened = openSqlite(typo, Creation::File);
    ASSERT_FALSE(opened.has_value());
    struct stat info {};
    EXPECT_NE(::stat((root_ + "/typo").c_str(), &info), 0);
}

}  // namespace
}  // namespace nexus::directory
