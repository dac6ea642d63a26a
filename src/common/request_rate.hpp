// SPDX-License-Identifier: AGPL-3.0-or-later
// Requests per minute from a running total sampled now and then: the relay's STATUS= line.
#pragma once

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <deque>
#include <utility>

namespace nexus {

class RequestRate {
public:
    using Clock = std::chrono::steady_clock;

    /// Records `total` (requests since start) at `now`; returns the rate over the last minute,
    /// or over the time since the first sample while the process is younger than that (at
    /// least a second, so the first samples do not blow a handful of requests up).
    std::uint64_t sample(Clock::time_point now, std::uint64_t total) {
        samples_.emplace_back(now, total);
        // Keep the oldest sample a minute old at most, but the window a whole minute long.
        while (samples_.size() > 2 && now - samples_[1].first >= kWindow) {
            samples_.pop_front();
        }
        const auto& [since, before] = samples_.front();
        const double seconds = std::chrono::duration<double>(now - since).count();
        if (seconds <= 0.0) {
            return 0;
        }
        const double minutes = std::max(seconds, 1.0) / 60.0;
        return static_cast<std::uint64_t>(
            std::llround(static_cast<double>(total - before) / minutes));
    }

private:
    static constexpr auto kWindow = std::chrono::minutes(1);
    std::deque<std::pair<Clock::time_point, std::uint64_t>> samples_;
};

}  // namespace nexus
