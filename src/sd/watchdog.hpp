// SPDX-License-Identifier: AGPL-3.0-or-later
// The systemd watchdog (WatchdogSec=): a timer on the daemon's own event loop sends
// WATCHDOG=1 at half the interval systemd asked for. The pings come from the loop itself, not
// from a thread of their own, so a loop that hangs stops them and systemd restarts the service.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <optional>

namespace nexus::sd {

class Watchdog {
public:
    /// The interval systemd expects pings within (WATCHDOG_USEC, for this process per
    /// WATCHDOG_PID), or nothing when the watchdog is off.
    static std::optional<std::chrono::microseconds> interval();

    explicit Watchdog(const boost::asio::any_io_executor& executor) : timer_(executor) {}

    /// Pings now and then every `interval() / 2` until stop(); does nothing when the watchdog
    /// is off. Returns whether it runs.
    bool start();
    /// Starts with an explicit interval (the half of it is the period); for tests and for a
    /// caller that already read interval().
    void start(std::chrono::microseconds interval);
    void stop() { timer_.cancel(); }

    std::chrono::microseconds period() const { return period_; }

private:
    void schedule();

    boost::asio::steady_timer timer_;
    std::chrono::microseconds period_{0};
};

}  // namespace nexus::sd
