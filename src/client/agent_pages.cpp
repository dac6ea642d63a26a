// SPDX-License-Identifier: AGPL-3.0-or-later
// /healthz, /status and /metrics of the agent.
#include "client/agent_pages.hpp"

#include "common/prometheus.hpp"

#include <nlohmann/json.hpp>

namespace nexus::client {

namespace {
constexpr std::array<AgentState, 7> kStates{
    AgentState::Connecting, AgentState::Registering, AgentState::Registered, AgentState::Backoff,
    AgentState::Rejected,   AgentState::Replaced,    AgentState::Stopped};
constexpr std::array<std::string_view, 5> kClasses{"1xx", "2xx", "3xx", "4xx", "5xx"};

void counter(MetricsText& text, std::string_view name, std::string_view help, double value) {
    text.family(name, MetricsText::Type::Counter, help);
    text.sample(name, value);
}

void gauge(MetricsText& text, std::string_view name, std::string_view help, double value) {
    text.family(name, MetricsText::Type::Gauge, help);
    text.sample(name, value);
}
}  // namespace

net::StatusReply healthReply(const AgentStatus& status) {
    if (status.state == AgentState::Registered) {
        return {200, "text/plain; charset=utf-8", "registered\n"};
    }
    return {503, "text/plain; charset=utf-8", std::string(stateName(status.state)) + "\n"};
}

std::string agentMetrics(const AgentStatus& status) {
    const auto& c = status.counters;
    MetricsText text;
    gauge(text, "nexus_relay_agent_registered",
          "1 while the relay has the agent's slug registered, else 0.",
          status.state == AgentState::Registered ? 1 : 0);
    text.family("nexus_relay_agent_state", MetricsText::Type::Gauge,
                "The agent's state: 1 for the current one.");
    for (const auto state : kStates) {
        text.sample("nexus_relay_agent_state", {{"state", stateName(state)}},
                    state == status.state ? 1 : 0);
    }
    text.family("nexus_relay_agent_requests_total", MetricsText::Type::Counter,
                "Requests answered to the relay, by status class.");
    for (std::size_t i = 0; i < kClasses.size(); ++i) {
        text.sample("nexus_relay_agent_requests_total", {{"class", kClasses[i]}},
                    static_cast<double>(c.requestsByClass[i]));
    }
    counter(text, "nexus_relay_agent_received_bytes_total",
            "Bytes received from the relay on the tunnel.", static_cast<double>(c.bytesIn));
    counter(text, "nexus_relay_agent_sent_bytes_total", "Bytes sent to the relay on the tunnel.",
            static_cast<double>(c.bytesOut));
    text.family("nexus_relay_agent_request_duration_seconds", MetricsText::Type::Histogram,
                "Time from a request's arrival to the end of its exchange.");
    text.histogram("nexus_relay_agent_request_duration_seconds", {}, c.requestDuration);
    text.family("nexus_relay_agent_time_to_first_byte_seconds", MetricsText::Type::Histogram,
                "Time from a request's arrival to its response head going to the relay.");
    text.histogram("nexus_relay_agent_time_to_first_byte_seconds", {}, c.timeToFirstByte);
    gauge(text, "nexus_relay_agent_active_streams", "Requests and WebSockets being served now.",
          static_cast<double>(c.activeStreams));
    gauge(text, "nexus_relay_agent_open_websockets", "Upgraded (WebSocket) streams open now.",
          static_cast<double>(c.openWebSockets));
    counter(text, "nexus_relay_agent_reconnects_total",
            "Connections to the relay started after the first.", static_cast<double>(c.reconnects));
    counter(text, "nexus_relay_agent_registrations_total", "Sessions the relay accepted.",
            static_cast<double>(c.registrations));
    writeProcessMetrics(text);
    return text.take();
}

std::map<std::string, net::StatusRoute> agentStatusRoutes(
    const std::function<const AgentStatus&()>& status) {
    return {
        {"/healthz", [status] { return healthReply(status()); }},
        {"/status",
         [status] {
             return net::StatusReply{200, "application/json", toJson(status()).dump() + "\n"};
         }},
        {"/metrics",
         [status] {
             return net::StatusReply{200, "text/plain; version=0.0.4; charset=utf-8",
                                     agentMetrics(status())};
         }},
    };
}

}  // namespace nexus::client
