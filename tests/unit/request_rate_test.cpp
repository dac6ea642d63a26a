// SPDX-License-Identifier: AGPL-3.0-or-later
// Tests for RequestRate: requests per minute over a sliding minute of samples.
#include "common/request_rate.hpp"

#include <gtest/gtest.h>

namespace nexus {
namespace {

using namespace std::chrono_literals;

TEST(RequestRate, IsZeroAtTheFirstSample) {
    RequestRate rate;
    EXPECT_EQ(rate.sample(RequestRate::Clock::time_point{} + 1h, 500), 0U);
}

TEST(RequestRate, ScalesAYoungerWindowToAMinute) {
    RequestRate rate;
    const auto start = RequestRate::Clock::time_point{} + 1h;
    rate.sample(start, 100);
    EXPECT_EQ(rate.sample(start + 10s, 150), 300U);  // 50 in 10 s
}

TEST(RequestRate, CountsOnlyTheLastMinute) {
    RequestRate rate;
    const auto start = RequestRate::Clock::time_point{} + 1h;
    std::uint64_t total = 0;
    // A burst of 6,000 in the first five seconds, then 10 requests every 5 s.
    rate.sample(start, total);
    total += 6000;
    rate.sample(start + 5s, total);
    std::uint64_t last = 0;
    for (auto t = 10s; t <= 120s; t += 5s) {
        total += 10;
        last = rate.sample(start + t, total);
    }
    EXPECT_EQ(last, 120U);  // the burst left the window: 10 per 5 s
}

TEST(RequestRate, DoesNotBlowUpSamplesTakenWithinASecond) {
    RequestRate rate;
    const auto start = RequestRate::Clock::time_point{} + 1h;
    rate.sample(start, 0);
    EXPECT_EQ(rate.sample(start + 100ms, 3), 180U);  // as if over a second, not 1,800
}

}  // namespace
}  // namespace nexus
