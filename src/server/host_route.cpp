// SPDX-License-Identifier: AGPL-3.0-or-later
// slugFromHost and pointsIntoDomain.
#include "server/host_route.hpp"

#include "common/ascii.hpp"

#include <algorithm>

namespace nexus::server {

namespace {

// Every visitor request goes through here: views into the Host field, compared without case,
// and one copy at the end (the slug, short enough to need no allocation).
bool isLabel(std::string_view label) {
    return !label.empty() && label.size() <= 63 &&
           std::all_of(label.begin(), label.end(), [](char c) {
               c = asciiLower(c);
               return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
           });
}

bool equalsIgnoringCase(std::string_view a, std::string_view b) {
    // Nearly every Host is spelled as the domain is configured: one memcmp says so.
    return a == b ||
           (a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
                return asciiLower(x) == asciiLower(y);
            }));
}

// Host without port and one trailing dot; IPv6 literals are never under a domain.
std::optional<std::string_view> hostName(std::string_view host) {
    if (host.empty() || host.front() == '[') {
        return std::nullopt;
    }
    const auto colon = host.find(':');
    if (colon != std::string_view::npos) {
        const auto port = host.substr(colon + 1);
        if (port.empty() ||
            !std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; })) {
            return std::nullopt;
        }
        host = host.substr(0, colon);
    }
    if (!host.empty() && host.back() == '.') {
        host.remove_suffix(1);
    }
    return host;
}

// The part of `host` before ".domain", if host is strictly under domain (ASCII case ignored).
std::optional<std::string_view> underDomain(std::string_view host, std::string_view domain) {
    if (host.size() <= domain.size() + 1) {
        return std::nullopt;
    }
    const auto under = host.substr(0, host.size() - domain.size() - 1);
    if (host[under.size()] != '.' || !equalsIgnoringCase(host.substr(under.size() + 1), domain)) {
        return std::nullopt;
    }
    return under;
}

}  // namespace

std::optional<std::string> slugFromHost(std::string_view host, std::string_view domain) {
    const auto name = hostName(host);
    if (!name) {
        return std::nullopt;
    }
    const auto label = underDomain(*name, domain);
    if (!label || !isLabel(*label)) {
        return std::nullopt;
    }
    return asciiLower(*label);
}

bool isApexHost(std::string_view host, std::string_view domain) {
    const auto name = hostName(host);
    return name && equalsIgnoringCase(*name, domain);
}

bool pointsIntoDomain(std::string_view url, std::string_view domain) {
    std::string_view rest;
    for (std::string_view scheme : {"http://", "https://"}) {
        if (asciiLower(url.substr(0, scheme.size())) == scheme) {
            rest = url.substr(scheme.size());
        }
    }
    if (rest.empty()) {
        return false;
    }
    auto authority = rest.substr(0, rest.find_first_of("/?#"));
    if (const auto at = authority.rfind('@'); at != std::string_view::npos) {
        authority.remove_prefix(at + 1);
    }
    const auto host = hostName(authority);
    return host && underDomain(*host, domain).has_value();
}

}  // namespace nexus::server
