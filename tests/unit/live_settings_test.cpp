// SPDX-License-Identifier: AGPL-3.0-or-later
// Tests for what a reload may change in the relay's and the agent's configuration, and what
// waits for a restart.
#include "client/agent_config.hpp"
#include "server/server_config.hpp"

#include <gtest/gtest.h>

namespace nexus {
namespace {

using namespace std::chrono_literals;
using Names = std::vector<std::string_view>;

TEST(RelayLiveSettings, NamesTheListenOptionsThatChanged) {
    server::ServerConfig running;
    server::ServerConfig next = running;
    next.httpPort = 8001;
    next.tcpBind = "127.0.0.1";
    next.responseTimeout = 30s;
    EXPECT_EQ(server::startOnlyChanges(running, next), (Names{"--tcp-bind", "--http-port"}));
    server::applyLiveSettings(running, next);
    EXPECT_EQ(running.responseTimeout, 30s);
    EXPECT_EQ(running.httpPort, 7001) << "a listen address waits for a restart";
    EXPECT_EQ(running.tcpBind, "[::]");
}

TEST(RelayLiveSettings, TakesTrustedProxiesAndTheMainRedirect) {
    server::ServerConfig running;
    server::ServerConfig next = running;
    next.trustedProxies.clear();
    next.mainRedirect = "https://example.org/";
    EXPECT_TRUE(server::startOnlyChanges(running, next).empty());
    server::applyLiveSettings(running, next);
    EXPECT_TRUE(running.trustedProxies.empty());
    EXPECT_EQ(running.mainRedirect, "https://example.org/");
}

TEST(AgentLiveSettings, MovesTheLocalAddressAndKeepsTheRelay) {
    client::AgentConfig running;
    client::AgentConfig next = running;
    next.localPort = 8080;
    next.slug = "other";
    next.localTimeout = 20s;
    EXPECT_EQ(client::startOnlyChanges(running, next), (Names{"--slug"}));
    EXPECT_TRUE(client::applyLiveSettings(running, next));
    EXPECT_EQ(running.localPort, 8080);
    EXPECT_EQ(running.localTimeout, 20s);
    EXPECT_EQ(running.slug, "") << "the slug waits for a restart";
}

TEST(AgentLiveSettings, ReportsNoMoveWhenTheLocalAddressStays) {
    client::AgentConfig running;
    client::AgentConfig next = running;
    next.v2Limits.headTimeout = 5s;
    EXPECT_FALSE(client::applyLiveSettings(running, next));
    EXPECT_EQ(running.v2Limits.headTimeout, std::chrono::steady_clock::duration(5s));
}

}  // namespace
}  // namespace nexus
