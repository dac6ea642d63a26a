// SPDX-License-Identifier: AGPL-3.0-or-later
// callerKey and networkKey: the address with its host bits cleared, written with its length.
#include "server/address_prefix.hpp"

#include <algorithm>

namespace nexus::server {

namespace {

namespace ip = boost::asio::ip;

ip::address unmapped(const ip::address& address) {
    if (address.is_v6() && address.to_v6().is_v4_mapped()) {
        return ip::make_address_v4(ip::v4_mapped, address.to_v6());
    }
    return address;
}

// The address with all but the first `bits` bits (a multiple of 8) zeroed, as "a/bits".
std::string prefix(const ip::address& address, unsigned v4Bits, unsigned v6Bits) {
    const ip::address plain = unmapped(address);
    if (plain.is_v4()) {
        auto bytes = plain.to_v4().to_bytes();
        std::fill(bytes.begin() + v4Bits / 8, bytes.end(), 0);
        return ip::address_v4(bytes).to_string() + "/" + std::to_string(v4Bits);
    }
    auto bytes = plain.to_v6().to_bytes();
    std::fill(bytes.begin() + v6Bits / 8, bytes.end(), 0);
    return ip::address_v6(bytes).to_string() + "/" + std::to_string(v6Bits);
}

}  // namespace

std::string callerKey(const ip::address& address) {
    return prefix(address, 32, 64);
}

std::string networkKey(const ip::address& address) {
    return prefix(address, 24, 48);
}

}  // namespace nexus::server
