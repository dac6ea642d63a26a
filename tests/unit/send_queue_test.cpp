// SPDX-License-Identifier: AGPL-3.0-or-later
// Tests for SendQueueLimiter: the limit follows the delivery rate within its bounds, and it
// really lands on a TCP socket (read back with getsockopt on a loopback pair).
#include "net/send_queue.hpp"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <array>
#include <cstring>

namespace nexus::net {
namespace {

TEST(SendQueueLimiter, HoldsAHomeUplinkToAFewMilliseconds) {
    // 100 Mbit/s = 12.5 MB/s: 4 ms is 50,000 bytes, rounded up to 48 KiB.
    EXPECT_EQ(SendQueueLimiter::limitFor(12'500'000), 48U * 1024);
}

TEST(SendQueueLimiter, NeverGoesBelowTheFloor) {
    // 2 Mbit/s for 4 ms is 1,000 bytes: less than one TCP segment's worth of batching.
    EXPECT_EQ(SendQueueLimiter::limitFor(250'000), SendQueueLimiter::kMinBytes);
    EXPECT_EQ(SendQueueLimiter::limitFor(0), SendQueueLimiter::kMinBytes);
}

TEST(SendQueueLimiter, GrowsWithTheRateInSixteenKibSteps) {
    // 500 MB/s for 4 ms = 2,000,000 bytes, rounded up to a 16 KiB multiple.
    const auto limit = SendQueueLimiter::limitFor(500'000'000);
    EXPECT_EQ(limit % (16 * 1024), 0U);
    EXPECT_GE(limit, 2'000'000U);
    EXPECT_LT(limit, 2'000'000U + 16 * 1024);
}

TEST(SendQueueLimiter, StopsAtTheCeilingOnAFastPath) {
    EXPECT_EQ(SendQueueLimiter::limitFor(40'000'000'000ULL), SendQueueLimiter::kMaxBytes);
}

class LoopbackPair : public ::testing::Test {
protected:
    void SetUp() override {
        listener_ = ::socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in address{};
        address.sin_family = AF_INET;
        address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        ASSERT_EQ(::bind(listener_, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
        ASSERT_EQ(::listen(listener_, 1), 0);
        socklen_t size = sizeof address;
        ASSERT_EQ(::getsockname(listener_, reinterpret_cast<sockaddr*>(&address), &size), 0);
        sender_ = ::socket(AF_INET, SOCK_STREAM, 0);
        ASSERT_EQ(::connect(sender_, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
        receiver_ = ::accept(listener_, nullptr, nullptr);
        ASSERT_GE(receiver_, 0);
    }

    void TearDown() override {
        for (int fd : {sender_, receiver_, listener_}) {
            if (fd >= 0) {
                ::close(fd);
            }
        }
    }

    int notsentLowat() const {
        int value = -1;
        socklen_t size = sizeof value;
        EXPECT_EQ(::getsockopt(sender_, IPPROTO_TCP, TCP_NOTSENT_LOWAT, &value, &size), 0);
        return value;
    }

    int listener_ = -1;
    int sender_ = -1;
    int receiver_ = -1;
};

TEST_F(LoopbackPair, LeavesASocketWithoutBulkAlone) {
    const int before = notsentLowat();
    SendQueueLimiter limiter;
    limiter.wrote(sender_, 0);
    EXPECT_EQ(notsentLowat(), before);
    EXPECT_EQ(limiter.limit(), 0U);
}

TEST_F(LoopbackPair, SetsTheFloorOnTheFirstBulkWrite) {
    SendQueueLimiter limiter;
    limiter.wrote(sender_, 128 * 1024);
    EXPECT_EQ(limiter.limit(), SendQueueLimiter::kMinBytes);
    EXPECT_EQ(notsentLowat(), static_cast<int>(SendQueueLimiter::kMinBytes));
}

TEST_F(LoopbackPair, FollowsTheMeasuredRateAfterAMegabyte) {
    SendQueueLimiter limiter;
    // Move real bytes so the kernel has a delivery rate to report: the sender keeps the
    // pipe full (not application-limited) while the receiver drains it.
    std::array<char, 64 * 1024> chunk{};
    std::size_t sent = 0;
    while (sent < 8 * SendQueueLimiter::kRetuneBytes) {
        const auto n = ::send(sender_, chunk.data(), chunk.size(), MSG_DONTWAIT);
        if (n > 0) {
            sent += static_cast<std::size_t>(n);
            limiter.wrote(sender_, static_cast<std::size_t>(n));
        }
        while (::recv(receiver_, chunk.data(), chunk.size(), MSG_DONTWAIT) > 0) {
        }
    }
    // Loopback delivers far more than 16 MB/s, so the limit has left the floor, and what the
    // limiter believes is what the socket has.
    EXPECT_GT(limiter.limit(), SendQueueLimiter::kMinBytes);
    EXPECT_EQ(notsentLowat(), static_cast<int>(limiter.limit()));
}

}  // namespace
}  // namespace nexus::net
