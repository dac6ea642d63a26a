// SPDX-License-Identifier: AGPL-3.0-or-later
// Watchdog (watchdog.hpp).
#include "sd/watchdog.hpp"

#include "sd/notifier.hpp"

#include <systemd/sd-daemon.h>

namespace nexus::sd {

std::optional<std::chrono::microseconds> Watchdog::interval() {
    std::uint64_t usec = 0;
    // The variables stay set: a relay that re-executes itself keeps its watchdog.
    if (sd_watchdog_enabled(0, &usec) <= 0 || usec == 0) {
        return std::nullopt;
    }
    return std::chrono::microseconds(usec);
}

bool Watchdog::start() {
    const auto wanted = interval();
    if (wanted) {
        start(*wanted);
    }
    return wanted.has_value();
}

void Watchdog::start(std::chrono::microseconds interval) {
    // Half the interval, as sd_watchdog_enabled(3) advises: one late turn of the loop does
    // not cost a restart, a loop stuck for the whole interval does.
    period_ = std::max(interval / 2, std::chrono::microseconds(1));
    Notifier::watchdog();
    schedule();
}

void Watchdog::schedule() {
    timer_.expires_after(period_);
    timer_.async_wait([this](const boost::system::error_code& ec) {
        if (ec) {
            return;  // stopped
        }
        Notifier::watchdog();
        schedule();
    });
}

}  // namespace nexus::sd
