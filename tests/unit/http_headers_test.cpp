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
    for (const char* name : {"host", "content-type", "content-length", "set-cookie", "cookie",
                             "cf-connecting-ip", "x-forwarded-for", "sec-websocket-key"}) {
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
