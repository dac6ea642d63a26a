// SPDX-License-Identifier: AGPL-3.0-or-later
// Tests for isValidSlug: which names can become a subdomain label.
#include "directory/directory.hpp"

#include <gtest/gtest.h>

#include <string>

namespace nexus::directory {
namespace {

TEST(Slug, AcceptsLowercaseLettersDigitsAndInnerHyphens) {
    EXPECT_TRUE(isValidSlug("alice"));
    EXPECT_TRUE(isValidSlug("my-forum-2"));
    EXPECT_TRUE(isValidSlug("0day"));
    EXPECT_TRUE(isValidSlug("a--b"));
}

TEST(Slug, AcceptsSingleCharacterAndSixtyThreeCharacterLabels) {
    EXPECT_TRUE(isValidSlug("a"));
    EXPECT_TRUE(isValidSlug("7"));
    EXPECT_TRUE(isValidSlug(std::string(63, 'x')));
}

TEST(Slug, RejectsEmptyAndOverlongLabels) {
    EXPECT_FALSE(isValidSlug(""));
    EXPECT_FALSE(isValidSlug(std::string(64, 'x')));
}

TEST(Slug, RejectsLeadingOrTrailingHyphen) {
    EXPECT_FALSE(isValidSlug("-alice"));
    EXPECT_FALSE(isValidSlug("alice-"));
    EXPECT_FALSE(isValidSlug("-"));
}

TEST(Slug, RejectsUppercaseBecauseDirectorySlugsAreLowercase) {
    EXPECT_FALSE(isValidSlug("Alice"));
    EXPECT_FALSE(isValidSlug("ALICE"));
}

TEST(Slug, RejectsDotsUnderscoresSpacesAndNonAscii) {
    EXPECT_FALSE(isValidSlug("alice.example"));
    EXPECT_FALSE(isValidSlug("alice_b"));
    EXPECT_FALSE(isValidSlug("alice b"));
    EXPECT_FALSE(isValidSlug("caf\xc3\xa9"));
    EXPECT_FALSE(isValidSlug(std::string("al\0ce", 5)));
}

TEST(Slug, RejectsSqlAndPathLookalikes) {
    EXPECT_FALSE(isValidSlug("a'; drop table directory_instances; --"));
    EXPECT_FALSE(isValidSlug("../etc"));
    EXPECT_FALSE(isValidSlug("%"));
}

}  // namespace
}  // namespace nexus::directory
