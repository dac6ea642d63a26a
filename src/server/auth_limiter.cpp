// SPDX-License-Identifier: AGPL-3.0-or-later
// AuthLimiter: a fixed window with a block per caller, a token bucket per (network, slug).
#include "server/auth_limiter.hpp"

#include "server/address_prefix.hpp"

#include <algorithm>

namespace nexus::server {

namespace {
std::string pairKey(const boost::asio::ip::address& ip, std::string_view slug) {
    std::string key = networkKey(ip);
    key += ' ';  // no slug or network holds a space
    key += slug;
    return key;
}
}  // namespace

double AuthLimiter::tokensAt(const PairState& state, Clock::time_point now) const {
    const double refill = std::chrono::duration<double>(now - state.updated).count() /
                          std::chrono::duration<double>(limits_.pairRefill).count();
    return std::min(limits_.pairBurst, state.tokens + std::max(0.0, refill));
}

bool AuthLimiter::allowed(const boost::asio::ip::address& ip, std::string_view slug,
                          Clock::time_point now) {
    if (const auto it = callers_.find(callerKey(ip));
        it != callers_.end() && now < it->second.blockedUntil) {
        return false;
    }
    const auto it = pairs_.find(pairKey(ip, slug));
    return it == pairs_.end() || tokensAt(it->second, now) >= 1.0;
}

void AuthLimiter::recordFailure(const boost::asio::ip::address& ip, std::string_view slug,
                                Clock::time_point now) {
    if (entries() + 2 > limits_.maxEntries) {
        prune(now);
    }
    // Still full of live entries: new keys are not tracked (memory stays bounded); the ones
    // already tracked keep counting.
    const bool full = entries() + 2 > limits_.maxEntries;
    const std::string caller = callerKey(ip);
    if (auto it = callers_.find(caller); it != callers_.end() || !full) {
        CallerState& s = it != callers_.end() ? it->second : callers_[caller];
        if (s.failures == 0 || now - s.windowStart > limits_.callerWindow) {
            s.failures = 0;
            s.windowStart = now;
        }
        if (++s.failures >= limits_.callerFailures) {
            s.blockedUntil = now + limits_.callerBlock;  // from the last failure, not the first
        }
    }
    const std::string pair = pairKey(ip, slug);
    auto it = pairs_.find(pair);
    if (it == pairs_.end()) {
        if (full) {
            return;
        }
        it = pairs_.emplace(pair, PairState{limits_.pairBurst, now}).first;
    }
    PairState& bucket = it->second;
    bucket.tokens = std::max(0.0, tokensAt(bucket, now) - 1.0);
    bucket.updated = now;
}

void AuthLimiter::prune(Clock::time_point now) {
    std::erase_if(callers_, [&](const auto& entry) {
        return now >= entry.second.blockedUntil &&
               now - entry.second.windowStart > limits_.callerWindow;
    });
    std::erase_if(pairs_, [&](const auto& entry) {
        return tokensAt(entry.second, now) >= limits_.pairBurst;
    });
}

}  // namespace nexus::server
