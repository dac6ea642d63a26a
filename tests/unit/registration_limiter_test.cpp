// SPDX-License-Identifier: AGPL-3.0-or-later
// Tests for the directory API's registration limits: per caller, in total, bounded memory.
#include "server/registration_limiter.hpp"

#include <gtest/gtest.h>

#include <string>

namespace nexus::server {
namespace {

using Clock = RegistrationLimiter::Clock;
using std::chrono::minutes;

boost::asio::ip::address ip(const std::string& text) {
    return boost::asio::ip::make_address(text);
}

const Clock::time_point kStart = Clock::now();

TEST(RegistrationLimiter, AllowsABurstPerCallerThenSaysHowLongToWait) {
    RegistrationLimiter limiter(RegistrationLimiter::Limits{.callerBurst = 3});
    for (int i = 0; i < 3; ++i) {
        EXPECT_FALSE(limiter.take(ip("203.0.113.7"), kStart)) << i;
    }
    const auto wait = limiter.take(ip("203.0.113.7"), kStart);
    ASSERT_TRUE(wait);
    EXPECT_EQ(std::chrono::duration_cast<minutes>(*wait), minutes(10));
    EXPECT_FALSE(limiter.take(ip("198.51.100.9"), kStart)) << "another caller has its own budget";
}

TEST(RegistrationLimiter, GivesOneAttemptBackPerPeriod) {
    RegistrationLimiter limiter(RegistrationLimiter::Limits{.callerBurst = 1});
    EXPECT_FALSE(limiter.take(ip("203.0.113.7"), kStart));
    EXPECT_TRUE(limiter.take(ip("203.0.113.7"), kStart + minutes(9)));
    EXPECT_FALSE(limiter.take(ip("203.0.113.7"), kStart + minutes(10)));
}

TEST(RegistrationLimiter, CountsAnIpv6SubscriberAsOneCaller) {
    RegistrationLimiter limiter(RegistrationLimiter::Limits{.callerBurst = 1});
    EXPECT_FALSE(limiter.take(ip("2001:db8:1:2::1"), kStart));
    EXPECT_TRUE(limiter.take(ip("2001:db8:1:2::ffff"), kStart));
}

TEST(RegistrationLimiter, CapsEveryCallerTogether) {
    RegistrationLimiter limiter(
        RegistrationLimiter::Limits{.globalBurst = 2, .globalRefill = minutes(1)});
    EXPECT_FALSE(limiter.take(ip("192.0.2.1"), kStart));
    EXPECT_FALSE(limiter.take(ip("192.0.2.2"), kStart));
    const auto wait = limiter.take(ip("192.0.2.3"), kStart);
    ASSERT_TRUE(wait);
    EXPECT_EQ(std::chrono::duration_cast<minutes>(*wait), minutes(1));
    // Refused globally, the caller's own budget was not spent.
    EXPECT_FALSE(limiter.take(ip("192.0.2.3"), kStart + minutes(1)));
}

TEST(RegistrationLimiter, KeepsABoundedTableAndRefusesNewcomersWhenItIsFull) {
    RegistrationLimiter limiter(
        RegistrationLimiter::Limits{.callerBurst = 1, .globalBurst = 100, .maxCallers = 2});
    EXPECT_FALSE(limiter.take(ip("192.0.2.1"), kStart));
    EXPECT_FALSE(limiter.take(ip("192.0.2.2"), kStart));
    EXPECT_TRUE(limiter.take(ip("192.0.2.3"), kStart)) << "every remembered caller still limited";
    EXPECT_EQ(limiter.callers(), 2U);
    // Once their budgets are full again they are forgotten and make room.
    EXPECT_FALSE(limiter.take(ip("192.0.2.3"), kStart + minutes(10)));
    EXPECT_LE(limiter.callers(), 2U);
}

}  // namespace
}  // namespace nexus::server
