// SPDX-License-Identifier: AGPL-3.0-or-later
// Tests for the keys the control port counts callers and networks by.
#include "server/address_prefix.hpp"

#include <gtest/gtest.h>

namespace nexus::server {
namespace {

boost::asio::ip::address ip(const char* text) {
    return boost::asio::ip::make_address(text);
}

TEST(CallerKey, IsTheWholeIpv4AddressAndTheIpv6Slash64) {
    EXPECT_EQ(callerKey(ip("203.0.113.7")), "203.0.113.7/32");
    EXPECT_EQ(callerKey(ip("2001:db8:1:2:3:4:5:6")), "2001:db8:1:2::/64");
    EXPECT_EQ(callerKey(ip("2001:db8:1:2::ffff")), callerKey(ip("2001:db8:1:2:aaaa::1")));
}

TEST(CallerKey, CountsAnIpv4MappedAddressAsTheIpv4Address) {
    EXPECT_EQ(callerKey(ip("::ffff:203.0.113.7")), "203.0.113.7/32");
}

TEST(NetworkKey, IsTheIpv4Slash24AndTheIpv6Slash48) {
    EXPECT_EQ(networkKey(ip("203.0.113.7")), "203.0.113.0/24");
    EXPECT_EQ(networkKey(ip("2001:db8:1:2:3:4:5:6")), "2001:db8:1::/48");
}

}  // namespace
}  // namespace nexus::server
