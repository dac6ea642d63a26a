// SPDX-License-Identifier: AGPL-3.0-or-later
// Which client-address headers reach the instance: kept from a trusted proxy (Caddy on
// loopback by default), replaced by what the relay itself saw for anyone else, so a visitor
// cannot claim another address by sending X-Forwarded-For.
#pragma once

#include "common/error.hpp"
#include "net/head_arena.hpp"
#include "protocol/v1_messages.hpp"
#include "server/request_id.hpp"

#include <boost/asio/ip/address.hpp>

#include <string>
#include <string_view>
#include <vector>

namespace nexus::server {

/// An address range such as 127.0.0.0/8 or ::1/128.
struct AddressRange {
    boost::asio::ip::address network;
    unsigned prefix = 0;

    bool contains(const boost::asio::ip::address& address) const;
};

/// Parses "ADDR/PREFIX" or a single address.
Result<AddressRange> parseAddressRange(std::string_view text);

/// The default trusted proxies: loopback only.
std::vector<AddressRange> loopbackRanges();

/// The visitor's side of a connection as the forwarding policy needs it, worked out once per
/// connection rather than per request: its address as text and whether it is a trusted proxy.
struct Visitor {
    std::string address;
    bool trusted = false;
};
Visitor describeVisitor(const boost::asio::ip::address& peer,
                        const std::vector<AddressRange>& trusted);

/// The address a request comes from, for per-client limits: the peer's, or when the peer is a
/// trusted proxy, the rightmost X-Forwarded-For entry that is not itself a trusted proxy (the
/// address the outermost trusted proxy saw; entries left of it are the client's own claims).
boost::asio::ip::address clientAddress(const net::Fields& fields,
                                       const boost::asio::ip::address& peer,
                                       const std::vector<AddressRange>& trusted);

/// Rewrites `fields` for a request from `visitor`: trusted proxies keep their forwarding
/// headers (X-Forwarded-For gets the peer only if absent); others lose Forwarded,
/// X-Forwarded-*, X-Real-IP and CF-Connecting-IP, replaced by the relay's view.
void applyForwardingPolicy(net::Fields& fields, const Visitor& visitor);

/// Sets `id` to the request's id: the X-Request-Id a trusted proxy sent (`proxied`) when it is
/// valid, else the next of `ids`.
void chooseRequestId(std::string_view proxied, const Visitor& visitor, RequestIds& ids,
                     std::string& id);

/// The field that carries the request's id to the agent and the application.
inline constexpr std::string_view kRequestIdField = "x-request-id";

/// What becomes of a visitor's request field on the way to the agent (see
/// forwardedRequestFields), told from the HTTP parser's code for its name (`name` as sent, in
/// any case, matters only for the names the parser has no code for).
enum class FieldCrossing { Forward, RequestId, Drop };
FieldCrossing requestFieldCrossing(boost::beast::http::field code, std::string_view name,
                                   bool upgrade);

/// Calls `take(name, value)` for each field of `fields` that crosses to the agent, in order,
/// with the name as the visitor sent it, then `take("connection", "upgrade")` for an upgrade;
/// returns the X-Request-Id the visitor sent (the last, if repeated), empty if none.
template <typename Take>
std::string_view forEachForwardedField(const net::Fields& fields, bool upgrade, Take&& take) {
    std::string_view proxied;
    for (const auto& field : fields) {
        switch (requestFieldCrossing(field.name(), field.name_string(), upgrade)) {
            case FieldCrossing::Forward: take(field.name_string(), field.value()); break;
            case FieldCrossing::RequestId: proxied = field.value(); break;
            case FieldCrossing::Drop: break;
        }
    }
    if (upgrade) {
        take(std::string_view("connection"), std::string_view("upgrade"));
    }
    return proxied;
}

/// The request fields that cross to the agent (v1 and v2 alike), names in lowercase: not the
/// hop-by-hop ones (but `upgrade` for a WebSocket upgrade, with `connection: upgrade`), not
/// Expect (the relay answers it itself: forwarded, it would draw a second 100 Continue that
/// the agent would take for the response), and not X-Request-Id: `id` is chosen by
/// chooseRequestId on the way (the fields are read once for both), and the caller sends it as
/// `x-request-id: ID` in place of any the visitor sent (v2 without checking it again).
protocol::v1::HeaderList forwardedRequestFields(const net::Fields& fields, bool upgrade,
                                                const Visitor& visitor, RequestIds& ids,
                                                std::string& id);

}  // namespace nexus::server
