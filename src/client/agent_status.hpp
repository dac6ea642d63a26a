// SPDX-License-Identifier: AGPL-3.0-or-later
// The agent's state as data: what /status, /metrics, the log, sd_notify's STATUS= line and the
// D-Bus properties all read. The agent changes it through AgentStatusBoard, which tells every
// listener of each change on the event loop; nothing here logs or does I/O.
#pragma once

#include "client/agent_events.hpp"
#include "common/prometheus.hpp"

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace nexus::client {

enum class AgentState { Connecting, Registering, Registered, Backoff, Rejected, Replaced, Stopped };

/// "connecting", "registering", "registered", "backoff", "rejected", "replaced", "stopped".
std::string_view stateName(AgentState state);

struct AgentCounters {
    /// Requests answered to the relay, by status class: [0] 1xx … [4] 5xx.
    std::array<std::uint64_t, 5> requestsByClass{};
    std::uint64_t bytesIn = 0;   ///< received from the relay on the tunnel (all sessions)
    std::uint64_t bytesOut = 0;  ///< sent to the relay on the tunnel
    std::uint64_t activeStreams = 0;
    std::uint64_t openWebSockets = 0;
    std::uint64_t reconnects = 0;       ///< sessions started after the first
    std::uint64_t registrations = 0;    ///< sessions the relay accepted
    DurationHistogram requestDuration;  ///< request arrived → exchange over
    DurationHistogram timeToFirstByte;  ///< request arrived → response head sent

    std::uint64_t requests() const;
};

struct AgentStatus {
    using Time = std::chrono::system_clock::time_point;

    AgentState state = AgentState::Connecting;
    std::string slug;
    std::string server;      ///< as configured, "relay.nexusnode.app:7443" or a wss:// URL
    std::string door;        ///< "tcp", "tls", "ws", "wss"; empty before the first connection
    int protocol = 0;        ///< 1 or 2 once registered, 0 before
    bool encrypted = false;  ///< TLS on the way to the relay (tls, wss)
    std::optional<Time> connectedSince;  ///< registered since
    std::string lastError;
    std::optional<Time> lastErrorAt;
    std::optional<Time> nextRetry;  ///< in backoff, rejected or replaced
    std::string replacedBy;         ///< the address of the agent that took the slug over
    AgentCounters counters;
};

/// What changed, so a listener can skip what it does not show (counters change per request).
enum class AgentChange { State, Counters };

/// The agent's status and its change notifications, on the event loop. Every listener is
/// called synchronously from the change: none may change the board.
class AgentStatusBoard {
public:
    using Listener = std::function<void(const AgentStatus&, AgentChange)>;
    using EventListener = std::function<void(const AgentEvent&, const AgentStatus&)>;
    using RequestListener = std::function<void(const RequestEvent&)>;

    explicit AgentStatusBoard(AgentStatus initial) : status_(std::move(initial)) {}

    const AgentStatus& current() const { return status_; }

    void subscribe(Listener listener) { listeners_.push_back(std::move(listener)); }
    void onEvent(EventListener listener) { eventListeners_.push_back(std::move(listener)); }
    void onRequest(RequestListener listener) { requestListeners_.push_back(std::move(listener)); }

    /// Changes the state (and whatever `edit` sets with it) and tells the listeners once.
    void transition(AgentState state, const std::function<void(AgentStatus&)>& edit = {});

    /// Records an error without changing the state (the state change that follows tells).
    void recordError(std::string message);

    /// Tells the event listeners, with the status as it is now.
    void emit(const AgentEvent& event);

    /// A request's progress: counts its status class and time to first byte at its head,
    /// its duration at its end, and tells the request listeners (a clean end only counts).
    void report(const RequestEvent& event);

    void streamOpened();
    void streamClosed();
    void webSocketOpened();
    void webSocketClosed();

    /// Where a session's connection adds the bytes it moves (one addition per read/write).
    std::uint64_t& bytesIn() { return status_.counters.bytesIn; }
    std::uint64_t& bytesOut() { return status_.counters.bytesOut; }

private:
    void notify(AgentChange change);

    AgentStatus status_;
    std::vector<Listener> listeners_;
    std::vector<EventListener> eventListeners_;
    std::vector<RequestListener> requestListeners_;
};

/// The JSON of /status: times as RFC 3339 UTC strings, absent ones as null.
nlohmann::json toJson(const AgentStatus& status);

/// One line for humans: `Registered as slug "demo" on relay.nexusnode.app:7443 (v2, TLS)`,
/// `Backing off 8 s after: Connection refused`.
std::string summaryLine(const AgentStatus& status, AgentStatus::Time now);

}  // namespace nexus::client
