// SPDX-License-Identifier: AGPL-3.0-or-later
// slugFromHost and pointsIntoDomain.
#include "server/host_route.hpp"

#include "common/ascii.hpp"

#include <algorithm>

namespace nexus::server {

namespace {

bool isLabel(std::string_view label) {
    return !label.empty() && label.size() <= 63 &&
           std::all_of(label.begin(), label.end(), [](char c) {
               return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
           });
}

// Host without port and one trailing dot, lowercased; IPv6 literals are never under a domain.
std::optional<std::string> normaliseHost(std::string_view host) {
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
    return asciiLower(host);
}

// The part of `host` before ".domain", if host is strictly under domain.
std::optional<std::string> underDomain(const std::string& host, std::string_view domain) {
    const std::string suffix = "." + asciiLower(domain);
    if (host.size() <= suffix.size() || !host.ends_with(suffix)) {
        return std::nullopt;
    }
    return host.substr(0, host.size() - suffix.size());
}

}  // namespace

std::optional<std::string> slugFromHost(std::string_view host, std::string_view domain) {
    const auto normalised = normaliseHost(host);
    if (!normalised) {
        return std::nullopt;
    }
    auto label = underDomain(*normalised, domain);
    if (!label || !isLabel(*label)) {
        return std::nullopt;
    }
    return label;
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
    const auto host = normaliseHost(authority);
    return host && underDomain(*host, domain).has_value();
}

}  // namespace nexus::server
