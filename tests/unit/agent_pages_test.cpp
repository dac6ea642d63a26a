// SPDX-License-Identifier: AGPL-3.0-or-later
// Tests for the agent's status pages: what /healthz says in each state, that /status never
// holds the token, the metric families' names, and the request id found among headers.
#include "client/agent_pages.hpp"
#include "client/agent_session.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <utility>
#include <vector>

namespace nexus::client {
namespace {

AgentStatus registered() {
    AgentStatus status;
    status.slug = "demo";
    status.server = "relay.example:7443";
    status.state = AgentState::Registered;
    status.protocol = 2;
    return status;
}

TEST(AgentHealth, Is200WhileRegisteredAnd503WithTheStateOtherwise) {
    auto status = registered();
    EXPECT_EQ(healthReply(status).status, 200U);
    EXPECT_EQ(healthReply(status).body, "registered\n");
    status.state = AgentState::Backoff;
    EXPECT_EQ(healthReply(status).status, 503U);
    EXPECT_EQ(healthReply(status).body, "backoff\n");
}

TEST(AgentStatusPage, RoutesTheThreePagesAndNothingElse) {
    const AgentStatus status = registered();
    net::StatusListener listener({},
                                 agentStatusRoutes([&]() -> const AgentStatus& { return status; }));
    EXPECT_EQ(listener.answer("GET", "/healthz").status, 200U);
    EXPECT_EQ(nlohmann::json::parse(listener.answer("GET", "/status").body)["state"], "registered");
    EXPECT_EQ(listener.answer("GET", "/metrics").contentType,
              "text/plain; version=0.0.4; charset=utf-8");
    EXPECT_EQ(listener.answer("GET", "/token").status, 404U);
}

TEST(AgentMetrics, NamesFamiliesAsPrometheusWants) {
    auto status = registered();
    status.counters.requestsByClass[1] = 7;
    status.counters.reconnects = 2;
    status.counters.timeToFirstByte.record(0.003);
    const std::string text = agentMetrics(status);
    for (const char* line :
         {"nexus_relay_agent_registered 1\n", "nexus_relay_agent_requests_total{class=\"2xx\"} 7\n",
          "nexus_relay_agent_reconnects_total 2\n",
          "nexus_relay_agent_state{state=\"registered\"} 1\n",
          "nexus_relay_agent_time_to_first_byte_seconds_count 1\n",
          "# TYPE nexus_relay_agent_request_duration_seconds histogram\n",
          "# TYPE nexus_relay_agent_received_bytes_total counter\n",
          "# TYPE process_open_fds gauge\n"}) {
        EXPECT_NE(text.find(line), std::string::npos) << line;
    }
}

TEST(RequestId, IsFoundWhateverTheNamesCase) {
    const std::vector<std::pair<std::string, std::string>> headers{{"host", "demo.example"},
                                                                   {"X-Request-ID", "4bf92f35"}};
    EXPECT_EQ(requestIdOf(headers), "4bf92f35");
    EXPECT_EQ(requestIdOf(std::vector<std::pair<std::string, std::string>>{{"x-request-idx", "1"}}),
              "");
}

}  // namespace
}  // namespace nexus::client
