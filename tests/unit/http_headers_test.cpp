// SPDX-License-Identifier: AGPL-3.0-or-later
// Tests for the header rules shared by the relay and the agent: hop-by-hop filtering, tokens,
// and the value check that stops header injection through the tunnel.
#include "net/http_headers.hpp"

#include "common/ascii.hpp"

#include <gtest/gtest.h>

#include <string>

namespace nexus::net {
namespace {

using namespace std::string_literals;

TEST(HopByHop, ListsTheRfc9110ConnectionHeaders) {
    for (const char* name : {"connection", "keep-alive", "proxy-authenticate",
                             "proxy-authorization", "te", "transfer-encoding", "upgrade"}) {
        EXPECT_TRUE(isHopByHop(name)) << name;
    }
}

TEST(HopByHop, IncludesTrailerSingularNotTrailers) {
    // RFC 9110 names the field "Trailer"; "Trailers" is only a TE value, a common typo.
    EXPECT_TRUE(isHopByHop("trailer"));
    EXPECT_FALSE(isHopByHop("trailers"));
}

TEST(HopByHop, IncludesTheLegacyProxyConnection) {
    EXPECT_TRUE(isHopByHop("proxy-connection"));
}

TEST(HopByHop, KeepsEndToEndHeaders) {
    // Including names of the same lengths as hop-by-hop ones.
    for (const char* name :
         {"host", "content-type", "content-length", "set-cookie", "cookie", "cf-connecting-ip",
          "x-forwarded-for", "sec-websocket-key", "tf", "expires", "connectiom", "x-request-id",
          "content-disposition", "transfer-encodinG", "proxy-authenticatf", "vary-authorization"}) {
        EXPECT_FALSE(isHopByHop(name)) << name;
    }
}

TEST(HopByHop, ExpectsLowercaseNames) {
    // Callers lowercase first (v1 headers are lowercase on the wire); the helper stays exact.
    EXPECT_FALSE(isHopByHop("Connection"));
    EXPECT_FALSE(isHopByHop(""));
}

TEST(IsToken, AcceptsMethodsAndHeaderNames) {
    for (const char* text : {"GET", "PROPFIND", "content-type", "X-Custom_1", "!#$%&'*+-.^_`|~"}) {
        EXPECT_TRUE(isToken(text)) << text;
    }
}

TEST(IsToken, RejectsEmptySeparatorsAndControls) {
    for (const std::string& text : {""s, "GET /"s, "a:b"s, "a,b"s, "a\"b"s, "(x)"s, "a\tb"s,
                                    "a\r\nb"s, "a\0b"s, "caf\xc3\xa9"s, "a/b"s, "{x}"s}) {
        EXPECT_FALSE(isToken(text)) << text;
    }
}

TEST(IsSafeFieldValue, AcceptsOrdinaryValues) {
    EXPECT_TRUE(isSafeFieldValue(""));
    EXPECT_TRUE(isSafeFieldValue("text/html; charset=utf-8"));
    EXPECT_TRUE(isSafeFieldValue("a=1; Path=/; HttpOnly\tSecure"));
    EXPECT_TRUE(isSafeFieldValue("Zo\xc3\xab"));
}

TEST(IsSafeFieldValue, RejectsCarriageReturnLineFeedAndNul) {
    EXPECT_FALSE(isSafeFieldValue("a\rb"));
    EXPECT_FALSE(isSafeFieldValue("a\nb"));
    EXPECT_FALSE(isSafeFieldValue("x\r\nSet-Cookie: stolen=1"));
    EXPECT_FALSE(isSafeFieldValue("a\0b"s));
    EXPECT_FALSE(isSafeFieldValue("\0"s));
    EXPECT_FALSE(isSafeFieldValue("trailing\n"));
}

TEST(IsSafeFieldValue, FindsTheForbiddenByteAtEveryPositionOfEveryLength) {
    for (std::size_t length = 1; length <= 40; ++length) {
        EXPECT_TRUE(isSafeFieldValue(std::string(length, 'a'))) << length;
        for (std::size_t at = 0; at < length; ++at) {
            for (const char forbidden : {'\r', '\n', '\0'}) {
                std::string value(length, 'a');
                value[at] = forbidden;
                EXPECT_FALSE(isSafeFieldValue(value)) << length << " " << at;
            }
        }
    }
}

TEST(IsPassableField, PassesEndToEndFieldsOnly) {
    EXPECT_TRUE(isPassableField("content-type", "text/html"));
    EXPECT_TRUE(isPassableField("set-cookie", "a=1; Path=/"));
    EXPECT_FALSE(isPassableField("transfer-encoding", "chunked"));  // hop-by-hop
    EXPECT_FALSE(isPassableField("connection", "close"));
    EXPECT_FALSE(isPassableField("bad name", "v"));                       // not a token
    EXPECT_FALSE(isPassableField("x-split", "a\r\nset-cookie: evil=1"));  // could split
    EXPECT_FALSE(isPassableField("", "v"));
}

TEST(AppendField, WritesOneHeaderLine) {
    std::string head = "HTTP/1.1 200 OK\r\n";
    appendField(head, "content-type", "text/plain");
    EXPECT_EQ(head, "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\n");
}

TEST(ListsToken, FindsTokenAmongCommaSeparatedItems) {
    EXPECT_TRUE(listsToken("upgrade", "upgrade"));
    EXPECT_TRUE(listsToken("keep-alive, Upgrade", "upgrade"));
    EXPECT_TRUE(listsToken("Upgrade,keep-alive", "upgrade"));
}

TEST(ListsToken, IgnoresSpacesTabsAndCase) {
    EXPECT_TRUE(listsToken("  UPGRADE  ", "upgrade"));
    EXPECT_TRUE(listsToken("close ,\tUpGrAdE\t, x", "upgrade"));
    EXPECT_TRUE(listsToken("Keep-Alive", "keep-alive"));
}

TEST(ListsToken, DoesNotMatchPartsOfItems) {
    EXPECT_FALSE(listsToken("upgraded", "upgrade"));
    EXPECT_FALSE(listsToken("no-upgrade", "upgrade"));
    EXPECT_FALSE(listsToken("up grade", "upgrade"));
    EXPECT_FALSE(listsToken("", "upgrade"));
    EXPECT_FALSE(listsToken(",,,", "upgrade"));
}

TEST(ListsToken, SkipsEmptyItems) {
    EXPECT_TRUE(listsToken(", ,upgrade", "upgrade"));
    EXPECT_TRUE(listsToken("close,,upgrade,", "upgrade"));
}

}  // namespace
TEST(ChunkSizeLine, IsLowercaseHexWithCrLf) {
    EXPECT_EQ(chunkSizeLine(255), "ff\r\n");
    EXPECT_EQ(chunkSizeLine(65536), "10000\r\n");
    EXPECT_EQ(chunkSizeLine(0xffffffffffffffffULL), "ffffffffffffffff\r\n");
}

TEST(AsciiLower, LowercasesAsciiOnly) {
    EXPECT_EQ(asciiLower("Content-TYPE"), "content-type");
    EXPECT_EQ(asciiLower("\xc3\x89"), "\xc3\x89");  // UTF-8 bytes are left alone
    EXPECT_EQ(asciiLower("@[`{"), "@[`{");          // the neighbours of A-Z and a-z
}

TEST(ContainsCrLfOrNul, FindsEachOfTheThreeAnywhere) {
    EXPECT_FALSE(containsCrLfOrNul(""));
    EXPECT_FALSE(containsCrLfOrNul("text/html; charset=\xc3\xa9\t"));
    EXPECT_TRUE(containsCrLfOrNul("a\rb"));
    EXPECT_TRUE(containsCrLfOrNul("\nb"));
    EXPECT_TRUE(containsCrLfOrNul("ab\0"s));
}

TEST(ContainsCrLfOrNul, FindsThemAtEveryPositionOfLongValues) {
    // Values are scanned eight bytes at a time, then byte by byte: every position of the
    // words and of the tail must count.
    for (std::size_t length = 1; length <= 40; ++length) {
        for (std::size_t at = 0; at < length; ++at) {
            for (const char bad : {'\r', '\n', '\0'}) {
                std::string value(length, 'x');
                value[at] = bad;
                EXPECT_TRUE(containsCrLfOrNul(value)) << length << " " << at << " " << int(bad);
            }
        }
    }
}

TEST(ContainsCrLfOrNul, IgnoresTheirNeighboursAndHighBytes) {
    // Bytes one off the three, and bytes whose low seven bits match them, in every position.
    std::string value;
    for (const int c : {0x01, 0x09, 0x0b, 0x0c, 0x0e, 0x7f, 0x80, 0x8a, 0x8d, 0xff, 0x20}) {
        value += static_cast<char>(c);
    }
    for (std::size_t shift = 0; shift < 8; ++shift) {
        std::string input(shift, 'a');
        input += value;
        input += value;
        EXPECT_FALSE(containsCrLfOrNul(input)) << shift;
    }
}

TEST(LowerTokenChar, IsTheTokenSetWithoutUpperCase) {
    for (int c = 0; c < 256; ++c) {
        const auto ch = static_cast<char>(c);
        EXPECT_EQ(isLowerTokenChar(ch), isTokenChar(ch) && !(ch >= 'A' && ch <= 'Z')) << c;
    }
}

TEST(TokenChar, AcceptsExactlyTheRfc9110Set) {
    std::string accepted;
    for (int c = 0; c < 256; ++c) {
        if (isTokenChar(static_cast<char>(c))) {
            accepted += static_cast<char>(c);
        }
    }
    EXPECT_EQ(accepted,
              "!#$%&'*+-.0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ^_`abcdefghijklmnopqrstuvwxyz|~");
}

}  // namespace nexus::net
