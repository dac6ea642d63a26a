// SPDX-License-Identifier: AGPL-3.0-or-later
// Tests for jsonDepthWithin: the linear pre-parse bound on nesting in network JSON.
#include "protocol/json_guard.hpp"

#include <gtest/gtest.h>

#include <string>

namespace nexus::protocol {
namespace {

std::string arrays(int depth) {
    return std::string(static_cast<std::size_t>(depth), '[') +
           std::string(static_cast<std::size_t>(depth), ']');
}

TEST(JsonGuard, AcceptsFlatValuesAtAnyLimit) {
    EXPECT_TRUE(jsonDepthWithin("", 0));
    EXPECT_TRUE(jsonDepthWithin("42", 0));
    EXPECT_TRUE(jsonDepthWithin(R"("text")", 0));
    EXPECT_FALSE(jsonDepthWithin("{}", 0));
}

TEST(JsonGuard, CountsArraysAndObjectsAlike) {
    EXPECT_TRUE(jsonDepthWithin(arrays(3), 3));
    EXPECT_FALSE(jsonDepthWithin(arrays(4), 3));
    EXPECT_TRUE(jsonDepthWithin(R"({"a":{"b":[1]}})", 3));
    EXPECT_FALSE(jsonDepthWithin(R"({"a":{"b":[{}]}})", 3));
}

TEST(JsonGuard, MeasuresTheDeepestBranchNotTheTotal) {
    // Siblings close before the next opens: many of them never add up.
    std::string wide = "[";
    for (int i = 0; i < 1000; ++i) {
        wide += i == 0 ? "[[]]" : ",[[]]";
    }
    wide += "]";
    EXPECT_TRUE(jsonDepthWithin(wide, 3));
    EXPECT_FALSE(jsonDepthWithin(wide, 2));
}

TEST(JsonGuard, IgnoresBracketsInsideStrings) {
    EXPECT_TRUE(jsonDepthWithin(R"({"k":"[[[[[[[[{{{{{{{{"})", 1));
    EXPECT_TRUE(jsonDepthWithin(R"(["]]]]]][[[[[["])", 1));
}

TEST(JsonGuard, EscapedQuoteDoesNotEndTheString) {
    // If \" ended the string, the brackets after it would be counted as nesting.
    EXPECT_TRUE(jsonDepthWithin(R"({"k":"a\"[[[[[[["})", 1));
    EXPECT_TRUE(jsonDepthWithin(R"(["\"{{{{"])", 1));
}

TEST(JsonGuard, EscapedBackslashBeforeQuoteEndsTheString) {
    // "a\\" is a complete string: the brackets after it are real.
    EXPECT_FALSE(jsonDepthWithin(R"(["a\\",[[]]])", 2));
    EXPECT_TRUE(jsonDepthWithin(R"(["a\\",[[]]])", 3));
}

TEST(JsonGuard, AcceptsAMessageWhoseStringsAreFullOfBrackets) {
    // A visitor controls the path and header values: they must not make a message too deep.
    const std::string path = "/" + std::string(500, '[') + std::string(500, '{');
    const std::string message = R"({"type":"request","id":"q","method":"GET","path":")" + path +
                                R"(","headers":{"x":"]]]}}}\"[[["},"body_b64":""})";
    EXPECT_TRUE(jsonDepthWithin(message, 2));
    EXPECT_FALSE(jsonDepthWithin(message, 1));
}

TEST(JsonGuard, RejectsAHundredThousandOpenBracketsWithoutRecursion) {
    EXPECT_FALSE(jsonDepthWithin(std::string(100000, '['), 16));
    EXPECT_FALSE(jsonDepthWithin(std::string(100000, '{'), 16));
}

}  // namespace
}  // namespace nexus::protocol
