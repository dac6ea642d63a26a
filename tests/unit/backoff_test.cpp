// SPDX-License-Identifier: AGPL-3.0-or-later
// Tests for Backoff: the agent's reconnect delays, with the random source injected so jitter
// is deterministic.
#include "net/backoff.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <vector>

namespace nexus::net {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

Backoff withRandom(double value) {
    return Backoff(seconds(1), seconds(30), [value] { return value; });
}

std::vector<Backoff::Duration> nominals(Backoff& backoff, int count) {
    std::vector<Backoff::Duration> out;
    out.reserve(static_cast<std::size_t>(count));
    for (int i = 0; i < count; ++i) {
        out.push_back(backoff.next().nominal);
    }
    return out;
}

TEST(Backoff, DoublesFromOneSecondUpToThirty) {
    Backoff backoff = withRandom(0.5);
    const std::vector<Backoff::Duration> expected = {
        seconds(1), seconds(2), seconds(4), seconds(8), seconds(16), seconds(30), seconds(30)};
    EXPECT_EQ(nominals(backoff, 7), expected);
}

TEST(Backoff, StaysAtTheCapForever) {
    // The shift is bounded: hundreds of failures must not overflow into a zero or negative delay.
    Backoff backoff = withRandom(0.0);
    for (int i = 0; i < 500; ++i) {
        backoff.next();
    }
    const auto step = backoff.next();
    EXPECT_EQ(step.nominal, seconds(30));
    EXPECT_EQ(step.delay, seconds(15));
}

TEST(Backoff, RandomZeroGivesHalfTheNominalDelay) {
    Backoff backoff = withRandom(0.0);
    for (const auto nominal : {1000, 2000, 4000, 8000, 16000, 30000}) {
        const auto step = backoff.next();
        EXPECT_EQ(step.nominal, milliseconds(nominal));
        EXPECT_EQ(step.delay, milliseconds(nominal / 2));
    }
}

TEST(Backoff, RandomNearOneGivesAlmostTheNominalDelay) {
    Backoff backoff = withRandom(0.999);
    for (int i = 0; i < 7; ++i) {
        const auto step = backoff.next();
        EXPECT_LE(step.delay, step.nominal);
        EXPECT_GE(step.delay, step.nominal - step.nominal / 100) << "attempt " << i;
    }
}

TEST(Backoff, DelayAlwaysWithinHalfToFullNominal) {
    for (const double r : {0.0, 0.25, 0.5, 0.75, 0.999}) {
        Backoff backoff = withRandom(r);
        for (int i = 0; i < 8; ++i) {
            const auto step = backoff.next();
            EXPECT_GE(step.delay, step.nominal / 2) << "r=" << r << " attempt " << i;
            EXPECT_LE(step.delay, step.nominal) << "r=" << r << " attempt " << i;
        }
    }
}

TEST(Backoff, JitterIsAppliedAfterTheCap) {
    // Capping after jitter would pin every agent to exactly 30 s; here they spread over 15-30 s.
    Backoff low = withRandom(0.0);
    Backoff high = withRandom(0.999);
    for (int i = 0; i < 6; ++i) {
        low.next();
        high.next();
    }
    const auto atCapLow = low.next();
    const auto atCapHigh = high.next();
    EXPECT_EQ(atCapLow.nominal, seconds(30));
    EXPECT_EQ(atCapLow.delay, seconds(15));
    EXPECT_GT(atCapHigh.delay, seconds(29));
    EXPECT_LE(atCapHigh.delay, seconds(30));
}

TEST(Backoff, ResetReturnsToOneSecond) {
    Backoff backoff = withRandom(0.0);
    nominals(backoff, 5);
    EXPECT_EQ(backoff.attempt(), 5U);
    backoff.reset();
    EXPECT_EQ(backoff.attempt(), 0U);
    const auto step = backoff.next();
    EXPECT_EQ(step.nominal, seconds(1));
    EXPECT_EQ(step.delay, milliseconds(500));
    EXPECT_EQ(backoff.next().nominal, seconds(2));
}

TEST(Backoff, DefaultIsOneToThirtySecondsWithRealJitter) {
    Backoff backoff;
    const auto first = backoff.next();
    EXPECT_EQ(first.nominal, seconds(1));
    EXPECT_GE(first.delay, milliseconds(500));
    EXPECT_LE(first.delay, seconds(1));
    const auto rest = nominals(backoff, 10);
    EXPECT_EQ(rest.back(), seconds(30));
}

TEST(Backoff, OutOfRangeRandomIsClamped) {
    // A misbehaving source must not produce a negative wait or one beyond the nominal.
    Backoff negative(seconds(1), seconds(30), [] { return -3.0; });
    EXPECT_EQ(negative.next().delay, milliseconds(500));
    Backoff huge(seconds(1), seconds(30), [] { return 7.0; });
    EXPECT_EQ(huge.next().delay, seconds(1));
}

}  // namespace
}  // namespace nexus::net
