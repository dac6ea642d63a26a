// SPDX-License-Identifier: AGPL-3.0-or-later
// What the agent tells the outside world happened, besides its status value: the steps of its
// reconnect loop and each forwarded request. The daemon layer turns them into log lines (the
// user guide's wording lives there); later the journal and D-Bus signals read the same. Events
// are passed by reference for the duration of the call: their views point into the agent's
// own buffers, so emitting one allocates nothing.
#pragma once

#include "common/error.hpp"

#include <chrono>
#include <cstdint>
#include <string_view>

namespace nexus::client {

enum class AgentEventKind {
    Connecting,      ///< dialing the relay (status: server)
    DialFailed,      ///< detail: "Connection failed: …", "TLS handshake with … failed: …"
    Connected,       ///< the transport is up (status: door, encrypted); registering
    Registered,      ///< status: protocol, connectedSince
    Rejected,        ///< detail: the relay's reason
    StillHeld,       ///< a replaced agent asked again: another agent still serves the slug
    Replaced,        ///< another agent took the slug over (status: replacedBy)
    GoingAway,       ///< the relay's GOAWAY: detail its reason, delay its retry-after
    SessionEnded,    ///< detail: why
    Backoff,         ///< delay: the nominal wait (status: nextRetry, the jittered one)
    WaitingForSlug,  ///< replaced: delay before asking again, only for a free slug
    UploadsReset,    ///< count: streams reset, bytes: what the local app left unread
    TryingSlug,      ///< a new slug and token replace the session: detail the new slug
    SlugRefused,     ///< the new slug failed (detail: why); status.slug is the old one again
    Stopped,
};

struct AgentEvent {
    AgentEventKind kind;
    std::string_view detail;
    std::chrono::milliseconds delay{0};
    std::uint64_t count = 0;
    std::uint64_t bytes = 0;
};

/// One forwarded request, told when its response head goes to the relay and again at its end.
struct RequestEvent {
    enum class Phase {
        Head,        ///< the response head went out (status, time to it)
        Done,        ///< the exchange ended cleanly (duration: the whole of it)
        Broken,      ///< the response broke after its head (failure says why)
        NoResponse,  ///< the relay gave up before the app answered (status 0)
    };
    Phase phase;
    std::string_view requestId;  ///< the relay's x-request-id, empty if it sent none
    std::string_view method;
    std::string_view path;  ///< without the query string: it may carry tokens
    int status = 0;
    std::chrono::steady_clock::duration elapsed{};  ///< since the request arrived
    ErrorCode failure;  ///< why the exchange failed, also on an agent's own 502/504
};

}  // namespace nexus::client
