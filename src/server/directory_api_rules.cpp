// SPDX-License-Identifier: AGPL-3.0-or-later
// Validation and JSON of the directory API.
#include "server/directory_api_rules.hpp"

#include "protocol/json_guard.hpp"
#include "server/address_prefix.hpp"

#include <boost/asio/ip/address.hpp>
#include <boost/url/parse.hpp>

#include <algorithm>
#include <array>
#include <cctype>
#include <optional>

namespace nexus::server {

namespace {

using Json = nlohmann::json;

// The deployed directory's list, word for word: its instances and the relay's service names.
constexpr std::array<std::string_view, 23> kReserved = {
    "code",         "demo",  "extensions", "library", "olympus", "signet",  "sleemstudio", "start",
    "vieuxlooters", "relay", "relay6",     "tunnel",  "admin",   "api",     "assets",      "cdn",
    "mail",         "ns1",   "ns2",        "static",  "status",  "support", "www"};

// One text field of the body: absent is empty, anything but a string or null is wrong.
// The deployed column widths bound each one, so the database never refuses a value.
struct Field {
    const char* name;
    std::size_t maxLength;
    std::string* into;
};

std::optional<ApiReply> readFields(const Json& body, std::initializer_list<Field> fields) {
    for (const auto& field : fields) {
        const auto found = body.find(field.name);
        if (found == body.end() || found->is_null()) {
            continue;
        }
        if (!found->is_string()) {
            return apiError(400, std::string(field.name) + " must be a string");
        }
        *field.into = found->get<std::string>();
        if (field.into->size() > field.maxLength) {
            return apiError(400, std::string(field.name) + " is too long (at most " +
                                     std::to_string(field.maxLength) + " characters)");
        }
    }
    return std::nullopt;
}

// A JSON object from the body, or the 400 to answer. Depth-checked before parsing.
std::variant<Json, ApiReply> parseObject(std::string_view body) {
    if (body.size() > kMaxApiBody || !protocol::jsonDepthWithin(body, 4)) {
        return apiError(400, "Invalid JSON body");
    }
    auto parsed = Json::parse(body, nullptr, false);
    if (parsed.is_discarded() || !parsed.is_object()) {
        return apiError(400, "Invalid JSON body");
    }
    return parsed;
}

// A count of a heartbeat: a non-negative integer, anything else ignored as the deployed
// API's database would have refused it.
std::optional<std::int64_t> counter(const Json& body, const char* name) {
    const auto found = body.find(name);
    if (found == body.end() || !found->is_number_integer()) {
        return std::nullopt;
    }
    const auto value = found->get<std::int64_t>();
    if (value < 0 || value > 2'000'000'000) {
        return std::nullopt;
    }
    return value;
}

bool isPrivateAddress(const boost::asio::ip::address& candidate) {
    const auto address = unmapped(candidate);
    if (address.is_v4()) {
        const auto bytes = address.to_v4().to_bytes();
        return address.is_loopback() || address.is_unspecified() || address.is_multicast() ||
               bytes[0] == 0 || bytes[0] == 10 || bytes[0] >= 224 ||
               (bytes[0] == 100 && (bytes[1] & 0xC0) == 64) ||  // carrier-grade NAT
               (bytes[0] == 169 && bytes[1] == 254) ||          // link-local
               (bytes[0] == 172 && (bytes[1] & 0xF0) == 16) ||  // 172.16/12
               (bytes[0] == 192 && bytes[1] == 168);
    }
    const auto v6 = address.to_v6();
    const auto bytes = v6.to_bytes();
    return v6.is_loopback() || v6.is_unspecified() || v6.is_multicast() || v6.is_link_local() ||
           (bytes[0] & 0xFE) == 0xFC;  // unique local fc00::/7
}

bool endsWith(std::string_view text, std::string_view suffix) {
    return text.size() >= suffix.size() && text.substr(text.size() - suffix.size()) == suffix;
}

}  // namespace

ApiReply apiError(unsigned status, std::string_view text) {
    return ApiReply{status, {{"error", text}}};
}

bool isRegistrableSlug(std::string_view slug) {
    return slug.size() >= 3 && directory::isValidSlug(slug);
}

bool isReservedSlug(std::string_view slug) {
    return std::find(kReserved.begin(), kReserved.end(), slug) != kReserved.end();
}

std::optional<ApiReply> checkInstanceUrl(std::string_view url) {
    const auto parsed = boost::urls::parse_absolute_uri(url);
    if (!parsed || parsed->encoded_host().empty()) {
        return apiError(400, "Invalid URL");
    }
    if (parsed->scheme_id() != boost::urls::scheme::https) {
        return apiError(400, "URL must use HTTPS");
    }
    std::string host = parsed->host_address();
    std::transform(host.begin(), host.end(), host.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    while (!host.empty() && host.back() == '.') {
        host.pop_back();
    }
    bool isPrivate = false;
    boost::system::error_code notAnAddress;
    const auto address = boost::asio::ip::make_address(host, notAnAddress);
    if (!notAnAddress) {
        isPrivate = isPrivateAddress(address);
    } else {
        // Names only a local resolver knows, and single labels (`router`, `nas`).
        isPrivate = host.find('.') == std::string::npos || host == "localhost" ||
                    endsWith(host, ".localhost") || endsWith(host, ".local") ||
                    endsWith(host, ".internal") || endsWith(host, ".lan") ||
                    endsWith(host, ".home.arpa");
    }
    if (isPrivate) {
        return apiError(400, "Private or reserved IP addresses are not allowed");
    }
    return std::nullopt;
}

std::variant<RegistrationRequest, ApiReply> parseRegistration(std::string_view body,
                                                              std::string_view mainSlug) {
    auto object = parseObject(body);
    if (auto* failed = std::get_if<ApiReply>(&object)) {
        return std::move(*failed);
    }
    const auto& json = std::get<Json>(object);
    RegistrationRequest request;
    auto& profile = request.profile;
    profile.language = "fr";  // the deployed default
    if (auto failed =
            readFields(json, {{"name", 100, &profile.name},
                              {"slug", 255, &request.slug},  // the slug rule says why above 63
                              {"url", 2048, &request.url},
                              {"description", 2000, &profile.description},
                              {"language", 10, &profile.language},
                              {"country", 2, &profile.country},
                              {"theme", 50, &profile.theme},
                              {"version", 20, &profile.version}})) {
        // A slug or URL of another type is as good as missing, as in the deployed check.
        const bool required =
            json.contains("name") && json.contains("slug") && json.contains("url");
        return required ? std::move(*failed) : apiError(400, "name, slug and url are required");
    }
    if (profile.name.empty() || request.slug.empty() || request.url.empty()) {
        return apiError(400, "name, slug and url are required");
    }
    if (!isRegistrableSlug(request.slug)) {
        return apiError(400,
                        "Invalid slug format (lowercase alphanumeric and hyphens, 3-63 chars)");
    }
    if (isReservedSlug(request.slug) || request.slug == mainSlug) {
        ApiReply reserved = apiError(400, "This slug is reserved for Nexus infrastructure");
        reserved.body["code"] = "SLUG_RESERVED";
        reserved.body["hint"] = "Choose another slug: this one names a service of the relay";
        return reserved;
    }
    if (auto refused = checkInstanceUrl(request.url)) {
        return std::move(*refused);
    }
    return request;
}

ApiReply registeredReply(const directory::NewInstance& created, std::string_view name,
                         std::string_view domain) {
    const auto& instance = created.instance;
    // Active at once: the relay's DNS is a wildcard, there is no record to wait for.
    return ApiReply{201,
                    {{"message", "Instance registered. Its subdomain is served at once."},
                     {"token", created.token},
                     {"subdomain", instance.slug + "." + std::string(domain)},
                     {"instance",
                      {{"id", instance.id},
                       {"slug", instance.slug},
                       {"name", name},
                       {"url", instance.url},
                       {"status", instance.status},
                       {"registered_at", instance.registeredAt}}}}};
}

std::variant<PingRequest, ApiReply> parsePing(std::string_view body) {
    auto object = parseObject(body);
    if (auto* failed = std::get_if<ApiReply>(&object)) {
        return std::move(*failed);
    }
    const auto& json = std::get<Json>(object);
    PingRequest ping;
    if (readFields(json, {{"token", 128, &ping.token}}) || ping.token.empty()) {
        return apiError(400, "token required");
    }
    if (auto failed = readFields(json, {{"version", 20, &ping.heartbeat.version}})) {
        return std::move(*failed);
    }
    ping.heartbeat.members = counter(json, "members");
    ping.heartbeat.online = counter(json, "online");
    return ping;
}

std::variant<std::string, ApiReply> parseDeletion(std::string_view body) {
    auto object = parseObject(body);
    if (auto* failed = std::get_if<ApiReply>(&object)) {
        return std::move(*failed);
    }
    std::string token;
    if (readFields(std::get<Json>(object), {{"token", 128, &token}}) || token.empty()) {
        return apiError(400, "token required");
    }
    return token;
}

std::string listingJson(const std::vector<directory::Listing>& listed) {
    auto list = nlohmann::ordered_json::array();
    for (const auto& entry : listed) {
        const auto& instance = entry.instance;
        const auto& profile = entry.profile;
        auto orNull = [](const std::string& text) {
            return text.empty() ? nlohmann::ordered_json() : nlohmann::ordered_json(text);
        };
        list.push_back({{"id", instance.id},
                        {"slug", instance.slug},
                        {"name", profile.name},
                        {"url", instance.url},
                        {"description", orNull(profile.description)},
                        {"language", orNull(profile.language)},
                        {"country", orNull(profile.country)},
                        {"theme", orNull(profile.theme)},
                        {"version", orNull(profile.version)},
                        {"members", entry.members},
                        {"online", entry.online},
                        {"status", instance.status},
                        {"last_seen", orNull(entry.lastSeen)},
                        {"registered_at", orNull(instance.registeredAt)}});
    }
    return list.dump();
}

}  // namespace nexus::server
