// SPDX-License-Identifier: AGPL-3.0-or-later
// The answer of a server that declined the agent's WebSocket handshake, as an error code whose
// value is the HTTP status: "WebSocket handshake with wss://… failed: the server answered
// 502 Bad Gateway: …" tells a user which part of the path to look at, where Beast's own
// "declined by the remote peer" does not.
#pragma once
#include "common/error.hpp"

namespace nexus::net {

const boost::system::error_category& webSocketDeclinedCategory() noexcept;

/// The error for a handshake answered with `status` (any status but 101).
inline ErrorCode webSocketDeclined(unsigned status) noexcept {
    return {static_cast<int>(status), webSocketDeclinedCategory()};
}

}  // namespace nexus::net
