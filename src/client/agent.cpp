// SPDX-License-Identifier: AGPL-3.0-or-later
// Agent: the reconnect loop, registration, and dispatch of the relay's frames.
#include "client/agent.hpp"

#include "nexus_config.hpp"
#include "protocol/v1_messages.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <fmt/format.h>

namespace nexus::client {

namespace asio = boost::asio;
namespace v1 = protocol::v1;

Agent::Agent(asio::any_io_executor executor, AgentConfig config, Logger& log)
    : executor_(executor),
      config_(std::move(config)),
      log_(log),
      forwarder_(executor, config_),
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
            auto transport = co_await net::webSocketConnect(
                std::move(*socket), *config_.webSocket, config_.tls, config_.serverName,
                config_.connectTimeout);
            if (!transport) {
                log_.error(fmt::format("WebSocket handshake with {} failed: {}",
                                       config_.serverText,
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
        state_ = State::Waiting;
        const auto step = backoff_.next();
        log_.info(fmt::format("Reconnecting in {}s",
                              std::chrono::duration_cast<std::chrono::seconds>(step.nominal).count()));
        sleep_.expires_after(step.delay);
        co_await sleep_.async_wait(asio::as_tuple(asio::use_awaitable));
    }
}

namespace {
std::string describeEnd(const ErrorCode& ec, std::chrono::seconds heartbeat) {
    if (ec == makeError(Errc::Timeout)) {
        return fmt::format("No traffic from relay in {}s — assuming dead session", heartbeat.count());
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

    connection->send(v1::encode(v1::Register{config_.slug, config_.token,
                                             {std::string(v1::kFeatureHeaderList)},
                                             std::string("nexus-relay/") + NEXUS_VERSION}));
    auto first = co_await connection->read();
    if (!first) {
        const auto& ec = first.error();
        log_.warning(ec == makeError(Errc::Timeout)
                         ? fmt::format("Session ended: no answer to registration within {}s",
                                       config_.registerTimeout.count())
                         : fmt::format("Session ended: {}", describeEnd(ec, config_.heartbeatTimeout)));
        connection->close();
        co_return false;
    }
    auto reply = v1::decodeServerMessage(*first);
    const auto* registered = reply ? std::get_if<v1::Registered>(&*reply) : nullptr;
    if (registered == nullptr || !registered->ok) {
        log_.error(registered != nullptr
                       ? fmt::format("Registration rejected: {}",
                                     registered->error.value_or("unknown error"))
                       : std::string("Session ended: unexpected message before registration"));
        connection->close();
        co_return false;
    }
    log_.info(fmt::format("Registered as slug \"{}\" — OK", config_.slug),
              {{"NEXUS_SLUG", config_.slug}});
    backoff_.reset();
    state_ = State::Online;
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
            log_.warning(fmt::format("Session ended: bad frame from relay ({})",
                                     message.error().message()));
            break;
        }
        if (auto* request = std::get_if<v1::Request>(&*message)) {
            if (inFlight_ >= config_.maxInFlight) {
                connection->send(v1::encode(
                    agentError(request->id, 503, "Too many requests in flight on this agent")));
                continue;
            }
            asio::co_spawn(executor_, serveRequest(connection, std::move(*request)),
                           asio::detached);
        } else if (std::holds_alternative<v1::Ping>(*message)) {
            connection->send(v1::encode(v1::Heartbeat{}));
        }
        // A repeated `registered` is ignored, as the deployed agent does.
    }
    connection->close();
    co_return true;
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
    const std::string line = fmt::format("Forwarding {} {} → HTTP {} ({} ms)", request.method,
                                         path, outcome.response.status, ms);
    if (outcome.failure) {
        log_.warning(fmt::format("{}: {}", line, outcome.failure.message()));
    } else {
        log_.info(line);
    }
}

}  // namespace nexus::client
