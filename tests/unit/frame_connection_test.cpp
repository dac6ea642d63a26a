// SPDX-License-Identifier: AGPL-3.0-or-later
// Tests for FrameConnection over a real loopback TCP pair: ordering and integrity of queued
// frames, the read limit, the idle watchdog and a graceful close after the last frame.
#include "net/frame_connection.hpp"
#include "run_until_done.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/write.hpp>

#include <gtest/gtest.h>

#include <chrono>
#include <exception>
#include <memory>
#include <string>
#include <vector>

namespace nexus::net {
namespace {

using namespace std::chrono_literals;
using protocol::kMaxFrameSize;
using protocol::kMaxPreAuthFrameSize;

class FrameConnectionTest : public ::testing::Test {
protected:
    void SetUp() override {
        tcp::acceptor acceptor(io_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
        left_.connect(acceptor.local_endpoint());
        right_ = acceptor.accept();
    }

    void TearDown() override {
        // Closing ends every loop the test started, so the context runs dry instead of leaking.
        for (auto& connection : connections_) {
            connection->close();
        }
        ErrorCode ignored;
        left_.close(ignored);
        io_.run_for(2s);
    }

    std::shared_ptr<FrameConnection> wrap(tcp::socket& socket, std::uint32_t readLimit) {
        auto connection = std::make_shared<FrameConnection>(
            io_.get_executor(), makeTcpTransport(std::move(socket)), readLimit);
        connections_.push_back(connection);
        return connection;
    }

    void spawn(asio::awaitable<void> task) {
        asio::co_spawn(io_, std::move(task), [](std::exception_ptr e) {
            if (e) {
                std::rethrow_exception(e);  // surfaces in run_one_until as a test failure
            }
        });
    }

    // Runs `task` to completion (or fails after 5 s) while the spawned loops keep running.
    void runUntilDone(asio::awaitable<void> task) {
        EXPECT_TRUE(testkit::runUntilDone(io_, std::move(task), 5s))
            << "the test coroutine did not finish within 5 s";
    }

    // The next `count` frames read by `receiver`, stopping at the first error.
    std::vector<std::string> receive(const std::shared_ptr<FrameConnection>& receiver,
                                     std::size_t count) {
        std::vector<std::string> received;
        runUntilDone([](auto receiver, auto& received, std::size_t count) -> asio::awaitable<void> {
            for (std::size_t i = 0; i < count; ++i) {
                auto frame = co_await receiver->read();
                EXPECT_TRUE(frame.has_value()) << frame.error().message();
                if (!frame) {
                    co_return;
                }
                received.push_back(std::move(*frame));
            }
        }(receiver, received, count));
        return received;
    }

    asio::io_context io_;
    tcp::socket left_{io_};
    tcp::socket right_{io_};
    std::vector<std::shared_ptr<FrameConnection>> connections_;
};

TEST_F(FrameConnectionTest, DeliversSentFramesWholeAndInOrder) {
    auto sender = wrap(left_, kMaxFrameSize);
    auto receiver = wrap(right_, kMaxFrameSize);
    std::vector<std::string> sent;
    sent.reserve(53);
    for (int i = 0; i < 50; ++i) {
        sent.push_back("frame " + std::to_string(i));
    }
    // Larger than the 64 KiB read chunk, so it arrives over many reads.
    sent.push_back(std::string(300 * 1024, 'L') + "end");
    sent.push_back("");  // an empty frame is still a frame
    sent.push_back("after the big one");
    for (const auto& payload : sent) {
        ASSERT_TRUE(sender->send(payload));
    }
    spawn(sender->runWriter());

    EXPECT_EQ(receive(receiver, sent.size()), sent);
}

TEST_F(FrameConnectionTest, SmallFramesOvertakeQueuedBulkFramesWhichKeepTheirOrder) {
    auto sender = wrap(left_, kMaxFrameSize);
    auto receiver = wrap(right_, kMaxFrameSize);
    std::vector<std::string> bulk;
    for (int i = 0; i < 6; ++i) {
        bulk.push_back(std::string(64 * 1024, static_cast<char>('a' + i)));
        ASSERT_TRUE(sender->sendRaw(protocol::encodeFrame(bulk.back()).value(), true));
    }
    ASSERT_TRUE(sender->send("small, queued last"));
    EXPECT_EQ(sender->bulkQueued(), 6U);
    EXPECT_EQ(sender->bulkTaken(), 0U);
    spawn(sender->runWriter());

    const auto received = receive(receiver, 7);
    ASSERT_EQ(received.size(), 7U);
    EXPECT_EQ(received[0], "small, queued last");
    EXPECT_EQ(std::vector<std::string>(received.begin() + 1, received.end()), bulk);
    EXPECT_EQ(sender->bulkTaken(), 6U);
}

TEST_F(FrameConnectionTest, SendRefusesAPayloadAboveSixteenMebibytes) {
    auto sender = wrap(left_, kMaxFrameSize);
    EXPECT_FALSE(sender->send(std::string(kMaxFrameSize + 1, 'x')));
    EXPECT_EQ(sender->queuedBytes(), 0U);
    EXPECT_TRUE(sender->send("small"));
    EXPECT_EQ(sender->queuedBytes(), 4U + 5U);
}

TEST_F(FrameConnectionTest, ReadFailsOnAPrefixAboveTheReadLimit) {
    auto receiver = wrap(right_, kMaxPreAuthFrameSize);
    // 4097 bytes announced before registration; no payload needs to follow for the refusal.
    const std::string prefix("\x00\x00\x10\x01", 4);
    asio::write(left_, asio::buffer(prefix));

    ErrorCode error;
    runUntilDone([](auto receiver, ErrorCode& error) -> asio::awaitable<void> {
        auto frame = co_await receiver->read();
        EXPECT_FALSE(frame.has_value());
        if (!frame) {
            error = frame.error();
        }
    }(receiver, error));
    EXPECT_EQ(error, makeError(Errc::FrameTooLarge));
}

TEST_F(FrameConnectionTest, IdleWatchdogClosesAndReadReportsTimeout) {
    auto receiver = wrap(right_, kMaxFrameSize);
    receiver->setIdleTimeout(200ms);
    spawn(receiver->runIdleWatchdog());

    ErrorCode error;
    const auto start = std::chrono::steady_clock::now();
    runUntilDone([](auto receiver, ErrorCode& error) -> asio::awaitable<void> {
        auto frame = co_await receiver->read();
        EXPECT_FALSE(frame.has_value());
        if (!frame) {
            error = frame.error();
        }
    }(receiver, error));
    const auto elapsed = std::chrono::steady_clock::now() - start;
    EXPECT_EQ(error, makeError(Errc::Timeout));
    EXPECT_TRUE(receiver->timedOut());
    EXPECT_FALSE(receiver->isOpen());
    EXPECT_GE(elapsed, 190ms);
    EXPECT_LT(elapsed, 2s);
}

TEST_F(FrameConnectionTest, CloseAfterWritesDeliversTheQueuedFrameThenEof) {
    auto sender = wrap(left_, kMaxFrameSize);
    auto receiver = wrap(right_, kMaxFrameSize);
    ASSERT_TRUE(
        sender->send(R"({"type":"registered","ok":false,"error":"Invalid slug or token"})"));
    sender->closeAfterWrites();
    EXPECT_FALSE(sender->send("too late")) << "a frame queued after the close would be lost";
    spawn(sender->runWriter());

    std::string first;
    ErrorCode end;
    runUntilDone([](auto receiver, std::string& first, ErrorCode& end) -> asio::awaitable<void> {
        auto frame = co_await receiver->read();
        EXPECT_TRUE(frame.has_value());
        if (frame) {
            first = std::move(*frame);
        }
        auto after = co_await receiver->read();
        EXPECT_FALSE(after.has_value());
        if (!after) {
            end = after.error();
        }
    }(receiver, first, end));
    EXPECT_EQ(first, R"({"type":"registered","ok":false,"error":"Invalid slug or token"})");
    EXPECT_EQ(end, ErrorCode(asio::error::eof));
    EXPECT_FALSE(sender->isOpen());
}

TEST_F(FrameConnectionTest, EofInsideAFrameIsATruncatedFrame) {
    auto receiver = wrap(right_, kMaxFrameSize);
    const std::string partial("\x00\x00\x00\x0a{\"ty", 8);
    asio::write(left_, asio::buffer(partial));
    left_.shutdown(tcp::socket::shutdown_send);

    ErrorCode error;
    runUntilDone([](auto receiver, ErrorCode& error) -> asio::awaitable<void> {
        auto frame = co_await receiver->read();
        if (!frame) {
            error = frame.error();
        }
    }(receiver, error));
    EXPECT_EQ(error, makeError(Errc::TruncatedFrame));
}

}  // namespace
}  // namespace nexus::net
