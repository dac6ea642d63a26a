// SPDX-License-Identifier: AGPL-3.0-or-later
// RegistrationLimiter: two token buckets per attempt.
#include "server/registration_limiter.hpp"

#include "server/address_prefix.hpp"

#include <algorithm>
#include <iterator>

namespace nexus::server {

double RegistrationLimiter::refill(Bucket& bucket, double burst, Clock::duration period,
                                   Clock::time_point now) {
    if (bucket.updated == Clock::time_point{}) {
        bucket = Bucket{burst, now};
    }
    const std::chrono::duration<double> elapsed = now - bucket.updated;
    const std::chrono::duration<double> each = period;
    bucket.tokens = std::min(burst, bucket.tokens + elapsed.count() / each.count());
    bucket.updated = now;
    return bucket.tokens;
}

RegistrationLimiter::Clock::duration RegistrationLimiter::untilNext(const Bucket& bucket,
                                                                    Clock::duration period) {
    const double missing = std::max(0.0, 1.0 - bucket.tokens);
    return std::chrono::duration_cast<Clock::duration>(missing * period);
}

void RegistrationLimiter::prune(Clock::time_point now) {
    for (auto entry = callers_.begin(); entry != callers_.end();) {
        const double tokens = refill(entry->second, limits_.callerBurst, limits_.callerRefill, now);
        entry = tokens >= limits_.callerBurst ? callers_.erase(entry) : std::next(entry);
    }
}

std::optional<RegistrationLimiter::Clock::duration> RegistrationLimiter::take(
    const boost::asio::ip::address& caller, Clock::time_point now) {
    const std::string key = callerKey(caller);
    auto found = callers_.find(key);
    if (found == callers_.end()) {
        if (callers_.size() >= limits_.maxCallers) {
            prune(now);
        }
        if (callers_.size() >= limits_.maxCallers) {
            return limits_.callerRefill;  // every slot holds a caller still limited
        }
        found = callers_.emplace(key, Bucket{}).first;
    }
    Bucket& own = found->second;
    if (refill(own, limits_.callerBurst, limits_.callerRefill, now) < 1.0) {
        return untilNext(own, limits_.callerRefill);
    }
    if (refill(global_, limits_.globalBurst, limits_.globalRefill, now) < 1.0) {
        return untilNext(global_, limits_.globalRefill);
    }
    own.tokens -= 1.0;
    global_.tokens -= 1.0;
    return std::nullopt;
}

}  // namespace nexus::server
