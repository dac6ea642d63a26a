// SPDX-License-Identifier: AGPL-3.0-or-later
// Tests for the local status listener over real loopback sockets: routes, 404, 405, HEAD,
// keep-alive, and a head larger than the limit.
#include "net/status_listener.hpp"

#include "run_until_done.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <gtest/gtest.h>

#include <string>

namespace nexus::net {
namespace {

namespace asio = boost::asio;
using asio::ip::tcp;

class StatusListenerTest : public ::testing::Test {
protected:
    StatusListenerTest()
        : acceptor_(io_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)),
          listener_(io_.get_executor(), {{"/healthz",
                                          [] {
                                              return StatusReply{503, "text/plain", "backoff\n"};
                                          }},
                                         {"/status", [] {
                                              return StatusReply{200, "application/json", "{}"};
                                          }}}) {
        asio::co_spawn(io_, listener_.run(acceptor_), asio::detached);
    }

    /// Sends `request` and reads until the listener closes the connection.
    std::string exchange(const std::string& request) {
        std::string reply;
        const bool done = testkit::runUntilDone(
            io_,
            [&]() -> asio::awaitable<void> {
                tcp::socket socket(io_);
                co_await socket.async_connect(acceptor_.local_endpoint(), asio::use_awaitable);
                co_await asio::async_write(socket, asio::buffer(request), asio::use_awaitable);
                co_await asio::async_read(socket, asio::dynamic_buffer(reply),
                                          asio::as_tuple(asio::use_awaitable));
            }(),
            std::chrono::seconds(5));
        EXPECT_TRUE(done);
        return reply;
    }

    asio::io_context io_;
    tcp::acceptor acceptor_;
    StatusListener listener_;
};

TEST_F(StatusListenerTest, ServesARouteWithItsStatusAndType) {
    const auto reply = exchange("GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    EXPECT_TRUE(reply.starts_with("HTTP/1.1 503")) << reply;
    EXPECT_NE(reply.find("Content-Type: text/plain"), std::string::npos);
    EXPECT_TRUE(reply.ends_with("\r\n\r\nbackoff\n")) << reply;
}

TEST_F(StatusListenerTest, IgnoresTheQueryString) {
    const auto reply = exchange("GET /status?x=1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    EXPECT_TRUE(reply.starts_with("HTTP/1.1 200")) << reply;
}

TEST_F(StatusListenerTest, AnswersAnUnknownPathWith404) {
    const auto reply = exchange("GET /admin HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    EXPECT_TRUE(reply.starts_with("HTTP/1.1 404")) << reply;
}

TEST_F(StatusListenerTest, RefusesOtherMethodsWith405) {
    const auto reply = exchange("DELETE /status HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    EXPECT_TRUE(reply.starts_with("HTTP/1.1 405")) << reply;
}

TEST_F(StatusListenerTest, AnswersHeadWithTheLengthAndNoBody) {
    const auto reply = exchange("HEAD /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    EXPECT_NE(reply.find("Content-Length: 8"), std::string::npos) << reply;
    EXPECT_TRUE(reply.ends_with("\r\n\r\n")) << reply;
}

TEST_F(StatusListenerTest, ServesSeveralRequestsOnOneConnection) {
    const auto reply = exchange(
        "GET /status HTTP/1.1\r\nHost: x\r\n\r\n"
        "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    EXPECT_TRUE(reply.starts_with("HTTP/1.1 200")) << reply;
    EXPECT_NE(reply.find("HTTP/1.1 503"), std::string::npos) << reply;
}

TEST_F(StatusListenerTest, ClosesAHeadAboveTheLimitWithoutAnswering) {
    const std::string big(StatusListener::kMaxHead + 100, 'a');
    const auto reply = exchange("GET /status HTTP/1.1\r\nX: " + big + "\r\n\r\n");
    EXPECT_EQ(reply, "");
}

}  // namespace
}  // namespace nexus::net
