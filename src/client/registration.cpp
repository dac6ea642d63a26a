// SPDX-License-Identifier: AGPL-3.0-or-later
// registerSlug and describeSessionEnd.
#include "client/registration.hpp"

#include "client/agent_session.hpp"
#include "net/door.hpp"
#include "nexus_config.hpp"
#include "protocol/v1_messages.hpp"
#include "protocol/v2_frames.hpp"

#include <boost/asio/error.hpp>

#include <fmt/format.h>

namespace nexus::client {

namespace v1 = protocol::v1;
namespace v2 = protocol::v2;

std::string describeSessionEnd(const ErrorCode& ec, std::chrono::seconds heartbeat) {
    if (ec == makeError(Errc::Timeout)) {
        return fmt::format("No traffic from relay in {}s — assuming dead session",
                           heartbeat.count());
    }
    if (ec == boost::asio::error::eof) {
        return "Relay closed the connection";
    }
    return ec.message();
}

namespace {
bool startsWith(const std::optional<std::string>& text, std::string_view prefix) {
    return text && std::string_view(*text).starts_with(prefix);
}
}  // namespace

boost::asio::awaitable<Registration> registerSlug(net::FrameConnection& connection,
                                                  const AgentConfig& config, bool noTakeover) {
    using Outcome = Registration::Outcome;
    connection.setIdleTimeout(config.registerTimeout);
    std::vector<std::string> features{std::string(v1::kFeatureHeaderList)};
    if (config.offerV2) {
        features.emplace_back(v2::kFeatureV2);
    }
    if (noTakeover) {
        features.emplace_back(v1::kFeatureNoTakeover);
    }
    connection.send(v1::encode(v1::Register{config.slug, config.token, std::move(features),
                                            std::string("nexus-relay/") + NEXUS_VERSION}));
    auto first = co_await connection.read();
    if (!first) {
        if (first.error() == makeError(Errc::Timeout)) {
            co_return Registration{Outcome::Failed, false,
                                   fmt::format("no answer to registration within {}s",
                                               config.registerTimeout.count())};
        }
        // An HTTP server or a TLS-only server answers the register frame with something that
        // reads as an impossible frame length: say what it is instead.
        const ErrorCode foreign = net::classifyForeignAnswer(connection.unreadBytes());
        co_return Registration{
            Outcome::Failed, false,
            describeSessionEnd(foreign ? foreign : first.error(), config.heartbeatTimeout)};
    }
    auto reply = v1::decodeServerMessage(*first);
    const auto* registered = reply ? std::get_if<v1::Registered>(&*reply) : nullptr;
    if (registered == nullptr) {
        co_return Registration{Outcome::Failed, false,
                               fmt::format("{} (its first message was not `registered`)",
                                           makeError(Errc::NotRelay).message())};
    }
    if (!registered->ok) {
        if (noTakeover && startsWith(registered->error, v1::kHeldByAnotherAgent)) {
            co_return Registration{Outcome::StillHeld, false, *registered->error};
        }
        co_return Registration{Outcome::Rejected, false,
                               registered->error.value_or("unknown error")};
    }
    // Every byte after `registered` is v2 framing when both sides listed it (docs §4.1).
    const bool useV2 = config.offerV2 && v1::hasFeature(registered->features, v2::kFeatureV2);
    if (useV2) {
        connection.useV2Framing();
    }
    co_return Registration{Outcome::Accepted, useV2, {}};
}

}  // namespace nexus::client
