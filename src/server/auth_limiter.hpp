// SPDX-License-Identifier: AGPL-3.0-or-later
// Limits on failed registrations, checked before the directory is queried, so a flood of bad
// tokens costs neither database load nor other tenants' logins.
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
        int ipFailures = 10;  ///< failures per window per address
        Clock::duration ipWindow = std::chrono::minutes(5);
        Clock::duration ipBlock = std::chrono::minutes(15);
        double slugBurst = 10;                                 ///< failures a slug absorbs at once
        Clock::duration slugRefill = std::chrono::seconds(6);  ///< one more failure per period
        std::size_t maxEntries = 100000;  ///< memory bound under address spraying
    };

    AuthLimiter() : AuthLimiter(Limits{}) {}
    explicit AuthLimiter(Limits limits) : limits_(limits) {}

    /// False while the address is blocked or the slug has used up its failure budget.
    bool allowed(const boost::asio::ip::address& ip, std::string_view slug, Clock::time_point now);

    void recordFailure(const boost::asio::ip::address& ip, std::string_view slug,
                       Clock::time_point now);

    /// Drops entries that no longer limit anything.
    void prune(Clock::time_point now);

private:
    struct IpState {
        int failures = 0;
        Clock::time_point windowStart;
        Clock::time_point blockedUntil;
    };
    struct SlugState {
        double tokens = 0;
        Clock::time_point updated;
    };

    SlugState& slugState(std::string_view slug, Clock::time_point now);

    Limits limits_;
    std::unordered_map<std::string, IpState> ips_;
    std::unordered_map<std::string, SlugState> slugs_;
};

}  // namespace nexus::server
