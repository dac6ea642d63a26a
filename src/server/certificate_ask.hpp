// SPDX-License-Identifier: AGPL-3.0-or-later
// Caddy's on-demand TLS `ask`: before it obtains a certificate for a name it asks
// `GET <ask URL>?domain=NAME` and goes on only on a 2xx. The relay says yes for its domain,
// its own names under it (the main slug, relay, relay6, tunnel) and SLUG.DOMAIN of an active
// slug; no to everything else, so a
// stranger cannot make Caddy request certificates (and spend its CA rate limits) at will.
#pragma once

#include <boost/asio/awaitable.hpp>

#include <string>
#include <string_view>

namespace nexus::server {

struct ServerContext;

/// The name a target such as "/caddy/ask?domain=demo.example.com" asks about, lowercased and
/// without a trailing dot; empty when there is none or it cannot be a DNS name.
std::string askedName(std::string_view target);

/// 200 (issue), 404 (do not), or 503 when the directory cannot be asked now (too many
/// lookups, an outage): Caddy then refuses this handshake and asks again on the next one.
boost::asio::awaitable<unsigned> askCertificate(ServerContext& context, std::string target);

}  // namespace nexus::server
