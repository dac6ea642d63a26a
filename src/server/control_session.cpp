// SPDX-License-Identifier: AGPL-3.0-or-later
// ControlListener::serve: a registered agent's session, from the registry hand-over (and the
// takeover of a previous session) to its teardown.
#include "server/control_listener.hpp"
#include "server/v1_tunnel.hpp"
#include "server/v2_tunnel.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>

#include <fmt/format.h>

namespace nexus::server {

namespace asio = boost::asio;
namespace v1 = protocol::v1;

namespace {

// "tcp (plaintext), protocol v2": the door the agent came through, then the protocol it
// negotiated inside it (either protocol works through every door).
std::string doorAndProtocol(const TunnelInfo& info) {
    return fmt::format("{}{}, protocol {}", info.door, info.door == "tcp" ? " (plaintext)" : "",
                       info.protocol);
}

std::string anotherAgent(std::string_view what, std::string_view slug, std::string_view from) {
    return fmt::format("{} for slug \"{}\" from {}", what, slug, from);
}

}  // namespace

asio::awaitable<void> ControlListener::serve(Arrival arrival, std::int64_t instance) {
    auto& connection = arrival.connection;
    const auto& hello = arrival.hello;
    auto& log = context_.log;
    const std::string peer = connection->transport().peer();
    const std::string from = arrival.ip.to_string();
    if (v1::hasFeature(hello.features, v1::kFeatureNoTakeover)) {
        // An agent that was replaced asks again only for a free slug: it never fights back.
        if (const auto holder = context_.registry.find(hello.slug)) {
            log.info(fmt::format("Agent from {} waits: slug \"{}\" is held by {}", peer, hello.slug,
                                 holder->info().peer),
                     {{"NEXUS_SLUG", hello.slug}, {"NEXUS_REMOTE", peer}});
            connection->send(v1::encode(v1::Registered{
                false,
                anotherAgent(v1::kHeldByAnotherAgent, hello.slug, holder->info().address),
                {}}));
            connection->closeAfterWrites();
            co_return;
        }
    }
    connection->setReadLimit(protocol::kMaxFrameSize);
    connection->setIdleTimeout(context_.config.heartbeatTimeout);
    const bool headerList = v1::hasFeature(hello.features, v1::kFeatureHeaderList);
    const bool useV2 =
        context_.config.offerV2 && v1::hasFeature(hello.features, protocol::v2::kFeatureV2);
    TunnelInfo info{hello.slug,
                    instance,
                    peer,
                    std::string(connection->transport().door()),
                    useV2 ? "v2" : "v1",
                    context_.nextSessionId++,
                    std::chrono::system_clock::now(),
                    from};
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
        // The newest registration wins (a restarted agent must not wait for its old, maybe
        // half-open session), and the old agent is told so: ours then stops competing.
        previous->supersede(anotherAgent(v1::kReplacedByAnotherAgent, info.slug, from));
        log.info(
            fmt::format("Tunnel replaced: slug \"{}\" from {} over {} (previous session from {})",
                        info.slug, peer, doorAndProtocol(info), previous->info().peer),
            {{"NEXUS_SLUG", info.slug}, {"NEXUS_REMOTE", peer}});
    } else {
        log.info(fmt::format("Tunnel registered: slug \"{}\" from {} over {}", info.slug, peer,
                             doorAndProtocol(info)),
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
