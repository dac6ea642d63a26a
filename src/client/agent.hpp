// SPDX-License-Identifier: AGPL-3.0-or-later
// The agent: dials the relay, registers its slug, forwards requests to the local app, and
// reconnects forever with backoff that resets only after a successful registration.
#pragma once

#include "client/agent_config.hpp"
#include "client/local_forwarder.hpp"
#include "common/log.hpp"
#include "net/backoff.hpp"
#include "net/frame_connection.hpp"

#include <boost/asio/steady_timer.hpp>

#include <memory>

namespace nexus::client {

class Agent {
public:
    Agent(boost::asio::any_io_executor executor, AgentConfig config, Logger& log);

    /// Runs until stop(): connect, register, serve, back off, again.
    boost::asio::awaitable<void> run();

    void stop();

    enum class State { Connecting, Registering, Online, Waiting };
    State state() const { return state_; }

private:
    /// One connection's life; returns true if it got registered.
    boost::asio::awaitable<bool> session(std::unique_ptr<net::Transport> transport);
    boost::asio::awaitable<void> serveRequest(std::shared_ptr<net::FrameConnection> connection,
                                              protocol::v1::Request request);

    boost::asio::any_io_executor executor_;
    AgentConfig config_;
    Logger& log_;
    LocalForwarder forwarder_;
    net::Backoff backoff_;
    boost::asio::steady_timer sleep_;
    std::shared_ptr<net::FrameConnection> connection_;
    std::size_t inFlight_ = 0;
    State state_ = State::Connecting;
    bool stopped_ = false;
};

}  // namespace nexus::client
