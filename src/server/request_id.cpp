// SPDX-License-Identifier: AGPL-3.0-or-later
// RequestIds and the check of a proxy's X-Request-Id.
#include "server/request_id.hpp"

#include "common/crypto.hpp"

#include <algorithm>

namespace nexus::server {

bool isValidRequestId(std::string_view id) {
    return !id.empty() && id.size() <= kMaxRequestId &&
           std::all_of(id.begin(), id.end(),
                       [](char c) { return c > 0x20 && c < 0x7f && c != '"' && c != '\\'; });
}

RequestIds::RequestIds() : id_(crypto::randomHex(4) + "-0"), digits_(id_.size() - 1) {}

void RequestIds::next(std::string& out) {
    // id_ += 1, in decimal: the last 9 becomes 0 and carries, as by hand.
    std::size_t at = id_.size();
    while (at > digits_ && id_[at - 1] == '9') {
        id_[--at] = '0';
    }
    if (at == digits_) {
        id_.insert(digits_, 1, '1');
    } else {
        ++id_[at - 1];
    }
    out.assign(id_);
}

}  // namespace nexus::server
