// SPDX-License-Identifier: AGPL-3.0-or-later
// Tests for TunnelRegistry: replacement on re-registration and compare-and-remove, the fix for
// the deployed relay's reconnect race (an old session's teardown removing the new session).
#include "server/tunnel_registry.hpp"

#include "run_until_done.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

namespace nexus::server {
namespace {

using ::testing::UnorderedElementsAre;

// The registry only looks at info(); serving and closing are the sessions' business.
class FakeTunnel final : public Tunnel {
public:
    FakeTunnel(std::string slug, std::uint64_t sessionId)
        : Tunnel(TunnelInfo{std::move(slug), 0, "192.0.2.1:40000", "tcp", "v1", sessionId, {}}) {}

    boost::asio::awaitable<bool> serve(HttpExchange&) override { co_return false; }
    boost::asio::awaitable<ErrorCode> run() override { co_return ErrorCode{}; }
    std::chrono::seconds idleTimeout() const override { return std::chrono::seconds(90); }
    void close(ErrorCode) override { ++closed; }
    void supersede(const std::string&) override { ++closed; }

    int closed = 0;
};

std::shared_ptr<FakeTunnel> tunnel(std::string slug, std::uint64_t sessionId) {
    return std::make_shared<FakeTunnel>(std::move(slug), sessionId);
}

TEST(TunnelRegistry, FindsNothingWhenEmpty) {
    TunnelRegistry registry;
    EXPECT_EQ(registry.find("demo"), nullptr);
    EXPECT_EQ(registry.size(), 0U);
    EXPECT_TRUE(registry.all().empty());
}

TEST(TunnelRegistry, ReplaceOnAFreeSlugReturnsNothingAndInstalls) {
    TunnelRegistry registry;
    const auto a = tunnel("demo", 1);
    EXPECT_EQ(registry.replace(a), nullptr);
    EXPECT_EQ(registry.find("demo"), a);
    EXPECT_EQ(registry.size(), 1U);
}

TEST(TunnelRegistry, ReplaceReturnsTheSessionItSupersedes) {
    TunnelRegistry registry;
    const auto a = tunnel("demo", 1);
    const auto b = tunnel("demo", 2);
    registry.replace(a);
    EXPECT_EQ(registry.replace(b), a);
    EXPECT_EQ(registry.find("demo"), b);
    EXPECT_EQ(registry.size(), 1U);
    // Closing the superseded session is the caller's decision, not the registry's.
    EXPECT_EQ(a->closed, 0);
}

TEST(TunnelRegistry, RemoveIfOfTheSupersededSessionKeepsTheNewOne) {
    TunnelRegistry registry;
    const auto a = tunnel("demo", 1);
    const auto b = tunnel("demo", 2);
    registry.replace(a);
    registry.replace(b);
    // A's teardown runs after B registered: it must not take B's slug away.
    EXPECT_FALSE(registry.removeIf(a.get()));
    EXPECT_EQ(registry.find("demo"), b);
    EXPECT_EQ(registry.size(), 1U);
}

TEST(TunnelRegistry, RemoveIfOfTheCurrentSessionRemovesIt) {
    TunnelRegistry registry;
    const auto a = tunnel("demo", 1);
    const auto b = tunnel("demo", 2);
    registry.replace(a);
    registry.replace(b);
    EXPECT_TRUE(registry.removeIf(b.get()));
    EXPECT_EQ(registry.find("demo"), nullptr);
    EXPECT_EQ(registry.size(), 0U);
    EXPECT_FALSE(registry.removeIf(b.get()));  // a second teardown is harmless
}

TEST(TunnelRegistry, RemoveIfOfAnUnregisteredTunnelIsFalse) {
    TunnelRegistry registry;
    const auto never = tunnel("ghost", 9);
    EXPECT_FALSE(registry.removeIf(never.get()));
    registry.replace(tunnel("demo", 1));
    const auto sameSlugOtherSession = tunnel("demo", 1);
    EXPECT_FALSE(registry.removeIf(sameSlugOtherSession.get()));
    EXPECT_NE(registry.find("demo"), nullptr);
}

TEST(TunnelRegistry, SlugsAreIndependent) {
    TunnelRegistry registry;
    const auto demo = tunnel("demo", 1);
    const auto other = tunnel("other", 2);
    registry.replace(demo);
    registry.replace(other);
    EXPECT_TRUE(registry.removeIf(demo.get()));
    EXPECT_EQ(registry.find("demo"), nullptr);
    EXPECT_EQ(registry.find("other"), other);
}

TEST(TunnelRegistry, AllListsEveryLiveSessionOnce) {
    TunnelRegistry registry;
    const auto a = tunnel("a", 1);
    const auto b1 = tunnel("b", 2);
    const auto b2 = tunnel("b", 3);
    registry.replace(a);
    registry.replace(b1);
    registry.replace(b2);
    EXPECT_THAT(registry.all(),
                UnorderedElementsAre(std::shared_ptr<Tunnel>(a), std::shared_ptr<Tunnel>(b2)));
}

TEST(TunnelRegistry, KeepsTheSupersededSessionAliveForItsOwner) {
    // replace() hands the old session back: it must stay valid until its owner lets go.
    TunnelRegistry registry;
    std::weak_ptr<FakeTunnel> weakA;
    std::shared_ptr<Tunnel> returned;
    {
        auto a = tunnel("demo", 1);
        weakA = a;
        registry.replace(std::move(a));
        returned = registry.replace(tunnel("demo", 2));
    }
    EXPECT_FALSE(weakA.expired());
    EXPECT_EQ(returned->info().sessionId, 1U);
    returned.reset();
    EXPECT_TRUE(weakA.expired());
}

// Requests waiting for a slug's agent (a restart, a reconnect).

using namespace std::chrono_literals;
namespace asio = boost::asio;

// Waits for `slug` on `registry` into `out`, `done` set once the wait is over.
asio::awaitable<void> waitInto(TunnelRegistry& registry, asio::io_context& io, std::string slug,
                               std::chrono::milliseconds timeout, std::shared_ptr<Tunnel>& out,
                               bool& done) {
    out = co_await registry.waits().wait(io.get_executor(), slug, timeout);
    done = true;
}

TEST(TunnelRegistry, AWaitEndsTheMomentTheSlugRegisters) {
    asio::io_context io;
    TunnelRegistry registry;
    std::shared_ptr<Tunnel> got;
    bool done = false;
    asio::co_spawn(io, waitInto(registry, io, "demo", 10s, got, done), asio::detached);
    io.poll();
    EXPECT_EQ(registry.waits().waiting(), 1U);
    registry.replace(tunnel("other", 1));  // another slug wakes nobody
    io.poll();
    EXPECT_FALSE(done);
    const auto start = std::chrono::steady_clock::now();
    const auto demo = tunnel("demo", 2);
    registry.replace(demo);
    while (!done && io.run_one_for(1s) > 0) {
    }
    EXPECT_TRUE(done);
    EXPECT_EQ(got, demo);
    EXPECT_LT(std::chrono::steady_clock::now() - start, 1s);
    EXPECT_EQ(registry.waits().waiting(), 0U);
}

TEST(TunnelRegistry, AWaitEndsEmptyAtItsDeadline) {
    asio::io_context io;
    TunnelRegistry registry;
    std::shared_ptr<Tunnel> got = tunnel("x", 1);
    bool done = false;
    EXPECT_TRUE(testkit::runUntilDone(io, waitInto(registry, io, "demo", 20ms, got, done), 5s));
    EXPECT_EQ(got, nullptr);
    EXPECT_EQ(registry.waits().waiting(), 0U);
}

TEST(TunnelRegistry, WaitsBeyondTheCapsEndAtOnce) {
    asio::io_context io;
    TunnelRegistry registry;
    registry.waits().limit(2, 3);
    std::vector<std::shared_ptr<Tunnel>> got(5);
    bool done[5] = {};
    const char* slugs[5] = {"a", "a", "a", "b", "b"};
    for (int i = 0; i < 5; ++i) {
        asio::co_spawn(io, waitInto(registry, io, slugs[i], 10s, got[i], done[i]), asio::detached);
    }
    io.poll();
    // Two for "a" (the third is over the per-slug cap), one for "b" (then the total cap).
    EXPECT_EQ(registry.waits().waiting(), 3U);
    EXPECT_THAT(std::vector<bool>(done, done + 5),
                ::testing::ElementsAre(false, false, true, false, true));
    registry.waits().cancelAll();
    io.poll();
    EXPECT_EQ(registry.waits().waiting(), 0U);
    for (const auto& t : got) {
        EXPECT_EQ(t, nullptr);
    }
}

TEST(TunnelRegistry, RemembersWhichSlugsLeftLately) {
    TunnelRegistry registry;
    EXPECT_TRUE(registry.startedRecently());
    const auto demo = tunnel("demo", 1);
    const auto old = tunnel("demo", 0);
    registry.replace(demo);
    EXPECT_FALSE(registry.leftRecently("demo"));
    EXPECT_FALSE(registry.removeIf(old.get()));  // not the live one: nothing left
    EXPECT_FALSE(registry.leftRecently("demo"));
    EXPECT_TRUE(registry.removeIf(demo.get()));
    EXPECT_TRUE(registry.leftRecently("demo"));
    EXPECT_FALSE(registry.leftRecently("other"));
}

}  // namespace
}  // namespace nexus::server
