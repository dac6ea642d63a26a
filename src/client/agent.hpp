// SPDX-License-Identifier: AGPL-3.0-or-later
// The agent: dials the relay, registers its slug, forwards requests to the local app, and
// reconnects forever with backoff that resets only after a successful registration.
#pragma once

#include "client/agent_config.hpp"
#include "client/local_forwarder.hpp"
#include "client/local_pool.hpp"
#include "client/v2_exchange.hpp"
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

    /// Replaced: another agent registered the slug and the relay said so; this one waits
    /// (kReplacedBackoff) and asks again only for a free slug, never taking it back.
    enum class State { Connecting, Registering, Online, Waiting, Replaced };
    State state() const { return state_; }
    /// The other agent's address, as the relay gave it, while replaced; empty otherwise.
    const std::string& replacedBy() const { return replacedBy_; }

    /// The wait between two attempts of a replaced agent: 10 min nominal (5 to 10 min with
    /// jitter), doubling up to 60 min.
    static constexpr std::chrono::minutes kReplacedBase{10};
    static constexpr std::chrono::minutes kReplacedCap{60};

private:
    /// One connection's life; returns true if it got registered.
    boost::asio::awaitable<bool> session(std::unique_ptr<net::Transport> transport);
    boost::asio::awaitable<void> serveRequest(std::shared_ptr<net::FrameConnection> connection,
                                              protocol::v1::Request request);
    /// The rest of a session that negotiated v2: streams until the connection ends.
    boost::asio::awaitable<void> serveV2(std::shared_ptr<net::FrameConnection> connection);
    /// The next reconnect delay, honouring the relay's last GOAWAY.
    net::Backoff::Step nextDelay();
    /// The relay said another agent took the slug (GOAWAY 2 or a v1 `registered` error):
    /// `reason` ends with "from ADDRESS".
    void markReplaced(std::string_view reason);

    boost::asio::any_io_executor executor_;
    AgentConfig config_;
    Logger& log_;
    LocalPool pool_;  // shared by both protocol versions
    LocalForwarder forwarder_;
    V2Context v2_;
    net::Backoff backoff_;
    net::Backoff replacedBackoff_;
    std::string replacedBy_;
    boost::asio::steady_timer sleep_;
    std::shared_ptr<net::FrameConnection> connection_;
    std::size_t inFlight_ = 0;
    /// From the relay's GOAWAY: wait at least this before reconnecting; after "revoked",
    /// back off the longest.
    std::chrono::milliseconds retryAfter_{0};
    bool longestBackoff_ = false;
    State state_ = State::Connecting;
    bool stopped_ = false;
};

}  // namespace nexus::client
