// SPDX-License-Identifier: AGPL-3.0-or-later
// Tests for the v1 codec beyond the reference vectors: serde's tolerance, fatal schema errors,
// hostile JSON, and our extensions (header_list, features) riding in extra fields.
#include "decoded_as.hpp"
#include "protocol/v1_messages.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <variant>

namespace nexus::protocol::v1 {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::Pair;

using testkit::as;

ErrorCode clientError(std::string_view json) {
    auto decoded = decodeClientMessage(json);
    return decoded ? ErrorCode{} : decoded.error();
}

ErrorCode serverError(std::string_view json) {
    auto decoded = decodeServerMessage(json);
    return decoded ? ErrorCode{} : decoded.error();
}

std::string responseWithStatus(std::string_view status) {
    return R"({"type":"response","id":"r","status":)" + std::string(status) +
           R"(,"headers":{},"body_b64":""})";
}

TEST(V1Decode, AcceptsTypeAnywhereInTheObject) {
    const auto m =
        as<Register>(decodeClientMessage(R"({"slug":"a","token":"t","type":"register"})"));
    EXPECT_EQ(m.slug, "a");
    EXPECT_EQ(m.token, "t");
}

TEST(V1Decode, IgnoresUnknownExtraFields) {
    auto ping = decodeServerMessage(R"({"type":"ping","future":{"a":[1,2,3]},"n":null})");
    ASSERT_TRUE(ping.has_value());
    EXPECT_TRUE(std::holds_alternative<Ping>(*ping));
    const auto r = as<Registered>(decodeServerMessage(R"({"type":"registered","x":1,"ok":true})"));
    EXPECT_TRUE(r.ok);
}

TEST(V1Decode, MissingErrorMeansNull) {
    const auto m = as<Registered>(decodeServerMessage(R"({"type":"registered","ok":false})"));
    EXPECT_FALSE(m.ok);
    EXPECT_FALSE(m.error.has_value());
}

TEST(V1Decode, RejectsUnknownTypeIncludingWrongCase) {
    EXPECT_EQ(clientError(R"({"type":"close"})"), makeError(Errc::UnknownMessageType));
    EXPECT_EQ(serverError(R"({"type":"Ping"})"), makeError(Errc::UnknownMessageType));
    EXPECT_EQ(clientError(R"({"type":"Register","slug":"a","token":"t"})"),
              makeError(Errc::UnknownMessageType));
}

TEST(V1Decode, RejectsMissingOrMistypedTag) {
    EXPECT_EQ(clientError(R"({"slug":"a","token":"t"})"), makeError(Errc::MissingField));
    EXPECT_EQ(serverError(R"({"type":1})"), makeError(Errc::MissingField));
}

TEST(V1Decode, RejectsMissingRequiredFields) {
    EXPECT_EQ(clientError(R"({"type":"register","slug":"a"})"), makeError(Errc::MissingField));
    EXPECT_EQ(serverError(R"({"type":"registered"})"), makeError(Errc::MissingField));
    EXPECT_EQ(clientError(R"({"type":"response","id":"r","status":200,"headers":{}})"),
              makeError(Errc::MissingField));
    // `path` is missing.
    EXPECT_EQ(serverError(R"({"type":"request","id":"r","method":"GET","headers":{},)"
                          R"("body_b64":""})"),
              makeError(Errc::MissingField));
}

TEST(V1Decode, RejectsHeaderValueThatIsNotAString) {
    EXPECT_EQ(clientError(R"({"type":"response","id":"r","status":200,"headers":{"a":1},)"
                          R"("body_b64":""})"),
              makeError(Errc::MissingField));
    EXPECT_EQ(serverError(R"({"type":"request","id":"r","method":"GET","path":"/",)"
                          R"("headers":{"a":null},"body_b64":""})"),
              makeError(Errc::MissingField));
}

TEST(V1Decode, RejectsStatusOutsideUnsignedSixteenBitIntegers) {
    // serde reads status as u16: anything else is a fatal frame error on the deployed side.
    EXPECT_EQ(clientError(responseWithStatus("70000")), makeError(Errc::MissingField));
    EXPECT_EQ(clientError(responseWithStatus("-1")), makeError(Errc::MissingField));
    EXPECT_EQ(clientError(responseWithStatus("200.5")), makeError(Errc::MissingField));
    EXPECT_EQ(clientError(responseWithStatus(R"("200")")), makeError(Errc::MissingField));
    EXPECT_EQ(as<Response>(decodeClientMessage(responseWithStatus("0"))).status, 0);
    EXPECT_EQ(as<Response>(decodeClientMessage(responseWithStatus("65535"))).status, 65535);
}

TEST(V1Decode, RejectsMalformedJson) {
    EXPECT_EQ(clientError(R"({"type":"heartbeat")"), makeError(Errc::MalformedJson));
    EXPECT_EQ(serverError("not json"), makeError(Errc::MalformedJson));
    EXPECT_EQ(serverError(R"(["type","ping"])"), makeError(Errc::MalformedJson));
    EXPECT_EQ(serverError(R"({"type":"ping"} trailing)"), makeError(Errc::MalformedJson));
}

TEST(V1Decode, AcceptsNestingUpToTheLimitAndRejectsDeeper) {
    const auto nested = [](int depth) {
        // The message object is level 1; `x` adds depth - 1 arrays inside it.
        return R"({"type":"ping","x":)" + std::string(depth - 1, '[') +
               std::string(depth - 1, ']') + "}";
    };
    EXPECT_FALSE(serverError(nested(kMaxJsonDepth)));
    EXPECT_EQ(serverError(nested(kMaxJsonDepth + 1)), makeError(Errc::MalformedJson));
}

TEST(V1Decode, RejectsAHundredThousandNestedArraysQuickly) {
    const std::string hostile(100000, '[');
    const auto start = std::chrono::steady_clock::now();
    EXPECT_EQ(clientError(hostile), makeError(Errc::MalformedJson));
    EXPECT_EQ(serverError(hostile + std::string(100000, ']')), makeError(Errc::MalformedJson));
    EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(1));
}

