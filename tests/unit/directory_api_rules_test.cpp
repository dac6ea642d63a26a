// SPDX-License-Identifier: AGPL-3.0-or-later
// Tests for the directory API's rules: the deployed checks in their order, word for word, and
// the JSON shapes that `nexusctl setup` and the deployed installer read.
#include "server/directory_api_rules.hpp"
#include "server/certificate_ask.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace nexus::server {
namespace {

using Json = nlohmann::json;

ApiReply refusal(const Json& body) {
    auto parsed = parseRegistration(body.dump(), "nexusnode");
    EXPECT_TRUE(std::holds_alternative<ApiReply>(parsed)) << body;
    return std::holds_alternative<ApiReply>(parsed) ? std::get<ApiReply>(parsed) : ApiReply{};
}

std::string error(const Json& body) {
    const auto reply = refusal(body);
    EXPECT_EQ(reply.status, 400U) << body;
    return reply.body.value("error", "");
}

Json valid() {
    return {{"name", "My forum"}, {"slug", "my-forum"}, {"url", "https://forum.example.org"}};
}

TEST(ParseRegistration, AcceptsTheDeployedInstallersBodyWithFrenchByDefault) {
    auto parsed = parseRegistration(valid().dump(), "nexusnode");
    ASSERT_TRUE(std::holds_alternative<RegistrationRequest>(parsed));
    const auto& request = std::get<RegistrationRequest>(parsed);
    EXPECT_EQ(request.slug, "my-forum");
    EXPECT_EQ(request.url, "https://forum.example.org");
    EXPECT_EQ(request.profile.name, "My forum");
    EXPECT_EQ(request.profile.language, "fr");
}

TEST(ParseRegistration, KeepsTheOptionalProfileFields) {
    Json body = valid();
    body.update({{"description", "d"},
                 {"language", "en"},
                 {"country", "BE"},
                 {"theme", "dark"},
                 {"version", "1.0.0"}});
    const auto request = std::get<RegistrationRequest>(parseRegistration(body.dump(), "x"));
    EXPECT_EQ(request.profile.description, "d");
    EXPECT_EQ(request.profile.language, "en");
    EXPECT_EQ(request.profile.country, "BE");
    EXPECT_EQ(request.profile.theme, "dark");
    EXPECT_EQ(request.profile.version, "1.0.0");
}

TEST(ParseRegistration, MissingOrEmptyRequiredFieldsGiveTheDeployedMessage) {
    for (const char* field : {"name", "slug", "url"}) {
        Json missing = valid();
        missing.erase(field);
        EXPECT_EQ(error(missing), "name, slug and url are required") << field;
        Json empty = valid();
        empty[field] = "";
        EXPECT_EQ(error(empty), "name, slug and url are required") << field;
    }
}

TEST(ParseRegistration, SlugsFollowTheDeployedPattern) {
    const std::string message =
        "Invalid slug format (lowercase alphanumeric and hyphens, 3-63 chars)";
    for (const std::string& slug : std::vector<std::string>{"ab", "-abc", "abc-", "ABC", "a_b",
                                                            "a.b", std::string(64, 'a')}) {
        Json body = valid();
        body["slug"] = slug;
        EXPECT_EQ(error(body), message) << slug;
    }
    EXPECT_TRUE(isRegistrableSlug("abc"));
    EXPECT_TRUE(isRegistrableSlug("a-1"));
    EXPECT_TRUE(isRegistrableSlug(std::string(63, 'a')));
}

TEST(ParseRegistration, ReservedSlugsAndTheMainSlugAreRefusedWithCodeAndHint) {
    for (const char* slug : {"www", "relay", "relay6", "tunnel", "api", "status", "nexusnode"}) {
        Json body = valid();
        body["slug"] = slug;
        const auto reply = refusal(body);
        EXPECT_EQ(reply.status, 400U);
        EXPECT_EQ(reply.body["error"], "This slug is reserved for Nexus infrastructure") << slug;
        EXPECT_EQ(reply.body["code"], "SLUG_RESERVED");
        EXPECT_FALSE(reply.body["hint"].get<std::string>().empty());
    }
}

TEST(ParseRegistration, RefusesBodiesThatAreNotAJsonObject) {
    for (const char* body : {"", "[]", "\"x\"", "{", "[[[[[[[[[[]]]]]]]]]]"}) {
        const auto parsed = parseRegistration(body, "x");
        ASSERT_TRUE(std::holds_alternative<ApiReply>(parsed)) << body;
        EXPECT_EQ(std::get<ApiReply>(parsed).body["error"], "Invalid JSON body") << body;
    }
}

TEST(ParseRegistration, BoundsEachFieldByItsDeployedColumn) {
    Json body = valid();
    body["country"] = "FRA";
    EXPECT_EQ(error(body), "country is too long (at most 2 characters)");
    body = valid();
    body["name"] = 42;
    EXPECT_EQ(error(body), "name must be a string");
}

TEST(CheckInstanceUrl, WantsHttpsToAPublicHost) {
    EXPECT_FALSE(checkInstanceUrl("https://forum.example.org/path"));
    EXPECT_FALSE(checkInstanceUrl("https://93.184.216.34"));
    EXPECT_EQ(checkInstanceUrl("http://forum.example.org")->body["error"], "URL must use HTTPS");
    EXPECT_EQ(checkInstanceUrl("not a url")->body["error"], "Invalid URL");
    EXPECT_EQ(checkInstanceUrl("https://")->body["error"], "Invalid URL");
    for (const char* url :
         {"https://localhost", "https://x.localhost", "https://127.0.0.1", "https://10.1.2.3",
          "https://172.20.0.1", "https://192.168.0.10:8443", "https://169.254.169.254",
          "https://100.64.0.1", "https://0.0.0.0", "https://[::1]", "https://[fd00::1]",
          "https://[fe80::1]", "https://[::ffff:10.0.0.1]", "https://nas.local", "https://router",
          "https://LOCALHOST."}) {
        const auto refused = checkInstanceUrl(url);
        ASSERT_TRUE(refused) << url;
        EXPECT_EQ(refused->body["error"], "Private or reserved IP addresses are not allowed")
            << url;
    }
}

TEST(RegisteredReply, HasTheDeployedShapeAndFieldOrder) {
    directory::NewInstance created{directory::Instance{7, "my-forum", "https://forum.example.org",
                                                       "active", true, "2026-08-20T12:00:00Z"},
                                   std::string(64, 'a')};
    const auto reply = registeredReply(created, "My forum", "nexusnode.app");
    EXPECT_EQ(reply.status, 201U);
    EXPECT_EQ(reply.body.dump(),
              R"({"message":"Instance registered. Its subdomain is served at once.",)"
              R"("token":")" +
                  std::string(64, 'a') +
                  R"(","subdomain":"my-forum.nexusnode.app","instance":{"id":7,)"
                  R"("slug":"my-forum","name":"My forum","url":"https://forum.example.org",)"
                  R"("status":"active","registered_at":"2026-08-20T12:00:00Z"}})");
}

