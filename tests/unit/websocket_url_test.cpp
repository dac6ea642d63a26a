// SPDX-License-Identifier: AGPL-3.0-or-later
// Tests for the agent's WebSocket relay addresses (--server wss://HOST/tunnel).
#include "net/websocket.hpp"

#include <gtest/gtest.h>

namespace nexus::net {
namespace {

TEST(WebSocketUrl, DefaultsThePortBySchemeAndThePathToSlash) {
    auto secure = parseWebSocketUrl("wss://relay.example");
    ASSERT_TRUE(secure);
    EXPECT_TRUE(secure->secure);
    EXPECT_EQ(secure->endpoint.host, "relay.example");
    EXPECT_EQ(secure->endpoint.port, 443);
    EXPECT_EQ(secure->target, "/");
    auto plain = parseWebSocketUrl("ws://relay.example/tunnel");
    ASSERT_TRUE(plain);
    EXPECT_FALSE(plain->secure);
    EXPECT_EQ(plain->endpoint.port, 80);
    EXPECT_EQ(plain->target, "/tunnel");
}

TEST(WebSocketUrl, ReadsAnExplicitPortAndKeepsTheQuery) {
    auto url = parseWebSocketUrl("wss://relay.example:8443/tunnel?v=2");
    ASSERT_TRUE(url);
    EXPECT_EQ(url->endpoint.port, 8443);
    EXPECT_EQ(url->target, "/tunnel?v=2");
}

TEST(WebSocketUrl, ReadsIpv6LiteralsWithoutTheirBrackets) {
    auto url = parseWebSocketUrl("ws://[::1]:7002/tunnel");
    ASSERT_TRUE(url);
    EXPECT_EQ(url->endpoint.host, "::1");
    EXPECT_EQ(url->endpoint.port, 7002);
}

TEST(WebSocketUrl, TakesSchemesWhateverTheirCase) {
    auto url = parseWebSocketUrl("WSS://relay.example/tunnel");
    ASSERT_TRUE(url);
    EXPECT_TRUE(url->secure);
}

TEST(WebSocketUrl, RefusesWhatIsNotAWebSocketRelayAddress) {
    for (const char* text :
         {"https://relay.example/tunnel", "relay.example:7443", "wss://", "wss:///tunnel",
          "wss://relay.example:http/", "wss://relay.example:0/", "wss://relay.example:70000/",
          "wss://user:secret@relay.example/tunnel", "wss://relay.example/tunnel#frag",
          "wss://relay example/", "wss://[::1/tunnel"}) {
        EXPECT_FALSE(parseWebSocketUrl(text)) << text;
    }
}

}  // namespace
}  // namespace nexus::net
