// SPDX-License-Identifier: AGPL-3.0-or-later
// Strict decoding of v1 messages with the deployed peers' tolerance: unknown fields ignored,
// `type` anywhere, a missing `error` is null; unknown types and mistyped fields are fatal.
#include "common/crypto.hpp"
#include "protocol/json_guard.hpp"
#include "protocol/v1_messages.hpp"

#include <nlohmann/json.hpp>

#include <limits>

namespace nexus::protocol::v1 {
namespace {

using Json = nlohmann::json;

Result<Json> parseObject(std::string_view text) {
    if (!jsonDepthWithin(text, kMaxJsonDepth)) {
        return makeError(Errc::MalformedJson);
    }
    Json j = Json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded() || !j.is_object()) {
        return makeError(Errc::MalformedJson);
    }
    return j;
}

Result<std::string> stringField(const Json& j, const char* key) {
    const auto it = j.find(key);
    if (it == j.end() || !it->is_string()) {
        return makeError(Errc::MissingField);
    }
    return it->get<std::string>();
}

std::vector<std::string> features(const Json& j) {
    std::vector<std::string> out;
    const auto it = j.find("features");
    if (it != j.end() && it->is_array()) {
        for (const auto& f : *it) {
            if (f.is_string()) {
                out.push_back(f.get<std::string>());
            }
        }
    }
    return out;
}

// `headers` is required and must map strings to strings; `header_list`, our extension, wins
// when present because it keeps repeated names that the map cannot.
Result<HeaderList> headers(const Json& j) {
    const auto map = j.find("headers");
    if (map == j.end() || !map->is_object()) {
        return makeError(Errc::MissingField);
    }
    HeaderList out;
    for (const auto& [name, value] : map->items()) {
        if (!value.is_string()) {
            return makeError(Errc::MissingField);
        }
        out.emplace_back(name, value.get<std::string>());
    }
    const auto list = j.find("header_list");
    if (list == j.end()) {
        return out;
    }
    if (!list->is_array()) {
        return makeError(Errc::MissingField);
    }
    out.clear();
    for (const auto& pair : *list) {
        if (!pair.is_array() || pair.size() != 2 || !pair[0].is_string() || !pair[1].is_string()) {
            return makeError(Errc::MissingField);
        }
        out.emplace_back(pair[0].get<std::string>(), pair[1].get<std::string>());
    }
    return out;
}

// Undecodable base64 is not fatal for deployed peers: the body becomes empty.
Result<std::pair<std::string, bool>> body(const Json& j) {
    auto text = stringField(j, "body_b64");
    if (!text) {
        return text.error();
    }
    auto decoded = crypto::base64Decode(*text);
    if (!decoded) {
        return std::pair<std::string, bool>{std::string{}, true};
    }
    return std::pair<std::string, bool>{std::move(*decoded), false};
}

Result<Response> decodeResponse(const Json& j) {
    Response r;
    auto id = stringField(j, "id");
    if (!id) {
        return id.error();
    }
    r.id = std::move(*id);
    const auto status = j.find("status");
    if (status == j.end() || !status->is_number_integer() || status->get<std::int64_t>() < 0 ||
        status->get<std::int64_t>() > std::numeric_limits<std::uint16_t>::max()) {
        return makeError(Errc::MissingField);
    }
    r.status = status->get<int>();
    auto h = headers(j);
    if (!h) {
        return h.error();
    }
    r.headers = std::move(*h);
    auto b = body(j);
    if (!b) {
        return b.error();
    }
    std::tie(r.body, r.bodyUndecodable) = std::move(*b);
    return r;
}

Result<Request> decodeRequest(const Json& j) {
    Request r;
    for (auto [key, field] : {std::pair{"id", &r.id}, {"method", &r.method}, {"path", &r.path}}) {
        auto value = stringField(j, key);
        if (!value) {
            return value.error();
        }
        *field = std::move(*value);
    }
    auto h = headers(j);
    if (!h) {
        return h.error();
    }
    r.headers = std::move(*h);
    auto b = body(j);
    if (!b) {
        return b.error();
    }
    std::tie(r.body, r.bodyUndecodable) = std::move(*b);
    return r;
}

// A message object and its `type` tag.
Result<std::pair<Json, std::string>> parseTyped(std::string_view json) {
    auto parsed = parseObject(json);
    if (!parsed) {
        return parsed.error();
    }
    auto type = stringField(*parsed, "type");
    if (!type) {
        return type.error();
    }
    return std::pair<Json, std::string>{std::move(*parsed), std::move(*type)};
}

template <typename Variant, typename T>
Result<Variant> lift(Result<T> decoded) {
    if (!decoded) {
        return decoded.error();
    }
    return Variant{std::move(*decoded)};
}

}  // namespace

Result<ClientMessage> decodeClientMessage(std::string_view json) {
    auto typed = parseTyped(json);
    if (!typed) {
        return typed.error();
    }
    const auto& [j, type] = *typed;
    if (type == "register") {
        auto slug = stringField(j, "slug");
        auto token = stringField(j, "token");
        if (!slug || !token) {
            return makeError(Errc::MissingField);
        }
        Register r{std::move(*slug), std::move(*token), features(j), {}};
        if (auto agent = stringField(j, "agent")) {
            r.agent = std::move(*agent);
        }
        return ClientMessage{std::move(r)};
    }
    if (type == "response") {
        return lift<ClientMessage>(decodeResponse(j));
    }
    if (type == "heartbeat") {
        return ClientMessage{Heartbeat{}};
    }
    return makeError(Errc::UnknownMessageType);
}

Result<ServerMessage> decodeServerMessage(std::string_view json) {
    auto typed = parseTyped(json);
    if (!typed) {
        return typed.error();
    }
    const auto& [j, type] = *typed;
    if (type == "registered") {
        const auto ok = j.find("ok");
        if (ok == j.end() || !ok->is_boolean()) {
            return makeError(Errc::MissingField);
        }
        Registered r{ok->get<bool>(), std::nullopt, features(j)};
        const auto error = j.find("error");
        if (error != j.end() && !error->is_null()) {
            if (!error->is_string()) {
                return makeError(Errc::MissingField);
            }
            r.error = error->get<std::string>();
        }
        return ServerMessage{std::move(r)};
    }
    if (type == "request") {
        return lift<ServerMessage>(decodeRequest(j));
    }
    if (type == "ping") {
        return ServerMessage{Ping{}};
    }
    return makeError(Errc::UnknownMessageType);
}

}  // namespace nexus::protocol::v1
