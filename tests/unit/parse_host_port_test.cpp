// SPDX-License-Identifier: AGPL-3.0-or-later
// Tests for parseHostPort: the agent's --server value (e.g. relay.nexusnode.app:7443).
#include "net/connect.hpp"

#include <gtest/gtest.h>

#include <string>

namespace nexus::net {
namespace {

void expectRejected(std::string_view text) {
    auto parsed = parseHostPort(text);
    EXPECT_FALSE(parsed.has_value())
        << "accepted \"" << text << "\" as " << parsed->host << " port " << parsed->port;
    if (!parsed) {
        EXPECT_EQ(parsed.error(), makeError(Errc::InvalidArgument)) << text;
    }
}

TEST(ParseHostPort, SplitsNameAndPort) {
    auto parsed = parseHostPort("relay.nexusnode.app:7443");
    ASSERT_TRUE(parsed.has_value());
    EXPECT_EQ(parsed->host, "relay.nexusnode.app");
    EXPECT_EQ(parsed->port, 7443);
}

TEST(ParseHostPort, AcceptsIpv4Literal) {
    auto parsed = parseHostPort("127.0.0.1:80");
    ASSERT_TRUE(parsed.has_value());
    EXPECT_EQ(parsed->host, "127.0.0.1");
    EXPECT_EQ(parsed->port, 80);
}

TEST(ParseHostPort, StripsBracketsFromIpv6Literal) {
    auto parsed = parseHostPort("[::1]:7443");
    ASSERT_TRUE(parsed.has_value());
    EXPECT_EQ(parsed->host, "::1");
    EXPECT_EQ(parsed->port, 7443);

    auto full = parseHostPort("[2001:db8::10]:1");
    ASSERT_TRUE(full.has_value());
    EXPECT_EQ(full->host, "2001:db8::10");
    EXPECT_EQ(full->port, 1);
}

TEST(ParseHostPort, AcceptsTheWholePortRange) {
    EXPECT_EQ(parseHostPort("h:1").value().port, 1);
    EXPECT_EQ(parseHostPort("h:65535").value().port, 65535);
}

TEST(ParseHostPort, RejectsMissingPort) {
    // The deployed default port is documented, but a silent default hides typos: require it.
    expectRejected("relay.nexusnode.app");
    expectRejected("relay.nexusnode.app:");
    expectRejected("[::1]");
    expectRejected("[::1]:");
}

TEST(ParseHostPort, RejectsPortZero) {
    expectRejected("relay.nexusnode.app:0");
    expectRejected("[::1]:0");
}

TEST(ParseHostPort, RejectsPortAboveSixtyFiveThousandFiveHundredThirtyFive) {
    expectRejected("relay.nexusnode.app:65536");
    expectRejected("relay.nexusnode.app:70000");
    expectRejected("relay.nexusnode.app:99999999999999999999");
}

TEST(ParseHostPort, RejectsNonDigitPort) {
    expectRejected("relay.nexusnode.app:https");
    expectRejected("relay.nexusnode.app:74x3");
    expectRejected("relay.nexusnode.app:-1");
    expectRejected("relay.nexusnode.app:+7443");
    expectRejected("relay.nexusnode.app: 7443");
    expectRejected("[::1]:7443x");
}

TEST(ParseHostPort, RejectsBareIpv6WithoutBrackets) {
    // "::1:7443" is ambiguous (is 7443 a port or the last group?): brackets are required.
    expectRejected("::1:7443");
    expectRejected("2001:db8::1:443");
}

TEST(ParseHostPort, RejectsEmptyHostAndUnclosedBrackets) {
    expectRejected("");
    expectRejected(":7443");
    expectRejected("[]:7443");
    expectRejected("[::1:7443");
    expectRejected("[::1]x7443");
}

}  // namespace
}  // namespace nexus::net
