// SPDX-License-Identifier: AGPL-3.0-or-later
// RelayLog: events into log lines.
#include "relay_log.hpp"

#include "sd/message_ids.hpp"

#include <fmt/compile.h>
#include <fmt/format.h>

#include <chrono>

namespace nexus {

using server::TunnelEvent;
namespace message_id = sd::message_id;

void RelayLog::tunnelEvent(const TunnelEvent& event) {
    const auto& info = event.info;
    switch (event.kind) {
        case TunnelEvent::Kind::Registered:
        case TunnelEvent::Kind::Replaced: {
            const std::string line =
                event.kind == TunnelEvent::Kind::Registered
                    ? fmt::format("Tunnel registered: slug \"{}\" from {} over {} ({})", info.slug,
                                  info.peer, info.door, info.protocol)
                    : fmt::format(
                          "Tunnel replaced: slug \"{}\" from {} over {} (previous "
                          "session from {})",
                          info.slug, info.peer, info.door, event.previousPeer);
            log_.info(line, {message_id::field(message_id::kTunnelRegistered),
                             {"NEXUS_SLUG", info.slug},
                             {"NEXUS_REMOTE", info.peer},
                             {"NEXUS_DOOR", info.door},
                             {"NEXUS_PROTOCOL", info.protocol}});
            return;
        }
        case TunnelEvent::Kind::Revoked:
            log_.warning(fmt::format("Tunnel revoked: slug \"{}\" from {}", info.slug, info.peer),
                         {message_id::field(message_id::kSlugRevoked),
                          {"NEXUS_SLUG", info.slug},
                          {"NEXUS_REMOTE", info.peer}});
            return;
        case TunnelEvent::Kind::Gone:
        case TunnelEvent::Kind::Disconnected:
            log_.info(
                fmt::format("Tunnel gone: slug \"{}\" from {} ({}){}", info.slug, info.peer,
                            event.reason, event.slugKept ? ", a newer session keeps the slug" : ""),
                {message_id::field(message_id::kTunnelGone),
                 {"NEXUS_SLUG", info.slug},
                 {"NEXUS_REMOTE", info.peer}});
            return;
    }
}

void RelayLog::authFailure(const server::AuthFailure& event) {
    const std::string line =
        event.rateLimited
            ? fmt::format("Auth refused for {} (slug \"{}\"): too many failed attempts",
                          event.address, event.slug)
            : fmt::format("Auth failure from {} (slug \"{}\")", event.address, event.slug);
    log_.warning(line, {message_id::field(message_id::kAuthFailure),
                        {"NEXUS_REMOTE", event.address},
                        {"NEXUS_SLUG", event.slug}});
}

void appendRequestLine(std::string& out, const server::RequestServed& event) {
    const auto& r = event.record;
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(event.duration).count();
    const std::string_view slug = event.slug.empty() ? std::string_view("-") : event.slug;
    auto to = std::back_inserter(out);
    fmt::format_to(to, FMT_COMPILE("Request {} {} {} {} → "), slug, r.id, r.method, r.path);
    if (r.status == 0) {
        out += '-';
    } else {
        fmt::format_to(to, FMT_COMPILE("{}"), r.status);
    }
    fmt::format_to(to, FMT_COMPILE(" ({} ms, {} B in, {} B out) from {} over "), ms, r.bytesIn,
                   r.bytesOut, event.visitor);
    if (event.tunnel != nullptr) {
        fmt::format_to(to, FMT_COMPILE("{}/{}"), event.tunnel->door, event.tunnel->protocol);
    } else {
        out += '-';
    }
}

void RelayLog::requestServed(const server::RequestServed& event) {
    if (!log_.wants(LogLevel::Info)) {
        return;  // --log-level warning: not even formatted
    }
    std::string line;
    line.reserve(160);
    appendRequestLine(line, event);
    const auto& r = event.record;
    const auto us = std::chrono::duration_cast<std::chrono::microseconds>(event.duration).count();
    const bool tunnel = event.tunnel != nullptr;
    log_.info(line, {{"NEXUS_SLUG", std::string(event.slug)},
                     {"NEXUS_REQUEST_ID", r.id},
                     {"NEXUS_METHOD", r.method},
                     {"NEXUS_PATH", r.path},
                     {"NEXUS_STATUS", fmt::format(FMT_COMPILE("{}"), r.status)},
                     {"NEXUS_DURATION_US", fmt::format(FMT_COMPILE("{}"), us)},
                     {"NEXUS_REMOTE", std::string(event.visitor)},
                     {"NEXUS_DOOR", tunnel ? event.tunnel->door : std::string()},
                     {"NEXUS_PROTOCOL", tunnel ? event.tunnel->protocol : std::string()}});
}

}  // namespace nexus
