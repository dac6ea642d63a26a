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
}  // namespace

std::string RelayStatusLine::format(std::size_t tunnels, std::uint64_t perMinute) {
    return fmt::format("{} tunnel{}, {} req/min", tunnels, tunnels == 1 ? "" : "s", perMinute);
}

std::string RelayStatusLine::current() {
    const auto& byClass = relay_.metrics().totals().byClass;
    const auto requests = std::accumulate(byClass.begin(), byClass.end(), std::uint64_t{0});
    return format(relay_.tunnelCount(), rate_.sample(RequestRate::Clock::now(), requests));
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
