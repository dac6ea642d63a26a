// SPDX-License-Identifier: AGPL-3.0-or-later
// How fast the directory API lets instances register: a few per hour from one caller, and a
// global ceiling so that many callers together cannot fill the directory either. Token
// buckets, in a table of bounded size.
#pragma once

#include <boost/asio/ip/address.hpp>

#include <chrono>
#include <optional>
#include <string>
#include <unordered_map>

namespace nexus::server {

class RegistrationLimiter {
public:
    using Clock = std::chrono::steady_clock;

    struct Limits {
        /// Per caller (IPv4 address or IPv6 /64): this many at once, one more each period.
        double callerBurst = 6;
        Clock::duration callerRefill = std::chrono::minutes(10);
        /// Every caller together.
        double globalBurst = 60;
        Clock::duration globalRefill = std::chrono::minutes(1);
        /// Callers remembered; when all are still limited, newcomers wait (fail closed).
        std::size_t maxCallers = 10000;
    };

    RegistrationLimiter() : RegistrationLimiter(Limits{}) {}
    explicit RegistrationLimiter(Limits limits)
        : limits_(limits), global_{limits.globalBurst, {}} {}

    /// Spends one attempt of the caller's budget and of the global one; when either is empty,
    /// spends nothing and returns how long until one is back.
    std::optional<Clock::duration> take(const boost::asio::ip::address& caller,
                                        Clock::time_point now);

    std::size_t callers() const { return callers_.size(); }

private:
    struct Bucket {
        double tokens = 0;
        Clock::time_point updated;
    };

    static double refill(Bucket& bucket, double burst, Clock::duration period,
                         Clock::time_point now);
    static Clock::duration untilNext(const Bucket& bucket, Clock::duration period);
    /// Forgets the callers whose budget is full again: they limit nothing.
    void prune(Clock::time_point now);

    Limits limits_;
    Bucket global_;
    std::unordered_map<std::string, Bucket> callers_;
};

}  // namespace nexus::server
