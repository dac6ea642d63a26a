// SPDX-License-Identifier: AGPL-3.0-or-later
// ASCII case and RFC 9110 token characters, by table: header names are checked and lowercased
// for every request on both ends, and <cctype>'s locale-aware calls cost a function call per
// character for rules that are plain ASCII anyway.
#pragma once

#include <array>
#include <string>
#include <string_view>

namespace nexus {

namespace detail {
constexpr std::array<bool, 256> makeTokenTable() {
    std::array<bool, 256> table{};
    for (char c = 'a'; c <= 'z'; ++c) {
        table[static_cast<unsigned char>(c)] = true;
        table[static_cast<unsigned char>(c - 'a' + 'A')] = true;
    }
    for (char c = '0'; c <= '9'; ++c) {
        table[static_cast<unsigned char>(c)] = true;
    }
    for (const char c : std::string_view("!#$%&'*+-.^_`|~")) {
        table[static_cast<unsigned char>(c)] = true;
    }
    return table;
}
inline constexpr std::array<bool, 256> kTokenChars = makeTokenTable();
}  // namespace detail

/// RFC 9110 tchar: letters, digits and "!#$%&'*+-.^_`|~".
constexpr bool isTokenChar(char c) {
    return detail::kTokenChars[static_cast<unsigned char>(c)];
}

constexpr char asciiLower(char c) {
    return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

/// True if the text holds CR, LF or NUL: what could end a header line early or split a
/// message. A plain loop: find_first_of with a set calls memchr once per character.
constexpr bool containsCrLfOrNul(std::string_view text) {
    for (const char c : text) {
        if (c == '\r' || c == '\n' || c == '\0') {
            return true;
        }
    }
    return false;
}

/// A copy with A-Z turned to a-z; every other byte (UTF-8 included) unchanged.
inline std::string asciiLower(std::string_view text) {
    std::string out(text);
    for (char& c : out) {
        c = asciiLower(c);
    }
    return out;
}

}  // namespace nexus
