// SPDX-License-Identifier: AGPL-3.0-or-later
// ControlListener: accept loop, the pre-registration deadline and caps, and authentication.
#include "server/control_listener.hpp"

#include "net/door.hpp"
#include "net/websocket.hpp"
#include "server/forwarding_headers.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <fmt/format.h>

namespace nexus::server {

namespace asio = boost::asio;
namespace v1 = protocol::v1;
using asio::ip::tcp;
using namespace asio::experimental::awaitable_operators;

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

std::string describe(const ErrorCode& ec) {
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
    // One deadline from accept for the door, the TLS or WebSocket handshake and the register
    // frame together: a peer trickling a byte at a time gains nothing by it.
    asio::steady_timer deadline(context_.executor, context_.config.registerTimeout);
    bool evicted = false;
    auto slot = caps_.admit(ip);
    if (!slot) {
        context_.log.warning(
            fmt::format("Relay client {} refused: too many unregistered connections from its "
                        "address",
                        peer));
        co_return;
    }
    slot->onEvict([&] {
        evicted = true;
        deadline.cancel();
    });
    auto outcome = co_await (arrive(std::move(socket), webSocketOnly, ip) ||
                             deadline.async_wait(asio::as_tuple(asio::use_awaitable)));
    if (outcome.index() == 1) {
        // arrive() was cancelled and has closed whatever it had opened.
        context_.log.warning(
            fmt::format("Relay client {} disconnected: {}", peer,
                        evicted ? std::string("evicted, too many unregistered connections")
                                : fmt::format("never registered within {}s",
                                              context_.config.registerTimeout.count())));
        co_return;
    }
    Arrival arrival = std::move(std::get<0>(outcome));
    if (!arrival.failure.empty()) {
        context_.log.warning(
            fmt::format("Relay client {} disconnected: {}", peer, arrival.failure));
        co_return;
    }
    // From here the peer has done its part; only the directory is awaited (5 s at most).
    slot->onEvict([connection = arrival.connection] { connection->close(); });
    co_await handshake(std::move(arrival), *slot);
}

asio::awaitable<ControlListener::Arrival> ControlListener::arrive(tcp::socket socket,
                                                                  bool webSocketOnly,
                                                                  asio::ip::address ip) {
    const auto limit = context_.config.registerTimeout;  // the caller's deadline comes first
    if (webSocketOnly) {
        co_return co_await arriveWebSocket(std::move(socket), ip);
    }
    auto door = co_await net::sniffDoor(socket, limit);
    if (!door) {
        co_return Arrival{.failure = describe(door.error())};
    }
    switch (*door) {
        case net::Door::PlainV1:
            co_return co_await readRegister(net::makeTcpTransport(std::move(socket)), ip);
        case net::Door::Tls: {
            if (!context_.tls) {
                co_return Arrival{.failure =
                                      "TLS requested but no certificate is configured "
                                      "(--tls-cert, --tls-key)"};
            }
            auto transport = co_await net::tlsAccept(std::move(socket), context_.tls, limit);
            if (!transport) {
                co_return Arrival{.failure =
                                      "TLS handshake failed: " + describe(transport.error())};
            }
            co_return co_await readRegister(std::move(*transport), ip);
        }
        case net::Door::Http: co_return co_await arriveWebSocket(std::move(socket), ip);
        case net::Door::Unknown: break;
    }
    co_return Arrival{.failure = "not the Nexus Relay protocol"};
}

asio::awaitable<ControlListener::Arrival> ControlListener::arriveWebSocket(tcp::socket socket,
                                                                           asio::ip::address ip) {
    std::string forwardedFor;
    auto transport = co_await net::webSocketAccept(std::move(socket),
                                                   context_.config.registerTimeout, forwardedFor);
    if (!transport) {
        co_return Arrival{.failure = "WebSocket handshake failed: " + describe(transport.error())};
    }
    ErrorCode notAnAddress;
    const auto forwarded = asio::ip::make_address(forwardedFor, notAnAddress);
    // The same proxies as the HTTP front's (--trusted-proxy, loopback by default).
    if (!forwardedFor.empty() && !notAnAddress &&
        describeVisitor(ip, context_.config.trustedProxies).trusted) {
        ip = net::canonicalAddress(forwarded);
    }
    co_return co_await readRegister(std::move(*transport), ip);
}

asio::awaitable<ControlListener::Arrival> ControlListener::readRegister(
    std::unique_ptr<net::Transport> transport, asio::ip::address ip) {
    auto connection = std::make_shared<net::FrameConnection>(
        context_.executor, std::move(transport), protocol::kMaxPreAuthFrameSize);
    connection->setIdleTimeout(context_.config.registerTimeout);
    net::startPumps(connection, context_.executor);
    auto frame = co_await connection->read();
    if (!frame) {
        connection->close();  // also when the deadline cancelled the read
        co_return Arrival{.failure = describe(frame.error())};
    }
    auto message = v1::decodeClientMessage(*frame);
    if (!message) {
        connection->close();
        co_return Arrival{.failure =
                              fmt::format("bad first frame ({})", message.error().message())};
    }
    auto* hello = std::get_if<v1::Register>(&*message);
    if (hello == nullptr) {
        connection->send(v1::encode(v1::Registered{false, "Expected register message", {}}));
        connection->closeAfterWrites();
        co_return Arrival{.failure = "first message was not register"};
    }
    co_return Arrival{connection, std::move(*hello), ip, {}};
}

asio::awaitable<void> ControlListener::handshake(Arrival arrival, PreAuthCaps::Slot& slot) {
    auto& connection = arrival.connection;
    const auto& hello = arrival.hello;
    const std::string peer = connection->transport().peer();
    const std::string host = arrival.ip.to_string();
    auto& log = context_.log;
    const auto refuse = [&](std::string_view error) {
        connection->send(v1::encode(v1::Registered{false, std::string(error), {}}));
        connection->closeAfterWrites();
    };
    if (!context_.limiter.allowed(arrival.ip, hello.slug, AuthLimiter::Clock::now())) {
        log.warning(fmt::format("Auth refused for {} (slug \"{}\"): too many failed attempts", host,
                                hello.slug));
        refuse(makeError(Errc::RateLimited).message());
        co_return;
    }
    auto authenticate = [slug = hello.slug, token = hello.token](directory::Directory& d) {
        return d.authenticate(slug, token);
    };
    auto instance =
        co_await context_.directory.run(std::move(authenticate), std::chrono::seconds(5));
    if (!instance) {
        if (instance.error() == makeError(Errc::AuthFailed)) {
            context_.limiter.recordFailure(arrival.ip, hello.slug, AuthLimiter::Clock::now());
            log.warning(fmt::format("Auth failure from {} (slug \"{}\")", host, hello.slug));
            refuse(makeError(Errc::AuthFailed).message());
        } else {
            log.error(fmt::format("Directory unavailable, refusing slug \"{}\" from {}: {}",
                                  hello.slug, peer, context_.directory.describe(instance.error())));
            refuse("Relay directory unavailable, try again later");
        }
        co_return;
    }
    if (!connection->isOpen()) {
        log.warning(fmt::format("Relay client {} disconnected while its token was checked", peer));
        co_return;
    }
    slot.release();
    co_await serve(std::move(arrival), *instance);
}

}  // namespace nexus::server
