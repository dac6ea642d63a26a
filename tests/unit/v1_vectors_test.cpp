// SPDX-License-Identifier: AGPL-3.0-or-later
// Every literal JSON line of original-relay.md §2.3, decoded into our structs and encoded back
// byte for byte: the contract with the deployed Rust peers.
#include "decoded_as.hpp"
#include "protocol/v1_messages.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <variant>

namespace nexus::protocol::v1 {
namespace {

using ::testing::ElementsAre;
using ::testing::Pair;
using ::testing::UnorderedElementsAre;

constexpr std::string_view kToken =
    "3f9c0e2a5b7d41c8a6e2f0b19d8c7a6e5f4d3c2b1a0918273645546372819a0b";
constexpr std::string_view kId = "6f1c2a4e-8b1d-4c5e-9a57-0d3f2e1b7c90";

constexpr std::string_view kRegisterLine =
    R"({"type":"register","slug":"moncommunaute","token":"3f9c0e2a5b7d41c8a6e2f0b19d8c7a6e5f4d3c2b1a0918273645546372819a0b"})";
constexpr std::string_view kRegisteredOkLine = R"({"type":"registered","ok":true,"error":null})";
constexpr std::string_view kRegisteredInvalidLine =
    R"({"type":"registered","ok":false,"error":"Invalid slug or token"})";
constexpr std::string_view kRegisteredExpectedLine =
    R"({"type":"registered","ok":false,"error":"Expected register message"})";
constexpr std::string_view kRequestLine =
    R"({"type":"request","id":"6f1c2a4e-8b1d-4c5e-9a57-0d3f2e1b7c90","method":"GET","path":"/api/v1/instance/info?x=1","headers":{"host":"moncommunaute.nodyx.org","accept":"*/*","cf-connecting-ip":"198.51.100.23","x-forwarded-proto":"https"},"body_b64":""})";
constexpr std::string_view kResponseLine =
    R"({"type":"response","id":"6f1c2a4e-8b1d-4c5e-9a57-0d3f2e1b7c90","status":200,"headers":{"content-type":"application/json","content-length":"11"},"body_b64":"eyJvayI6dHJ1ZX0="})";
constexpr std::string_view kPingLine = R"({"type":"ping"})";
constexpr std::string_view kHeartbeatLine = R"({"type":"heartbeat"})";

using testkit::as;

TEST(V1Vectors, DecodesRegister) {
    const auto m = as<Register>(decodeClientMessage(kRegisterLine));
    EXPECT_EQ(m.slug, "moncommunaute");
    EXPECT_EQ(m.token, kToken);
    EXPECT_TRUE(m.features.empty());
    EXPECT_TRUE(m.agent.empty());
}

TEST(V1Vectors, EncodesRegister) {
    EXPECT_EQ(encode(Register{"moncommunaute", std::string(kToken), {}, {}}), kRegisterLine);
}

TEST(V1Vectors, DecodesRegisteredOkWithNullError) {
    const auto m = as<Registered>(decodeServerMessage(kRegisteredOkLine));
    EXPECT_TRUE(m.ok);
    EXPECT_FALSE(m.error.has_value());
}

TEST(V1Vectors, EncodesRegisteredOkWithExplicitNullError) {
    // serde has no skip_serializing_if here: `error` is always present.
    EXPECT_EQ(encode(Registered{true, std::nullopt, {}}), kRegisteredOkLine);
}

TEST(V1Vectors, DecodesRegisteredInvalidSlugOrToken) {
    const auto m = as<Registered>(decodeServerMessage(kRegisteredInvalidLine));
    EXPECT_FALSE(m.ok);
    EXPECT_EQ(m.error, "Invalid slug or token");
}

TEST(V1Vectors, EncodesRegisteredInvalidSlugOrToken) {
    EXPECT_EQ(encode(Registered{false, "Invalid slug or token", {}}), kRegisteredInvalidLine);
}

TEST(V1Vectors, DecodesRegisteredExpectedRegisterMessage) {
    const auto m = as<Registered>(decodeServerMessage(kRegisteredExpectedLine));
    EXPECT_FALSE(m.ok);
    EXPECT_EQ(m.error, "Expected register message");
}

TEST(V1Vectors, EncodesRegisteredExpectedRegisterMessage) {
    EXPECT_EQ(encode(Registered{false, "Expected register message", {}}), kRegisteredExpectedLine);
}

TEST(V1Vectors, DecodesRequest) {
    const auto m = as<Request>(decodeServerMessage(kRequestLine));
    EXPECT_EQ(m.id, kId);
    EXPECT_EQ(m.method, "GET");
    EXPECT_EQ(m.path, "/api/v1/instance/info?x=1");
    // The map goes through std::map when decoding: compare without order.
    EXPECT_THAT(m.headers,
                UnorderedElementsAre(Pair("host", "moncommunaute.nodyx.org"), Pair("accept", "*/*"),
                                     Pair("cf-connecting-ip", "198.51.100.23"),
                                     Pair("x-forwarded-proto", "https")));
    EXPECT_EQ(m.body, "");
    EXPECT_FALSE(m.bodyUndecodable);
}

