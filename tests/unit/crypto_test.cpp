// SPDX-License-Identifier: AGPL-3.0-or-later
// Tests for the OpenSSL wrappers: base64 as the deployed peers write it, UUIDv4 request ids,
// constant-time comparison and SHA-256.
#include "common/crypto.hpp"

#include <gtest/gtest.h>

#include <cctype>
#include <set>
#include <string>

namespace nexus::crypto {
namespace {

bool isLowerHex(char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

TEST(Base64, EncodesTheRfc4648Vectors) {
    EXPECT_EQ(base64Encode(""), "");
    EXPECT_EQ(base64Encode("f"), "Zg==");
    EXPECT_EQ(base64Encode("fo"), "Zm8=");
    EXPECT_EQ(base64Encode("foo"), "Zm9v");
    EXPECT_EQ(base64Encode("foobar"), "Zm9vYmFy");
    EXPECT_EQ(base64Encode(R"({"ok":true})"), "eyJvayI6dHJ1ZX0=");  // original-relay.md §2.3
}

TEST(Base64, UsesTheStandardAlphabetWithoutLineBreaks) {
    EXPECT_EQ(base64Encode("\xfb\xff\xbf"), "+/+/");
    const std::string encoded = base64Encode(std::string(200, 'x'));
    EXPECT_EQ(encoded.find('\n'), std::string::npos);
    EXPECT_EQ(encoded.size(), base64EncodedSize(200));
}

TEST(Base64, RoundTripsEveryLengthFromZeroToTen) {
    for (std::size_t length = 0; length <= 10; ++length) {
        std::string data;
        for (std::size_t i = 0; i < length; ++i) {
            // High bytes, and a NUL at index 1: bodies are bytes, not text.
            data.push_back(i == 1 ? '\0' : static_cast<char>(0xf0 + i * 7));
        }
        const std::string encoded = base64Encode(data);
        EXPECT_EQ(encoded.size(), base64EncodedSize(length)) << "length " << length;
        EXPECT_EQ(encoded.size() % 4, 0U) << "length " << length;
        auto decoded = base64Decode(encoded);
        ASSERT_TRUE(decoded.has_value()) << encoded;
        EXPECT_EQ(*decoded, data) << "length " << length;
    }
}

TEST(Base64, DecodesEmptyTextToEmptyBytes) {
    auto decoded = base64Decode("");
    ASSERT_TRUE(decoded.has_value());
    EXPECT_EQ(*decoded, "");
}

TEST(Base64, RejectsCharactersOutsideTheStandardAlphabet) {
    for (const char* text : {"Zm9v!A==", "Zm-_", "Zm9\n", "Zm 9", "Zm9v\r\n\r\n"}) {
        auto decoded = base64Decode(text);
        EXPECT_FALSE(decoded.has_value()) << text;
    }
    // The URL-safe alphabet is a different encoding, not a lenient variant.
    EXPECT_FALSE(base64Decode("-_-_").has_value());
}

TEST(Base64, RejectsMisplacedOrExcessPadding) {
    for (const char* text : {"=Zg=", "Z=g=", "Zg=A", "Z===", "====", "Zg==Zg==", "Zm9v===="}) {
        auto decoded = base64Decode(text);
        EXPECT_FALSE(decoded.has_value()) << text;
        if (!decoded) {
            EXPECT_EQ(decoded.error(), makeError(Errc::InvalidBase64));
        }
    }
}

TEST(Base64, RejectsNonZeroTrailingBitsLikeTheDeployedPeers) {
    // base64 0.22 STANDARD (the Rust peers) refuses "QR==": only "QQ==" encodes "A".
    EXPECT_EQ(base64Decode("QQ==").value(), "A");
    EXPECT_FALSE(base64Decode("QR==").has_value());
    EXPECT_FALSE(base64Decode("QUJ=").has_value());
}

TEST(Base64, RejectsLengthNotAMultipleOfFour) {
    for (const char* text : {"Z", "Zg", "Zg=", "Zm9", "Zm9vY"}) {
        auto decoded = base64Decode(text);
        ASSERT_FALSE(decoded.has_value()) << text;
        EXPECT_EQ(decoded.error(), makeError(Errc::InvalidBase64));
    }
}

TEST(Uuid, HasTheVersion4LayoutInLowercaseHex) {
    for (int i = 0; i < 64; ++i) {
        const std::string id = uuidV4();
        ASSERT_EQ(id.size(), 36U) << id;
        for (std::size_t at = 0; at < id.size(); ++at) {
            if (at == 8 || at == 13 || at == 18 || at == 23) {
                EXPECT_EQ(id[at], '-') << id;
            } else {
                EXPECT_TRUE(isLowerHex(id[at])) << id;
            }
        }
        EXPECT_EQ(id[14], '4') << "version nibble: " << id;
        EXPECT_NE(std::string("89ab").find(id[19]), std::string::npos) << "variant: " << id;
    }
}

TEST(Uuid, IsUniqueAcrossManyCalls) {
    std::set<std::string> seen;
    for (int i = 0; i < 10000; ++i) {
        EXPECT_TRUE(seen.insert(uuidV4()).second);
    }
}

TEST(RandomHex, HasTwoLowercaseHexDigitsPerByte) {
    const std::string hex = randomHex(32);
    ASSERT_EQ(hex.size(), 64U);
    for (const char c : hex) {
        EXPECT_TRUE(isLowerHex(c)) << hex;
    }
    EXPECT_NE(randomHex(32), hex);
}

TEST(ConstantTimeEqual, ComparesContentAndLength) {
    EXPECT_TRUE(constantTimeEqual("", ""));
    EXPECT_TRUE(constantTimeEqual("token", "token"));
    EXPECT_FALSE(constantTimeEqual("token", "tokeN"));
    EXPECT_FALSE(constantTimeEqual("Token", "token"));
    EXPECT_FALSE(constantTimeEqual("token", "token "));
    EXPECT_FALSE(constantTimeEqual("", "x"));
    EXPECT_TRUE(constantTimeEqual(std::string("a\0b", 3), std::string("a\0b", 3)));
    EXPECT_FALSE(constantTimeEqual(std::string("a\0b", 3), std::string("a\0c", 3)));
}

TEST(Sha256, MatchesTheFips180Vectors) {
    const auto abc = sha256("abc");
    EXPECT_EQ(toHex(abc.data(), abc.size()),
              "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    const auto empty = sha256("");
    EXPECT_EQ(toHex(empty.data(), empty.size()),
              "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST(ToHex, WritesEveryByteAsTwoLowercaseDigits) {
    const std::uint8_t bytes[] = {0x00, 0x0f, 0xa0, 0xff};
    EXPECT_EQ(toHex(bytes, sizeof bytes), "000fa0ff");
    EXPECT_EQ(toHex(bytes, 0), "");
}

}  // namespace
}  // namespace nexus::crypto
