// SPDX-License-Identifier: AGPL-3.0-or-later
#include "net/head_arena.hpp"

#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/empty_body.hpp>

#include <gtest/gtest.h>

#include <optional>
#include <string>

namespace http = boost::beast::http;
using nexus::net::HeadArena;
using nexus::net::RequestParser;

namespace {

// Feeds a whole head to the parser; returns the error (none when the head is complete).
boost::system::error_code parse(RequestParser<http::empty_body>& parser, const std::string& head) {
    parser.header_limit(64 * 1024);
    boost::system::error_code ec;
    parser.put(boost::asio::buffer(head), ec);
    return ec;
}

std::string headWithFields(int count, std::size_t valueSize) {
    std::string head = "GET /path HTTP/1.1\r\nHost: demo.nexusnode.app\r\n";
    for (int i = 0; i < count; ++i) {
        head += "X-Field-" + std::to_string(i) + ": " + std::string(valueSize, 'v') + "\r\n";
    }
    return head + "\r\n";
}

}  // namespace

TEST(HeadArena, ParsedFieldsReadBackIntact) {
    HeadArena arena;
    std::optional<RequestParser<http::empty_body>> parser;
    ASSERT_FALSE(parse(arena.emplace(parser), headWithFields(3, 10)));
    ASSERT_TRUE(parser->is_header_done());
    EXPECT_EQ(parser->get()["host"], "demo.nexusnode.app");
    EXPECT_EQ(parser->get()["x-field-2"], std::string(10, 'v'));
    EXPECT_EQ(parser->get().target(), "/path");
}

TEST(HeadArena, HoldsHeadsLargerThanItsInlineBlock) {
    HeadArena arena;
    std::optional<RequestParser<http::empty_body>> parser;
    ASSERT_FALSE(parse(arena.emplace(parser), headWithFields(40, 1000)));  // about 40 KB
    EXPECT_EQ(parser->get()["x-field-39"], std::string(1000, 'v'));
    // The next head starts from a clean arena and does not see the previous fields.
    ASSERT_FALSE(parse(arena.emplace(parser), headWithFields(1, 5)));
    EXPECT_EQ(parser->get()["x-field-0"], "vvvvv");
    EXPECT_EQ(parser->get().count("x-field-39"), 0U);
}

TEST(HeadArena, GivesTheSameMemoryToEachNewHead) {
    HeadArena arena;
    auto first = arena.fresh();
    char* a = first.allocate(64);
    auto second = arena.fresh();
    char* b = second.allocate(64);
    EXPECT_EQ(a, b);  // no heap allocation per head once the arena is warm
}
