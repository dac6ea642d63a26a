// SPDX-License-Identifier: AGPL-3.0-or-later
// The agent's status pages, computed from its status value when asked: /healthz (200
// "registered" while registered, else 503 with the state's name), /status (the status as
// JSON; it holds no token) and /metrics (Prometheus text format).
#pragma once

#include "client/agent_status.hpp"
#include "net/status_listener.hpp"

#include <functional>
#include <map>
#include <string>

namespace nexus::client {

/// `status` is called at each request for the value to show.
std::map<std::string, net::StatusRoute> agentStatusRoutes(
    const std::function<const AgentStatus&()>& status);

net::StatusReply healthReply(const AgentStatus& status);

/// The /metrics page: nexus_relay_agent_… families, then the process's.
std::string agentMetrics(const AgentStatus& status);

}  // namespace nexus::client