TEST(ParsePing, NeedsAStringTokenAndKeepsValidCounters) {
    EXPECT_EQ(std::get<ApiReply>(parsePing(R"({"members":1})")).body["error"], "token required");
    EXPECT_EQ(std::get<ApiReply>(parsePing(R"({"token":5})")).body["error"], "token required");
    const auto ping = std::get<PingRequest>(
        parsePing(R"({"token":"t","members":12,"online":-1,"version":"2.0"})"));
    EXPECT_EQ(ping.token, "t");
    EXPECT_EQ(ping.heartbeat.members, 12);
    EXPECT_FALSE(ping.heartbeat.online) << "a negative count is ignored";
    EXPECT_EQ(ping.heartbeat.version, "2.0");
}

TEST(ParseDeletion, NeedsAToken) {
    EXPECT_EQ(std::get<ApiReply>(parseDeletion("{}")).body["error"], "token required");
    EXPECT_EQ(std::get<std::string>(parseDeletion(R"({"token":"t"})")), "t");
}

TEST(ListingJson, ShowsProfilesWithNullsAndNeverATokenField) {
    directory::Listing entry{directory::Instance{3, "demo", "https://demo.example", "active", true,
                                                 "2026-01-01T00:00:00Z"},
                             directory::Profile{"Demo", "", "fr", "", "", "1.0"}, 4, 1,
                             "2026-01-02T00:00:00Z"};
    const auto json = Json::parse(listingJson({entry}));
    ASSERT_EQ(json.size(), 1U);
    EXPECT_EQ(json[0]["slug"], "demo");
    EXPECT_EQ(json[0]["name"], "Demo");
    EXPECT_TRUE(json[0]["description"].is_null());
    EXPECT_EQ(json[0]["members"], 4);
    EXPECT_EQ(json[0]["last_seen"], "2026-01-02T00:00:00Z");
    EXPECT_FALSE(json[0].contains("token"));
    EXPECT_EQ(listingJson({}), "[]");
}

TEST(AskedName, ReadsTheDomainParameterAsALowercaseDnsName) {
    EXPECT_EQ(askedName("/caddy/ask?domain=Demo.Example.COM."), "demo.example.com");
    EXPECT_EQ(askedName("/caddy/ask?x=1&domain=a.b"), "a.b");
    EXPECT_EQ(askedName("/caddy/ask"), "");
    EXPECT_EQ(askedName("/caddy/ask?domain="), "");
    EXPECT_EQ(askedName("/caddy/ask?domain=a%20b"), "");
    EXPECT_EQ(askedName("/caddy/ask?domain=" + std::string(300, 'a')), "");
}

}  // namespace
}  // namespace nexus::server
