// SPDX-License-Identifier: AGPL-3.0-or-later
// RelayServer in process: a real SQLite directory, listeners bound on loopback and handed to
// it, a plain v1 agent registering over a socket; the tunnel snapshot, the operations
// disconnect() and revoke(), and the events each one emits.
#include "run_until_done.hpp"

#include "directory/directory.hpp"
#include "net/listen.hpp"
#include "protocol/v1_messages.hpp"
#include "server/relay_server.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <gtest/gtest.h>

#include <array>
#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

namespace nexus::server {
namespace {

using namespace std::chrono_literals;
namespace asio = boost::asio;
namespace v1 = protocol::v1;
using tcp = asio::ip::tcp;
constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);

struct Recorder final : RelayObserver {
    std::vector<TunnelEvent::Kind> tunnels;
    std::vector<std::string> reasons;
    std::vector<std::string> requestIds;
    std::vector<unsigned> statuses;
    void tunnelEvent(const TunnelEvent& event) override {
        tunnels.push_back(event.kind);
        reasons.push_back(event.reason);
    }
    void requestServed(const RequestServed& event) override {
        requestIds.push_back(event.record.id);
        statuses.push_back(event.record.status);
    }
    void authFailure(const AuthFailure&) override {}
};

class RelayServerTest : public ::testing::Test {
protected:
    void SetUp() override {
        path_ = std::filesystem::temp_directory_path() /
                ("relay-server-test-" + std::to_string(::getpid()) + ".sqlite");
        std::filesystem::remove(path_);
        auto opened = directory::openSqlite(path_.string(), directory::Creation::File);
        ASSERT_TRUE(opened);
        auto added = (*opened)->add("demo", "");
        ASSERT_TRUE(added);
        token_ = added->token;
        worker_.emplace(io_.get_executor(), std::move(*opened));
        relay_.emplace(io_.get_executor(), ServerConfig{}, log_, *worker_, events_);
        auto control = net::bindAcceptor(io_.get_executor(), "127.0.0.1", 0);
        auto http = net::bindAcceptor(io_.get_executor(), "127.0.0.1", 0);
        ASSERT_TRUE(control && http);
        controlPort_ = control->local_endpoint().port();
        httpPort_ = http->local_endpoint().port();
        ASSERT_FALSE(relay_->start({std::move(*control), std::move(*http), std::nullopt}));
    }
    void TearDown() override {
        relay_->stop();
        io_.run_for(100ms);
        relay_.reset();
        worker_.reset();
        std::filesystem::remove(path_);
    }

    // Connects a v1 agent for "demo" and waits for its `registered`.
    asio::awaitable<void> registerAgent() {
        agent_.emplace(io_);
        co_await agent_->async_connect({asio::ip::make_address("127.0.0.1"), controlPort_},
                                       asio::use_awaitable);
        const std::string json = v1::encode(v1::Register{"demo", token_, {}, {}});
        std::string frame(4, '\0');
        const auto size = static_cast<std::uint32_t>(json.size());
        for (int i = 0; i < 4; ++i) {
            frame[i] = static_cast<char>((size >> (8 * (3 - i))) & 0xFFU);
        }
        frame += json;
        co_await asio::async_write(*agent_, asio::buffer(frame), asio::use_awaitable);
        std::array<unsigned char, 4> length{};
        co_await asio::async_read(*agent_, asio::buffer(length), asio::use_awaitable);
        std::string reply((length[2] << 8U) | length[3], '\0');
        co_await asio::async_read(*agent_, asio::buffer(reply), asio::use_awaitable);
        auto message = v1::decodeServerMessage(reply);
        EXPECT_TRUE(message && std::get<v1::Registered>(*message).ok) << reply;
    }

    // Reads from the agent's socket until the relay closes it.
    asio::awaitable<void> waitAgentClosed() {
        std::array<char, 256> sink{};
        for (;;) {
            auto [ec, n] = co_await agent_->async_read_some(asio::buffer(sink), kTuple);
            if (ec) {
                co_return;
            }
        }
    }

    // Lets the relay's own coroutines (the session teardown) run.
    void settle() { io_.run_for(50ms); }

