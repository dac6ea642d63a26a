// SPDX-License-Identifier: AGPL-3.0-or-later
// Tests for the parsing of what the 0.1.x installer left: its hand-written unit and the
// credentials file.
#include "ctl/legacy_install.hpp"

#include <gtest/gtest.h>

namespace nexus::ctl {
namespace {

// As the user guide's "méthode 2" and the installer wrote it.
constexpr const char* kGuideUnit = R"([Unit]
Description=Nexus Relay Client
After=network.target

[Service]
ExecStart=/usr/local/bin/nexus-relay client \
  --server relay.nexusnode.app:7443 \
  --slug ma-communaute \
  --token 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef \
  --local-port 80
Restart=on-failure
RestartSec=5s
User=root

[Install]
WantedBy=multi-user.target
)";

TEST(LegacyUnit, ReadsTheGuidesUnitAcrossContinuationLines) {
    std::string error;
    const auto unit = parseLegacyUnit(kGuideUnit, error);
    ASSERT_TRUE(unit) << error;
    EXPECT_EQ(unit->program, "/usr/local/bin/nexus-relay");
    EXPECT_EQ(unit->server, "relay.nexusnode.app:7443");
    EXPECT_EQ(unit->slug, "ma-communaute");
    EXPECT_EQ(unit->token, "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef");
    EXPECT_EQ(unit->localPort, 80u);
    EXPECT_EQ(unit->localHost, "");
}

TEST(LegacyUnit, ReadsEqualsFormsQuotesAndPrefixes) {
    std::string error;
    const auto unit = parseLegacyUnit(
        "[Service]\nExecStart=-/opt/nexus-relay client --server=wss://relay.example/tunnel "
        "--slug \"demo\" --token='t0k3n' --local-port=8080 --local-host 10.0.0.2\n",
        error);
    ASSERT_TRUE(unit) << error;
    EXPECT_EQ(unit->program, "/opt/nexus-relay");
    EXPECT_EQ(unit->server, "wss://relay.example/tunnel");
    EXPECT_EQ(unit->slug, "demo");
    EXPECT_EQ(unit->token, "t0k3n");
    EXPECT_EQ(unit->localPort, 8080u);
    EXPECT_EQ(unit->localHost, "10.0.0.2");
}

TEST(LegacyUnit, DefaultsTheServerAsThe01xAgentDid) {
    std::string error;
    const auto unit = parseLegacyUnit(
        "[Service]\nExecStart=/usr/local/bin/nexus-relay client --slug a1b "
        "--token x\n",
        error);
    ASSERT_TRUE(unit) << error;
    EXPECT_EQ(unit->server, "relay.nexusnode.app:7443");
}

TEST(LegacyUnit, IgnoresExecStartOutsideTheServiceSection) {
    std::string error;
    EXPECT_FALSE(parseLegacyUnit("[Unit]\nExecStart=/bin/x --slug abc\n", error));
    EXPECT_EQ(error, "no ExecStart= line in its [Service] section");
}

TEST(LegacyUnit, RejectsAMissingSlugOrABadPort) {
    std::string error;
    EXPECT_FALSE(parseLegacyUnit("[Service]\nExecStart=/bin/x client --token t\n", error));
    EXPECT_EQ(error, "no --slug on its ExecStart line");
    EXPECT_FALSE(parseLegacyUnit(
        "[Service]\nExecStart=/bin/x client --slug abc --local-port 99999\n", error));
    EXPECT_EQ(error, "its --local-port '99999' is not a port number");
}

TEST(Credentials, FindsTheDirectoryTokenLine) {
    const std::string text =
        "═══\n  NEXUS — Credentials de l'instance\n═══\n\n"
        "URL              : https://demo.nexusnode.app\n"
        "Admin password   : p:a:s:s\n"
        "Directory token  : abcdef0123\n";
    EXPECT_EQ(credentialsValue(text, "Directory token"), "abcdef0123");
    EXPECT_EQ(credentialsValue(text, "URL"), "https://demo.nexusnode.app");
    EXPECT_EQ(credentialsValue(text, "Admin password"), "p:a:s:s");
    EXPECT_EQ(credentialsValue(text, "Relay token"), "");
}

LegacyUnit unitOf(const std::string& server) {
    LegacyUnit unit;
    unit.slug = "demo";
    unit.server = server;
    return unit;
}

TEST(LegacyDomain, IsTheCredentialsUrlWithoutTheSlug) {
    const auto unit = unitOf("wss://tunnel.nexus.test/tunnel");
    EXPECT_EQ(legacyDomain(unit, "https://demo.example.org"), "example.org");
    EXPECT_EQ(legacyDomain(unit, "https://demo.example.org:8443/"), "example.org");
}

TEST(LegacyDomain, ComesFromTheRelaysNameWithoutACredentialsUrl) {
    EXPECT_EQ(legacyDomain(unitOf("wss://tunnel.nexus.test/tunnel"), ""), "nexus.test");
    EXPECT_EQ(legacyDomain(unitOf("relay.nexus.test:7443"), "https://another-site.org"),
              "nexus.test");
    EXPECT_EQ(legacyDomain(unitOf("relay6.nexus.test:7443"), ""), "nexus.test");
    EXPECT_EQ(legacyDomain(unitOf("203.0.113.7:7443"), ""), "nexusnode.app");
}

}  // namespace
}  // namespace nexus::ctl
