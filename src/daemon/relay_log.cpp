// SPDX-License-Identifier: AGPL-3.0-or-later
// RelayLog: events into log lines.
#include "daemon/relay_log.hpp"

#include "daemon/log_line.hpp"
#include "sd/message_ids.hpp"
#include "server/request_id.hpp"

#include <fmt/format.h>

#include <chrono>

namespace nexus {

using server::TunnelEvent;
namespace message_id = sd::message_id;

namespace {
// "tcp (plaintext), protocol v2": the door the agent came through, then the protocol it
// negotiated inside it (either protocol works through every door).
std::string doorAndProtocol(const server::TunnelInfo& info) {
    return fmt::format("{}{}, protocol {}", info.door, info.door == "tcp" ? " (plaintext)" : "",
                       info.protocol);
}
}  // namespace

void RelayLog::tunnelEvent(const TunnelEvent& event) {
    const auto& info = event.info;
    switch (event.kind) {
        case TunnelEvent::Kind::Registered:
        case TunnelEvent::Kind::Replaced: {
            const std::string line =
                event.kind == TunnelEvent::Kind::Registered
                    ? fmt::format("Tunnel registered: slug \"{}\" from {} over {}", info.slug,
                                  info.peer, doorAndProtocol(info))
                    : fmt::format(
                          "Tunnel replaced: slug \"{}\" from {} over {} (previous "
                          "session from {})",
                          info.slug, info.peer, doorAndProtocol(info), event.previousPeer);
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

namespace {
// The request line is built for every request, by hand on the stack (LogLine). Only what
// comes from the network unchecked is escaped (the path, and the visitor's address for the zone
// of an IPv6 one); the rest is plain by construction: a slug the front matched as a DNS label,
// an id it generated or checked (isValidRequestId), a method the HTTP parser accepted as a
// token, numbers and the relay's own words. The sink then writes the line as it is, without
// scanning it again.
constexpr std::size_t kMaxSlug = 63;  // a DNS label
constexpr std::size_t kMaxMethod = 32;
constexpr std::size_t kMaxPath = 1024;  // already cut there by the front
constexpr std::size_t kMaxVisitor = 64;
constexpr std::size_t kMaxName = 16;  // door, protocol
constexpr std::size_t kWords = 64;    // "Request ", " → ", " B out) from "…
using RequestLine = LogLine<kWords + kMaxSlug + server::kMaxRequestId + kMaxMethod + 4 * kMaxPath +
                            4 * kMaxVisitor + 4 * kMaxLogNumber + 2 * kMaxName>;

void buildRequestLine(RequestLine& line, const server::RequestServed& event) {
    const auto& r = event.record;
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(event.duration).count();
    line.word("Request ");
    if (event.slug.empty()) {
        line.word("-");
    } else {
        line.plain(event.slug, kMaxSlug);
    }
    line.word(" ");
    line.plain(r.id, server::kMaxRequestId);
    line.word(" ");
    line.plain(r.method, kMaxMethod);
    line.word(" ");
    line.escaped(r.path, kMaxPath);
    line.word(" → ");
    if (r.status == 0) {
        line.word("-");
    } else {
        line.status(r.status);
    }
    line.word(" (");
    line.number(static_cast<std::uint64_t>(ms));
    line.word(" ms, ");
    line.number(r.bytesIn);
    line.word(" B in, ");
    line.number(r.bytesOut);
    line.word(" B out) from ");
    line.escaped(event.visitor, kMaxVisitor);
    line.word(" over ");
    if (event.tunnel != nullptr) {
        line.plain(event.tunnel->door, kMaxName);
        line.word("/");
        line.plain(event.tunnel->protocol, kMaxName);
    } else {
        line.word("-");
    }
}
}  // namespace

void appendRequestLine(std::string& out, const server::RequestServed& event) {
    RequestLine line;
    buildRequestLine(line, event);
    out += line.text();
}

void RelayLog::requestServed(const server::RequestServed& event) {
    if (!log_.wants(LogLevel::Info)) {
        return;  // --log-level warning: not even formatted
    }
    RequestLine line;
    buildRequestLine(line, event);
    if (!log_.keepsFields()) {
        log_.writeEscaped(LogLevel::Info, line.text());
        return;
    }
    const auto& r = event.record;
    const auto us = std::chrono::duration_cast<std::chrono::microseconds>(event.duration).count();
    const bool tunnel = event.tunnel != nullptr;
    log_.info(line.text(), {{"NEXUS_SLUG", std::string(event.slug)},
                            {"NEXUS_REQUEST_ID", r.id},
                            {"NEXUS_METHOD", std::string(r.method)},
                            {"NEXUS_PATH", r.path},
                            {"NEXUS_STATUS", std::to_string(r.status)},
                            {"NEXUS_DURATION_US", std::to_string(us)},
                            {"NEXUS_REMOTE", std::string(event.visitor)},
                            {"NEXUS_DOOR", tunnel ? event.tunnel->door : std::string()},
                            {"NEXUS_PROTOCOL", tunnel ? event.tunnel->protocol : std::string()}});
}

}  // namespace nexus
