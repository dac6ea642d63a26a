// SPDX-License-Identifier: AGPL-3.0-or-later
// RelayStatusLine: a sliding minute of request totals, sampled by a timer on the relay's loop.
#include "daemon/relay_status_line.hpp"

#include "daemon/relay_daemon.hpp"
#include "sd/notifier.hpp"

#include <fmt/format.h>

#include <numeric>

namespace nexus {

namespace {
constexpr auto kPeriod = std::chrono::seconds(5);
constexpr auto kWindow = std::chrono::minutes(1);
}  // namespace

std::string RelayStatusLine::format(std::size_t tunnels, std::uint64_t perMinute) {
    return fmt::format("{} tunnel{}, {} req/min", tunnels, tunnels == 1 ? "" : "s", perMinute);
}

std::uint64_t RelayStatusLine::sample(Clock::time_point now, std::uint64_t requests) {
    samples_.emplace_back(now, requests);
    // Keep the newest sample at least a minute old, so the window spans the whole minute.
    while (samples_.size() > 2 && now - samples_[1].first >= kWindow) {
        samples_.pop_front();
    }
    const auto& [since, before] = samples_.front();
    const auto span = std::chrono::duration<double>(now - since).count();
    if (span <= 0.0) {
        return 0;
    }
    const double minutes = std::max(span, 1.0) / 60.0;
    return static_cast<std::uint64_t>(static_cast<double>(requests - before) / minutes + 0.5);
}

std::string RelayStatusLine::current() {
    const auto& byClass = relay_.metrics().totals().byClass;
    const auto requests = std::accumulate(byClass.begin(), byClass.end(), std::uint64_t{0});
    return format(relay_.tunnelCount(), sample(Clock::now(), requests));
}

std::string RelayStatusLine::start() {
    auto first = current();
    if (sd::Notifier::enabled()) {
        schedule();
    }
    return first;
}

void RelayStatusLine::schedule() {
    timer_.expires_after(kPeriod);
    timer_.async_wait([this](const boost::system::error_code& ec) {
        if (!ec) {
            sd::Notifier::status(current());
            schedule();
        }
    });
}

}  // namespace nexus
