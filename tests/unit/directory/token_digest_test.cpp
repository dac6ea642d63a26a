// SPDX-License-Identifier: AGPL-3.0-or-later
// Tests for the token scheme: token format, at-rest digest, and verification of both row kinds.
#include "directory/token_digest.hpp"

#include <gtest/gtest.h>

#include <set>
#include <string>

namespace nexus::directory {
namespace {

bool isLowercaseHex(const std::string& text) {
    return text.find_first_not_of("0123456789abcdef") == std::string::npos;
}

TEST(TokenDigest, NewTokensAre64LowercaseHexLikeDeployedOnes) {
    const std::string token = newToken();
    EXPECT_EQ(token.size(), 64U);
    EXPECT_TRUE(isLowercaseHex(token)) << token;
}

TEST(TokenDigest, NewTokensDoNotRepeat) {
    std::set<std::string> seen;
    for (int i = 0; i < 100; ++i) {
        EXPECT_TRUE(seen.insert(newToken()).second);
    }
}

TEST(TokenDigest, DigestIsPrefixedUnpaddedBase64UrlOfSha256) {
    // SHA-256("abc") = ba7816bf 8f01cfea ... f20015ad (FIPS 180-2 test vector).
    EXPECT_EQ(tokenDigest("abc"), "sha256:ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa0");
}

TEST(TokenDigest, DigestFitsTheDeployedVarchar64Column) {
    const std::string digest = tokenDigest(newToken());
    EXPECT_EQ(digest.size(), kDigestSize);
    EXPECT_EQ(digest.size(), 50U);
    EXPECT_EQ(digest.find_first_of("+/="), std::string::npos);
}

TEST(TokenDigest, TellsDigestRowsFromLegacyPlaintextRows) {
    EXPECT_TRUE(isHashedToken(tokenDigest("x")));
    EXPECT_FALSE(isHashedToken(newToken()));
    EXPECT_FALSE(isHashedToken(""));
    EXPECT_FALSE(isHashedToken("sha256"));
}

TEST(TokenDigest, TokenMatchesItsDigest) {
    const std::string token = newToken();
    EXPECT_TRUE(tokenMatches(token, tokenDigest(token)));
}

TEST(TokenDigest, WrongTokenDoesNotMatchDigest) {
    const std::string token = newToken();
    EXPECT_FALSE(tokenMatches(newToken(), tokenDigest(token)));
    EXPECT_FALSE(tokenMatches("", tokenDigest(token)));
    EXPECT_FALSE(tokenMatches(token.substr(0, 63), tokenDigest(token)));
}

TEST(TokenDigest, LeakedDigestPresentedAsTokenDoesNotMatch) {
    const std::string stored = tokenDigest(newToken());
    EXPECT_FALSE(tokenMatches(stored, stored));
}

TEST(TokenDigest, LegacyPlaintextRowMatchesOnlyTheSameToken) {
    const std::string legacy = newToken();
    EXPECT_TRUE(tokenMatches(legacy, legacy));
    EXPECT_FALSE(tokenMatches(newToken(), legacy));
    EXPECT_FALSE(tokenMatches(legacy + "0", legacy));
    EXPECT_FALSE(tokenMatches(legacy.substr(1), legacy));
}

TEST(TokenDigest, DummyCheckNeverMatches) {
    EXPECT_FALSE(dummyTokenCheck(newToken()));
    EXPECT_FALSE(dummyTokenCheck(""));
    EXPECT_FALSE(dummyTokenCheck(std::string(kDigestPrefix) + std::string(43, 'A')));
}

TEST(TokenDigest, VerifyGivesTheRowIdOnlyForTheRightToken) {
    const std::string token = newToken();
    const auto ok = verifyToken(token, StoredToken{42, tokenDigest(token)});
    ASSERT_TRUE(ok.has_value());
    EXPECT_EQ(*ok, 42);

    const auto wrong = verifyToken(newToken(), StoredToken{42, tokenDigest(token)});
    EXPECT_EQ(wrong.error(), makeError(Errc::AuthFailed));
}

TEST(TokenDigest, VerifyWithoutRowIsTheSameAuthFailure) {
    const auto missing = verifyToken(newToken(), std::nullopt);
    ASSERT_FALSE(missing.has_value());
    EXPECT_EQ(missing.error(), makeError(Errc::AuthFailed));
}

}  // namespace
}  // namespace nexus::directory
