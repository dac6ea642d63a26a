// SPDX-License-Identifier: AGPL-3.0-or-later
// Tests for the PostgreSQL directory against the deployed table shape, and its outage behaviour.
#include "directory/directory.hpp"
#include "directory/token_digest.hpp"

#include "common/crypto.hpp"

#include <gtest/gtest.h>
#include <libpq-fe.h>

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <string>
#include <thread>

namespace nexus::directory {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// Migration 014 as deployed, then the columns, constraint and index of migration 116.
constexpr const char* kDeployedSchema = R"sql(
CREATE TABLE directory_instances (
    id SERIAL PRIMARY KEY, slug VARCHAR(63) NOT NULL UNIQUE, name VARCHAR(100) NOT NULL,
    description TEXT, url TEXT NOT NULL, ip VARCHAR(45), language VARCHAR(10) DEFAULT 'fr',
    country VARCHAR(2), theme VARCHAR(50), members INT DEFAULT 0, online INT DEFAULT 0,
    version VARCHAR(20),
    status VARCHAR(20) DEFAULT 'pending' CHECK (status IN ('pending','active','inactive','banned')),
    token VARCHAR(64) NOT NULL UNIQUE, cloudflare_record_id TEXT, last_seen TIMESTAMPTZ,
    registered_at TIMESTAMPTZ DEFAULT NOW());
CREATE INDEX idx_directory_slug ON directory_instances (slug);
CREATE INDEX idx_directory_status ON directory_instances (status);
CREATE INDEX idx_directory_last_seen ON directory_instances (last_seen);
ALTER TABLE directory_instances ADD COLUMN relay_transport TEXT,
    ADD COLUMN relay_transport_at TIMESTAMPTZ,
    ADD CONSTRAINT directory_instances_relay_transport_check
        CHECK (relay_transport IS NULL OR relay_transport IN ('tcp7443','wss'));
CREATE INDEX idx_directory_relay_transport ON directory_instances
    (relay_transport, relay_transport_at DESC) WHERE relay_transport IS NOT NULL;
)sql";

bool isUrl(const std::string& conninfo) {
    return conninfo.rfind("postgres://", 0) == 0 || conninfo.rfind("postgresql://", 0) == 0;
}

// Adds connection parameters to a URL or a key=value conninfo (values without spaces).
std::string withParams(const std::string& conninfo, const std::string& schema,
                       const std::string& app) {
    if (isUrl(conninfo)) {
        const char sep = conninfo.find('?') == std::string::npos ? '?' : '&';
        return conninfo + sep + "options=-csearch_path%3D" + schema + "&application_name=" + app;
    }
    return conninfo + " options='-csearch_path=" + schema + "' application_name=" + app;
}

// A port nothing listens on: bound once to get a free number, then closed.
int closedPort() {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t size = sizeof addr;
    const bool bound = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
                       ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &size) == 0;
    ::close(fd);
    EXPECT_TRUE(bound) << "could not bind a loopback port to find a free number";
    return ntohs(addr.sin_port);
}

class PostgresDirectoryTest : public ::testing::Test {
protected:
    void SetUp() override {
        const char* url = std::getenv("NEXUS_TEST_DATABASE_URL");
        if (url == nullptr || *url == '\0') {
            if (std::getenv("CI") != nullptr) {
                FAIL() << "NEXUS_TEST_DATABASE_URL is not set, and CI must run the PostgreSQL "
                          "tests: export "
                          "NEXUS_TEST_DATABASE_URL=\"$(tests/testkit/start-postgres.sh)\"";
            }
            GTEST_SKIP()
                << "NEXUS_TEST_DATABASE_URL is not set (see tests/testkit/start-postgres.sh)";
        }
        schema_ = "nexus_test_" + crypto::randomHex(6);
        admin_ = PQconnectdb(url);
        ASSERT_EQ(PQstatus(admin_), CONNECTION_OK)
            << "cannot reach NEXUS_TEST_DATABASE_URL: " << PQerrorMessage(admin_);
        PQsetNoticeProcessor(
            admin_, [](void*, const char*) {}, nullptr);  // DROP ... CASCADE
        exec("CREATE SCHEMA " + schema_ + "; SET search_path = " + schema_ + ";");
        exec(kDeployedSchema);
        auto opened = openPostgres(withParams(url, schema_, schema_));
        ASSERT_TRUE(opened.has_value()) << opened.error().message();
        dir_ = std::move(*opened);
    }
    void TearDown() override {
        dir_.reset();
        if (admin_ != nullptr) {
            if (PQtransactionStatus(admin_) != PQTRANS_IDLE) {
                exec("ROLLBACK");  // a test that failed while holding a lock
            }
            if (!schema_.empty() && PQstatus(admin_) == CONNECTION_OK) {
                exec("DROP SCHEMA IF EXISTS " + schema_ + " CASCADE");
            }
            PQfinish(admin_);
        }
    }