    asio::io_context io_;
    NullLogger log_;
    Recorder events_;
    std::filesystem::path path_;
    std::string token_;
    std::optional<DirectoryWorker> worker_;
    std::optional<RelayServer> relay_;
    std::optional<tcp::socket> agent_;
    std::uint16_t controlPort_ = 0;
    std::uint16_t httpPort_ = 0;
};

TEST_F(RelayServerTest, ListsARegisteredTunnelWithItsDoorAndProtocol) {
    ASSERT_TRUE(testkit::runUntilDone(io_, registerAgent(), 5s));
    settle();
    const auto tunnels = relay_->tunnels();
    ASSERT_EQ(tunnels.size(), 1U);
    EXPECT_EQ(tunnels[0].info.slug, "demo");
    EXPECT_EQ(tunnels[0].info.door, "tcp");
    EXPECT_EQ(tunnels[0].info.protocol, "v1");
    EXPECT_FALSE(tunnels[0].info.encrypted);
    EXPECT_EQ(tunnels[0].counters.requests(), 0U);
    EXPECT_EQ(events_.tunnels, std::vector{TunnelEvent::Kind::Registered});
}

TEST_F(RelayServerTest, DisconnectDropsTheTunnelWithItsOwnEvent) {
    ASSERT_TRUE(testkit::runUntilDone(io_, registerAgent(), 5s));
    ASSERT_TRUE(relay_->disconnect("demo"));
    ASSERT_TRUE(testkit::runUntilDone(io_, waitAgentClosed(), 5s));
    settle();
    EXPECT_EQ(relay_->tunnelCount(), 0U);
    ASSERT_EQ(events_.tunnels.size(), 2U);
    EXPECT_EQ(events_.tunnels[1], TunnelEvent::Kind::Disconnected);
    EXPECT_EQ(events_.reasons[1], "disconnected by the operator");
}

TEST_F(RelayServerTest, DisconnectOfAnUnknownSlugIsAnError) {
    const auto result = relay_->disconnect("nobody");
    ASSERT_FALSE(result);
    EXPECT_EQ(result.error(), makeError(Errc::NoSuchTunnel));
    EXPECT_TRUE(events_.tunnels.empty());
}

TEST_F(RelayServerTest, RevokeRevokesInTheDirectoryAndDropsTheTunnel) {
    ASSERT_TRUE(testkit::runUntilDone(io_, registerAgent(), 5s));
    Result<void> revoked = makeError(Errc::Timeout);
    auto revoke = [&]() -> asio::awaitable<void> { revoked = co_await relay_->revoke("demo"); };
    ASSERT_TRUE(testkit::runUntilDone(io_, revoke(), 5s));
    ASSERT_TRUE(revoked) << revoked.error().message();
    ASSERT_TRUE(testkit::runUntilDone(io_, waitAgentClosed(), 5s));
    settle();
    EXPECT_EQ(relay_->tunnelCount(), 0U);
    EXPECT_EQ(events_.tunnels.back(), TunnelEvent::Kind::Revoked);
    // The directory refuses the token from now on.
    auto check = [&]() -> asio::awaitable<void> {
        auto token = token_;
        auto authenticate = [token](directory::Directory& d) {
            return d.authenticate("demo", token);
        };
        auto id = co_await worker_->run(std::move(authenticate), 5s);
        EXPECT_FALSE(id);
    };
    ASSERT_TRUE(testkit::runUntilDone(io_, check(), 5s));
}

TEST_F(RelayServerTest, RevokeOfAnUnknownSlugIsTheDirectoryError) {
    Result<void> revoked;
    auto revoke = [&]() -> asio::awaitable<void> { revoked = co_await relay_->revoke("nobody"); };
    ASSERT_TRUE(testkit::runUntilDone(io_, revoke(), 5s));
    ASSERT_FALSE(revoked);
    EXPECT_EQ(revoked.error(), makeError(Errc::SlugNotFound));
}

TEST_F(RelayServerTest, AFallbackAnswerIsARequestEventWithAnId) {
    auto visit = [&]() -> asio::awaitable<void> {
        tcp::socket visitor(io_);
        co_await visitor.async_connect({asio::ip::make_address("127.0.0.1"), httpPort_},
                                       asio::use_awaitable);
        const std::string request =
            "GET /x?secret=1 HTTP/1.1\r\nHost: nobody.nexusnode.app\r\nConnection: close\r\n\r\n";
        co_await asio::async_write(visitor, asio::buffer(request), asio::use_awaitable);
        std::array<char, 4096> sink{};
        for (;;) {
            auto [ec, n] = co_await visitor.async_read_some(asio::buffer(sink), kTuple);
            if (ec) {
                break;
            }
        }
    };
    ASSERT_TRUE(testkit::runUntilDone(io_, visit(), 5s));
    settle();
    ASSERT_EQ(events_.statuses.size(), 1U);
    EXPECT_EQ(events_.statuses[0], 404U);  // no such slug in the directory
    EXPECT_FALSE(events_.requestIds[0].empty());
}

}  // namespace
}  // namespace nexus::server
