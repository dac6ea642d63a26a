// SPDX-License-Identifier: AGPL-3.0-or-later
// Tests for escapeForLog: nothing from the network can end a log line or reach the terminal
// as a control sequence, and ordinary text is left alone.
#include "common/log_escape.hpp"

#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <vector>

namespace nexus {
namespace {

TEST(LogEscape, LeavesPrintableAsciiAlone) {
    EXPECT_EQ(escapeForLog(R"(Tunnel registered: slug "demo" from 1.2.3.4:5 (v2))"),
              R"(Tunnel registered: slug "demo" from 1.2.3.4:5 (v2))");
}

TEST(LogEscape, ShowsLineBreaksAsHexSoNoLineCanBeForged) {
    EXPECT_EQ(escapeForLog("x\ninfo Tunnel registered: slug \"forged\"\r"),
              "x\\x0ainfo Tunnel registered: slug \"forged\"\\x0d");
}

TEST(LogEscape, ShowsEscapeDelNulAndTabAsHex) {
    EXPECT_EQ(escapeForLog(std::string("\x1b[2J\x7f\t", 6) + std::string(1, '\0')),
              "\\x1b[2J\\x7f\\x09\\x00");
}

TEST(LogEscape, KeepsValidUtf8) {
    EXPECT_EQ(escapeForLog("Forwarding GET /café → HTTP 200 😀"),
              "Forwarding GET /café → HTTP 200 😀");
}

TEST(LogEscape, EscapesC1ControlsAndInvalidUtf8ByteByByte) {
    // U+009B is a one-character CSI for some terminals; a lone 0xff, a truncated sequence, an
    // overlong '/' and an encoded surrogate are not UTF-8.
    EXPECT_EQ(escapeForLog("a\xc2\x9b"
                           "b"),
              "a\\xc2\\x9bb");
    EXPECT_EQ(escapeForLog("\xff"), "\\xff");
    EXPECT_EQ(escapeForLog("\xe2\x86"), "\\xe2\\x86");
    EXPECT_EQ(escapeForLog("\xc0\xaf"), "\\xc0\\xaf");
    EXPECT_EQ(escapeForLog("\xed\xa0\x80"), "\\xed\\xa0\\x80");
    EXPECT_EQ(escapeForLog("\xc2\xa0"), "\xc2\xa0");  // U+00A0 is printable
}

TEST(LogEscape, FindsAnUnsafeByteAtEveryPlaceInALongLine) {
    // Lines are scanned eight bytes at a time: each byte of a word must be seen.
    for (const char unsafe : {'\n', '\x1f', '\x7f', '\x00'}) {
        for (std::size_t at = 0; at < 24; ++at) {
            std::string line(24, 'a');
            line[at] = unsafe;
            const std::string escaped = escapeForLog(line);
            EXPECT_EQ(escaped.size(), line.size() + 3) << int(unsafe) << " at " << at;
            EXPECT_EQ(escaped.find_first_of(std::string("\n\x1f\x7f\x00", 4)), std::string::npos);
        }
    }
    EXPECT_EQ(escapeForLog("GET /a → 200 ~ }"), "GET /a → 200 ~ }");  // 0x7e, 0x7d are plain
}

TEST(LogEscape, FindsAnUnsafeByteInTheLastFewBytesOfALine) {
    // After its whole words, a line's last few bytes are read as one word ending at its end.
    for (std::size_t size = 9; size < 24; ++size) {
        for (std::size_t at = 0; at < size; ++at) {
            std::string line(size, 'a');
            line[at] = '\x1b';
            EXPECT_EQ(escapeForLog(line).size(), size + 3) << size << " bytes, at " << at;
        }
    }
}

TEST(LogEscape, WritesIntoABufferWhatItAppendsToAString) {
    for (const std::string& text : std::vector<std::string>{
             "", "/small", "203.0.113.5", "GET /a → 200", "x\ninfo forged\r\x1b[2J",
             "/caf\xc3\xa9/\xc2\x9b/\xff/\xe2\x86", std::string(40, 'p') + "\x7f"}) {
        std::string buffer(4 * text.size(), '#');
        const char* end = writeEscapedForLog(buffer.data(), text);
        EXPECT_EQ(std::string_view(buffer.data(), static_cast<std::size_t>(end - buffer.data())),
                  escapeForLog(text));
    }
}

}  // namespace
}  // namespace nexus
