// SPDX-License-Identifier: AGPL-3.0-or-later
// How the relay frames a v2 response for the visitor's HTTP/1.1 connection. The relay never
// copies the instance's framing: it writes its own head, its own chunks and its own end, so
// a broken or hostile instance cannot split the shared front connection.
#pragma once

#include "protocol/v2_frames.hpp"

#include <cstdint>
#include <optional>
#include <string>

namespace nexus::server {

/// How the body of one response is delimited on the visitor's connection.
enum class BodyFraming {
    None,           ///< HEAD, 1xx, 204, 304: no body whatever the head says
    ContentLength,  ///< exactly the announced length
    Chunked,        ///< HTTP/1.1 visitor, length unknown
    Close,          ///< HTTP/1.0 visitor, length unknown: the end is the connection's close
};

struct ResponseFraming {
    BodyFraming body = BodyFraming::None;
    std::optional<std::uint64_t> length;  ///< announced (also for HEAD)
    bool keepAlive = false;
};

/// The framing for a response head from the instance, given the visitor's request.
ResponseFraming chooseFraming(const protocol::v2::ReceivedResponse& response, bool headRequest,
                              bool keepAlive, unsigned visitorVersion);

/// Status line and fields: the instance's fields that are not hop-by-hop (decodeReceivedResponse
/// admitted only tokens with safe values), then the relay's own framing fields; ends with the
/// empty line.
std::string responseHeadText(const protocol::v2::ReceivedResponse& response,
                             const ResponseFraming& framing);

/// The last chunk with the trailer fields that are safe to pass, and the final empty line.
std::string lastChunk(const protocol::v2::HeaderList& trailers);

}  // namespace nexus::server
