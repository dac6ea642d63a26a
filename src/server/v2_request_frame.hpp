// SPDX-License-Identifier: AGPL-3.0-or-later
// A visitor's request as a v2 REQUEST frame, encoded straight from the HTTP parser's fields.
#pragma once

#include "common/error.hpp"
#include "net/head_arena.hpp"
#include "server/forwarding_headers.hpp"

#include <cstdint>
#include <string>
#include <string_view>

namespace nexus::server {

/// Appends the REQUEST frame of stream `stream` for `method` `target` with `fields`: the fields
/// forwardedRequestFields would give, in its order and lowercased, then `x-request-id: ID`, the
/// id chosen on the way into `id` (chooseRequestId). The same bytes as appendRequest of those
/// fields, without a string per field in between (one frame per visitor request). Errors as
/// appendRequest's; on error `out` is unchanged.
Result<void> appendForwardedRequest(std::string& out, std::uint32_t stream, std::string_view method,
                                    std::string_view target, const net::Fields& fields,
                                    bool upgrade, bool endStream, const Visitor& visitor,
                                    RequestIds& ids, std::string& id);

}  // namespace nexus::server
