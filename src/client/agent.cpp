// SPDX-License-Identifier: AGPL-3.0-or-later
// Agent: the reconnect loop. Each turn dials (dial.cpp), registers (registration.cpp), serves
// the session of the protocol the relay agreed to (v1_session.cpp, v2_session.cpp) and waits;
// every step is a transition or an event on the status board.
#include "client/agent.hpp"

#include "client/dial.hpp"
#include "client/registration.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <fmt/format.h>

#include <random>
#include <utility>

namespace nexus::client {

namespace asio = boost::asio;

namespace {
AgentStatus initialStatus(const AgentConfig& config) {
    AgentStatus status;
    status.slug = config.slug;
    status.server = config.serverText;
    status.door = doorOf(config);
    status.encrypted = status.door == "tls" || status.door == "wss";
    return status;
}

net::Backoff::Random uniformRandom() {
    return [engine = std::mt19937_64(std::random_device{}())]() mutable {
        return std::uniform_real_distribution<double>(0.0, 1.0)(engine);
    };
}
}  // namespace

Agent::Agent(asio::any_io_executor executor, AgentConfig config)
    : executor_(executor),
      config_(std::move(config)),
      board_(initialStatus(config_)),
      pool_(executor, config_),
      forwarder_(config_, pool_),
      v2_{config_, pool_, board_},
      parts_{executor, config_, board_, forwarder_, v2_},
      replacedBackoff_(kReplacedBase, kReplacedCap, uniformRandom()),
      restartJitter_(kRestartJitter, kRestartJitter, uniformRandom()),
      sleep_(executor) {}

void Agent::stop() {
    stopped_ = true;
    if (trial_) {
        endTrial(SlugTrial::Outcome::Failed, "the agent is stopping");
    }
    sleep_.cancel();
    if (connection_) {
        connection_->close();
    }
}

std::vector<std::string_view> Agent::reconfigure(const AgentConfig& next) {
    auto fixed = startOnlyChanges(config_, next);
    if (applyLiveSettings(config_, next)) {
        pool_.localAddressChanged();
    }
    v2_.limits = config_.v2Limits;
    return fixed;
}

void Agent::reconnect() {
    reconnectNow_ = true;
    backoff_.reset();
    retryAfter_ = {};
    longestBackoff_ = false;
    sleep_.cancel();
    if (connection_) {
        connection_->close();
    }
}

void Agent::trySlug(std::string slug, std::string token,
                    std::function<void(const SlugTrial&)> done) {
    if (stopped_ || trial_) {
        done({SlugTrial::Outcome::Failed,
              stopped_ ? "the agent is stopping" : "another change of slug is under way"});
        return;
    }
    board_.emit({.kind = AgentEventKind::TryingSlug, .detail = slug});
    trial_ = PendingTrial{std::exchange(config_.slug, std::move(slug)),
                          std::exchange(config_.token, std::move(token)), std::move(done)};
    reconnect();
}

void Agent::endTrial(SlugTrial::Outcome outcome, std::string reason) {
    auto trial = std::move(*trial_);
    trial_.reset();
    if (outcome != SlugTrial::Outcome::Accepted) {
        board_.recordError(fmt::format("Slug \"{}\" not taken: {}", config_.slug, reason));
        config_.slug = std::move(trial.previousSlug);
        config_.token = std::move(trial.previousToken);
        reconnectNow_ = true;  // the previous slug's tunnel is down: bring it back now
        board_.transition(board_.current().state,
                          [this](AgentStatus& s) { s.slug = config_.slug; });
        board_.emit({.kind = AgentEventKind::SlugRefused, .detail = reason});
    }
    trial.done({outcome, std::move(reason)});
}

asio::awaitable<void> Agent::run() {
    while (!stopped_) {
        reconnectNow_ = false;
        rejected_ = false;
        relayRestarting_ = false;
        board_.transition(AgentState::Connecting, [this, first = attempts_++ == 0](AgentStatus& s) {
            s.slug = config_.slug;
            s.protocol = 0;
            s.connectedSince.reset();
            s.nextRetry.reset();
            s.counters.reconnects += first ? 0 : 1;
        });
        board_.emit({.kind = AgentEventKind::Connecting});
        std::string failure;
        auto dialed = co_await dial(config_, failure);
        if (!dialed) {
            fail(AgentEventKind::DialFailed, std::move(failure));
            if (trial_) {
                // The relay cannot be reached: not with the new slug either.
                endTrial(SlugTrial::Outcome::Failed, board_.current().lastError);
            }
        } else {
            board_.transition(AgentState::Registering);
            board_.emit({.kind = AgentEventKind::Connected});
            co_await session(std::move(dialed->transport));
        }
        if (stopped_) {
            break;
        }
        if (!reconnectNow_) {
            co_await waitBeforeRetry();
        }
    }
    board_.transition(AgentState::Stopped, [](AgentStatus& s) { s.nextRetry.reset(); });
    board_.emit({.kind = AgentEventKind::Stopped});
}

asio::awaitable<void> Agent::session(std::unique_ptr<net::Transport> transport) {
    using Outcome = Registration::Outcome;
    auto connection = std::make_shared<net::FrameConnection>(executor_, std::move(transport),
                                                             protocol::kMaxFrameSize);
    connection->countBytes(&board_.bytesIn(), &board_.bytesOut());
    connection_ = connection;
    net::startPumps(connection, executor_);
    // A new slug is never taken from an agent that serves it (the same slug with a new token
    // is this agent's own); nor is a slug another agent took over.
    // The answer belongs to a change of slug if its `register` carries the new slug: a
    // registration under way when the change came answers for the previous one.
    const bool newSlug = trial_.has_value();
    if (newSlug) {
        trial_->sent = true;
    }
    const bool noTakeover =
        !board_.current().replacedBy.empty() || (newSlug && trial_->previousSlug != config_.slug);
    auto registration = co_await registerSlug(*connection, config_, noTakeover);
    if (registration.outcome != Outcome::Accepted) {
        connection->close();
    }
    if (trial_ && trial_->sent && registration.outcome != Outcome::Accepted) {
        endTrial(registration.outcome == Outcome::Rejected    ? SlugTrial::Outcome::Refused
                 : registration.outcome == Outcome::StillHeld ? SlugTrial::Outcome::Taken
                                                              : SlugTrial::Outcome::Failed,
                 registration.reason);
        co_return;
    }
    switch (registration.outcome) {
        case Outcome::Failed: fail(AgentEventKind::SessionEnded, registration.reason); co_return;
        case Outcome::StillHeld: board_.emit({.kind = AgentEventKind::StillHeld}); co_return;
        case Outcome::Rejected:
            rejected_ = true;
            board_.recordError("Registration rejected: " + registration.reason);
            board_.emit({.kind = AgentEventKind::Rejected, .detail = registration.reason});
            co_return;
        case Outcome::Accepted: break;
    }
    auto session =
        registration.useV2 ? makeV2Session(parts_, connection) : makeV1Session(parts_, connection);
    backoff_.reset();
    replacedBackoff_.reset();
    board_.transition(AgentState::Registered, [&](AgentStatus& s) {
        s.protocol = session->protocol();
        s.connectedSince = std::chrono::system_clock::now();
        s.replacedBy.clear();
        ++s.counters.registrations;
    });
    board_.emit({.kind = AgentEventKind::Registered});
    if (trial_ && trial_->sent) {
        endTrial(SlugTrial::Outcome::Accepted, {});
    }
    const SessionEnd end = co_await session->run();
    if (!end.replacedBy.empty()) {
        markReplaced(end.replacedBy);
        co_return;
    }
    retryAfter_ = end.retryAfter;
    longestBackoff_ = end.revoked;
    relayRestarting_ = end.restarting;
    fail(AgentEventKind::SessionEnded, end.reason);
}

asio::awaitable<void> Agent::waitBeforeRetry() {
    const auto now = std::chrono::system_clock::now();
    if (!board_.current().replacedBy.empty()) {
        // Never fight the other agent for the slug: ask again, rarely, for a free slug.
        const auto step = replacedBackoff_.next();
        board_.transition(AgentState::Replaced,
                          [&](AgentStatus& s) { s.nextRetry = now + step.delay; });
        board_.emit({.kind = AgentEventKind::WaitingForSlug, .delay = step.delay});
        sleep_.expires_after(step.delay);
    } else {
        const auto step = nextDelay();
        board_.transition(rejected_ ? AgentState::Rejected : AgentState::Backoff,
                          [&](AgentStatus& s) { s.nextRetry = now + step.delay; });
        board_.emit({.kind = AgentEventKind::Backoff, .delay = step.nominal});
        sleep_.expires_after(step.delay);
    }
    co_await sleep_.async_wait(asio::as_tuple(asio::use_awaitable));
}

net::Backoff::Step Agent::nextDelay() {
    if (relayRestarting_) {
        // The relay asked to come back after its restart: not a failure, so the backoff
        // stays where the registration left it (the next real failure waits 1 s).
        const net::Backoff::Step step{retryAfter_, retryAfter_ + restartJitter_.next().delay};
        retryAfter_ = {};
        return step;
    }
    auto step = backoff_.next();
    if (longestBackoff_) {
        // Revoked: the slug is gone; asking often will not bring it back.
        for (int i = 0; i < 32; ++i) {
            const auto next = backoff_.next();
            const bool capped = next.nominal == step.nominal;
            step = next;
            if (capped) {
                break;
            }
        }
    }
    if (retryAfter_.count() > 0) {
        // At least what the relay asked for, plus the backoff's own jitter.
        step.delay += retryAfter_;
        step.nominal += retryAfter_;
    }
    longestBackoff_ = false;
    retryAfter_ = {};
    return step;
}

void Agent::markReplaced(std::string_view reason) {
    // "... from ADDRESS": an address is short; whatever else the relay sent is not kept.
    const auto from = reason.rfind(" from ");
    std::string address = from == std::string_view::npos ? std::string("an unknown address")
                                                         : std::string(reason.substr(from + 6, 64));
    board_.recordError("Replaced by another agent from " + address);
    board_.transition(AgentState::Replaced, [&](AgentStatus& s) {
        s.replacedBy = std::move(address);
        s.connectedSince.reset();
    });
    board_.emit({.kind = AgentEventKind::Replaced});
}

void Agent::fail(AgentEventKind kind, std::string message) {
    board_.recordError(std::move(message));
    board_.emit({.kind = kind, .detail = board_.current().lastError});
}

}  // namespace nexus::client
