// SPDX-License-Identifier: AGPL-3.0-or-later
// The registration API's rules as the deployed directory states them (original-relay.md
// §5.3): which bodies, slugs and URLs it accepts, and the JSON it answers with. Pure: no I/O,
// so every answer can be tested word for word.
#pragma once

#include "directory/directory.hpp"

#include <nlohmann/json.hpp>

#include <chrono>
#include <string>
#include <string_view>
#include <variant>

namespace nexus::server {

/// One answer of the API: a status and its JSON body.
struct ApiReply {
    unsigned status = 200;
    nlohmann::ordered_json body;
    std::chrono::seconds retryAfter{0};  ///< sets Retry-After when not zero
};

/// A request body above this is refused with 413 before it is read.
inline constexpr std::size_t kMaxApiBody = 4096;

/// `{"error": text}` with `status`.
ApiReply apiError(unsigned status, std::string_view text);

/// What a valid registration asks for.
struct RegistrationRequest {
    std::string slug;
    std::string url;
    directory::Profile profile;
};

/// Checks a registration body in the deployed order: required fields, slug format, reserved
/// slugs (the deployed list plus `mainSlug`), then the URL. The answer to give when it fails.
std::variant<RegistrationRequest, ApiReply> parseRegistration(std::string_view body,
                                                              std::string_view mainSlug);

/// The deployed slug rule: ^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$.
bool isRegistrableSlug(std::string_view slug);

/// Names of the relay's own services (and the deployed directory's), never registrable.
bool isReservedSlug(std::string_view slug);

/// The answer for an instance URL that is not https, names a private or reserved host, or
/// does not parse; nullopt for a good one.
std::optional<ApiReply> checkInstanceUrl(std::string_view url);

/// 201 with the token (shown this once), the subdomain and the instance.
ApiReply registeredReply(const directory::NewInstance& created, std::string_view name,
                         std::string_view domain);

/// The body of a ping: the token and the heartbeat, or the answer for a bad body.
struct PingRequest {
    std::string token;
    directory::Heartbeat heartbeat;
};
std::variant<PingRequest, ApiReply> parsePing(std::string_view body);

/// The token of a DELETE body, or the answer for a bad body.
std::variant<std::string, ApiReply> parseDeletion(std::string_view body);

/// GET /api/directory: the instances as a JSON array, without tokens.
std::string listingJson(const std::vector<directory::Listing>& listed);

}  // namespace nexus::server
