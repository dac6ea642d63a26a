// SPDX-License-Identifier: AGPL-3.0-or-later
// Tests for routing by Host (slugFromHost) and the redirect-loop guard (pointsIntoDomain).
#include "server/host_route.hpp"

#include <gtest/gtest.h>

#include <string>

namespace nexus::server {
namespace {

constexpr std::string_view kDomain = "nexusnode.app";

std::optional<std::string> slug(std::string_view host) {
    return slugFromHost(host, kDomain);
}

TEST(SlugFromHost, ReturnsTheLabelUnderTheDomain) {
    EXPECT_EQ(slug("demo.nexusnode.app"), "demo");
    EXPECT_EQ(slug("my-forum-2.nexusnode.app"), "my-forum-2");
}

TEST(SlugFromHost, IsCaseInsensitive) {
    EXPECT_EQ(slug("DEMO.NexusNode.App"), "demo");
    EXPECT_EQ(slugFromHost("demo.nexusnode.app", "NexusNode.APP"), "demo");
}

TEST(SlugFromHost, StripsThePort) {
    EXPECT_EQ(slug("demo.nexusnode.app:443"), "demo");
    EXPECT_EQ(slug("demo.nexusnode.app:7001"), "demo");
}

TEST(SlugFromHost, StripsOneTrailingDot) {
    EXPECT_EQ(slug("demo.nexusnode.app."), "demo");
    EXPECT_EQ(slug("demo.nexusnode.app.:443"), "demo");
    EXPECT_EQ(slug("demo.nexusnode.app.."), std::nullopt);
}

TEST(SlugFromHost, RejectsDeeperNames) {
    EXPECT_EQ(slug("a.b.nexusnode.app"), std::nullopt);
    EXPECT_EQ(slug("www.demo.nexusnode.app"), std::nullopt);
}

TEST(SlugFromHost, RejectsTheApex) {
    EXPECT_EQ(slug("nexusnode.app"), std::nullopt);
    EXPECT_EQ(slug(".nexusnode.app"), std::nullopt);
    EXPECT_EQ(slug("nexusnode.app:443"), std::nullopt);
}

TEST(SlugFromHost, RejectsOtherDomainsThatMerelyContainOurs) {
    EXPECT_EQ(slug("demo.nexusnode.app.evil.com"), std::nullopt);
    EXPECT_EQ(slug("demonexusnode.app"), std::nullopt);
    EXPECT_EQ(slug("demo.evilnexusnode.app"), std::nullopt);
    EXPECT_EQ(slug("example.org"), std::nullopt);
}

TEST(SlugFromHost, RejectsCharactersOutsideDnsLabels) {
    EXPECT_EQ(slug("demo_x.nexusnode.app"), std::nullopt);
    EXPECT_EQ(slug("de mo.nexusnode.app"), std::nullopt);
    EXPECT_EQ(slug("d%65mo.nexusnode.app"), std::nullopt);
    EXPECT_EQ(slug("caf\xc3\xa9.nexusnode.app"), std::nullopt);
}

TEST(SlugFromHost, AcceptsSixtyThreeCharacterLabelRejectsSixtyFour) {
    const std::string label63(63, 'a');
    EXPECT_EQ(slug(label63 + ".nexusnode.app"), label63);
    EXPECT_EQ(slug(std::string(64, 'a') + ".nexusnode.app"), std::nullopt);
}

TEST(SlugFromHost, RejectsEmptyAndIpLiterals) {
    EXPECT_EQ(slug(""), std::nullopt);
    EXPECT_EQ(slug("[::1]:80"), std::nullopt);
    EXPECT_EQ(slug("[::1]"), std::nullopt);
    EXPECT_EQ(slug("127.0.0.1:7001"), std::nullopt);
}

TEST(SlugFromHost, RejectsMalformedPorts) {
    EXPECT_EQ(slug("demo.nexusnode.app:abc"), std::nullopt);
    EXPECT_EQ(slug("demo.nexusnode.app:"), std::nullopt);
    EXPECT_EQ(slug("demo.nexusnode.app:443:443"), std::nullopt);
}

bool points(std::string_view url) {
    return pointsIntoDomain(url, kDomain);
}

TEST(PointsIntoDomain, TrueForASubdomainOverHttpOrHttps) {
    EXPECT_TRUE(points("https://demo.nexusnode.app"));
    EXPECT_TRUE(points("http://demo.nexusnode.app/"));
    EXPECT_TRUE(points("https://DEMO.nexusnode.app:443/x"));
    EXPECT_TRUE(points("HTTPS://demo.nexusnode.app?next=/"));
}

TEST(PointsIntoDomain, FalseForTheApex) {
    // The apex is the project's site, not a tunnel: redirecting there cannot loop.
    EXPECT_FALSE(points("https://nexusnode.app"));
    EXPECT_FALSE(points("https://nexusnode.app/signup"));
}

TEST(PointsIntoDomain, FalseForOtherHosts) {
    EXPECT_FALSE(points("https://example.org"));
    EXPECT_FALSE(points("https://demo.nexusnode.app.evil.com/"));
}

TEST(PointsIntoDomain, LooksOnlyAtTheAuthority) {
    EXPECT_FALSE(points("https://evil.com/?x=.nexusnode.app"));
    EXPECT_FALSE(points("https://evil.com/demo.nexusnode.app"));
    EXPECT_FALSE(points("https://evil.com#demo.nexusnode.app"));
}

TEST(PointsIntoDomain, SkipsUserInfo) {
    EXPECT_TRUE(points("https://user@demo.nexusnode.app/"));
    EXPECT_TRUE(points("https://user:pass@demo.nexusnode.app/"));
    EXPECT_FALSE(points("https://demo.nexusnode.app@evil.com/"));
}

TEST(PointsIntoDomain, FalseForOtherSchemesAndNonUrls) {
    EXPECT_FALSE(points("ftp://demo.nexusnode.app"));
    EXPECT_FALSE(points("//demo.nexusnode.app"));
    EXPECT_FALSE(points("demo.nexusnode.app"));
    EXPECT_FALSE(points(""));
    EXPECT_FALSE(points("https://"));
}

}  // namespace
}  // namespace nexus::server
