// SPDX-License-Identifier: AGPL-3.0-or-later
// AgentStatusBoard and the status value's JSON and summary line.
#include "client/agent_status.hpp"

#include <fmt/chrono.h>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <numeric>

namespace nexus::client {

std::string_view stateName(AgentState state) {
    switch (state) {
        case AgentState::Connecting: return "connecting";
        case AgentState::Registering: return "registering";
        case AgentState::Registered: return "registered";
        case AgentState::Backoff: return "backoff";
        case AgentState::Rejected: return "rejected";
        case AgentState::Replaced: return "replaced";
        case AgentState::Stopped: return "stopped";
    }
    return "unknown";
}

std::uint64_t AgentCounters::requests() const {
    return std::accumulate(requestsByClass.begin(), requestsByClass.end(), std::uint64_t{0});
}

void AgentStatusBoard::transition(AgentState state, const std::function<void(AgentStatus&)>& edit) {
    status_.state = state;
    if (edit) {
        edit(status_);
    }
    notify(AgentChange::State);
}

void AgentStatusBoard::recordError(std::string message) {
    status_.lastError = std::move(message);
    status_.lastErrorAt = std::chrono::system_clock::now();
}

void AgentStatusBoard::emit(const AgentEvent& event) {
    for (const auto& listener : eventListeners_) {
        listener(event, status_);
    }
}

void AgentStatusBoard::report(const RequestEvent& event) {
    using Phase = RequestEvent::Phase;
    const double seconds = std::chrono::duration<double>(event.elapsed).count();
    auto& c = status_.counters;
    if (event.phase == Phase::Head) {
        if (event.status >= 100 && event.status <= 599) {
            ++c.requestsByClass[static_cast<std::size_t>(event.status / 100 - 1)];
        }
        c.timeToFirstByte.record(seconds);
    } else {
        c.requestDuration.record(seconds);
    }
    if (event.phase != Phase::Done) {
        for (const auto& listener : requestListeners_) {
            listener(event);
        }
    }
    notify(AgentChange::Counters);
}

namespace {
void decrement(std::uint64_t& gauge) {
    gauge -= gauge > 0 ? 1 : 0;  // a close too many must not wrap around
}
}  // namespace

void AgentStatusBoard::streamOpened() {
    ++status_.counters.activeStreams;
    notify(AgentChange::Counters);
}

void AgentStatusBoard::streamClosed() {
    decrement(status_.counters.activeStreams);
    notify(AgentChange::Counters);
}

void AgentStatusBoard::webSocketOpened() {
    ++status_.counters.openWebSockets;
    notify(AgentChange::Counters);
}

void AgentStatusBoard::webSocketClosed() {
    decrement(status_.counters.openWebSockets);
    notify(AgentChange::Counters);
}

void AgentStatusBoard::notify(AgentChange change) {
    for (const auto& listener : listeners_) {
        listener(status_, change);
    }
}

namespace {

nlohmann::json timeJson(const std::optional<AgentStatus::Time>& time) {
    if (!time) {
        return nullptr;
    }
    const auto seconds = std::chrono::time_point_cast<std::chrono::seconds>(*time);
    return fmt::format("{:%FT%T}Z", seconds);
}

}  // namespace

nlohmann::json toJson(const AgentStatus& status) {
    const auto& c = status.counters;
    return {
        {"state", stateName(status.state)},
        {"slug", status.slug},
        {"server", status.server},
        {"door", status.door.empty() ? nlohmann::json(nullptr) : nlohmann::json(status.door)},
        {"protocol", status.protocol == 0 ? nlohmann::json(nullptr)
                                          : nlohmann::json(fmt::format("v{}", status.protocol))},
        {"encrypted", status.encrypted},
        {"connected_since", timeJson(status.connectedSince)},
        {"last_error",
         status.lastError.empty() ? nlohmann::json(nullptr) : nlohmann::json(status.lastError)},
        {"last_error_at", timeJson(status.lastErrorAt)},
        {"next_retry", timeJson(status.nextRetry)},
        {"replaced_by",
         status.replacedBy.empty() ? nlohmann::json(nullptr) : nlohmann::json(status.replacedBy)},
        {"requests",
         {{"total", c.requests()},
          {"1xx", c.requestsByClass[0]},
          {"2xx", c.requestsByClass[1]},
          {"3xx", c.requestsByClass[2]},
          {"4xx", c.requestsByClass[3]},
          {"5xx", c.requestsByClass[4]}}},
        {"bytes_in", c.bytesIn},
        {"bytes_out", c.bytesOut},
        {"active_streams", c.activeStreams},
        {"open_websockets", c.openWebSockets},
        {"reconnects", c.reconnects},
        {"registrations", c.registrations},
    };
}

std::string summaryLine(const AgentStatus& status, AgentStatus::Time now) {
    const auto waitSeconds = [&] {
        if (!status.nextRetry || *status.nextRetry <= now) {
            return std::int64_t{0};
        }
        return static_cast<std::int64_t>(
            std::chrono::ceil<std::chrono::seconds>(*status.nextRetry - now).count());
    };
    switch (status.state) {
        case AgentState::Connecting: return fmt::format("Connecting to {}", status.server);
        case AgentState::Registering:
            return fmt::format("Registering slug \"{}\" with {}", status.slug, status.server);
        case AgentState::Registered:
            return fmt::format("Registered as slug \"{}\" on {} (v{}, {})", status.slug,
                               status.server, status.protocol,
                               status.encrypted ? "TLS" : "plaintext");
        case AgentState::Backoff:
            return fmt::format("Backing off {} s after: {}", waitSeconds(), status.lastError);
        case AgentState::Rejected:
            return fmt::format("Registration rejected: {}; retrying in {} s", status.lastError,
                               waitSeconds());
        case AgentState::Replaced:
            return fmt::format(
                "Replaced by another agent for slug \"{}\" from {}; retrying in {} s", status.slug,
                status.replacedBy, waitSeconds());
        case AgentState::Stopped: return "Stopped";
    }
    return {};
}

}  // namespace nexus::client
