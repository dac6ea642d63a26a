// SPDX-License-Identifier: AGPL-3.0-or-later
// Request ids: each visitor request gets one, passed to the instance as X-Request-Id and
// carried by the relay's request event, so one request can be followed through the relay's,
// the agent's and the application's logs.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace nexus::server {

/// The longest X-Request-Id kept from a trusted proxy.
inline constexpr std::size_t kMaxRequestId = 128;

/// An id a trusted proxy may hand us: 1 to kMaxRequestId visible ASCII characters without
/// quotes or backslashes (what log lines and JSON carry without escaping).
bool isValidRequestId(std::string_view id);

/// The relay's own ids, "PREFIX-N": a random prefix drawn once per process (so two relays,
/// or two runs, do not repeat each other's ids) and a counter. No system call per request,
/// and the counter is kept as decimal text, incremented in place.
class RequestIds {
public:
    RequestIds();

    /// Writes the next id into `out`, reusing its capacity.
    void next(std::string& out);

private:
    std::string id_;          ///< "PREFIX-N" of the last id given
    std::size_t digits_ = 0;  ///< where N starts in id_
};

}  // namespace nexus::server
