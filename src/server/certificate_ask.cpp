// SPDX-License-Identifier: AGPL-3.0-or-later
// askCertificate: the answer from the configuration, the live tunnels, a cache, and only then
// the directory.
#include "server/certificate_ask.hpp"

#include "server/host_route.hpp"
#include "server/server_context.hpp"

#include <boost/url/parse.hpp>

#include <algorithm>

namespace nexus::server {

std::string askedName(std::string_view target) {
    const auto parsed = boost::urls::parse_origin_form(target);
    if (!parsed) {
        return {};
    }
    const auto params = parsed->params();
    const auto found = params.find("domain");
    if (found == params.end() || !(*found).has_value) {
        return {};
    }
    std::string name = (*found).value;
    if (!name.empty() && name.back() == '.') {
        name.pop_back();
    }
    const bool dnsName =
        !name.empty() && name.size() <= 253 && std::all_of(name.begin(), name.end(), [](char c) {
            return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                   c == '-' || c == '.';
        });
    if (!dnsName) {
        return {};
    }
    std::transform(name.begin(), name.end(), name.begin(),
                   [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; });
    return name;
}

boost::asio::awaitable<unsigned> askCertificate(ServerContext& context, std::string target) {
    const auto& config = context.config;
    const std::string name = askedName(target);
    if (name.empty()) {
        co_return 404;
    }
    if (isApexHost(name, config.domain)) {
        co_return 200;
    }
    const auto slug = slugFromHost(name, config.domain);
    if (!slug || !directory::isValidSlug(*slug)) {
        co_return 404;  // another domain, a deeper name
    }
    // The relay's own names: the main site (its redirect), and the deployed names of the
    // control port and of the WebSocket door behind Caddy.
    for (std::string_view own : {std::string_view(config.mainSlug), std::string_view("relay"),
                                 std::string_view("relay6"), std::string_view("tunnel")}) {
        if (*slug == own) {
            co_return 200;
        }
    }
    if (context.registry.find(*slug)) {
        co_return 200;  // a live tunnel: its agent authenticated as an active slug
    }
    auto& cache = context.askCache;
    const auto now = AskCache::Clock::now();
    if (const auto known = cache.find(*slug, now)) {
        co_return *known ? 200 : 404;
    }
    if (!cache.startLookup(now)) {
        co_return 503;
    }
    auto lookup = [slug = *slug](directory::Directory& d) { return d.fallbackUrl(slug); };
    const auto url = co_await context.directory.run(std::move(lookup), std::chrono::seconds(3));
    cache.finished();
    if (!url) {
        co_return 503;
    }
    // fallbackUrl answers for active slugs only: a URL means active.
    cache.store(*slug, url->has_value(), AskCache::Clock::now());
    co_return url->has_value() ? 200 : 404;
}

}  // namespace nexus::server
