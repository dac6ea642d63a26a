// SPDX-License-Identifier: AGPL-3.0-or-later
// The field checks that encoders and decoders share: methods, targets, header names and
// values, and the one Content-Length a head may carry.
#include "protocol/v2_frames.hpp"

#include "common/ascii.hpp"

#include <charconv>

namespace nexus::protocol::v2 {
namespace {

template <typename Fields>
std::optional<std::uint64_t> contentLengthOf(const Fields& headers) {
    std::optional<std::uint64_t> found;
    for (const auto& [name, value] : headers) {
        if (name != "content-length") {
            continue;
        }
        std::uint64_t n = 0;
        const char* end = value.data() + value.size();
        const auto [stop, ec] = std::from_chars(value.data(), end, n);
        if (value.empty() || ec != std::errc() || stop != end || (found && *found != n)) {
            return std::nullopt;
        }
        found = n;
    }
    return found;
}

}  // namespace

bool isValidMethod(std::string_view method) {
    if (method.empty() || method.size() > 0xffU) {
        return false;
    }
    for (const char c : method) {
        if (!isTokenChar(c)) {
            return false;
        }
    }
    return true;
}

bool isValidTarget(std::string_view target) {
    if (target.empty() || target.size() > 0xffffU) {
        return false;
    }
    for (const char c : target) {
        const auto u = static_cast<unsigned char>(c);
        if (u <= 0x20 || u == 0x7f) {
            return false;
        }
    }
    return true;
}

bool isValidHeaderName(std::string_view name) {
    if (name.empty()) {
        return false;
    }
    for (const char c : name) {
        if (!isLowerTokenChar(c)) {
            return false;
        }
    }
    return true;
}

bool isValidHeaderValue(std::string_view value) {
    return !containsCrLfOrNul(value);
}

std::optional<std::uint64_t> contentLength(const HeaderList& headers) {
    return contentLengthOf(headers);
}

std::optional<std::uint64_t> contentLength(HeaderBlockView headers) {
    return contentLengthOf(headers);
}

}  // namespace nexus::protocol::v2
