// SPDX-License-Identifier: AGPL-3.0-or-later
// One visitor request as the relay saw it, filled in while it is answered: what the request
// event carries. It lives with the front's connection and is reset for each request, so its
// strings keep their capacity and a request costs no allocation for them.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

namespace nexus::server {

struct RequestRecord {
    using Clock = std::chrono::steady_clock;

    std::string id;  ///< X-Request-Id: the trusted proxy's, or the relay's own
    /// A standard method's name as the HTTP library spells it (static text: no copy per
    /// request), or `otherMethod`.
    std::string_view method;
    std::string otherMethod;     ///< an extension method's name, as the visitor sent it
    std::string path;            ///< without the query string: it may carry secrets
    unsigned status = 0;         ///< 0 until a response head went out
    std::uint64_t bytesIn = 0;   ///< request body bytes from the visitor
    std::uint64_t bytesOut = 0;  ///< response body bytes to the visitor
    Clock::time_point started;
    Clock::time_point firstByte;  ///< when the response head was ready to go out

    /// The response head is going out with this status.
    void answered(unsigned code) {
        status = code;
        firstByte = Clock::now();
    }
};

}  // namespace nexus::server