    // Runs SQL on the test's own connection and returns the first value (or "<null>").
    std::string exec(const std::string& sql) {
        PGresult* result = PQexec(admin_, sql.c_str());
        const ExecStatusType status = PQresultStatus(result);
        EXPECT_TRUE(status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK)
            << PQresultErrorMessage(result) << " in " << sql;
        std::string value = "<null>";
        if (status == PGRES_TUPLES_OK && PQntuples(result) > 0 && !PQgetisnull(result, 0, 0)) {
            value = PQgetvalue(result, 0, 0);
        }
        PQclear(result);
        return value;
    }
    // A row as the deployed registration API writes it: plaintext token, name, pending first.
    void insertLegacy(const std::string& slug, const std::string& token,
                      const std::string& status) {
        exec("INSERT INTO directory_instances (slug, name, url, status, token) VALUES ('" + slug +
             "', 'Legacy " + slug + "', 'https://" + slug + ".example', '" + status + "', '" +
             token + "')");
    }
    NewInstance add(const std::string& slug, const std::string& url = "https://example.org") {
        auto created = dir_->add(slug, url);
        EXPECT_TRUE(created.has_value()) << slug << ": " << created.error().message();
        return created.has_value() ? *created : NewInstance{};
    }

    std::string schema_;
    PGconn* admin_ = nullptr;
    std::unique_ptr<Directory> dir_;
};

TEST_F(PostgresDirectoryTest, AddedSlugGetsA64HexTokenThatAuthenticates) {
    const NewInstance created = add("alice");
    EXPECT_EQ(created.token.size(), 64U);
    EXPECT_EQ(created.token.find_first_not_of("0123456789abcdef"), std::string::npos);
    EXPECT_GT(created.instance.id, 0);
    const auto id = dir_->authenticate("alice", created.token);
    ASSERT_TRUE(id.has_value()) << id.error().message();
    EXPECT_EQ(*id, created.instance.id);
}

TEST_F(PostgresDirectoryTest, StoresTheDigestInTheDeployedColumns) {
    const NewInstance created = add("alice", "https://alice.example");
    EXPECT_EQ(exec("SELECT token FROM directory_instances WHERE slug = 'alice'"),
              tokenDigest(created.token));
    EXPECT_EQ(exec("SELECT name FROM directory_instances WHERE slug = 'alice'"), "alice");
    EXPECT_EQ(exec("SELECT status FROM directory_instances WHERE slug = 'alice'"), "active");
    EXPECT_EQ(exec("SELECT url FROM directory_instances WHERE slug = 'alice'"),
              "https://alice.example");
}

TEST_F(PostgresDirectoryTest, WrongTokenAndUnknownSlugGiveTheSameAuthFailure) {
    const NewInstance created = add("alice");
    EXPECT_EQ(dir_->authenticate("alice", newToken()).error(), makeError(Errc::AuthFailed));
    EXPECT_EQ(dir_->authenticate("bob", created.token).error(), makeError(Errc::AuthFailed));
    EXPECT_EQ(dir_->authenticate("x'; --", created.token).error(), makeError(Errc::AuthFailed));
}

