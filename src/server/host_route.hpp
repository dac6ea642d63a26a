// SPDX-License-Identifier: AGPL-3.0-or-later
// From a visitor's Host header to a slug, and the check that keeps the fallback redirect from
// pointing back at the relay itself.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace nexus::server {

/// Lowercases, strips a port and one trailing dot, and returns the single DNS label left
/// under `domain` ([a-z0-9-]{1,63}); nullopt for anything else (apex, deeper names, junk).
std::optional<std::string> slugFromHost(std::string_view host, std::string_view domain);

/// Whether `host` (a Host header: any case, a port, one trailing dot) names `domain` itself.
bool isApexHost(std::string_view host, std::string_view domain);

/// True if `url` is http(s) to a host under `domain` (a subdomain of it, which this relay
/// would serve itself): redirecting there while the tunnel is down would loop.
bool pointsIntoDomain(std::string_view url, std::string_view domain);

}  // namespace nexus::server
