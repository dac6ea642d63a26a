// SPDX-License-Identifier: AGPL-3.0-or-later
// parseWebSocketUrl: the agent's ws:// and wss:// relay addresses, read by Boost.URL (RFC 3986)
// rather than by hand, so IPv6 literals, ports and percent-encoding follow the standard.
#include "net/websocket.hpp"

#include <boost/url/parse.hpp>

#include <charconv>

namespace nexus::net {

Result<WebSocketUrl> parseWebSocketUrl(std::string_view text) {
    const auto parsed = boost::urls::parse_absolute_uri(text);
    if (!parsed) {
        return makeError(Errc::InvalidArgument);
    }
    const auto& url = *parsed;
    WebSocketUrl result;
    if (url.scheme_id() == boost::urls::scheme::wss) {
        result.secure = true;
    } else if (url.scheme_id() != boost::urls::scheme::ws) {
        return makeError(Errc::InvalidArgument);
    }
    // A relay address has no place for credentials, and a fragment never reaches a server.
    if (url.has_userinfo() || url.has_fragment() || url.encoded_host().empty()) {
        return makeError(Errc::InvalidArgument);
    }
    std::uint16_t port = result.secure ? 443 : 80;
    if (url.has_port()) {
        const auto digits = url.port();
        unsigned value = 0;
        const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
        if (digits.empty() || ec != std::errc() || end != digits.data() + digits.size() ||
            value == 0 || value > 65535) {
            return makeError(Errc::InvalidArgument);
        }
        port = static_cast<std::uint16_t>(value);
    }
    switch (url.host_type()) {
        case boost::urls::host_type::ipv6:
            result.endpoint.host = url.host_ipv6_address().to_string();
            break;
        case boost::urls::host_type::ipv4:
        case boost::urls::host_type::name:
            result.endpoint.host = url.host();  // percent-decoded
            break;
        default: return makeError(Errc::InvalidArgument);  // IPvFuture, none
    }
    result.endpoint.port = port;
    const auto path = url.encoded_path();
    result.target = path.empty() ? std::string("/") : std::string(path);
    if (url.has_query()) {
        result.target += '?';
        result.target += url.encoded_query();
    }
    return result;
}

}  // namespace nexus::net
