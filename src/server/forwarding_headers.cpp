// SPDX-License-Identifier: AGPL-3.0-or-later
// AddressRange, applyForwardingPolicy and which request fields cross to the agent.
#include "server/forwarding_headers.hpp"

#include "common/ascii.hpp"
#include "server/address_prefix.hpp"

#include <boost/asio/ip/network_v4.hpp>
#include <boost/asio/ip/network_v6.hpp>
#include <boost/beast/core/string.hpp>

#include <algorithm>
#include <iterator>

namespace nexus::server {

namespace asio = boost::asio;
namespace http = boost::beast::http;

bool AddressRange::contains(const asio::ip::address& candidate) const {
    const auto address = unmapped(candidate);
    if (address.is_v4() != network.is_v4()) {
        return false;
    }
    // Both ends reduced to their network of `prefix` bits (Asio's network types do the masks).
    if (address.is_v4()) {
        return asio::ip::network_v4(address.to_v4(), prefix).canonical() ==
               asio::ip::network_v4(network.to_v4(), prefix).canonical();
    }
    return asio::ip::network_v6(address.to_v6(), prefix).canonical() ==
           asio::ip::network_v6(network.to_v6(), prefix).canonical();
}

Result<AddressRange> parseAddressRange(std::string_view text) {
    ErrorCode ec;
    if (text.find('/') == std::string_view::npos) {
        const auto address = asio::ip::make_address(std::string(text), ec);
        if (ec) {
            return makeError(Errc::InvalidArgument);
        }
        const auto plain = unmapped(address);  // ::ffff:a.b.c.d is the IPv4 address
        return AddressRange{plain, plain.is_v4() ? 32U : 128U};
    }
    const std::string range(text);
    if (const auto v4 = asio::ip::make_network_v4(range, ec); !ec) {
        return AddressRange{v4.address(), v4.prefix_length()};
    }
    const auto v6 = asio::ip::make_network_v6(range, ec);
    if (ec) {
        return makeError(Errc::InvalidArgument);
    }
    unsigned prefix = v6.prefix_length();
    if (v6.address().is_v4_mapped()) {
        // ::ffff:a.b.c.d/N is the IPv4 range a.b.c.d/(N-96); a shorter prefix would reach past
        // the mapped addresses.
        if (prefix < 96) {
            return makeError(Errc::InvalidArgument);
        }
        prefix -= 96;
    }
    return AddressRange{unmapped(v6.address()), prefix};
}

std::vector<AddressRange> loopbackRanges() {
    return {*parseAddressRange("127.0.0.0/8"), *parseAddressRange("::1/128")};
}

Visitor describeVisitor(const asio::ip::address& peer, const std::vector<AddressRange>& trusted) {
    const auto client = unmapped(peer);
    return Visitor{client.to_string(),
                   std::any_of(trusted.begin(), trusted.end(),
                               [&](const AddressRange& r) { return r.contains(client); })};
}

asio::ip::address clientAddress(const net::Fields& fields, const asio::ip::address& peer,
                                const std::vector<AddressRange>& trusted) {
    auto isTrusted = [&](const asio::ip::address& address) {
        return std::any_of(trusted.begin(), trusted.end(),
                           [&](const AddressRange& r) { return r.contains(address); });
    };
    asio::ip::address client = unmapped(peer);
    // Every X-Forwarded-For field, as one list, read from the right.
    std::vector<std::string> hops;
    const auto [first, last] = fields.equal_range("X-Forwarded-For");
    for (auto field = first; field != last; ++field) {
        std::string_view list = field->value();
        while (!list.empty()) {
            const auto comma = list.find(',');
            hops.push_back(trimmed(list.substr(0, comma)));
            list = comma == std::string_view::npos ? std::string_view() : list.substr(comma + 1);
        }
    }
    for (auto hop = hops.rbegin(); hop != hops.rend() && isTrusted(client); ++hop) {
        ErrorCode notAnAddress;
        const auto address = asio::ip::make_address(*hop, notAnAddress);
        if (notAnAddress) {
            break;  // garbage from the client: the last proxy's view stands
        }
        client = unmapped(address);
    }
    return client;
}

void applyForwardingPolicy(net::Fields& fields, const Visitor& visitor) {
    if (visitor.trusted) {
        if (fields.count("X-Forwarded-For") == 0) {
            fields.set("X-Forwarded-For", visitor.address);
        }
        return;
    }
    for (const char* name : {"Forwarded", "X-Forwarded-For", "X-Forwarded-Proto",
                             "X-Forwarded-Host", "X-Real-IP", "CF-Connecting-IP"}) {
        fields.erase(name);
    }
    fields.set("X-Forwarded-For", visitor.address);
    fields.set("X-Forwarded-Proto", "http");
    if (const auto host = fields[http::field::host]; !host.empty()) {
        fields.set("X-Forwarded-Host", host);
    }
}

void chooseRequestId(std::string_view proxied, const Visitor& visitor, RequestIds& ids,
                     std::string& id) {
    if (visitor.trusted && isValidRequestId(proxied)) {
        id.assign(proxied);
    } else {
        ids.next(id);
    }
}

FieldCrossing requestFieldCrossing(http::field code, std::string_view name, bool upgrade) {
    switch (code) {
        // Hop-by-hop (net::isHopByHop), and Expect.
        case http::field::connection:
        case http::field::keep_alive:
        case http::field::proxy_authenticate:
        case http::field::proxy_authorization:
        case http::field::proxy_connection:
        case http::field::te:
        case http::field::trailer:
        case http::field::transfer_encoding:
        case http::field::expect: return FieldCrossing::Drop;
        case http::field::upgrade: return upgrade ? FieldCrossing::Forward : FieldCrossing::Drop;
        case http::field::unknown:  // the parser has no code for X-Request-Id
            return boost::beast::iequals(name, kRequestIdField) ? FieldCrossing::RequestId
                                                                : FieldCrossing::Forward;
        default: return FieldCrossing::Forward;
    }
}

protocol::v1::HeaderList forwardedRequestFields(const net::Fields& fields, bool upgrade,
                                                const Visitor& visitor, RequestIds& ids,
                                                std::string& id) {
    protocol::v1::HeaderList headers;
    // + 2: `connection: upgrade`, and v1's x-request-id.
    headers.reserve(static_cast<std::size_t>(std::distance(fields.begin(), fields.end())) + 2);
    const auto proxied =
        forEachForwardedField(fields, upgrade, [&](std::string_view name, std::string_view value) {
            headers.emplace_back(asciiLower(name), std::string(value));
        });
    chooseRequestId(proxied, visitor, ids, id);
    return headers;
}

}  // namespace nexus::server
