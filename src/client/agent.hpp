// SPDX-License-Identifier: AGPL-3.0-or-later
// The agent: dials the relay, registers its slug, serves the session, and reconnects forever
// with backoff that resets only after a successful registration. Its state is the status
// board's (agent_status.hpp), which tells the daemon layer of every change and event; the
// agent itself never logs.
#pragma once

#include "client/agent_config.hpp"
#include "client/agent_session.hpp"
#include "client/agent_status.hpp"
#include "client/local_forwarder.hpp"
#include "client/local_pool.hpp"
#include "client/v2_exchange.hpp"
#include "net/backoff.hpp"
#include "net/frame_connection.hpp"

#include <boost/asio/steady_timer.hpp>

#include <functional>
#include <memory>
#include <optional>

namespace nexus::client {

/// How a change of slug (Agent::trySlug) ended.
struct SlugTrial {
    enum class Outcome {
        Accepted,  ///< registered with the new slug and token, which stay
        Refused,   ///< the relay said no; reason: its words ("Invalid slug or token")
        Taken,     ///< another agent serves the slug now; reason: the relay's words
        Failed,    ///< no answer from the relay (or another change under way); reason says why
    };
    Outcome outcome = Outcome::Failed;
    std::string reason;
};

class Agent {
public:
    Agent(boost::asio::any_io_executor executor, AgentConfig config);

    /// Runs until stop(): connect, register, serve, back off, again.
    boost::asio::awaitable<void> run();

    void stop();

    /// Drops the session (or the wait) now and dials at once, with the backoff reset.
    void reconnect();

    /// Registers `slug` with `token` on a new session in place of the current one. When the
    /// relay accepts, they stay; when it refuses or cannot be asked, the previous slug and
    /// token come back and the agent reconnects with them at once. A slug another agent
    /// serves is not taken over (Taken). `done` is called once, with the outcome, on the
    /// agent's executor (at once when another change is under way or the agent stopped).
    void trySlug(std::string slug, std::string token, std::function<void(const SlugTrial&)> done);

    /// Takes the live part of `next` (applyLiveSettings): the next requests go to a new local
    /// address; the session is not touched. Returns the start-only options that differ
    /// (startOnlyChanges), which keep their running values.
    std::vector<std::string_view> reconfigure(const AgentConfig& next);

    const AgentConfig& config() const { return config_; }

    AgentStatusBoard& board() { return board_; }
    const AgentStatus& status() const { return board_.current(); }

    /// The wait between two attempts of a replaced agent: 10 min nominal (5 to 10 min with
    /// jitter), doubling up to 60 min. A replaced agent asks again only for a free slug,
    /// never taking it back.
    static constexpr std::chrono::minutes kReplacedBase{10};
    static constexpr std::chrono::minutes kReplacedCap{60};
    /// After the relay's GOAWAY code 0 (a restart), the wait is its retry-after plus this
    /// much jitter at most (at least half of it), so agents do not all dial in the same
    /// millisecond; the backoff is not advanced.
    static constexpr std::chrono::milliseconds kRestartJitter{250};

private:
    /// One connection's life, from the transport to the end of its session.
    boost::asio::awaitable<void> session(std::unique_ptr<net::Transport> transport);
    /// Waits for the next attempt, in the state the last one left.
    boost::asio::awaitable<void> waitBeforeRetry();
    /// The next reconnect delay, honouring the relay's last GOAWAY.
    net::Backoff::Step nextDelay();
    /// The relay said another agent took the slug: `reason` ends with "from ADDRESS".
    void markReplaced(std::string_view reason);
    void fail(AgentEventKind kind, std::string message);
    /// Ends the slug change under way, if any: keeps the new slug on Accepted, else restores
    /// the previous one and asks for an immediate reconnect.
    void endTrial(SlugTrial::Outcome outcome, std::string reason);

    /// A slug change under way: what to go back to, and whom to tell.
    struct PendingTrial {
        std::string previousSlug;
        std::string previousToken;
        std::function<void(const SlugTrial&)> done;
        bool sent = false;  ///< a `register` with the new slug went out
    };

    boost::asio::any_io_executor executor_;
    AgentConfig config_;
    AgentStatusBoard board_;
    LocalPool pool_;  // shared by both protocol versions
    LocalForwarder forwarder_;
    V2Context v2_;
    SessionParts parts_;
    net::Backoff backoff_;
    net::Backoff replacedBackoff_;
    net::Backoff restartJitter_;  // always its first step: [kRestartJitter / 2, kRestartJitter]
    boost::asio::steady_timer sleep_;
    std::shared_ptr<net::FrameConnection> connection_;
    /// From the relay's GOAWAY: wait at least this before reconnecting; after "revoked",
    /// back off the longest.
    std::chrono::milliseconds retryAfter_{0};
    bool longestBackoff_ = false;
    bool relayRestarting_ = false;  ///< the last session ended with the relay's restart
    bool stopped_ = false;
    bool reconnectNow_ = false;
    bool rejected_ = false;  ///< the last attempt ended in the relay's refusal
    std::uint64_t attempts_ = 0;
    std::optional<PendingTrial> trial_;
};

}  // namespace nexus::client
