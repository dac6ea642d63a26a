// SPDX-License-Identifier: AGPL-3.0-or-later
// Tests for TimedStream over a real loopback TCP pair: Beast's timeout rules (a pending read or
// write past its deadline fails with a timeout and closes the socket; an idle socket is never
// cut), kept by one lazily re-armed timer.
#include "net/timed_stream.hpp"
#include "run_until_done.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <gtest/gtest.h>

#include <array>
#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace nexus::net {
namespace {

namespace asio = boost::asio;
using asio::ip::tcp;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);

class TimedStreamTest : public ::testing::Test {
protected:
    void SetUp() override {
        tcp::acceptor acceptor(io_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
        tcp::socket client(io_);
        client.connect(acceptor.local_endpoint());
        peer_.emplace(acceptor.accept());
        stream_.emplace(std::move(client));
    }

    bool run(asio::awaitable<void> task) { return testkit::runUntilDone(io_, std::move(task), 5s); }

    asio::awaitable<void> sleep(Clock::duration d) {
        asio::steady_timer timer(io_, d);
        co_await timer.async_wait(kTuple);
    }

    asio::io_context io_;
    std::optional<tcp::socket> peer_;
    std::optional<TimedStream> stream_;
};

TEST_F(TimedStreamTest, PendingReadPastItsDeadlineTimesOutAndClosesTheSocket) {
    ASSERT_TRUE(run([&]() -> asio::awaitable<void> {
        std::array<char, 16> buffer{};
        stream_->expires_after(100ms);
        const auto started = Clock::now();
        auto [ec, n] = co_await stream_->async_read_some(asio::buffer(buffer), kTuple);
        EXPECT_EQ(ec, boost::beast::error::timeout);
        EXPECT_GE(Clock::now() - started, 90ms);
        EXPECT_TRUE(stream_->timedOut());
        EXPECT_FALSE(stream_->socket().is_open());
    }()));
}

TEST_F(TimedStreamTest, ReadThatEndsInTimeLeavesTheSocketOpenWhileIdleLong) {
    ASSERT_TRUE(run([&]() -> asio::awaitable<void> {
        std::array<char, 16> buffer{};
        co_await asio::async_write(*peer_, asio::buffer("hello", 5), kTuple);
        stream_->expires_after(50ms);
        auto [ec, n] = co_await stream_->async_read_some(asio::buffer(buffer), kTuple);
        EXPECT_FALSE(ec);
        EXPECT_EQ(n, 5U);
        co_await sleep(200ms);  // far past the deadline, with nothing pending
        EXPECT_FALSE(stream_->timedOut());
        co_await asio::async_write(*peer_, asio::buffer("again", 5), kTuple);
        stream_->expires_never();
        std::tie(ec, n) = co_await stream_->async_read_some(asio::buffer(buffer), kTuple);
        EXPECT_FALSE(ec);
        EXPECT_EQ(std::string(buffer.data(), n), "again");
    }()));
}

TEST_F(TimedStreamTest, EachOperationGetsTheDeadlineSetBeforeItStarted) {
    // Reads that each wait 40 ms for data, under 100 ms deadlines, for far longer than one
    // deadline: when the watchdog wakes, a read is pending with a later deadline, and it must
    // re-arm for that one instead of cutting the stream.
    ASSERT_TRUE(run([&]() -> asio::awaitable<void> {
        std::array<char, 16> buffer{};
        for (int i = 0; i < 10; ++i) {
            asio::co_spawn(
                io_,
                [&]() -> asio::awaitable<void> {
                    co_await sleep(40ms);
                    co_await asio::async_write(*peer_, asio::buffer("x", 1), kTuple);
                },
                asio::detached);
            stream_->expires_after(100ms);
            auto [ec, n] = co_await stream_->async_read_some(asio::buffer(buffer), kTuple);
            EXPECT_FALSE(ec) << i << " " << ec.message();
        }
        EXPECT_FALSE(stream_->timedOut());
    }()));
}

TEST_F(TimedStreamTest, AnEarlierDeadlineWakesTheWatchdogSooner) {
    ASSERT_TRUE(run([&]() -> asio::awaitable<void> {
        std::array<char, 16> buffer{};
        co_await asio::async_write(*peer_, asio::buffer("x", 1), kTuple);
        stream_->expires_after(30s);  // arms the timer far ahead
        co_await stream_->async_read_some(asio::buffer(buffer), kTuple);
        stream_->expires_after(100ms);
        const auto started = Clock::now();
        auto [ec, n] = co_await stream_->async_read_some(asio::buffer(buffer), kTuple);
        EXPECT_EQ(ec, boost::beast::error::timeout);
        EXPECT_LT(Clock::now() - started, 2s);
    }()));
}

TEST_F(TimedStreamTest, BlockedWriteTimesOutWhileTheReaderStalls) {
    ASSERT_TRUE(run([&]() -> asio::awaitable<void> {
        const std::vector<char> block(1 << 20, 'x');  // the peer never reads
        stream_->expires_after(200ms);
        ErrorCode ec;
        for (int i = 0; i < 64 && !ec; ++i) {
            std::tie(ec, std::ignore) =
                co_await asio::async_write(*stream_, asio::buffer(block), kTuple);
        }
        EXPECT_EQ(ec, boost::beast::error::timeout);
    }()));
}

TEST_F(TimedStreamTest, WithoutADeadlineAnOperationWaitsForever) {
    bool ended = false;
    asio::co_spawn(
        io_,
        [&]() -> asio::awaitable<void> {
            std::array<char, 16> buffer{};
            co_await stream_->async_read_some(asio::buffer(buffer), kTuple);
            ended = true;
        },
        asio::detached);
    io_.run_for(300ms);
    EXPECT_FALSE(ended);
    EXPECT_FALSE(stream_->timedOut());
    stream_.reset();  // closing ends the read with an error, not a timeout
    io_.run_for(100ms);
    EXPECT_TRUE(ended);
}

TEST_F(TimedStreamTest, DestroyingTheStreamReleasesItsWatchdogAtOnce) {
    ASSERT_TRUE(run([&]() -> asio::awaitable<void> {
        std::array<char, 16> buffer{};
        co_await asio::async_write(*peer_, asio::buffer("x", 1), kTuple);
        stream_->expires_after(1h);
        co_await stream_->async_read_some(asio::buffer(buffer), kTuple);
        co_return;
    }()));
    stream_.reset();
    // The timer's wait was for an hour; the context runs dry only if it was cancelled.
    const auto started = Clock::now();
    io_.run_for(2s);
    EXPECT_LT(Clock::now() - started, 1s);
}

}  // namespace
}  // namespace nexus::net
