// SPDX-License-Identifier: AGPL-3.0-or-later
// Tests for the agent's status value: transitions tell listeners, counters, JSON and summary.
#include "client/agent_status.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace nexus::client {
namespace {

using namespace std::chrono_literals;

AgentStatus initial() {
    AgentStatus status;
    status.slug = "demo";
    status.server = "relay.example:7443";
    return status;
}

TEST(AgentStatusBoard, TellsListenersOfEachTransitionWithTheNewValue) {
    AgentStatusBoard board(initial());
    std::vector<std::string> seen;
    board.subscribe([&](const AgentStatus& status, AgentChange change) {
        if (change == AgentChange::State) {
            seen.emplace_back(stateName(status.state));
        }
    });
    board.transition(AgentState::Registering);
    board.transition(AgentState::Registered, [](AgentStatus& s) { s.protocol = 2; });
    EXPECT_EQ(seen, (std::vector<std::string>{"registering", "registered"}));
    EXPECT_EQ(board.current().protocol, 2);
}

RequestEvent request(RequestEvent::Phase phase, int status) {
    return {phase, "id-1", "GET", "/", status, 3ms, {}};
}

TEST(AgentStatusBoard, CountsRequestsByStatusClassAtTheirHead) {
    AgentStatusBoard board(initial());
    board.report(request(RequestEvent::Phase::Head, 200));
    board.report(request(RequestEvent::Phase::Head, 404));
    board.report(request(RequestEvent::Phase::Head, 502));
    board.report(request(RequestEvent::Phase::Done, 502));
    board.report(request(RequestEvent::Phase::NoResponse, 0));
    const auto& c = board.current().counters;
    EXPECT_EQ(c.requestsByClass[1], 1U);
    EXPECT_EQ(c.requestsByClass[3], 1U);
    EXPECT_EQ(c.requestsByClass[4], 1U);
    EXPECT_EQ(c.requests(), 3U);
    EXPECT_EQ(c.timeToFirstByte.count(), 3U);
    EXPECT_EQ(c.requestDuration.count(), 2U);
}

TEST(AgentStatusBoard, TellsRequestListenersOfHeadsAndFailuresButNotCleanEnds) {
    AgentStatusBoard board(initial());
    std::vector<RequestEvent::Phase> seen;
    board.onRequest([&](const RequestEvent& e) { seen.push_back(e.phase); });
    board.report(request(RequestEvent::Phase::Head, 200));
    board.report(request(RequestEvent::Phase::Done, 200));
    board.report(request(RequestEvent::Phase::Broken, 200));
    EXPECT_EQ(seen, (std::vector{RequestEvent::Phase::Head, RequestEvent::Phase::Broken}));
}

TEST(AgentStatusBoard, EventsSeeTheStatusAsItIsThen) {
    AgentStatusBoard board(initial());
    std::string seen;
    board.onEvent([&](const AgentEvent& e, const AgentStatus& s) {
        seen = std::string(e.detail) + " in " + std::string(stateName(s.state));
    });
    board.transition(AgentState::Backoff);
    board.emit({.kind = AgentEventKind::SessionEnded, .detail = "Relay closed the connection"});
    EXPECT_EQ(seen, "Relay closed the connection in backoff");
}

TEST(AgentStatusBoard, TracksStreamsAndWebSocketsWithoutUnderflow) {
    AgentStatusBoard board(initial());
    board.streamOpened();
    board.webSocketOpened();
    board.streamOpened();
    board.webSocketClosed();
    board.streamClosed();
    board.streamClosed();
    board.streamClosed();     // one close too many must not wrap around
    board.webSocketClosed();  // nor here
    EXPECT_EQ(board.current().counters.activeStreams, 0U);
    EXPECT_EQ(board.current().counters.openWebSockets, 0U);
}

TEST(AgentStatusJson, ShowsNullForWhatIsNotKnownYet) {
    const auto json = toJson(initial());
    EXPECT_EQ(json["state"], "connecting");
    EXPECT_TRUE(json["protocol"].is_null());
    EXPECT_TRUE(json["connected_since"].is_null());
    EXPECT_TRUE(json["last_error"].is_null());
    EXPECT_EQ(json["requests"]["total"], 0);
}

TEST(AgentStatusJson, WritesTimesAsUtcStrings) {
    auto status = initial();
    status.connectedSince = std::chrono::system_clock::time_point(1700000000s);
    EXPECT_EQ(toJson(status)["connected_since"], "2023-11-14T22:13:20Z");
}

TEST(AgentSummaryLine, DescribesTheRegisteredSession) {
    auto status = initial();
    status.state = AgentState::Registered;
    status.protocol = 2;
    status.encrypted = true;
    EXPECT_EQ(summaryLine(status, {}),
              "Registered as slug \"demo\" on relay.example:7443 (v2, TLS)");
}

TEST(AgentSummaryLine, CountsDownTheBackoff) {
    auto status = initial();
    const auto now = std::chrono::system_clock::now();
    status.state = AgentState::Backoff;
    status.lastError = "Connection refused";
    status.nextRetry = now + 7500ms;
    EXPECT_EQ(summaryLine(status, now), "Backing off 8 s after: Connection refused");
}

}  // namespace
}  // namespace nexus::client