TEST(V1Decode, InvalidBase64BodyIsUndecodableNotAnError) {
    const auto r = as<Response>(decodeClientMessage(
        R"({"type":"response","id":"r","status":200,"headers":{},"body_b64":"not base64!"})"));
    EXPECT_TRUE(r.bodyUndecodable);
    EXPECT_EQ(r.body, "");
    const auto q = as<Request>(decodeServerMessage(
        R"({"type":"request","id":"q","method":"POST","path":"/","headers":{},"body_b64":"eA="})"));
    EXPECT_TRUE(q.bodyUndecodable);
    EXPECT_EQ(q.body, "");
}

TEST(V1Codec, RepeatedHeadersTravelAsHeaderListAndRoundTrip) {
    Response original;
    original.id = "r";
    original.status = 200;
    original.headers = {
        {"set-cookie", "a=1"}, {"content-type", "text/html"}, {"set-cookie", "b=2"}};
    original.body = "hi";
    const std::string json = encode(original);
    // Deployed peers read the map (last value wins); ours read the full list.
    EXPECT_THAT(json, HasSubstr(R"("headers":{"set-cookie":"b=2","content-type":"text/html"})"));
    constexpr std::string_view kList =
        R"("header_list":[["set-cookie","a=1"],["content-type","text/html"],["set-cookie","b=2"]])";
    EXPECT_THAT(json, HasSubstr(kList));
    const auto decoded = as<Response>(decodeClientMessage(json));
    EXPECT_EQ(decoded.headers, original.headers);
    EXPECT_EQ(decoded.body, "hi");

    Request request;
    request.id = "q";
    request.method = "GET";
    request.path = "/";
    request.headers = {{"vary", "a"}, {"vary", "b"}};
    EXPECT_EQ(as<Request>(decodeServerMessage(encode(request))).headers, request.headers);
}

TEST(V1Codec, OmitsHeaderListWhenNoNameRepeats) {
    Response r;
    r.id = "r";
    r.status = 204;
    r.headers = {{"a", "1"}, {"b", "2"}};
    EXPECT_THAT(encode(r), Not(HasSubstr("header_list")));
}

TEST(V1Codec, LeavesNonAsciiUnescapedLikeSerde) {
    Request original;
    original.id = "q";
    original.method = "GET";
    original.path = "/caf\xc3\xa9?q=\xe2\x82\xac";
    original.headers = {{"x-name", "Zo\xc3\xab"}};
    const std::string json = encode(original);
    EXPECT_THAT(json, HasSubstr("\"path\":\"/caf\xc3\xa9?q=\xe2\x82\xac\""));
    EXPECT_THAT(json, HasSubstr("\"x-name\":\"Zo\xc3\xab\""));
    EXPECT_THAT(json, Not(HasSubstr("\\u")));
    const auto decoded = as<Request>(decodeServerMessage(json));
    EXPECT_EQ(decoded.path, original.path);
    EXPECT_THAT(decoded.headers, ElementsAre(Pair("x-name", "Zo\xc3\xab")));
}

TEST(V1Codec, FeaturesAndAgentRoundTripInRegister) {
    const Register original{"demo", "tok", {std::string(kFeatureHeaderList)}, "nexus-relay/0.2.0"};
    const std::string json = encode(original);
    constexpr std::string_view kExpected =
        R"({"type":"register","slug":"demo","token":"tok","features":["header_list"],)"
        R"("agent":"nexus-relay/0.2.0"})";
    EXPECT_EQ(json, kExpected);
    const auto decoded = as<Register>(decodeClientMessage(json));
    EXPECT_EQ(decoded.features, original.features);
    EXPECT_EQ(decoded.agent, original.agent);
    EXPECT_TRUE(hasFeature(decoded.features, kFeatureHeaderList));
}

TEST(V1Codec, FeaturesRoundTripInRegistered) {
    const Registered original{true, std::nullopt, {"header_list", "future"}};
    const std::string json = encode(original);
    EXPECT_EQ(
        json,
        R"({"type":"registered","ok":true,"error":null,"features":["header_list","future"]})");
    const auto decoded = as<Registered>(decodeServerMessage(json));
    EXPECT_TRUE(decoded.ok);
    EXPECT_EQ(decoded.features, original.features);
    EXPECT_FALSE(hasFeature(decoded.features, "header"));  // exact match, no prefixes
}

TEST(V1Codec, EncodedSizeBoundCoversWorstCaseEscaping) {
    // Control characters become \u00XX (6 bytes each); repeated names add a header_list.
    const std::string nasty(40, '\x01');
    Response r;
    r.id = nasty;
    r.status = 65535;
    r.headers = {{nasty, nasty}, {nasty, "\"\\"}, {"x", nasty}};
    for (const std::size_t bodySize : {0U, 1U, 2U, 3U, 1000U}) {
        r.body = std::string(bodySize, '\xff');
        EXPECT_GE(encodedSizeBound(r.headers, r.id.size(), bodySize), encode(r).size())
            << "body " << bodySize;
    }
}

}  // namespace
}  // namespace nexus::protocol::v1
