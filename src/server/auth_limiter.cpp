// SPDX-License-Identifier: AGPL-3.0-or-later
// AuthLimiter: a fixed window with a block per address, a token bucket per slug.
#include "server/auth_limiter.hpp"

#include <algorithm>

namespace nexus::server {
namespace {
std::string key(const boost::asio::ip::address& ip) {
    // IPv4 callers arriving on a dual-stack socket look like ::ffff:a.b.c.d; fold them so one
    // caller has one key whatever the door.
    if (ip.is_v6() && ip.to_v6().is_v4_mapped()) {
        return boost::asio::ip::make_address_v4(boost::asio::ip::v4_mapped, ip.to_v6()).to_string();
    }
    if (ip.is_v6()) {
        // One subscriber gets a whole /64: key by it, or every address would be a new caller.
        auto bytes = ip.to_v6().to_bytes();
        std::fill(bytes.begin() + 8, bytes.end(), 0);
        return boost::asio::ip::address_v6(bytes).to_string() + "/64";
    }
    return ip.to_string();
}
}  // namespace

AuthLimiter::SlugState& AuthLimiter::slugState(std::string_view slug, Clock::time_point now) {
    auto [it, inserted] = slugs_.try_emplace(std::string(slug));
    SlugState& s = it->second;
    if (inserted) {
        s.tokens = limits_.slugBurst;
    } else {
        const double refill = std::chrono::duration<double>(now - s.updated).count() /
                              std::chrono::duration<double>(limits_.slugRefill).count();
        s.tokens = std::min(limits_.slugBurst, s.tokens + refill);
    }
    s.updated = now;
    return s;
}

bool AuthLimiter::allowed(const boost::asio::ip::address& ip, std::string_view slug,
                          Clock::time_point now) {
    if (const auto it = ips_.find(key(ip)); it != ips_.end() && now < it->second.blockedUntil) {
        return false;
    }
    const auto it = slugs_.find(std::string(slug));
    return it == slugs_.end() || slugState(slug, now).tokens >= 1.0;
}

void AuthLimiter::recordFailure(const boost::asio::ip::address& ip, std::string_view slug,
                                Clock::time_point now) {
    if (ips_.size() + slugs_.size() >= limits_.maxEntries) {
        prune(now);
    }
    // Still full of live entries: track no new address (memory stays bounded); the slug's
    // own budget below keeps limiting the attempts.
    const std::string ipKey = key(ip);
    const bool full = ips_.size() + slugs_.size() >= limits_.maxEntries;
    if (full && !ips_.contains(ipKey)) {
        if (const auto it = slugs_.find(std::string(slug)); it != slugs_.end()) {
            it->second.tokens = std::max(0.0, slugState(slug, now).tokens - 1.0);
        }
        return;
    }
    IpState& s = ips_[ipKey];
    if (s.failures == 0 || now - s.windowStart > limits_.ipWindow) {
        s.failures = 0;
        s.windowStart = now;
    }
    if (++s.failures >= limits_.ipFailures) {
        s.blockedUntil = now + limits_.ipBlock;  // counted from the last failure, not the first
    }
    SlugState& slugBucket = slugState(slug, now);
    slugBucket.tokens = std::max(0.0, slugBucket.tokens - 1.0);
}

void AuthLimiter::prune(Clock::time_point now) {
    std::erase_if(ips_, [&](const auto& entry) {
        return now >= entry.second.blockedUntil &&
               now - entry.second.windowStart > limits_.ipWindow;
    });
    std::erase_if(slugs_, [&](auto& entry) {
        return slugState(entry.first, now).tokens >= limits_.slugBurst;
    });
}

}  // namespace nexus::server
