// SPDX-License-Identifier: AGPL-3.0-or-later
// The deployed v1 messages (compact JSON, lowercase `type` tags) and their pure codec.
// Extensions ride in extra fields that deployed peers ignore (serde drops unknown fields).
#pragma once

#include "common/error.hpp"
#include "protocol/frame.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace nexus::protocol::v1 {

/// Header names in lowercase, in order, repeats allowed (several Set-Cookie, Vary...).
using HeaderList = std::vector<std::pair<std::string, std::string>>;

/// Capabilities a peer of ours announces in `register` / `registered` (field `features`).
inline constexpr std::string_view kFeatureHeaderList = "header_list";
/// In `register` only: "register only if no session holds the slug"; an agent that another
/// agent replaced sends it when it tries again, so it never takes the slug back.
inline constexpr std::string_view kFeatureNoTakeover = "no_takeover";

/// The relay's reasons (a `registered` error, a GOAWAY reason) when another agent holds the
/// slug; each is followed by ` for slug "SLUG" from ADDRESS`.
inline constexpr std::string_view kReplacedByAnotherAgent = "Replaced by another agent";
inline constexpr std::string_view kHeldByAnotherAgent = "Held by another agent";

struct Register {
    std::string slug;
    std::string token;
    std::vector<std::string> features;  ///< empty for deployed agents
    std::string agent;                  ///< e.g. "nexus-relay/0.2.0"; empty if not sent
};

struct Registered {
    bool ok = false;
    std::optional<std::string> error;
    std::vector<std::string> features;
};

struct Request {
    std::string id;
    std::string method;
    std::string path;
    HeaderList headers;
    std::string body;  ///< decoded bytes; the wire carries body_b64
    bool bodyUndecodable = false;
};

struct Response {
    std::string id;
    int status = 0;
    HeaderList headers;
    std::string body;
    bool bodyUndecodable = false;  ///< the deployed peers treat this as an empty body, not fatal
};

struct Ping {};
struct Heartbeat {};

using ClientMessage = std::variant<Register, Response, Heartbeat>;
using ServerMessage = std::variant<Registered, Request, Ping>;

/// Largest body that still fits one v1 frame once base64-encoded, with room for the id,
/// headers and JSON around it. Both ends refuse larger bodies before reading them.
inline constexpr std::size_t kMaxBodyInOneFrame = (kMaxFrameSize - 64U * 1024U) / 4U * 3U;

/// JSON nesting allowed in anything from the network; v1 needs 3 (message, headers, list).
inline constexpr int kMaxJsonDepth = 16;

std::string encode(const Register& message);
std::string encode(const Registered& message);
std::string encode(const Request& message);
std::string encode(const Response& message);
std::string encode(const Ping& message);
std::string encode(const Heartbeat& message);
std::string encode(const ClientMessage& message);
std::string encode(const ServerMessage& message);

/// Size of encode(Request/Response) without building it, to refuse oversize bodies early.
std::size_t encodedSizeBound(const HeaderList& headers, std::size_t fixedFields,
                             std::size_t bodySize);

Result<ClientMessage> decodeClientMessage(std::string_view json);
Result<ServerMessage> decodeServerMessage(std::string_view json);

/// True when `name` is in the list (features are compared exactly).
bool hasFeature(const std::vector<std::string>& features, std::string_view name);

}  // namespace nexus::protocol::v1
