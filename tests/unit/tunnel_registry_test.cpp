// SPDX-License-Identifier: AGPL-3.0-or-later
// Tests for TunnelRegistry: replacement on re-registration and compare-and-remove, the fix for
// the deployed relay's reconnect race (an old session's teardown removing the new session).
#include "server/tunnel_registry.hpp"

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

}  // namespace
}  // namespace nexus::server