TEST_F(PostgresDirectoryTest, LegacyPlaintextRowAuthenticates) {
    const std::string token = newToken();
    insertLegacy("legacy", token, "active");
    const auto id = dir_->authenticate("legacy", token);
    ASSERT_TRUE(id.has_value()) << id.error().message();
    EXPECT_EQ(std::to_string(*id),
              exec("SELECT id FROM directory_instances WHERE slug = 'legacy'"));
    EXPECT_EQ(dir_->authenticate("legacy", newToken()).error(), makeError(Errc::AuthFailed));
}

TEST_F(PostgresDirectoryTest, OnlyActiveRowsAuthenticateAsDeployed) {
    for (const std::string status : {"pending", "inactive", "banned"}) {
        const std::string token = newToken();
        insertLegacy(status, token, status);
        EXPECT_EQ(dir_->authenticate(status, token).error(), makeError(Errc::AuthFailed)) << status;
    }
}

TEST_F(PostgresDirectoryTest, StoredDigestPresentedAsTokenIsRejected) {
    add("alice");
    const std::string stored = exec("SELECT token FROM directory_instances WHERE slug = 'alice'");
    EXPECT_EQ(dir_->authenticate("alice", stored).error(), makeError(Errc::AuthFailed));
}

TEST_F(PostgresDirectoryTest, TakenSlugCannotBeAddedAgain) {
    add("alice");
    insertLegacy("legacy", newToken(), "pending");
    EXPECT_EQ(dir_->add("alice", "https://x.example").error(), makeError(Errc::SlugExists));
    EXPECT_EQ(dir_->add("legacy", "https://x.example").error(), makeError(Errc::SlugExists));
}

