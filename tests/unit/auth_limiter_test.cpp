// SPDX-License-Identifier: AGPL-3.0-or-later
// Tests for AuthLimiter with explicit time points: the per-caller block and the per-network,
// per-slug token bucket that stop token guessing before it reaches the directory, without
// ever letting failures from elsewhere lock a slug's agent out.
#include "server/auth_limiter.hpp"

#include <gtest/gtest.h>

#include <string>

namespace nexus::server {
namespace {

using namespace std::chrono_literals;
using Clock = AuthLimiter::Clock;
using boost::asio::ip::make_address;

const Clock::time_point kT0 = Clock::time_point{} + 1000h;

// Failures from one address, each on its own slug, so only the address limit is exercised.
void failFromIp(AuthLimiter& limiter, const boost::asio::ip::address& ip, int count,
                Clock::time_point start, Clock::duration step) {
    for (int i = 0; i < count; ++i) {
        limiter.recordFailure(ip, "slug" + std::to_string(i), start + i * step);
    }
}

boost::asio::ip::address ipNumber(int i) {
    return make_address("203.0.113." + std::to_string(i + 1));
}

TEST(AuthLimiter, AllowsAnUnknownAddressAndSlug) {
    AuthLimiter limiter;
    EXPECT_TRUE(limiter.allowed(make_address("198.51.100.7"), "demo", kT0));
}

TEST(AuthLimiter, NineFailuresFromOneAddressDoNotBlockIt) {
    AuthLimiter limiter;
    const auto ip = make_address("198.51.100.7");
    failFromIp(limiter, ip, 9, kT0, 10s);
    EXPECT_TRUE(limiter.allowed(ip, "fresh", kT0 + 90s));
}

TEST(AuthLimiter, TenFailuresWithinFiveMinutesBlockTheAddress) {
    AuthLimiter limiter;
    const auto ip = make_address("198.51.100.7");
    failFromIp(limiter, ip, 10, kT0, 30s);  // the last one at +270 s
    const auto last = kT0 + 270s;
    EXPECT_FALSE(limiter.allowed(ip, "fresh", last));
    EXPECT_FALSE(limiter.allowed(ip, "fresh", last + 1s));
    // Other callers and the slugs themselves are not affected by one address's block.
    EXPECT_TRUE(limiter.allowed(make_address("198.51.100.8"), "fresh", last + 1s));
}

TEST(AuthLimiter, BlockLastsFifteenMinutesFromTheLastFailure) {
    AuthLimiter limiter;
    const auto ip = make_address("198.51.100.7");
    failFromIp(limiter, ip, 10, kT0, 30s);
    const auto last = kT0 + 270s;
    // Counting from the first failure would free the address 270 s too early.
    EXPECT_FALSE(limiter.allowed(ip, "fresh", kT0 + 15min + 1s));
    EXPECT_FALSE(limiter.allowed(ip, "fresh", last + 15min - 1s));
    EXPECT_TRUE(limiter.allowed(ip, "fresh", last + 15min));
}

TEST(AuthLimiter, FailuresSpreadOverMoreThanTheWindowDoNotBlock) {
    AuthLimiter limiter;
    const auto ip = make_address("198.51.100.7");
    failFromIp(limiter, ip, 10, kT0, 35s);  // 315 s from first to last
    EXPECT_TRUE(limiter.allowed(ip, "fresh", kT0 + 316s));
}

TEST(AuthLimiter, MappedIpv6AndPlainIpv4ShareOneKey) {
    // A dual-stack listener sees ::ffff:a.b.c.d; alternating doors must not double the budget.
    AuthLimiter limiter;
    const auto v4 = make_address("198.51.100.7");
    const auto mapped = make_address("::ffff:198.51.100.7");
    for (int i = 0; i < 10; ++i) {
        limiter.recordFailure(i % 2 == 0 ? v4 : mapped, "slug" + std::to_string(i), kT0 + i * 1s);
    }
    EXPECT_FALSE(limiter.allowed(v4, "fresh", kT0 + 10s));
    EXPECT_FALSE(limiter.allowed(mapped, "fresh", kT0 + 10s));
}

TEST(AuthLimiter, Ipv6AddressesInDifferentSlash64sHaveDistinctKeys) {
    AuthLimiter limiter;
    failFromIp(limiter, make_address("2001:db8:0:1::1"), 10, kT0, 1s);
    EXPECT_FALSE(limiter.allowed(make_address("2001:db8:0:1::1"), "fresh", kT0 + 10s));
    EXPECT_TRUE(limiter.allowed(make_address("2001:db8:0:2::1"), "fresh", kT0 + 10s));
}

TEST(AuthLimiter, OneSlash64CountsAsOneCaller) {
    // A subscriber owns a whole /64; spraying addresses inside it must not evade the limit.
    AuthLimiter limiter;
    for (int i = 0; i < 10; ++i) {
        const auto ip = make_address("2001:db8:0:1::" + std::to_string(i + 1));
        limiter.recordFailure(ip, "slug" + std::to_string(i), kT0 + i * 1s);
    }
    EXPECT_FALSE(limiter.allowed(make_address("2001:db8:0:1::ffff"), "fresh", kT0 + 10s));
}

TEST(AuthLimiter, MemoryStaysBoundedWhenEveryEntryIsLive) {
    AuthLimiter::Limits limits;
    limits.maxEntries = 50;
    AuthLimiter limiter(limits);
    for (int i = 0; i < 1000; ++i) {
        const auto ip =
            make_address("10." + std::to_string(i / 250) + ".0." + std::to_string(i % 250));
        limiter.recordFailure(ip, "slug", kT0 + i * 1ms);
    }
    // Entries beyond the cap were not tracked, but the first network's budget on the slug,
    // tracked before the cap was reached, still ran out.
    EXPECT_FALSE(limiter.allowed(make_address("10.0.0.251"), "slug", kT0 + 2s));
    EXPECT_TRUE(limiter.allowed(make_address("10.0.0.251"), "other", kT0 + 2s));
}

TEST(AuthLimiter, FailuresFromOtherNetworksNeverLockTheSlugsAgentOut) {
    // The attack that kept a tenant offline: a bad token for its slug every 0.5 s, each from
    // a fresh address, for an hour. The real agent, from its own network, is never refused.
    AuthLimiter limiter;
    const auto agent = make_address("192.0.2.200");
    for (int i = 0; i < 7200; ++i) {
        const auto now = kT0 + i * 500ms;
        const auto attacker =
            make_address("198.18." + std::to_string(i / 250 % 250) + "." + std::to_string(i % 250));
        if (limiter.allowed(attacker, "demo", now)) {
            limiter.recordFailure(attacker, "demo", now);
        }
        ASSERT_TRUE(limiter.allowed(agent, "demo", now)) << "refused after " << i << " failures";
    }
}

TEST(AuthLimiter, TenFailuresOnOneSlugFromOneNetworkSlowThatNetworkOnThatSlugOnly) {
    AuthLimiter limiter;
    for (int i = 0; i < 10; ++i) {
        limiter.recordFailure(ipNumber(i), "demo", kT0);  // ten addresses of 203.0.113.0/24
    }
    EXPECT_FALSE(limiter.allowed(ipNumber(0), "demo", kT0));
    EXPECT_FALSE(limiter.allowed(ipNumber(100), "demo", kT0));  // rotating does not help
    EXPECT_TRUE(limiter.allowed(ipNumber(100), "other", kT0));
    EXPECT_TRUE(limiter.allowed(make_address("192.0.2.200"), "demo", kT0));
}

TEST(AuthLimiter, RotatingSlash64sInsideOneSlash48IsSlowedOnTheSlug) {
    AuthLimiter limiter;
    for (int i = 0; i < 10; ++i) {
        limiter.recordFailure(make_address("2001:db8:0:" + std::to_string(i + 1) + "::1"), "demo",
                              kT0);
    }
    EXPECT_FALSE(limiter.allowed(make_address("2001:db8:0:ff::1"), "demo", kT0));
    EXPECT_TRUE(limiter.allowed(make_address("2001:db8:1:ff::1"), "demo", kT0));
}

TEST(AuthLimiter, NetworkBucketRefillsOneAttemptEverySixSeconds) {
    AuthLimiter limiter;
    for (int i = 0; i < 10; ++i) {
        limiter.recordFailure(ipNumber(i), "demo", kT0);
    }
    const auto neighbour = ipNumber(200);
    EXPECT_FALSE(limiter.allowed(neighbour, "demo", kT0 + 5s));
    EXPECT_TRUE(limiter.allowed(neighbour, "demo", kT0 + 6s));
    // The one refilled attempt is used up by one more failure.
    limiter.recordFailure(neighbour, "demo", kT0 + 6s);
    EXPECT_FALSE(limiter.allowed(neighbour, "demo", kT0 + 6s));
    EXPECT_FALSE(limiter.allowed(neighbour, "demo", kT0 + 11s));
    EXPECT_TRUE(limiter.allowed(neighbour, "demo", kT0 + 12s));
}

TEST(AuthLimiter, NetworkBucketNeverRefillsAboveTheBurst) {
    AuthLimiter limiter;
    limiter.recordFailure(ipNumber(0), "demo", kT0);
    // After a long quiet time the network may fail 10 times on the slug again, not more.
    const auto later = kT0 + 24h;
    for (int i = 0; i < 10; ++i) {
        EXPECT_TRUE(limiter.allowed(ipNumber(i + 1), "demo", later)) << "failure " << i;
        limiter.recordFailure(ipNumber(i + 1), "demo", later);
    }
    EXPECT_FALSE(limiter.allowed(ipNumber(20), "demo", later));
}

TEST(AuthLimiter, PruneKeepsBlockingStateThatIsStillActive) {
    AuthLimiter limiter;
    const auto ip = make_address("198.51.100.7");
    failFromIp(limiter, ip, 10, kT0, 1s);
    for (int i = 0; i < 10; ++i) {
        limiter.recordFailure(ipNumber(i), "demo", kT0 + 10s);
    }
    limiter.prune(kT0 + 11s);
    EXPECT_FALSE(limiter.allowed(ipNumber(200), "demo", kT0 + 11s));
    limiter.prune(kT0 + 10min);
    EXPECT_FALSE(limiter.allowed(ip, "fresh", kT0 + 10min));
}

TEST(AuthLimiter, PruneKeepsAPartialCountInsideTheWindow) {
    // Pruning must not hand an attacker a fresh budget of ten every prune interval.
    AuthLimiter limiter;
    const auto ip = make_address("198.51.100.7");
    failFromIp(limiter, ip, 9, kT0, 1s);
    limiter.prune(kT0 + 2min);
    limiter.recordFailure(ip, "slug-last", kT0 + 2min);
    EXPECT_FALSE(limiter.allowed(ip, "fresh", kT0 + 2min));
}

TEST(AuthLimiter, PruneForgetsExpiredStateWithoutUnblockingEarly) {
    AuthLimiter limiter;
    const auto ip = make_address("198.51.100.7");
    failFromIp(limiter, ip, 10, kT0, 1s);
    const auto free = kT0 + 9s + 15min;
    limiter.prune(free);
    EXPECT_TRUE(limiter.allowed(ip, "fresh", free));
    // A single new failure after the block starts a fresh count: one is not ten.
    limiter.recordFailure(ip, "slug-new", free);
    EXPECT_TRUE(limiter.allowed(ip, "fresh", free + 1s));
}

}  // namespace
}  // namespace nexus::server
