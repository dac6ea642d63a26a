// SPDX-License-Identifier: AGPL-3.0-or-later
// unmapped, callerKey and networkKey: the address with its host bits cleared, written with its
// length.
#include "server/address_prefix.hpp"

#include <boost/asio/ip/network_v4.hpp>
#include <boost/asio/ip/network_v6.hpp>

namespace nexus::server {

namespace ip = boost::asio::ip;

ip::address unmapped(const ip::address& address) {
    if (address.is_v6() && address.to_v6().is_v4_mapped()) {
        return ip::make_address_v4(ip::v4_mapped, address.to_v6());
    }
    return address;
}

namespace {

// The network of the first `bits` bits around the address, as "a/bits" (Asio's network
// types clear the host bits).
std::string prefix(const ip::address& address, unsigned v4Bits, unsigned v6Bits) {
    const ip::address plain = unmapped(address);
    if (plain.is_v4()) {
        return ip::network_v4(plain.to_v4(), v4Bits).canonical().to_string();
    }
    return ip::network_v6(plain.to_v6(), v6Bits).canonical().to_string();
}

}  // namespace

std::string callerKey(const ip::address& address) {
    return prefix(address, 32, 64);
}

std::string networkKey(const ip::address& address) {
    return prefix(address, 24, 48);
}

}  // namespace nexus::server