TEST_F(PostgresDirectoryTest, RevokedSlugNoLongerAuthenticatesNorCountsAsActive) {
    const NewInstance alice = add("alice");
    const NewInstance bob = add("bob");
    ASSERT_TRUE(dir_->revoke("alice").has_value());
    EXPECT_EQ(exec("SELECT status FROM directory_instances WHERE slug = 'alice'"), "inactive");
    EXPECT_EQ(dir_->authenticate("alice", alice.token).error(), makeError(Errc::AuthFailed));
    const auto active = dir_->activeIds({alice.instance.id, bob.instance.id, 4'000'000'000});
    ASSERT_TRUE(active.has_value()) << active.error().message();
    EXPECT_EQ(*active, std::vector<std::int64_t>{bob.instance.id});
    EXPECT_TRUE(dir_->activeIds({})->empty());
}

TEST_F(PostgresDirectoryTest, RevokeKeepsABanAndReportsUnknownSlugs) {
    insertLegacy("spammer", newToken(), "banned");
    EXPECT_TRUE(dir_->revoke("spammer").has_value());
    EXPECT_EQ(exec("SELECT status FROM directory_instances WHERE slug = 'spammer'"), "banned");
    EXPECT_EQ(dir_->revoke("ghost").error(), makeError(Errc::SlugNotFound));
}

TEST_F(PostgresDirectoryTest, ListShowsDigestAndLegacyRowsInSlugOrder) {
    add("zed", "https://zed.example");
    insertLegacy("legacy", newToken(), "pending");
    const auto all = dir_->list();
    ASSERT_TRUE(all.has_value()) << all.error().message();
    ASSERT_EQ(all->size(), 2U);
    EXPECT_EQ((*all)[0].slug, "legacy");
    EXPECT_EQ((*all)[0].status, "pending");
    EXPECT_FALSE((*all)[0].tokenHashed);
    EXPECT_EQ((*all)[1].slug, "zed");
    EXPECT_EQ((*all)[1].url, "https://zed.example");
    EXPECT_TRUE((*all)[1].tokenHashed);
}

TEST_F(PostgresDirectoryTest, FallbackUrlOnlyForActiveSlugs) {
    add("alice", "https://alice.example/home");
    insertLegacy("sleepy", newToken(), "inactive");
    EXPECT_EQ(*dir_->fallbackUrl("alice"),
              std::optional<std::string>("https://alice.example/home"));
    EXPECT_EQ(*dir_->fallbackUrl("sleepy"), std::nullopt);
    EXPECT_EQ(*dir_->fallbackUrl("nobody"), std::nullopt);
}

TEST_F(PostgresDirectoryTest, RecordTransportFillsTheMigration116Columns) {
    add("alice");
    ASSERT_TRUE(dir_->recordTransport("alice", "tcp7443").has_value());
    EXPECT_EQ(exec("SELECT relay_transport FROM directory_instances WHERE slug = 'alice'"),
              "tcp7443");
    EXPECT_EQ(
        exec("SELECT relay_transport_at > NOW() - interval '1 minute' FROM directory_instances "
             "WHERE slug = 'alice'"),
        "t");
    EXPECT_EQ(dir_->recordTransport("alice", "ftp").error(), makeError(Errc::InvalidArgument));
    EXPECT_EQ(dir_->recordTransport("ghost", "wss").error(), makeError(Errc::SlugNotFound));
}

TEST_F(PostgresDirectoryTest, RecoversAfterItsBackendIsTerminated) {
    const NewInstance alice = add("alice");
    ASSERT_EQ(exec("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                   "WHERE application_name = '" +
                   schema_ + "'"),
              "1");
    const auto start = Clock::now();
    bool recovered = false;
    while (!recovered && Clock::now() - start < std::chrono::seconds(3)) {
        const auto callStart = Clock::now();
        const auto id = dir_->authenticate("alice", alice.token);
        EXPECT_LT(Clock::now() - callStart, milliseconds(500)) << "an outage call must fail fast";
        if (id.has_value()) {
            recovered = true;
        } else {
            EXPECT_EQ(id.error(), makeError(Errc::DirectoryUnavailable));
            std::this_thread::sleep_for(milliseconds(100));
        }
    }
    EXPECT_TRUE(recovered) << "no recovery within 3 s after pg_terminate_backend";
}

TEST_F(PostgresDirectoryTest, IdleConnectionKilledByARestartCostsNoFailedCall) {
    const NewInstance alice = add("alice");
    std::this_thread::sleep_for(milliseconds(1100));  // past the one-attempt-per-second limit
    exec("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = '" +
         schema_ + "'");
    std::this_thread::sleep_for(milliseconds(100));  // lets the server's close reach us
    const auto id = dir_->authenticate("alice", alice.token);
    EXPECT_TRUE(id.has_value()) << "the closed connection should be noticed before the query";
}

TEST_F(PostgresDirectoryTest, LockedTableTimesOutInsteadOfHanging) {
    const NewInstance alice = add("alice");
    exec("BEGIN; LOCK TABLE directory_instances IN ACCESS EXCLUSIVE MODE;");
    const auto start = Clock::now();
    EXPECT_EQ(dir_->authenticate("alice", alice.token).error(),
              makeError(Errc::DirectoryUnavailable));
    EXPECT_LT(Clock::now() - start, milliseconds(4500));
    exec("ROLLBACK;");
    EXPECT_TRUE(dir_->authenticate("alice", alice.token).has_value())
        << "the session must stay usable";
}

TEST(PostgresDirectory, OpensWhileTheServerIsDownAndFailsFast) {
    const std::string conninfo =
        "postgres://nexus@127.0.0.1:" + std::to_string(closedPort()) + "/none";
    auto opened = openPostgres(conninfo);
    ASSERT_TRUE(opened.has_value()) << "opening must not need the server";
    Directory& dir = **opened;

    EXPECT_EQ(dir.authenticate("alice", newToken()).error(), makeError(Errc::DirectoryUnavailable));
    const auto start = Clock::now();
    EXPECT_EQ(dir.authenticate("alice", newToken()).error(), makeError(Errc::DirectoryUnavailable));
    EXPECT_EQ(dir.fallbackUrl("alice").error(), makeError(Errc::DirectoryUnavailable));
    EXPECT_LT(Clock::now() - start, milliseconds(100)) << "no new connection attempt within 1 s";
}

TEST(PostgresDirectory, MalformedConninfoIsRejectedAtOpen) {
    EXPECT_EQ(openPostgres("no_such_keyword=1").error(), makeError(Errc::InvalidArgument));
    EXPECT_EQ(openPostgres("host='unterminated").error(), makeError(Errc::InvalidArgument));
}

}  // namespace
}  // namespace nexus::directory
