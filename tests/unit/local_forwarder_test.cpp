// SPDX-License-Identifier: AGPL-3.0-or-later
// The agent's v1 exchange with the local app (LocalForwarder) against a raw local server on
// loopback that writes exactly the bytes a test gives it: interim responses, a 101 nobody asked
// for, responses nobody asked for, bodies that break off.
#include "client/local_forwarder.hpp"
#include "accept_each.hpp"
#include "client/local_response_head.hpp"
#include "run_until_done.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>

#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <memory>
#include <string>

namespace nexus::client {
namespace {

using namespace std::chrono_literals;
namespace asio = boost::asio;
namespace http = boost::beast::http;
using tcp = asio::ip::tcp;
constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);

std::string okResponse(std::string_view body) {
    return "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" +
           std::string(body);
}

class LocalForwarderTest : public ::testing::Test {
protected:
    void SetUp() override {
        config_.localHost = "127.0.0.1";
        config_.localPort = local_.local_endpoint().port();
        config_.localTimeout = 3s;
        asio::co_spawn(
            io_,
            testkit::acceptEach(
                local_, [this](tcp::socket socket) { onLocalConnection(std::move(socket)); }),
            asio::detached);
    }

    // The local server: for each request on a connection, answer_(target) is written as is,
    // answerLater_(target) 10 ms later; then the connection is closed if close_, reset if
    // reset_.
    void onLocalConnection(tcp::socket socket) {
        ++accepted_;
        asio::co_spawn(io_, serve(std::make_shared<tcp::socket>(std::move(socket))),
                       asio::detached);
    }

    asio::awaitable<void> serve(std::shared_ptr<tcp::socket> socket) {
        boost::beast::flat_buffer buffer;
        for (;;) {
            http::request<http::string_body> request;
            auto [ec, n] = co_await http::async_read(*socket, buffer, request, kTuple);
            if (ec) {
                localSawClose_ = ec == http::error::end_of_stream;
                co_return;
            }
            const std::string target(request.target());
            const std::string bytes = answer_(target);
            co_await asio::async_write(*socket, asio::buffer(bytes), kTuple);
            if (const std::string later = answerLater_(target); !later.empty()) {
                asio::steady_timer pause(io_, 10ms);
                co_await pause.async_wait(kTuple);
                co_await asio::async_write(*socket, asio::buffer(later), kTuple);
            }
            if (close_ || reset_) {
                asio::steady_timer pause(io_, 20ms);
                co_await pause.async_wait(kTuple);
                ErrorCode ignored;
                socket->set_option(asio::socket_base::linger(reset_, 0), ignored);
                socket->close(ignored);
                co_return;
            }
        }
    }

    protocol::v1::Response forward(const std::string& path) {
        protocol::v1::Request request;
        request.id = "id";
        request.method = "GET";
        request.path = path;
        request.headers.emplace_back("host", "demo.test");
        protocol::v1::Response response;
        const bool done = testkit::runUntilDone(
            io_,
            [](LocalForwarder& forwarder, protocol::v1::Request request,
               protocol::v1::Response& out) -> asio::awaitable<void> {
                out = (co_await forwarder.forward(request)).response;
            }(forwarder_, std::move(request), response),
            10s);
        EXPECT_TRUE(done) << "the forward did not finish";
        return response;
    }

    asio::io_context io_;
    tcp::acceptor local_{io_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)};
    int accepted_ = 0;
    bool localSawClose_ = false;
    std::function<std::string(const std::string&)> answer_ = [](const std::string& target) {
        return okResponse(target);
    };
    std::function<std::string(const std::string&)> answerLater_ = [](const std::string&) {
        return std::string();
    };
    bool close_ = false;
    bool reset_ = false;
    AgentConfig config_;
    LocalPool pool_{io_.get_executor(), config_};
    LocalForwarder forwarder_{config_, pool_};
};

