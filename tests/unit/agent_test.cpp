// SPDX-License-Identifier: AGPL-3.0-or-later
// Tests for the agent's reconnect loop against a loopback listener that accepts and never
// answers: the states it goes through, and reconnect() dialling at once.
#include "client/agent.hpp"
#include "run_until_done.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <gtest/gtest.h>

#include <optional>
#include <vector>

namespace nexus::client {
namespace {

namespace asio = boost::asio;
using asio::ip::tcp;
using namespace std::chrono_literals;

class AgentTest : public ::testing::Test {
protected:
    AgentTest() {
        config_.server = {"127.0.0.1", acceptor_.local_endpoint().port()};
        config_.serverText = "127.0.0.1:" + std::to_string(config_.server.port);
        config_.slug = "demo";
        config_.token = "secret";
    }

    /// Accepts one connection and keeps it open (a relay that never answers the register).
    asio::awaitable<void> acceptOne() {
        auto [ec, socket] = co_await acceptor_.async_accept(asio::as_tuple(asio::use_awaitable));
        EXPECT_FALSE(ec);
        accepted_.push_back(std::move(socket));
    }

    /// Starts the agent, recording each state it enters, and accepts its first connection.
    void startAndAcceptFirstDial() {
        agent_.emplace(io_.get_executor(), config_);
        agent_->board().subscribe([this](const AgentStatus& s, AgentChange change) {
            if (change == AgentChange::State) {
                states_.push_back(s.state);
            }
        });
        asio::co_spawn(io_, agent_->run(), asio::detached);
        ASSERT_TRUE(testkit::runUntilDone(io_, acceptOne(), 2s));
        io_.run_for(20ms);
    }

    asio::io_context io_;
    tcp::acceptor acceptor_{io_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)};
    std::vector<tcp::socket> accepted_;
    AgentConfig config_;
    std::vector<AgentState> states_;  ///< before agent_: its subscriber writes here
    std::optional<Agent> agent_;
};

TEST_F(AgentTest, GoesFromConnectingToRegisteringWhenTheTransportIsUp) {
    ASSERT_NO_FATAL_FAILURE(startAndAcceptFirstDial());
    Agent& agent = *agent_;
    EXPECT_EQ(states_, (std::vector{AgentState::Connecting, AgentState::Registering}));
    EXPECT_EQ(agent.status().door, "tcp");
    EXPECT_FALSE(agent.status().encrypted);
    agent.stop();
    io_.run_for(20ms);
}

TEST_F(AgentTest, ReconnectDropsTheSessionAndDialsAtOnceWithoutBackingOff) {
    ASSERT_NO_FATAL_FAILURE(startAndAcceptFirstDial());
    Agent& agent = *agent_;
    const auto asked = std::chrono::steady_clock::now();
    agent.reconnect();
    // The backoff's first wait is at least 500 ms: a second dial well before it is reconnect's.
    ASSERT_TRUE(testkit::runUntilDone(io_, acceptOne(), 2s));
    EXPECT_LT(std::chrono::steady_clock::now() - asked, 300ms);
    io_.run_for(20ms);
    EXPECT_EQ(agent.status().counters.reconnects, 1U);
    EXPECT_EQ(agent.status().state, AgentState::Registering);
    EXPECT_EQ(std::count(states_.begin(), states_.end(), AgentState::Backoff), 0);
    agent.stop();
    io_.run_for(20ms);
}

}  // namespace
}  // namespace nexus::client
