// SPDX-License-Identifier: AGPL-3.0-or-later
// Backoff: exponential growth, cap, then "equal jitter" (half fixed, half random).
#include "net/backoff.hpp"

#include <algorithm>
#include <random>

namespace nexus::net {

Backoff::Backoff(Duration base, Duration cap, Random random)
    : base_(base), cap_(cap), random_(std::move(random)) {}

Backoff::Backoff()
    : Backoff(std::chrono::seconds(1), std::chrono::seconds(30),
              [engine = std::mt19937_64(std::random_device{}())]() mutable {
                  return std::uniform_real_distribution<double>(0.0, 1.0)(engine);
              }) {}

Backoff::Step Backoff::next() {
    // Doubling stops at the cap; the shift is bounded so it never overflows.
    const unsigned shift = std::min(attempt_, 20U);
    const Duration nominal = std::min(cap_, Duration(base_.count() << shift));
    ++attempt_;
    // Jitter after the cap: at the cap the delays still spread over [cap/2, cap].
    const double r = std::clamp(random_(), 0.0, 1.0);
    const auto half = nominal.count() / 2;
    const Duration delay(half + static_cast<Duration::rep>(r * static_cast<double>(half)));
    return {nominal, delay};
}

}  // namespace nexus::net