TEST_F(LocalForwarderTest, InterimResponsesAreDroppedAndTheFinalOneReturned) {
    answer_ = [](const std::string& target) {
        return "HTTP/1.1 100 Continue\r\n\r\n"
               "HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\n" +
               okResponse(target);
    };
    const auto response = forward("/hinted");
    EXPECT_EQ(response.status, 200);
    EXPECT_EQ(response.body, "/hinted");
    for (const auto& [name, value] : response.headers) {
        EXPECT_NE(name, "link");
    }
    EXPECT_EQ(forward("/again").body, "/again");
    EXPECT_EQ(accepted_, 1) << "the connection is reused after interim responses";
}

TEST_F(LocalForwarderTest, MoreInterimResponsesThanAllowedAreA502) {
    answer_ = [](const std::string& target) {
        std::string bytes;
        for (int i = 0; i <= kMaxInterimResponses; ++i) {
            bytes += "HTTP/1.1 103 Early Hints\r\n\r\n";
        }
        return bytes + okResponse(target);
    };
    EXPECT_EQ(forward("/hinted").status, 502);
}

TEST_F(LocalForwarderTest, A101IsA502AndItsConnectionIsClosed) {
    answer_ = [](const std::string&) {
        return std::string(
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
            "Connection: Upgrade\r\n\r\n");
    };
    const auto response = forward("/switch");
    EXPECT_EQ(response.status, 502);
    EXPECT_EQ(response.body, "Invalid upgrade response");
    io_.run_for(50ms);
    EXPECT_TRUE(localSawClose_);
    EXPECT_EQ(pool_.idleCount(), 0U);
}

TEST_F(LocalForwarderTest, AnUnsolicitedResponseWrittenWithTheAnswerNeverAnswersTheNextRequest) {
    answer_ = [](const std::string& target) {
        return okResponse(target) + (target == "/first" ? okResponse("stale") : "");
    };
    EXPECT_EQ(forward("/first").body, "/first");
    EXPECT_EQ(forward("/second").body, "/second");
    EXPECT_EQ(forward("/third").body, "/third");
    EXPECT_EQ(accepted_, 2) << "the clean connection is still reused";
}

TEST_F(LocalForwarderTest, AnUnsolicitedResponseArrivingOnAnIdleConnectionNeverAnswersTheNext) {
    answerLater_ = [](const std::string& target) {
        return target == "/first" ? okResponse("stale") : std::string();
    };
    EXPECT_EQ(forward("/first").body, "/first");
    io_.run_for(50ms);  // the stale response reaches the idle pooled connection
    EXPECT_EQ(forward("/second").body, "/second");
    EXPECT_EQ(forward("/third").body, "/third");
    EXPECT_EQ(accepted_, 2) << "the clean connection is still reused";
}

TEST_F(LocalForwarderTest, ABodyThatEndsEarlyIsA502WhateverItsFraming) {
    const std::vector<std::pair<std::string, bool>> cases{
        {"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\npartial", false},
        {"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\npartial", true},
        {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n7\r\npartial\r\n", false},
        {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n7\r\npartial\r\n", true},
        {"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\npartial", true},
    };
    for (const auto& [bytes, reset] : cases) {
        answer_ = [bytes = bytes](const std::string&) { return bytes; };
        close_ = !reset;
        reset_ = reset;
        const auto response = forward("/broken");
        EXPECT_EQ(response.status, 502) << bytes.substr(17, 30) << (reset ? " RST" : " FIN");
        EXPECT_NE(response.body, "partial");
    }
}

TEST_F(LocalForwarderTest, ABodyDelimitedByACleanCloseIsComplete) {
    answer_ = [](const std::string&) {
        return std::string("HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nwhole");
    };
    close_ = true;
    const auto response = forward("/legacy");
    EXPECT_EQ(response.status, 200);
    EXPECT_EQ(response.body, "whole");
}

}  // namespace
}  // namespace nexus::client
