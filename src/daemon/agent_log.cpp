// SPDX-License-Identifier: AGPL-3.0-or-later
// logAgentEvents: one line per event, in the wording users grep for.
#include "daemon/agent_log.hpp"

#include "daemon/log_line.hpp"
#include "net/v2/mux.hpp"
#include "sd/message_ids.hpp"

#include <fmt/compile.h>
#include <fmt/format.h>

namespace nexus {

namespace {

using client::AgentEvent;
using client::AgentEventKind;
using client::AgentStatus;
using client::RequestEvent;
namespace message_id = sd::message_id;

template <typename Rep, typename Period>
long long wholeSeconds(std::chrono::duration<Rep, Period> d) {
    return std::chrono::duration_cast<std::chrono::seconds>(d).count();
}

void logEvent(Logger& log, const AgentEvent& e, const AgentStatus& s) {
    switch (e.kind) {
        case AgentEventKind::Connecting: log.info(fmt::format("Connecting to {}", s.server)); break;
        case AgentEventKind::DialFailed: log.error(e.detail); break;
        case AgentEventKind::Connected:
            log.info(
                fmt::format("Connected to {}{}", s.server, s.door == "tcp" ? " (plaintext)" : ""));
            break;
        case AgentEventKind::Registered:
            log.info(fmt::format("Registered as slug \"{}\" — OK", s.slug),
                     {message_id::field(message_id::kAgentRegistered),
                      {"NEXUS_SLUG", s.slug},
                      {"NEXUS_DOOR", s.door},
                      {"NEXUS_PROTOCOL", fmt::format("v{}", s.protocol)}});
            if (s.protocol == 2) {
                log.info("Relay speaks protocol v2: multiplexed streams");
            }
            break;
        case AgentEventKind::Rejected:
            log.error(fmt::format("Registration rejected: {}", e.detail), {{"NEXUS_SLUG", s.slug}});
            break;
        case AgentEventKind::StillHeld:
            log.info(fmt::format("Slug \"{}\" is still served by another agent", s.slug));
            break;
        case AgentEventKind::Replaced:
            log.warning(fmt::format("Replaced by another agent for slug \"{}\" from {}", s.slug,
                                    s.replacedBy),
                        {message_id::field(message_id::kAgentReplaced),
                         {"NEXUS_SLUG", s.slug},
                         {"NEXUS_REMOTE", s.replacedBy}});
            break;
        case AgentEventKind::GoingAway:
            log.warning(fmt::format("Relay is going away ({}); retry after {} ms", e.detail,
                                    e.delay.count()));
            break;
        case AgentEventKind::SessionEnded:
            log.warning(fmt::format("Session ended: {}", e.detail));
            break;
        case AgentEventKind::Backoff:
            log.info(fmt::format("Reconnecting in {}s", wholeSeconds(e.delay)),
                     {message_id::field(message_id::kAgentBackoff), {"NEXUS_SLUG", s.slug}});
            break;
        case AgentEventKind::WaitingForSlug:
            log.info(fmt::format(
                "Not taking slug \"{}\" back; asking again in {} min, only if no agent holds it",
                s.slug, std::chrono::duration_cast<std::chrono::minutes>(e.delay).count()));
            break;
        case AgentEventKind::UploadsReset:
            log.warning(
                fmt::format("Reset {} uploads the local app read nothing of for {} s "
                            "({} KiB unread): the tunnel's {} MiB buffer was full",
                            e.count, net::V2Mux::kStallLimit.count(), e.bytes / 1024,
                            net::V2Mux::kBufferBudget >> 20));
            break;
        case AgentEventKind::TryingSlug:
            log.info(fmt::format("Trying slug \"{}\" with a new token", e.detail));
            break;
        case AgentEventKind::SlugRefused:
            log.warning(fmt::format("New slug refused ({}); back to slug \"{}\"", e.detail, s.slug),
                        {{"NEXUS_SLUG", s.slug}});
            break;
        case AgentEventKind::Stopped: break;
    }
}

// The usual line, "Forwarding GET /path → HTTP 200 (3 ms)", once per request: built on the
// stack (LogLine) and handed to a sink that keeps no fields as it is. The method and the path
// are escaped (a v1 relay's method is not checked as a token; a path may hold any byte but
// space and controls), each between ASCII words, so they come out as the sink's escaping of
// the whole line would have them.
constexpr std::size_t kMaxMethod = 255;  // v2's longest
constexpr std::size_t kMaxPath = 2048;
using ForwardingLine = LogLine<64 + 4 * kMaxMethod + 4 * kMaxPath + 2 * kMaxLogNumber>;

/// False, and nothing written, when a piece is longer than the line has room for.
bool writeForwardingLine(Logger& log, const RequestEvent& e) {
    if (e.method.size() > kMaxMethod || e.path.size() > kMaxPath) {
        return false;
    }
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(e.elapsed).count();
    ForwardingLine line;
    line.word("Forwarding ");
    line.escaped(e.method, kMaxMethod);
    line.word(" ");
    line.escaped(e.path, kMaxPath);
    line.word(" → HTTP ");
    line.status(e.status);
    line.word(" (");
    line.number(static_cast<std::uint64_t>(ms));
    line.word(" ms)");
    log.writeEscaped(LogLevel::Info, line.text());
    return true;
}

void logRequest(Logger& log, const RequestEvent& e) {
    using Phase = RequestEvent::Phase;
    if (e.phase == Phase::Head && !e.failure && !log.keepsFields() && writeForwardingLine(log, e)) {
        return;
    }
    // A problem, a sink that keeps the fields, or a piece too long for the line above.
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(e.elapsed).count();
    // Formatted in place, from a format compiled with the program: a line per request.
    fmt::memory_buffer line;
    auto out = std::back_inserter(line);
    switch (e.phase) {
        case Phase::Head:
            fmt::format_to(out, FMT_COMPILE("Forwarding {} {} → HTTP {} ({} ms)"), e.method, e.path,
                           e.status, ms);
            if (e.failure) {
                fmt::format_to(out, ": {}", e.failure.message());
            }
            break;
        case Phase::Broken:
            fmt::format_to(out, "Forwarding {} {} → HTTP {} broken after {} ms: {}", e.method,
                           e.path, e.status, ms, e.failure.message());
            break;
        case Phase::NoResponse:
            fmt::format_to(out, "Forwarding {} {} → no response ({} ms): {}", e.method, e.path, ms,
                           e.failure ? e.failure.message() : "cancelled by the relay");
            break;
        case Phase::Done: return;
    }
    const std::string_view text(line.data(), line.size());
    const bool problem = e.phase != Phase::Head || e.failure;
    log.write(problem ? LogLevel::Warning : LogLevel::Info, text,
              {{"NEXUS_REQUEST_ID", std::string(e.requestId)},
               {"NEXUS_METHOD", std::string(e.method)},
               {"NEXUS_PATH", std::string(e.path)},
               {"NEXUS_STATUS", std::to_string(e.status)},
               {"NEXUS_DURATION_US",
                std::to_string(
                    std::chrono::duration_cast<std::chrono::microseconds>(e.elapsed).count())}});
}

}  // namespace

void logAgentEvents(client::AgentStatusBoard& board, Logger& log) {
    board.onEvent([&log](const AgentEvent& e, const AgentStatus& s) { logEvent(log, e, s); });
    board.onRequest([&log](const RequestEvent& e) {
        const bool problem = e.phase != RequestEvent::Phase::Head || e.failure;
        // Asked each time: a reload may change the level.
        if (problem || log.wants(LogLevel::Info)) {
            logRequest(log, e);
        }
    });
}

}  // namespace nexus
