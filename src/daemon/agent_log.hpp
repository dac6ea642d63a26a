// SPDX-License-Identifier: AGPL-3.0-or-later
// The agent's log: its events and request events turned into the lines the user guide
// documents ("Connecting to …", "Registered as slug "demo" — OK", "Forwarding GET / → HTTP 200
// (3 ms)", "Reconnecting in 2s", …), with journald fields.
#pragma once

#include "client/agent_status.hpp"
#include "common/log.hpp"

namespace nexus {

/// Subscribes `log` to the board's events for as long as the board lives; request lines are
/// neither formatted nor written while the log is above info.
void logAgentEvents(client::AgentStatusBoard& board, Logger& log);

}  // namespace nexus