TEST(V1Vectors, EncodesRequestWithHeadersInInsertionOrder) {
    Request m;
    m.id = kId;
    m.method = "GET";
    m.path = "/api/v1/instance/info?x=1";
    m.headers = {{"host", "moncommunaute.nodyx.org"},
                 {"accept", "*/*"},
                 {"cf-connecting-ip", "198.51.100.23"},
                 {"x-forwarded-proto", "https"}};
    EXPECT_EQ(encode(m), kRequestLine);
    EXPECT_EQ(encode(ServerMessage{m}), kRequestLine);
}

TEST(V1Vectors, DecodesResponse) {
    const auto m = as<Response>(decodeClientMessage(kResponseLine));
    EXPECT_EQ(m.id, kId);
    EXPECT_EQ(m.status, 200);
    EXPECT_THAT(m.headers, UnorderedElementsAre(Pair("content-type", "application/json"),
                                                Pair("content-length", "11")));
    EXPECT_EQ(m.body, R"({"ok":true})");
    EXPECT_EQ(m.body.size(), 11U);
    EXPECT_FALSE(m.bodyUndecodable);
}

TEST(V1Vectors, EncodesResponseWithHeadersInInsertionOrder) {
    Response m;
    m.id = kId;
    m.status = 200;
    m.headers = {{"content-type", "application/json"}, {"content-length", "11"}};
    m.body = R"({"ok":true})";
    EXPECT_EQ(encode(m), kResponseLine);
    EXPECT_EQ(encode(ClientMessage{m}), kResponseLine);
}

TEST(V1Vectors, DecodesPingAndHeartbeat) {
    auto ping = decodeServerMessage(kPingLine);
    ASSERT_TRUE(ping.has_value());
    EXPECT_TRUE(std::holds_alternative<Ping>(*ping));
    auto heartbeat = decodeClientMessage(kHeartbeatLine);
    ASSERT_TRUE(heartbeat.has_value());
    EXPECT_TRUE(std::holds_alternative<Heartbeat>(*heartbeat));
}

TEST(V1Vectors, EncodesPingAndHeartbeat) {
    EXPECT_EQ(encode(Ping{}), kPingLine);
    EXPECT_EQ(encode(Heartbeat{}), kHeartbeatLine);
    EXPECT_EQ(encode(ServerMessage{Ping{}}), kPingLine);
    EXPECT_EQ(encode(ClientMessage{Heartbeat{}}), kHeartbeatLine);
}

TEST(V1Vectors, ClientAndServerDirectionsDoNotAcceptEachOthersMessages) {
    // A relay must never take a `ping` from an agent as valid, nor an agent a `register`.
    EXPECT_EQ(decodeClientMessage(kPingLine).error(), makeError(Errc::UnknownMessageType));
    EXPECT_EQ(decodeClientMessage(kRequestLine).error(), makeError(Errc::UnknownMessageType));
    EXPECT_EQ(decodeServerMessage(kHeartbeatLine).error(), makeError(Errc::UnknownMessageType));
    EXPECT_EQ(decodeServerMessage(kRegisterLine).error(), makeError(Errc::UnknownMessageType));
}

TEST(V1Vectors, ResponseReencodesToTheSameBytesWhenHeadersAreAlreadySorted) {
    // With alphabetically ordered headers, decode∘encode is the identity on the wire bytes.
    constexpr std::string_view kSorted =
        R"({"type":"response","id":"r1","status":404,"headers":{"a":"1","b":"2"},"body_b64":"eA=="})";
    const auto m = as<Response>(decodeClientMessage(kSorted));
    EXPECT_THAT(m.headers, ElementsAre(Pair("a", "1"), Pair("b", "2")));
    EXPECT_EQ(encode(m), kSorted);
}

}  // namespace
}  // namespace nexus::protocol::v1
