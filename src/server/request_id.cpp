// SPDX-License-Identifier: AGPL-3.0-or-later
// RequestIds and the check of a proxy's X-Request-Id.
#include "server/request_id.hpp"

#include "common/crypto.hpp"

#include <algorithm>
#include <charconv>

namespace nexus::server {

bool isValidRequestId(std::string_view id) {
    return !id.empty() && id.size() <= kMaxRequestId &&
           std::all_of(id.begin(), id.end(),
                       [](char c) { return c > 0x20 && c < 0x7f && c != '"' && c != '\\'; });
}

RequestIds::RequestIds() : prefix_(crypto::randomHex(4) + "-") {}

void RequestIds::next(std::string& out) {
    char digits[20];
    const auto end = std::to_chars(digits, digits + sizeof digits, ++counter_).ptr;
    out.assign(prefix_);
    out.append(digits, end);
}

}  // namespace nexus::server
