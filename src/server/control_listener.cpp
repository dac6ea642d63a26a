// SPDX-License-Identifier: AGPL-3.0-or-later
// ControlListener: accept loop, registration, and the hand-over to V1Tunnel.
#include "server/control_listener.hpp"

#include "net/door.hpp"
#include "net/frame_connection.hpp"
#include "net/websocket.hpp"
#include "protocol/v1_messages.hpp"
#include "server/forwarding_headers.hpp"
#include "server/v1_tunnel.hpp"
#include "server/v2_tunnel.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <fmt/format.h>

namespace nexus::server {

namespace asio = boost::asio;
namespace v1 = protocol::v1;
using asio::ip::tcp;

/// Counts a connection against the pre-registration caps for as long as it is held.
class ControlListener::PreAuthSlot {
public:
    PreAuthSlot(ControlListener& owner, asio::ip::address ip) : owner_(&owner), ip_(std::move(ip)) {
        ++owner_->unauthenticated_;
        ++owner_->unauthenticatedByIp_[ip_];
    }
    ~PreAuthSlot() { release(); }
    PreAuthSlot(const PreAuthSlot&) = delete;
    PreAuthSlot& operator=(const PreAuthSlot&) = delete;

    void release() {
        if (owner_ == nullptr) {
            return;
        }
        --owner_->unauthenticated_;
        if (--owner_->unauthenticatedByIp_[ip_] == 0) {
            owner_->unauthenticatedByIp_.erase(ip_);
        }
        owner_ = nullptr;
    }

private:
    ControlListener* owner_;
    asio::ip::address ip_;
};

asio::awaitable<void> ControlListener::run(tcp::acceptor& acceptor, bool webSocketOnly) {
    for (;;) {
        ErrorCode error;
        auto socket = co_await net::acceptWithPause(acceptor, error);
        if (!socket) {
            co_return;
        }
        if (error) {
            context_.log.error(
                fmt::format("Accept error on the control port: {}", error.message()));
            continue;
        }
        asio::co_spawn(context_.executor, admit(std::move(*socket), webSocketOnly), asio::detached);
    }
}

namespace {

std::string describe(const ErrorCode& ec, std::chrono::seconds registerTimeout) {
    if (ec == makeError(Errc::Timeout)) {
        return fmt::format("never registered within {}s", registerTimeout.count());
    }
    if (ec == asio::error::eof) {
        return "closed the connection before registering";
    }
    return ec.message();
}

}  // namespace

asio::awaitable<void> ControlListener::admit(tcp::socket socket, bool webSocketOnly) {
    ErrorCode ec;
    const auto endpoint = socket.remote_endpoint(ec);
    if (ec) {
        co_return;
    }
    const std::string peer = net::formatEndpoint(endpoint);
    const auto ip = net::canonicalAddress(endpoint.address());
    const auto fromIp = unauthenticatedByIp_.find(ip);
    if (context_.config.maxUnauthenticated <= unauthenticated_ ||
        (fromIp != unauthenticatedByIp_.end() &&
         context_.config.maxUnauthenticatedPerIp <= fromIp->second)) {
        context_.log.warning(
            fmt::format("Relay client {} refused: too many unregistered connections", peer));
        co_return;
    }
    PreAuthSlot slot(*this, ip);
    const auto deadline = context_.config.registerTimeout;
    if (webSocketOnly) {
        co_await admitWebSocket(std::move(socket), ip, slot);
        co_return;
    }
    auto door = co_await net::sniffDoor(socket, deadline);
    if (!door) {
        context_.log.warning(fmt::format("Relay client {} disconnected: {}", peer,
                                         describe(door.error(), deadline)));
        co_return;
    }
    switch (*door) {
        case net::Door::PlainV1:
            co_await handshake(net::makeTcpTransport(std::move(socket)), ip, slot);
            co_return;
        case net::Door::Tls: {
            if (!context_.tls) {
                context_.log.warning(fmt::format(
                    "Relay client {} disconnected: TLS requested but no certificate is configured "
                    "(--tls-cert, --tls-key)",
                    peer));
                co_return;
            }
            auto transport = co_await net::tlsAccept(std::move(socket), context_.tls, deadline);
            if (!transport) {
                context_.log.warning(
                    fmt::format("Relay client {} disconnected: TLS handshake "
                                "failed: {}",
                                peer, describe(transport.error(), deadline)));
                co_return;
            }
            co_await handshake(std::move(*transport), ip, slot);
            co_return;
        }
        case net::Door::Http: co_await admitWebSocket(std::move(socket), ip, slot); co_return;
        case net::Door::Unknown:
            context_.log.warning(
                fmt::format("Relay client {} disconnected: not the Nexus Relay protocol", peer));
            co_return;
    }
}

asio::awaitable<void> ControlListener::admitWebSocket(tcp::socket socket, asio::ip::address ip,
                                                      PreAuthSlot& slot) {
    const std::string peer = net::formatEndpoint(socket.remote_endpoint());
    std::string forwardedFor;
    auto transport = co_await net::webSocketAccept(std::move(socket),
                                                   context_.config.registerTimeout, forwardedFor);
    if (!transport) {
        context_.log.warning(
            fmt::format("Relay client {} disconnected: WebSocket handshake "
                        "failed: {}",
                        peer, describe(transport.error(), context_.config.registerTimeout)));
        co_return;
    }
    ErrorCode notAnAddress;
    const auto forwarded = asio::ip::make_address(forwardedFor, notAnAddress);
    // The same proxies as the HTTP front's (--trusted-proxy, loopback by default).
    if (!forwardedFor.empty() && !notAnAddress &&
        describeVisitor(ip, context_.config.trustedProxies).trusted) {
        ip = net::canonicalAddress(forwarded);
    }
    co_await handshake(std::move(*transport), ip, slot);
}

asio::awaitable<void> ControlListener::handshake(std::unique_ptr<net::Transport> transport,
                                                 asio::ip::address ip, PreAuthSlot& slot) {
    const std::string peer = transport->peer();
    const std::string host = ip.to_string();
    auto& log = context_.log;
    auto connection = std::make_shared<net::FrameConnection>(
        context_.executor, std::move(transport), protocol::kMaxPreAuthFrameSize);
    connection->setIdleTimeout(context_.config.registerTimeout);
    net::startPumps(connection, context_.executor);

    const auto refuse = [&](std::string_view error) {
        connection->send(v1::encode(v1::Registered{false, std::string(error), {}}));
        connection->closeAfterWrites();
    };
    auto frame = co_await connection->read();
    if (!frame) {
        log.warning(fmt::format("Relay client {} disconnected: {}", peer,
                                describe(frame.error(), context_.config.registerTimeout)));
        connection->close();
        co_return;
    }
    auto message = v1::decodeClientMessage(*frame);
    if (!message) {
        log.warning(fmt::format("Relay client {} disconnected: bad first frame ({})", peer,
                                message.error().message()));
        connection->close();
        co_return;
    }
    auto* hello = std::get_if<v1::Register>(&*message);
    if (hello == nullptr) {
        log.warning(
            fmt::format("Relay client {} disconnected: first message was not register", peer));
        refuse("Expected register message");
        co_return;
    }
    const auto now = AuthLimiter::Clock::now();
    if (!context_.limiter.allowed(ip, hello->slug, now)) {
        log.warning(fmt::format("Auth refused for {} (slug \"{}\"): too many failed attempts", host,
                                hello->slug));
        refuse(makeError(Errc::RateLimited).message());
        co_return;
    }
    auto authenticate = [slug = hello->slug, token = hello->token](directory::Directory& d) {
        return d.authenticate(slug, token);
    };
    auto instance =
        co_await context_.directory.run(std::move(authenticate), std::chrono::seconds(5));
    if (!instance) {
        if (instance.error() == makeError(Errc::AuthFailed)) {
            context_.limiter.recordFailure(ip, hello->slug, AuthLimiter::Clock::now());
            log.warning(fmt::format("Auth failure from {} (slug \"{}\")", host, hello->slug));
            refuse(makeError(Errc::AuthFailed).message());
        } else {
            log.error(fmt::format("Directory unavailable, refusing slug \"{}\" from {}: {}",
                                  hello->slug, peer,
                                  context_.directory.describe(instance.error())));
            refuse("Relay directory unavailable, try again later");
        }
        co_return;
    }

    slot.release();
    connection->setReadLimit(protocol::kMaxFrameSize);
    connection->setIdleTimeout(context_.config.heartbeatTimeout);
    const bool headerList = v1::hasFeature(hello->features, v1::kFeatureHeaderList);
    const bool useV2 =
        context_.config.offerV2 && v1::hasFeature(hello->features, protocol::v2::kFeatureV2);
    TunnelInfo info{hello->slug,
                    *instance,
                    peer,
                    std::string(connection->transport().door()),
                    useV2 ? "v2" : "v1",
                    context_.nextSessionId++,
                    std::chrono::system_clock::now()};
    std::shared_ptr<Tunnel> tunnel;
    std::shared_ptr<V1Tunnel> v1Tunnel;
    std::shared_ptr<V2Tunnel> v2Tunnel;
    if (useV2) {
        v2Tunnel = std::make_shared<V2Tunnel>(context_, connection, info);
        tunnel = v2Tunnel;
    } else {
        v1Tunnel = std::make_shared<V1Tunnel>(context_, connection, info, headerList);
        tunnel = v1Tunnel;
    }
    if (auto previous = context_.registry.replace(tunnel)) {
        previous->close(makeError(Errc::Superseded));
        log.info(
            fmt::format("Tunnel replaced: slug \"{}\" from {} over {} (previous session from {})",
                        info.slug, peer, info.door, previous->info().peer),
            {{"NEXUS_SLUG", info.slug}, {"NEXUS_REMOTE", peer}});
    } else {
        log.info(fmt::format("Tunnel registered: slug \"{}\" from {} over {} ({})", info.slug, peer,
                             info.door, info.protocol),
                 {{"NEXUS_SLUG", info.slug}, {"NEXUS_REMOTE", peer}});
    }
    std::vector<std::string> features;
    if (headerList) {
        features.emplace_back(v1::kFeatureHeaderList);
    }
    if (useV2) {
        features.emplace_back(protocol::v2::kFeatureV2);
    }
    connection->send(v1::encode(v1::Registered{true, std::nullopt, std::move(features)}));
    if (useV2) {
        connection->useV2Framing();  // every byte after `registered` is a v2 frame
    }
    auto recordTransport = [slug = info.slug, door = info.door](directory::Directory& d) {
        return d.recordTransport(slug, door == "ws" ? "wss" : "tcp7443");
    };
    auto recorded = context_.directory.run(std::move(recordTransport), std::chrono::seconds(5));
    asio::co_spawn(context_.executor, std::move(recorded), asio::detached);

    // Not `c ? co_await a : co_await b`: GCC 12 miscompiles co_await inside a conditional.
    ErrorCode reason;
    if (v2Tunnel) {
        reason = co_await v2Tunnel->run();
    } else {
        reason = co_await v1Tunnel->run();
    }
    const bool removed = context_.registry.removeIf(tunnel.get());
    if (reason == makeError(Errc::Revoked)) {
        log.warning(fmt::format("Tunnel revoked: slug \"{}\" from {}", info.slug, peer),
                    {{"NEXUS_SLUG", info.slug}, {"NEXUS_REMOTE", peer}});
    } else {
        const std::string why =
            reason == makeError(Errc::Timeout)
                ? fmt::format("no traffic in {}s",
                              v2Tunnel ? std::chrono::duration_cast<std::chrono::seconds>(
                                             protocol::v2::kPeerTimeout)
                                             .count()
                                       : context_.config.heartbeatTimeout.count())
            : reason == asio::error::eof ? "agent closed the connection"
                                         : reason.message();
        log.info(fmt::format("Tunnel gone: slug \"{}\" from {} ({}){}", info.slug, peer, why,
                             removed ? "" : ", a newer session keeps the slug"),
                 {{"NEXUS_SLUG", info.slug}, {"NEXUS_REMOTE", peer}});
    }
}

}  // namespace nexus::server
