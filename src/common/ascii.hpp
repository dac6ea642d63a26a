// SPDX-License-Identifier: AGPL-3.0-or-later
// ASCII case and RFC 9110 token characters, by table: header names are checked and lowercased
// for every request on both ends, and <cctype>'s locale-aware calls cost a function call per
// character for rules that are plain ASCII anyway.
#pragma once

#include <array>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace nexus {

namespace detail {
constexpr std::array<bool, 256> makeTokenTable(bool upperCase) {
    std::array<bool, 256> table{};
    for (char c = 'a'; c <= 'z'; ++c) {
        table[static_cast<unsigned char>(c)] = true;
        table[static_cast<unsigned char>(c - 'a' + 'A')] = upperCase;
    }
    for (char c = '0'; c <= '9'; ++c) {
        table[static_cast<unsigned char>(c)] = true;
    }
    for (const char c : std::string_view("!#$%&'*+-.^_`|~")) {
        table[static_cast<unsigned char>(c)] = true;
    }
    return table;
}
inline constexpr std::array<bool, 256> kTokenChars = makeTokenTable(true);
inline constexpr std::array<bool, 256> kLowerTokenChars = makeTokenTable(false);

constexpr std::array<char, 256> makeLoweredTokenTable() {
    std::array<char, 256> table{};
    for (std::size_t c = 0; c < table.size(); ++c) {
        if (kTokenChars[c]) {
            table[c] =
                c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : static_cast<char>(c);
        }
    }
    return table;
}
inline constexpr std::array<char, 256> kLoweredTokenChars = makeLoweredTokenTable();

/// Non-zero if any byte of the word is zero (the classic bit trick: exact as a yes/no).
constexpr std::uint64_t hasZeroByte(std::uint64_t word) {
    constexpr std::uint64_t kOnes = 0x0101010101010101ULL;
    constexpr std::uint64_t kHighs = 0x8080808080808080ULL;
    return (word - kOnes) & ~word & kHighs;
}
}  // namespace detail

/// RFC 9110 tchar: letters, digits and "!#$%&'*+-.^_`|~".
constexpr bool isTokenChar(char c) {
    return detail::kTokenChars[static_cast<unsigned char>(c)];
}

/// A tchar that is not an upper-case letter: what protocol v2 allows in header names.
constexpr bool isLowerTokenChar(char c) {
    return detail::kLowerTokenChars[static_cast<unsigned char>(c)];
}

/// A tchar lowercased, or '\0' for a byte that is none: a header name lowercased and checked
/// with one look-up per byte.
constexpr char loweredTokenChar(char c) {
    return detail::kLoweredTokenChars[static_cast<unsigned char>(c)];
}

constexpr char asciiLower(char c) {
    return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

/// True if the text holds CR, LF or NUL: what could end a header line early or split a
/// message. Every header value on both ends goes through this, so it looks at eight bytes at
/// a time (find_first_of with a set would call memchr once per character).
inline bool containsCrLfOrNul(std::string_view text) {
    constexpr std::uint64_t kOnes = 0x0101010101010101ULL;
    const auto holds = [](const char* at) {
        std::uint64_t word = 0;
        std::memcpy(&word, at, sizeof word);
        return (detail::hasZeroByte(word) | detail::hasZeroByte(word ^ (kOnes * '\r')) |
                detail::hasZeroByte(word ^ (kOnes * '\n'))) != 0;
    };
    if (text.size() < sizeof(std::uint64_t)) {
        for (const char c : text) {
            if (c == '\r' || c == '\n' || c == '\0') {
                return true;
            }
        }
        return false;
    }
    // Whole words, then the last eight bytes as one more (overlapping the one before).
    const char* last = text.data() + text.size() - sizeof(std::uint64_t);
    for (const char* at = text.data(); at < last; at += sizeof(std::uint64_t)) {
        if (holds(at)) {
            return true;
        }
    }
    return holds(last);
}

/// A copy with A-Z turned to a-z; every other byte (UTF-8 included) unchanged.
inline std::string asciiLower(std::string_view text) {
    std::string out(text);
    for (char& c : out) {
        c = asciiLower(c);
    }
    return out;
}

/// `text` without the spaces, tabs and line ends around it.
inline std::string trimmed(std::string_view text) {
    const auto first = text.find_first_not_of(" \t\r\n");
    if (first == std::string_view::npos) {
        return {};
    }
    return std::string(text.substr(first, text.find_last_not_of(" \t\r\n") - first + 1));
}

}  // namespace nexus
