// SPDX-License-Identifier: AGPL-3.0-or-later
// appendEscapedForLog: plain printable ASCII copied in runs found eight bytes at a time (nearly
// every line is mostly plain), and between them a UTF-8 walk that keeps valid sequences and
// escapes the rest byte by byte.
#include "common/log_escape.hpp"

#include <cstdint>
#include <cstring>

namespace nexus {

namespace {

bool isPlainPrintable(unsigned char c) {
    return c >= 0x20 && c < 0x7f;
}

void appendHex(std::string& out, unsigned char c) {
    static constexpr char kDigits[] = "0123456789abcdef";
    out += "\\x";
    out += kDigits[c >> 4U];
    out += kDigits[c & 0x0fU];
}

bool isContinuation(unsigned char c) {
    return (c & 0xc0U) == 0x80U;
}

// The length of the valid UTF-8 sequence starting at text[at] (RFC 3629: no overlong forms,
// no surrogates, nothing above U+10FFFF), or 0 if there is none.
std::size_t utf8Length(std::string_view text, std::size_t at) {
    const auto byte = [&](std::size_t i) { return static_cast<unsigned char>(text[at + i]); };
    const unsigned char lead = byte(0);
    std::size_t length = 0;
    unsigned char low = 0x80;
    unsigned char high = 0xbf;
    if (lead >= 0xc2 && lead <= 0xdf) {
        length = 2;
    } else if (lead >= 0xe0 && lead <= 0xef) {
        length = 3;
        low = lead == 0xe0 ? 0xa0 : 0x80;
        high = lead == 0xed ? 0x9f : 0xbf;
    } else if (lead >= 0xf0 && lead <= 0xf4) {
        length = 4;
        low = lead == 0xf0 ? 0x90 : 0x80;
        high = lead == 0xf4 ? 0x8f : 0xbf;
    } else {
        return 0;
    }
    if (text.size() - at < length || byte(1) < low || byte(1) > high) {
        return 0;
    }
    for (std::size_t i = 2; i < length; ++i) {
        if (!isContinuation(byte(i))) {
            return 0;
        }
    }
    return length;
}

// How many bytes at the start of `text` are plain printable ASCII, eight at a time: a log line
// is scanned once, and most of it is plain.
std::size_t plainPrefix(std::string_view text) {
    constexpr std::uint64_t kOnes = 0x0101010101010101U;
    constexpr std::uint64_t kHighs = 0x8080808080808080U;
    std::size_t i = 0;
    for (; i + 8 <= text.size(); i += 8) {
        std::uint64_t x = 0;
        std::memcpy(&x, text.data() + i, 8);
        const std::uint64_t below = (x - kOnes * 0x20U) & ~x & kHighs;  // a byte under 0x20
        const std::uint64_t above = (x | (x + kOnes)) & kHighs;         // a byte of 0x7f or more
        if ((below | above) != 0) {
            break;  // this word has one (or a false alarm): byte by byte from here
        }
    }
    while (i < text.size() && isPlainPrintable(static_cast<unsigned char>(text[i]))) {
        ++i;
    }
    return i;
}

}  // namespace

void appendEscapedForLog(std::string& out, std::string_view text) {
    for (std::size_t at = 0; at < text.size();) {
        // A run of plain characters in one append: a line with one arrow in it is still
        // mostly plain.
        const std::size_t run = plainPrefix(text.substr(at));
        out.append(text.substr(at, run));
        at += run;
        if (at == text.size()) {
            break;
        }
        const auto c = static_cast<unsigned char>(text[at]);
        const std::size_t length = c < 0x80 ? 0 : utf8Length(text, at);
        // U+0080-U+009F are the two-byte sequences C2 80 to C2 9F: controls, escaped too.
        const bool c1Control =
            length == 2 && c == 0xc2 && static_cast<unsigned char>(text[at + 1]) < 0xa0;
        if (length == 0 || c1Control) {
            appendHex(out, c);
            ++at;
            continue;
        }
        out.append(text.substr(at, length));
        at += length;
    }
}

}  // namespace nexus
