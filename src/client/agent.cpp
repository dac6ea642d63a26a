// SPDX-License-Identifier: AGPL-3.0-or-later
// Agent: the reconnect loop, registration, and dispatch of the relay's frames.
#include "client/agent.hpp"

#include "net/door.hpp"
#include "net/v2_mux.hpp"
#include "nexus_config.hpp"
#include "protocol/v1_messages.hpp"
#include "protocol/v2_frames.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <fmt/format.h>

#include <random>

namespace nexus::client {

namespace asio = boost::asio;
namespace v1 = protocol::v1;
namespace v2 = protocol::v2;

Agent::Agent(asio::any_io_executor executor, AgentConfig config, Logger& log)
    : executor_(executor),
      config_(std::move(config)),
      log_(log),
      pool_(executor, config_),
      forwarder_(config_, pool_),
      v2_{config_, pool_, log_},
      replacedBackoff_(kReplacedBase, kReplacedCap,
                       [engine = std::mt19937_64(std::random_device{}())]() mutable {
                           return std::uniform_real_distribution<double>(0.0, 1.0)(engine);
                       }),
      sleep_(executor) {}

void Agent::stop() {
    stopped_ = true;
    sleep_.cancel();
    if (connection_) {
        connection_->close();
    }
}

asio::awaitable<void> Agent::run() {
    while (!stopped_) {
        state_ = State::Connecting;
        log_.info(fmt::format("Connecting to {}", config_.serverText));
        auto socket = co_await net::connectAny(config_.server, config_.connectTimeout);
        if (!socket) {
            log_.error(fmt::format("Connection failed: {}", socket.error().message()));
        } else if (config_.webSocket) {
            auto transport =
                co_await net::webSocketConnect(std::move(*socket), *config_.webSocket, config_.tls,
                                               config_.serverName, config_.connectTimeout);
            if (!transport) {
                log_.error(fmt::format("WebSocket handshake with {} failed: {}", config_.serverText,
                                       net::describeTlsError(transport.error())));
            } else {
                log_.info(fmt::format("Connected to {}", config_.serverText));
                co_await session(std::move(*transport));
            }
        } else if (!config_.tls) {
            log_.info(fmt::format("Connected to {} (plaintext)", config_.serverText));
            co_await session(net::makeTcpTransport(std::move(*socket)));
        } else {
            auto transport = co_await net::tlsConnect(std::move(*socket), config_.tls,
                                                      config_.serverName, config_.connectTimeout);
            if (!transport) {
                log_.error(fmt::format("TLS handshake with {} failed: {}", config_.serverText,
                                       net::describeTlsError(transport.error())));
            } else {
                log_.info(fmt::format("Connected to {}", config_.serverText));
                co_await session(std::move(*transport));
            }
        }
        if (stopped_) {
            break;
        }
        if (!replacedBy_.empty()) {
            // Never fight the other agent for the slug: ask again, rarely, for a free slug.
            state_ = State::Replaced;
            const auto step = replacedBackoff_.next();
            log_.info(fmt::format(
                "Not taking slug \"{}\" back; asking again in {} min, only if no agent holds it",
                config_.slug,
                std::chrono::duration_cast<std::chrono::minutes>(step.delay).count()));
            sleep_.expires_after(step.delay);
            co_await sleep_.async_wait(asio::as_tuple(asio::use_awaitable));
            continue;
        }
        state_ = State::Waiting;
        const auto step = nextDelay();
        log_.info(
            fmt::format("Reconnecting in {}s",
                        std::chrono::duration_cast<std::chrono::seconds>(step.nominal).count()));
        sleep_.expires_after(step.delay);
        co_await sleep_.async_wait(asio::as_tuple(asio::use_awaitable));
    }
}

net::Backoff::Step Agent::nextDelay() {
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
    log_.warning(
        fmt::format("Replaced by another agent for slug \"{}\" from {}", config_.slug, address),
        {{"NEXUS_SLUG", config_.slug}});
    replacedBy_ = std::move(address);
}

namespace {
bool startsWith(const std::optional<std::string>& text, std::string_view prefix) {
    return text && std::string_view(*text).starts_with(prefix);
}

std::string describeGoaway(v2::GoawayCode code) {
    switch (code) {
        case v2::GoawayCode::ProtocolError: return "protocol error";
        case v2::GoawayCode::Superseded: return "a newer session took the slug over";
        case v2::GoawayCode::Revoked: return "slug revoked";
        case v2::GoawayCode::Shutdown: break;
    }
    return "shutting down";
}

std::string describeEnd(const ErrorCode& ec, std::chrono::seconds heartbeat) {
    if (ec == makeError(Errc::Timeout)) {
        return fmt::format("No traffic from relay in {}s — assuming dead session",
                           heartbeat.count());
    }
    if (ec == asio::error::eof) {
        return "Relay closed the connection";
    }
    return ec.message();
}
}  // namespace

asio::awaitable<bool> Agent::session(std::unique_ptr<net::Transport> transport) {
    state_ = State::Registering;
    auto connection = std::make_shared<net::FrameConnection>(executor_, std::move(transport),
                                                             protocol::kMaxFrameSize);
    connection_ = connection;
    connection->setIdleTimeout(config_.registerTimeout);
    net::startPumps(connection, executor_);

    std::vector<std::string> features{std::string(v1::kFeatureHeaderList)};
    if (config_.offerV2) {
        features.emplace_back(v2::kFeatureV2);
    }
    if (!replacedBy_.empty()) {
        features.emplace_back(v1::kFeatureNoTakeover);
    }
    connection->send(v1::encode(v1::Register{config_.slug, config_.token, std::move(features),
                                             std::string("nexus-relay/") + NEXUS_VERSION}));
    auto first = co_await connection->read();
    if (!first) {
        // An HTTP server or a TLS-only server answers the register frame with something that
        // reads as an impossible frame length: say what it is instead.
        const ErrorCode foreign = net::classifyForeignAnswer(connection->unreadBytes());
        const ErrorCode& ec = foreign ? foreign : first.error();
        log_.warning(
            ec == makeError(Errc::Timeout)
                ? fmt::format("Session ended: no answer to registration within {}s",
                              config_.registerTimeout.count())
                : fmt::format("Session ended: {}", describeEnd(ec, config_.heartbeatTimeout)));
        connection->close();
        co_return false;
    }
    auto reply = v1::decodeServerMessage(*first);
    const auto* registered = reply ? std::get_if<v1::Registered>(&*reply) : nullptr;
    if (registered != nullptr && !registered->ok && !replacedBy_.empty() &&
        startsWith(registered->error, v1::kHeldByAnotherAgent)) {
        log_.info(fmt::format("Slug \"{}\" is still served by another agent", config_.slug));
        connection->close();
        co_return false;
    }
    if (registered == nullptr || !registered->ok) {
        log_.error(registered != nullptr
                       ? fmt::format("Registration rejected: {}",
                                     registered->error.value_or("unknown error"))
                       : fmt::format("Session ended: {} (its first message was not "
                                     "`registered`)",
                                     makeError(Errc::NotRelay).message()));
        connection->close();
        co_return false;
    }
    // Every byte after `registered` is v2 framing when both sides listed it (docs §4.1).
    const bool useV2 = config_.offerV2 && v1::hasFeature(registered->features, v2::kFeatureV2);
    if (useV2) {
        connection->useV2Framing();
    }
    log_.info(fmt::format("Registered as slug \"{}\" — OK", config_.slug),
              {{"NEXUS_SLUG", config_.slug}});
    backoff_.reset();
    replacedBackoff_.reset();
    replacedBy_.clear();
    state_ = State::Online;
    if (useV2) {
        log_.info("Relay speaks protocol v2: multiplexed streams");
        co_await serveV2(connection);
        co_return true;
    }
    connection->setIdleTimeout(config_.heartbeatTimeout);

    for (;;) {
        auto frame = co_await connection->read();
        if (!frame) {
            log_.warning(fmt::format("Session ended: {}",
                                     describeEnd(frame.error(), config_.heartbeatTimeout)));
            break;
        }
        auto message = v1::decodeServerMessage(*frame);
        if (!message) {
            log_.warning(
                fmt::format("Session ended: bad frame from relay ({})", message.error().message()));
            break;
        }
        if (auto* request = std::get_if<v1::Request>(&*message)) {
            if (inFlight_ >= config_.maxInFlightV1) {
                connection->send(v1::encode(
                    agentError(request->id, 503, "Too many requests in flight on this agent")));
                continue;
            }
            asio::co_spawn(executor_, serveRequest(connection, std::move(*request)),
                           asio::detached);
        } else if (std::holds_alternative<v1::Ping>(*message)) {
            connection->send(v1::encode(v1::Heartbeat{}));
        } else if (const auto* again = std::get_if<v1::Registered>(&*message);
                   again != nullptr && !again->ok &&
                   startsWith(again->error, v1::kReplacedByAnotherAgent)) {
            markReplaced(*again->error);  // our relay's word that another agent took over
            break;
        }
        // Any other repeated `registered` is ignored, as the deployed agent does.
    }
    connection->close();
    co_return true;
}

asio::awaitable<void> Agent::serveV2(std::shared_ptr<net::FrameConnection> connection) {
    auto mux = std::make_shared<net::V2Mux>(executor_, connection);
    std::weak_ptr<net::V2Mux> weak = mux;  // the mux owns this handler: no cycle
    mux->onStalledReset([this](std::size_t streams, std::int64_t bytes) {
        log_.warning(
            fmt::format("Reset {} uploads the local app read nothing of for {} s "
                        "({} KiB unread): the tunnel's {} MiB buffer was full",
                        streams, net::V2Mux::kStallLimit.count(), bytes / 1024,
                        net::V2Mux::kBufferBudget >> 20));
    });
    mux->onRequest([this, weak](std::shared_ptr<net::V2Stream> stream, v2::ReceivedRequest head,
                                bool endStream) {
        auto owner = weak.lock();
        if (!owner) {
            return;
        }
        if (v2_.inFlight >= config_.maxInFlight) {
            stream->reset(v2::ResetCode::Refused);  // the relay answers 503; safe to retry
            return;
        }
        asio::co_spawn(
            executor_,
            serveV2Stream(v2_, std::move(owner), std::move(stream), std::move(head), endStream),
            asio::detached);
    });
    const ErrorCode reason = co_await mux->run();
    if (const auto& goaway = mux->peerGoaway();
        goaway && goaway->code == v2::GoawayCode::Superseded) {
        markReplaced(goaway->reason);
    } else if (goaway) {
        log_.warning(fmt::format("Relay is going away ({}); retry after {} ms",
                                 describeGoaway(goaway->code), goaway->retryAfterMs));
        retryAfter_ = std::chrono::milliseconds(goaway->retryAfterMs);
        longestBackoff_ = goaway->code == v2::GoawayCode::Revoked;
    }
    log_.warning(fmt::format("Session ended: {}", describeEnd(reason, v2::kPeerTimeout)));
    connection->close();
}

asio::awaitable<void> Agent::serveRequest(std::shared_ptr<net::FrameConnection> connection,
                                          v1::Request request) {
    ++inFlight_;
    const auto started = std::chrono::steady_clock::now();
    auto outcome = co_await forwarder_.forward(request);
    std::string json = v1::encode(outcome.response);
    if (json.size() > protocol::kMaxFrameSize) {
        // Too big for one v1 frame: fail this request, never the whole tunnel.
        outcome.response = agentError(request.id, 502, "Response too large for this tunnel");
        json = v1::encode(outcome.response);
    }
    connection->send(json);
    --inFlight_;
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                        std::chrono::steady_clock::now() - started)
                        .count();
    // The query string stays out of the log: it may carry tokens or personal data.
    const std::string_view path = std::string_view(request.path).substr(0, request.path.find('?'));
    const std::string line = fmt::format("Forwarding {} {} → HTTP {} ({} ms)", request.method, path,
                                         outcome.response.status, ms);
    if (outcome.failure) {
        log_.warning(fmt::format("{}: {}", line, outcome.failure.message()));
    } else {
        log_.info(line);
    }
}

}  // namespace nexus::client
