// SPDX-License-Identifier: AGPL-3.0-or-later
// appendEscapedForLog and writeEscapedForLog: plain printable ASCII copied in runs found eight
// bytes at a time (nearly every line is mostly plain), and between them a UTF-8 walk that keeps
// valid sequences and escapes the rest byte by byte.
#include "common/log_escape.hpp"

#include <cstdint>
#include <cstring>

namespace nexus {

namespace {

constexpr char kHexDigits[] = "0123456789abcdef";

bool isPlainPrintable(unsigned char c) {
    return c >= 0x20 && c < 0x7f;
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
bool isPlainWord(const char* at) {
    constexpr std::uint64_t kOnes = 0x0101010101010101U;
    constexpr std::uint64_t kHighs = 0x8080808080808080U;
    std::uint64_t x = 0;
    std::memcpy(&x, at, 8);
    const std::uint64_t below = (x - kOnes * 0x20U) & ~x & kHighs;  // a byte under 0x20
    const std::uint64_t above = (x | (x + kOnes)) & kHighs;         // a byte of 0x7f or more
    return (below | above) == 0;  // false: one of them (or a false alarm)
}

std::size_t plainPrefix(std::string_view text) {
    std::size_t i = 0;
    for (; i + 8 <= text.size(); i += 8) {
        if (!isPlainWord(text.data() + i)) {
            break;  // byte by byte from here
        }
    }
    // The last few bytes of a text of eight or more: one word again, ending at the end.
    if (i < text.size() && i >= 8 && i + 8 > text.size() &&
        isPlainWord(text.data() + text.size() - 8)) {
        return text.size();
    }
    while (i < text.size() && isPlainPrintable(static_cast<unsigned char>(text[i]))) {
        ++i;
    }
    return i;
}

// The walk for both outputs: a std::string that grows, or a buffer with room for the worst
// case (every byte escaped).
class StringOut {
public:
    explicit StringOut(std::string& out) : out_(out) {}
    void append(std::string_view text) { out_.append(text); }
    void appendHex(unsigned char c) {
        const char hex[4] = {'\\', 'x', kHexDigits[c >> 4U], kHexDigits[c & 0x0fU]};
        out_.append(hex, sizeof hex);
    }

private:
    std::string& out_;
};

class BufferOut {
public:
    explicit BufferOut(char* at) : at_(at) {}
    void append(std::string_view text) {
        std::memcpy(at_, text.data(), text.size());
        at_ += text.size();
    }
    void appendHex(unsigned char c) {
        *at_++ = '\\';
        *at_++ = 'x';
        *at_++ = kHexDigits[c >> 4U];
        *at_++ = kHexDigits[c & 0x0fU];
    }
    char* end() const { return at_; }

private:
    char* at_;
};

// Not inlined into writeEscapedForLog: its plain case would pay for this walk's registers.
template <class Out>
[[gnu::noinline]] void escapeInto(Out& out, std::string_view text) {
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
            out.appendHex(c);
            ++at;
            continue;
        }
        out.append(text.substr(at, length));
        at += length;
    }
}

}  // namespace

void appendEscapedForLog(std::string& out, std::string_view text) {
    StringOut sink(out);
    escapeInto(sink, text);
}

char* writeEscapedForLog(char* out, std::string_view text) {
    if (plainPrefix(text) == text.size()) {
        std::memcpy(out, text.data(), text.size());  // the usual case: nothing to escape
        return out + text.size();
    }
    BufferOut sink(out);
    escapeInto(sink, text);
    return sink.end();
}

}  // namespace nexus
