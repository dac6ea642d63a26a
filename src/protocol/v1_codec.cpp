// SPDX-License-Identifier: AGPL-3.0-or-later
// Encoding and decoding of v1 messages, byte-compatible with the deployed serde peers:
// `type` first, then fields in declaration order, compact, non-ASCII left unescaped.
#include "common/crypto.hpp"
#include "protocol/json_guard.hpp"
#include "protocol/v1_messages.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <set>

namespace nexus::protocol::v1 {
namespace {

using OrderedJson = nlohmann::ordered_json;
using Json = nlohmann::json;

std::string dump(const OrderedJson& value) {
    // Replace invalid UTF-8 rather than throw: header values come from arbitrary clients.
    return value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

bool hasRepeatedNames(const HeaderList& headers) {
    std::set<std::string_view> seen;
    return std::any_of(headers.begin(), headers.end(),
                       [&](const auto& h) { return !seen.insert(h.first).second; });
}

// The map deployed peers read (last value wins), plus the full list when a name repeats.
void putHeaders(OrderedJson& out, const HeaderList& headers) {
    OrderedJson map = OrderedJson::object();
    for (const auto& [name, value] : headers) {
        map[name] = value;
    }
    out["headers"] = std::move(map);
}

void putHeaderList(OrderedJson& out, const HeaderList& headers) {
    if (!hasRepeatedNames(headers)) {
        return;
    }
    OrderedJson list = OrderedJson::array();
    for (const auto& [name, value] : headers) {
        list.push_back(OrderedJson::array({name, value}));
    }
    out["header_list"] = std::move(list);
}

void putFeatures(OrderedJson& out, const std::vector<std::string>& features) {
    if (!features.empty()) {
        out["features"] = features;
    }
}

}  // namespace

std::string encode(const Register& m) {
    OrderedJson j{{"type", "register"}, {"slug", m.slug}, {"token", m.token}};
    putFeatures(j, m.features);
    if (!m.agent.empty()) {
        j["agent"] = m.agent;
    }
    return dump(j);
}

std::string encode(const Registered& m) {
    OrderedJson j{{"type", "registered"}, {"ok", m.ok}, {"error", nullptr}};
    if (m.error) {
        j["error"] = *m.error;
    }
    putFeatures(j, m.features);
    return dump(j);
}

std::string encode(const Request& m) {
    OrderedJson j{{"type", "request"}, {"id", m.id}, {"method", m.method}, {"path", m.path}};
    putHeaders(j, m.headers);
    j["body_b64"] = crypto::base64Encode(m.body);
    putHeaderList(j, m.headers);
    return dump(j);
}

std::string encode(const Response& m) {
    OrderedJson j{{"type", "response"}, {"id", m.id}, {"status", m.status}};
    putHeaders(j, m.headers);
    j["body_b64"] = crypto::base64Encode(m.body);
    putHeaderList(j, m.headers);
    return dump(j);
}

std::string encode(const Ping&) {
    return R"({"type":"ping"})";
}
std::string encode(const Heartbeat&) {
    return R"({"type":"heartbeat"})";
}

std::string encode(const ClientMessage& m) {
    return std::visit([](const auto& v) { return encode(v); }, m);
}
std::string encode(const ServerMessage& m) {
    return std::visit([](const auto& v) { return encode(v); }, m);
}

std::size_t encodedSizeBound(const HeaderList& headers, std::size_t fixedFields,
                             std::size_t bodySize) {
    // JSON escaping can at most multiply a string by 6 (\u00XX); headers appear twice at most.
    std::size_t size = 128 + fixedFields * 6 + crypto::base64EncodedSize(bodySize);
    for (const auto& [name, value] : headers) {
        size += 2 * (8 + 6 * (name.size() + value.size()));
    }
    return size;
}

bool hasFeature(const std::vector<std::string>& features, std::string_view name) {
    return std::find(features.begin(), features.end(), name) != features.end();
}

}  // namespace nexus::protocol::v1
