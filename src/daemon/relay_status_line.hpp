// SPDX-License-Identifier: AGPL-3.0-or-later
// The relay's line in `systemctl status` (sd_notify STATUS=): "12 tunnels, 340 req/min",
// refreshed every few seconds from the state model while systemd listens.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <cstdint>
#include <deque>
#include <string>
#include <utility>

namespace nexus {

class RelayDaemon;

class RelayStatusLine {
public:
    using Clock = std::chrono::steady_clock;

    RelayStatusLine(const boost::asio::any_io_executor& executor, const RelayDaemon& relay)
        : timer_(executor), relay_(relay) {}

    /// The line now; starts refreshing it when systemd listens (NOTIFY_SOCKET).
    std::string start();
    void stop() { timer_.cancel(); }

    /// The line now (taking a sample of the request total).
    std::string current();

    /// "1 tunnel, 0 req/min": requests over the last minute, or over the time since the first
    /// sample when the daemon is younger than that.
    static std::string format(std::size_t tunnels, std::uint64_t perMinute);

    /// Records the request total at `now` and returns the rate over the last minute.
    std::uint64_t sample(Clock::time_point now, std::uint64_t requests);

private:
    void schedule();

    boost::asio::steady_timer timer_;
    const RelayDaemon& relay_;
    std::deque<std::pair<Clock::time_point, std::uint64_t>> samples_;  ///< the last minute's
};

}  // namespace nexus
