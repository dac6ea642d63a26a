// SPDX-License-Identifier: AGPL-3.0-or-later
// Tests for the client.conf setup writes and the slug rule it checks before asking the
// directory.
#include "ctl/agent_settings.hpp"

#include <gtest/gtest.h>

namespace nexus::ctl {
namespace {

TEST(ClientConf, WritesTheAgentsSettingsWithoutTheToken) {
    std::string error;
    const auto conf =
        renderClientConf({"relay.nexusnode.app:7443", "demo", "127.0.0.1", 8080, ""}, error);
    EXPECT_EQ(error, "");
    EXPECT_NE(conf.find("\nserver = relay.nexusnode.app:7443\n"), std::string::npos);
    EXPECT_NE(conf.find("\nslug = demo\n"), std::string::npos);
    EXPECT_NE(conf.find("\nlocal-host = 127.0.0.1\n"), std::string::npos);
    EXPECT_NE(conf.find("\nlocal-port = 8080\n"), std::string::npos);
    EXPECT_EQ(conf.find("ca-file"), std::string::npos);
    EXPECT_EQ(conf.find("token ="), std::string::npos);
    EXPECT_EQ(conf.find("token-file"), std::string::npos);
}

TEST(ClientConf, QuotesAPathWithSpacesAndNamesTheCa) {
    std::string error;
    const auto conf = renderClientConf(
        {"wss://relay.example/tunnel", "demo", "::1", 80, "/etc/my ca/root.crt"}, error);
    EXPECT_NE(conf.find("\nserver = wss://relay.example/tunnel\n"), std::string::npos);
    EXPECT_NE(conf.find("\nca-file = \"/etc/my ca/root.crt\"\n"), std::string::npos);
}

TEST(ClientConf, RefusesAValueThatWouldBreakTheLine) {
    std::string error;
    EXPECT_EQ(renderClientConf({"a:1\nslug = evil", "demo", "127.0.0.1", 80, ""}, error), "");
    EXPECT_NE(error, "");
    EXPECT_EQ(renderClientConf({"a:1", "demo", "127.0.0.1", 80, "/x\"y"}, error), "");
}

TEST(Slug, FollowsTheDirectorysRule) {
    EXPECT_TRUE(validSlug("demo"));
    EXPECT_TRUE(validSlug("ma-communaute-2"));
    EXPECT_FALSE(validSlug("ab"));
    EXPECT_FALSE(validSlug("-demo"));
    EXPECT_FALSE(validSlug("demo-"));
    EXPECT_FALSE(validSlug("Demo"));
    EXPECT_FALSE(validSlug("de_mo"));
    EXPECT_FALSE(validSlug(std::string(64, 'a')));
    EXPECT_TRUE(validSlug(std::string(63, 'a')));
}

}  // namespace
}  // namespace nexus::ctl
