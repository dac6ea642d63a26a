// SPDX-License-Identifier: AGPL-3.0-or-later
// Tests for PreAuthCaps: a cap per caller (IPv4 address, IPv6 /64), and a total at which the
// largest caller's oldest connection makes room instead of the newcomer being refused.
#include "server/pre_auth_caps.hpp"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

namespace nexus::server {
namespace {

using boost::asio::ip::make_address;
using SlotPtr = std::unique_ptr<PreAuthCaps::Slot>;

SlotPtr admitCounting(PreAuthCaps& caps, const std::string& address, int& evictions) {
    auto slot = caps.admit(make_address(address));
    if (slot) {
        slot->onEvict([&evictions] { ++evictions; });
    }
    return slot;
}

TEST(PreAuthCaps, RefusesACallerAtItsOwnCap) {
    PreAuthCaps caps({.total = 100, .perCaller = 2});
    auto a = caps.admit(make_address("198.51.100.7"));
    auto b = caps.admit(make_address("::ffff:198.51.100.7"));  // the same caller, mapped
    EXPECT_TRUE(a && b);
    EXPECT_FALSE(caps.admit(make_address("198.51.100.7")));
    EXPECT_TRUE(caps.admit(make_address("198.51.100.8")));
    b.reset();
    EXPECT_TRUE(caps.admit(make_address("198.51.100.7")));
}

TEST(PreAuthCaps, CountsAWholeIpv6Slash64AsOneCaller) {
    PreAuthCaps caps({.total = 100, .perCaller = 2});
    auto a = caps.admit(make_address("2001:db8:0:1::1"));
    auto b = caps.admit(make_address("2001:db8:0:1::2"));
    EXPECT_FALSE(caps.admit(make_address("2001:db8:0:1:ffff:ffff:ffff:ffff")));
    EXPECT_TRUE(caps.admit(make_address("2001:db8:0:2::1")));
}

TEST(PreAuthCaps, AtTheTotalEvictsTheLargestCallersOldestConnection) {
    PreAuthCaps caps({.total = 5, .perCaller = 3});
    int evictedA = 0;
    int evictedB = 0;
    std::vector<SlotPtr> held;
    held.reserve(6);
    for (int i = 0; i < 3; ++i) {
        held.push_back(admitCounting(caps, "203.0.113.1", evictedA));
    }
    held.push_back(admitCounting(caps, "203.0.113.2", evictedB));
    held.push_back(admitCounting(caps, "203.0.113.2", evictedB));
    ASSERT_EQ(caps.size(), 5U);

    auto newcomer = caps.admit(make_address("192.0.2.9"));
    ASSERT_TRUE(newcomer);
    EXPECT_EQ(evictedA, 1);
    EXPECT_EQ(evictedB, 0);
    EXPECT_EQ(caps.size(), 5U);
    EXPECT_EQ(caps.callerCount(make_address("203.0.113.1")), 2U);
    // The evicted slot's own release (its connection unwinding) gives back nothing twice.
    held[0].reset();
    EXPECT_EQ(caps.size(), 5U);
}

TEST(PreAuthCaps, ManyCallersCannotPushOutARealAgentHoldingOneConnection) {
    // 33 addresses with 16 connections each, reopened as they are evicted: the agent's one
    // connection, from elsewhere, stays until it registers.
    PreAuthCaps caps;  // 512 in all, 16 per caller
    int agentEvicted = 0;
    int attackerEvicted = 0;
    auto agent = admitCounting(caps, "192.0.2.9", agentEvicted);
    std::vector<SlotPtr> attack;
    for (int round = 0; round < 3; ++round) {
        for (int a = 0; a < 33; ++a) {
            for (int c = 0; c < 16; ++c) {
                auto slot =
                    admitCounting(caps, "198.18.0." + std::to_string(a + 1), attackerEvicted);
                if (slot) {
                    attack.push_back(std::move(slot));
                }
            }
        }
    }
    EXPECT_EQ(agentEvicted, 0);
    EXPECT_GT(attackerEvicted, 0);
    EXPECT_LE(caps.size(), 512U);
}

TEST(PreAuthCaps, BetweenEqualCallersEvictsTheOldestConnection) {
    PreAuthCaps caps({.total = 2, .perCaller = 4});
    int evictedOld = 0;
    int evictedNew = 0;
    auto old = admitCounting(caps, "203.0.113.1", evictedOld);
    auto recent = admitCounting(caps, "203.0.113.2", evictedNew);
    auto newcomer = caps.admit(make_address("203.0.113.3"));
    EXPECT_EQ(evictedOld, 1);
    EXPECT_EQ(evictedNew, 0);
}

}  // namespace
}  // namespace nexus::server
