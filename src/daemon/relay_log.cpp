// SPDX-License-Identifier: AGPL-3.0-or-later
// RelayLog: events into log lines.
#include "daemon/relay_log.hpp"

#include "sd/message_ids.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstring>

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
// The request line is built for every request: into a buffer on the stack, by plain copies
// (no fmt, no string growth checks). Every piece is bounded, so the line always fits.
class LineBuffer {
public:
    void put(std::string_view text) {
        const auto n = std::min(text.size(), sizeof data_ - size_);
        std::memcpy(data_ + size_, text.data(), n);
        size_ += n;
    }
    void put(std::uint64_t value) {
        if (sizeof data_ - size_ >= 20) {
            size_ = static_cast<std::size_t>(
                std::to_chars(data_ + size_, data_ + sizeof data_, value).ptr - data_);
        }
    }
    std::string_view text() const { return {data_, size_}; }

private:
    char data_[2048];
    std::size_t size_ = 0;
};

void buildRequestLine(LineBuffer& line, const server::RequestServed& event) {
    const auto& r = event.record;
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(event.duration).count();
    line.put("Request ");
    line.put(event.slug.empty() ? std::string_view("-") : event.slug);
    line.put(" ");
    line.put(r.id);
    line.put(" ");
    line.put(std::string_view(r.method).substr(0, 32));
    line.put(" ");
    line.put(r.path);  // cut at 1 KiB by the front
    line.put(" → ");
    if (r.status == 0) {
        line.put("-");
    } else {
        line.put(std::uint64_t{r.status});
    }
    line.put(" (");
    line.put(static_cast<std::uint64_t>(ms));
    line.put(" ms, ");
    line.put(r.bytesIn);
    line.put(" B in, ");
    line.put(r.bytesOut);
    line.put(" B out) from ");
    line.put(event.visitor);
    line.put(" over ");
    if (event.tunnel != nullptr) {
        line.put(event.tunnel->door);
        line.put("/");
        line.put(event.tunnel->protocol);
    } else {
        line.put("-");
    }
}
}  // namespace

void appendRequestLine(std::string& out, const server::RequestServed& event) {
    LineBuffer line;
    buildRequestLine(line, event);
    out += line.text();
}

void RelayLog::requestServed(const server::RequestServed& event) {
    if (!log_.wants(LogLevel::Info)) {
        return;  // --log-level warning: not even formatted
    }
    LineBuffer line;
    buildRequestLine(line, event);
    if (!log_.keepsFields()) {
        log_.info(line.text());
        return;
    }
    const auto& r = event.record;
    const auto us = std::chrono::duration_cast<std::chrono::microseconds>(event.duration).count();
    const bool tunnel = event.tunnel != nullptr;
    log_.info(line.text(), {{"NEXUS_SLUG", std::string(event.slug)},
                            {"NEXUS_REQUEST_ID", r.id},
                            {"NEXUS_METHOD", r.method},
                            {"NEXUS_PATH", r.path},
                            {"NEXUS_STATUS", std::to_string(r.status)},
                            {"NEXUS_DURATION_US", std::to_string(us)},
                            {"NEXUS_REMOTE", std::string(event.visitor)},
                            {"NEXUS_DOOR", tunnel ? event.tunnel->door : std::string()},
                            {"NEXUS_PROTOCOL", tunnel ? event.tunnel->protocol : std::string()}});
}

}  // namespace nexus
