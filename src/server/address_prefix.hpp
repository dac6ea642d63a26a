// SPDX-License-Identifier: AGPL-3.0-or-later
// How the control port groups callers for its caps and failure limits. An IPv6 subscriber
// gets a whole /64 (often a /56 or /48), so counting IPv6 addresses one by one would give an
// attacker 2^64 fresh callers; an IPv4 address is one caller, since carrier-grade NAT puts
// unrelated subscribers behind neighbouring (and even the same) addresses.
#pragma once

#include <boost/asio/ip/address.hpp>

#include <string>

namespace nexus::server {

/// The address itself, with an IPv4-mapped IPv6 address (::ffff:a.b.c.d) as the IPv4 one it is.
boost::asio::ip::address unmapped(const boost::asio::ip::address& address);

/// One caller: the IPv4 address (IPv4-mapped IPv6 folded to IPv4), or the IPv6 /64.
std::string callerKey(const boost::asio::ip::address& ip);

/// One network: the IPv4 /24 or the IPv6 /48, for limits that must also hold against an
/// attacker who rotates addresses inside the block they were given.
std::string networkKey(const boost::asio::ip::address& ip);

}  // namespace nexus::server
