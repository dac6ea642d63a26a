// SPDX-License-Identifier: AGPL-3.0-or-later
// Limits on failed registrations, checked before the directory is queried, so a flood of bad
// tokens costs neither database load nor other tenants' logins. Every limit is keyed by where
// the failures come from, never by the slug alone: failures from elsewhere must not lock a
// slug's real agent out (an attacker could otherwise keep any tenant offline by sending a bad
// token now and then).
#pragma once

#include <boost/asio/ip/address.hpp>

#include <chrono>
#include <string>
#include <string_view>
#include <unordered_map>

namespace nexus::server {

class AuthLimiter {
public:
    using Clock = std::chrono::steady_clock;

    struct Limits {
        /// Per caller (IPv4 address or IPv6 /64): this many failures within the window block
        /// it, counted from its last failure.
        int callerFailures = 10;
        Clock::duration callerWindow = std::chrono::minutes(5);
        Clock::duration callerBlock = std::chrono::minutes(15);
        /// Per network (IPv4 /24 or IPv6 /48) and slug: a token bucket, so rotating
        /// addresses inside one's block still guesses one slug's token slowly.
        double pairBurst = 10;                                 ///< failures absorbed at once
        Clock::duration pairRefill = std::chrono::seconds(6);  ///< one more per period
        std::size_t maxEntries = 100000;  ///< memory bound under address spraying
    };

    AuthLimiter() : AuthLimiter(Limits{}) {}
    explicit AuthLimiter(Limits limits) : limits_(limits) {}

    /// False while the caller is blocked or its network has used up its failure budget on
    /// this slug.
    bool allowed(const boost::asio::ip::address& ip, std::string_view slug, Clock::time_point now);

    void recordFailure(const boost::asio::ip::address& ip, std::string_view slug,
                       Clock::time_point now);

    /// Drops entries that no longer limit anything.
    void prune(Clock::time_point now);

private:
    struct CallerState {
        int failures = 0;
        Clock::time_point windowStart;
        Clock::time_point blockedUntil;
    };
    struct PairState {
        double tokens = 0;
        Clock::time_point updated;
    };

    double tokensAt(const PairState& state, Clock::time_point now) const;
    std::size_t entries() const { return callers_.size() + pairs_.size(); }

    Limits limits_;
    std::unordered_map<std::string, CallerState> callers_;
    std::unordered_map<std::string, PairState> pairs_;  ///< key: network + ' ' + slug
};

}  // namespace nexus::server
