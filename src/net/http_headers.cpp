// SPDX-License-Identifier: AGPL-3.0-or-later
// Header classification helpers.
#include "net/http_headers.hpp"

#include "common/ascii.hpp"

#include <algorithm>
#include <charconv>
#include <iterator>

namespace nexus::net {

bool isHopByHop(std::string_view name) {
    // By length first: the common end-to-end fields (content-type, date, etag…) have none of
    // these lengths and are settled without comparing a byte.
    switch (name.size()) {
        case 2: return name == "te";
        case 7: return name == "trailer" || name == "upgrade";
        case 10: return name == "connection" || name == "keep-alive";
        case 16: return name == "proxy-connection";
        case 17: return name == "transfer-encoding";
        case 18: return name == "proxy-authenticate";
        case 19: return name == "proxy-authorization";
        default: return false;
    }
}

bool isToken(std::string_view text) {
    return !text.empty() && std::all_of(text.begin(), text.end(), isTokenChar);
}

bool isSafeFieldValue(std::string_view text) {
    return !containsCrLfOrNul(text);
}

bool isPassableField(std::string_view name, std::string_view value) {
    return isToken(name) && isSafeFieldValue(value) && !isHopByHop(name);
}

void appendField(std::string& text, std::string_view name, std::string_view value) {
    text.append(name).append(": ").append(value).append("\r\n");
}

std::string chunkSizeLine(std::uint64_t size) {
    char digits[16];
    const auto end = std::to_chars(std::begin(digits), std::end(digits), size, 16).ptr;
    std::string line(digits, end);
    line += "\r\n";
    return line;
}

std::string_view trimOws(std::string_view text) {
    while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) {
        text.remove_prefix(1);
    }
    while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) {
        text.remove_suffix(1);
    }
    return text;
}

bool listsToken(std::string_view value, std::string_view token) {
    while (!value.empty()) {
        const auto comma = value.find(',');
        const std::string_view item = trimOws(value.substr(0, comma));
        if (item.size() == token.size() &&
            std::equal(item.begin(), item.end(), token.begin(),
                       [](char a, char b) { return asciiLower(a) == b; })) {
            return true;
        }
        if (comma == std::string_view::npos) {
            break;
        }
        value.remove_prefix(comma + 1);
    }
    return false;
}

}  // namespace nexus::net
