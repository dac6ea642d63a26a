// SPDX-License-Identifier: AGPL-3.0-or-later
// Tests for the trusted-proxy ranges (--trusted-proxy): parseAddressRange and
// AddressRange::contains, which decide whose X-Forwarded-* headers are believed.
#include "server/forwarding_headers.hpp"

#include <gtest/gtest.h>

#include <string_view>

namespace nexus::server {
namespace {

boost::asio::ip::address ip(std::string_view text) {
    return boost::asio::ip::make_address(std::string(text));
}

AddressRange range(std::string_view text) {
    auto parsed = parseAddressRange(text);
    EXPECT_TRUE(parsed) << text;
    return parsed ? *parsed : AddressRange{};
}

TEST(ParseAddressRange, ReadsAnIpv4CidrRange) {
    const auto r = range("10.1.0.0/16");
    EXPECT_EQ(r.network, ip("10.1.0.0"));
    EXPECT_EQ(r.prefix, 16U);
}

TEST(ParseAddressRange, TakesASingleAddressAsAFullLengthPrefix) {
    EXPECT_EQ(range("192.0.2.1").prefix, 32U);
    EXPECT_EQ(range("2001:db8::1").prefix, 128U);
}

TEST(ParseAddressRange, ReadsAnIpv4MappedRangeAsTheIpv4RangeItMaps) {
    const auto r = range("::ffff:192.0.2.0/120");
    EXPECT_TRUE(r.network.is_v4());
    EXPECT_EQ(r.network, ip("192.0.2.0"));
    EXPECT_EQ(r.prefix, 24U);
    EXPECT_TRUE(r.contains(ip("192.0.2.200")));
    EXPECT_FALSE(r.contains(ip("192.0.3.1")));
    EXPECT_EQ(range("::ffff:192.0.2.1").prefix, 32U);
    // Shorter than /96 it would cover more than the mapped addresses.
    EXPECT_FALSE(parseAddressRange("::ffff:192.0.2.0/24"));
}

TEST(ParseAddressRange, RefusesWhatIsNotAnAddressOrRange) {
    for (const auto* text :
         {"", "/", "proxy.example", "10.0.0.0/", "10.0.0.0/33", "::1/129", "10.0.0.0/-1",
          "10.0.0.0/8x", "10.0.0.0/ 8", "300.1.1.1", "10.0.0.0/8/8"}) {
        EXPECT_FALSE(parseAddressRange(text)) << text;
    }
}

TEST(AddressRangeContains, MatchesAnIpv4CidrRangeExactlyToItsEdges) {
    const auto r = range("10.1.0.0/16");
    EXPECT_TRUE(r.contains(ip("10.1.0.0")));
    EXPECT_TRUE(r.contains(ip("10.1.255.255")));
    EXPECT_FALSE(r.contains(ip("10.0.255.255")));
    EXPECT_FALSE(r.contains(ip("10.2.0.0")));
}

TEST(AddressRangeContains, IgnoresHostBitsOfTheNetwork) {
    EXPECT_TRUE(range("10.1.2.3/16").contains(ip("10.1.200.1")));
}

TEST(AddressRangeContains, MatchesASingleAddressOnly) {
    const auto r = range("192.0.2.1");
    EXPECT_TRUE(r.contains(ip("192.0.2.1")));
    EXPECT_FALSE(r.contains(ip("192.0.2.2")));
}

TEST(AddressRangeContains, MatchesIpv6PrefixesBitByBit) {
    const auto r = range("2001:db8::/33");
    EXPECT_TRUE(r.contains(ip("2001:db8::1")));
    EXPECT_TRUE(r.contains(ip("2001:db8:7fff:ffff::1")));
    EXPECT_FALSE(r.contains(ip("2001:db8:8000::1")));
    EXPECT_FALSE(r.contains(ip("2001:db9::1")));
    EXPECT_TRUE(range("::1/128").contains(ip("::1")));
    EXPECT_FALSE(range("::1/128").contains(ip("::2")));
}

TEST(AddressRangeContains, PrefixZeroMatchesEveryAddressOfItsFamilyOnly) {
    EXPECT_TRUE(range("0.0.0.0/0").contains(ip("203.0.113.9")));
    EXPECT_TRUE(range("0.0.0.0/0").contains(ip("255.255.255.255")));
    EXPECT_FALSE(range("0.0.0.0/0").contains(ip("2001:db8::1")));
    EXPECT_TRUE(range("::/0").contains(ip("2001:db8::1")));
    EXPECT_FALSE(range("::/0").contains(ip("203.0.113.9")));
}

TEST(AddressRangeContains, TreatsAnIpv4MappedPeerAsItsIpv4Address) {
    // A dual-stack listener ([::]) reports IPv4 peers as ::ffff:a.b.c.d.
    EXPECT_TRUE(range("127.0.0.0/8").contains(ip("::ffff:127.0.0.1")));
    EXPECT_FALSE(range("127.0.0.0/8").contains(ip("::ffff:10.0.0.1")));
}

TEST(LoopbackRanges, TrustLoopbackOfBothFamiliesAndNothingElse) {
    const auto ranges = loopbackRanges();
    EXPECT_TRUE(describeVisitor(ip("127.0.0.1"), ranges).trusted);
    EXPECT_TRUE(describeVisitor(ip("127.8.9.10"), ranges).trusted);
    EXPECT_TRUE(describeVisitor(ip("::1"), ranges).trusted);
    EXPECT_FALSE(describeVisitor(ip("192.0.2.1"), ranges).trusted);
    EXPECT_FALSE(describeVisitor(ip("::2"), ranges).trusted);
}

net::Fields forwardedFor(std::initializer_list<std::string_view> values) {
    net::Fields fields;
    for (const auto value : values) {
        fields.insert("X-Forwarded-For", value);
    }
    return fields;
}

TEST(ClientAddress, IsThePeerWhenThePeerIsNotATrustedProxy) {
    const auto fields = forwardedFor({"203.0.113.7"});
    EXPECT_EQ(clientAddress(fields, ip("198.51.100.1"), loopbackRanges()), ip("198.51.100.1"));
}

TEST(ClientAddress, IsWhatTheTrustedProxySawBehindIt) {
    const auto fields = forwardedFor({"203.0.113.7"});
    EXPECT_EQ(clientAddress(fields, ip("127.0.0.1"), loopbackRanges()), ip("203.0.113.7"));
}

TEST(ClientAddress, IgnoresWhatTheClientClaimedLeftOfTheProxysEntry) {
    // The client sent "10.0.0.1" itself; the proxy appended the address it saw.
    const auto fields = forwardedFor({"10.0.0.1, 203.0.113.7"});
    EXPECT_EQ(clientAddress(fields, ip("127.0.0.1"), loopbackRanges()), ip("203.0.113.7"));
}

TEST(ClientAddress, SkipsTrustedHopsAcrossRepeatedFields) {
    const auto fields = forwardedFor({"203.0.113.7", "127.0.0.2"});
    EXPECT_EQ(clientAddress(fields, ip("::1"), loopbackRanges()), ip("203.0.113.7"));
}

TEST(ClientAddress, StopsAtGarbageAndKeepsTheLastTrustedView) {
    const auto fields = forwardedFor({"not-an-address"});
    EXPECT_EQ(clientAddress(fields, ip("127.0.0.1"), loopbackRanges()), ip("127.0.0.1"));
}

}  // namespace
}  // namespace nexus::server
